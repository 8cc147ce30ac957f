// Where the multi-buffer kernel cannot run, the batch SHA-256 falls back to hashing message by message with the
// same answers: a runtime without WebAssembly SIMD (validation fails), one that refuses instantiation (a Content
// Security Policy without 'wasm-unsafe-eval'), one without WebAssembly at all. Each is simulated by patching the
// WebAssembly global in this test process (node:test runs each file in its own process), then restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { decodeEntryV1, generateKeypair, signEntry, verifyRange, type VerifiedEntry } from '@hearth/log';
import {
  entryHashesMany,
  loadSha256Kernel,
  sha256KernelLoaded,
  sha256KernelUnavailable,
  sha256Many,
  sha256ManyPath,
  _resetSha256Kernel,
  _sha256KernelMessages,
} from '../src/_sha256_many.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Runs `fn` with `WebAssembly[key]` replaced by `value` (or WebAssembly removed when key is null). */
async function withPatched(key: 'validate' | 'instantiate' | null, value: unknown, fn: () => Promise<void>): Promise<void> {
  const g = globalThis as { WebAssembly?: typeof WebAssembly };
  const saved = g.WebAssembly!;
  const original = key === null ? undefined : (saved as unknown as Record<string, unknown>)[key];
  if (key === null) delete g.WebAssembly;
  else (saved as unknown as Record<string, unknown>)[key] = value;
  _resetSha256Kernel();
  try {
    await fn();
  } finally {
    if (key === null) g.WebAssembly = saved;
    else (saved as unknown as Record<string, unknown>)[key] = original;
    _resetSha256Kernel();
  }
}

async function run40(): Promise<{ signed: VerifiedEntry[]; decoded: ReturnType<typeof decodeEntryV1>[] }> {
  const kp = generateKeypair();
  const signed: VerifiedEntry[] = [];
  for (let seq = 1; seq <= 40; seq++) signed.push(await signEntry({ seq, prev: signed[seq - 2]?.hash, hlc: BigInt(seq), ops: new Uint8Array(50 + seq).fill(seq) }, kp));
  return { signed, decoded: signed.map((e) => decodeEntryV1(e.bytes)) };
}

/** The kernel is unavailable: batches and verifyRange hash per message, with the right answers. */
async function expectFallback(reason: RegExp): Promise<void> {
  assert.equal(await loadSha256Kernel(), false);
  assert.equal(sha256KernelLoaded(), false);
  assert.match(sha256KernelUnavailable() ?? '', reason);
  assert.equal(sha256ManyPath(96, 256), 'native');
  const before = _sha256KernelMessages();
  const inputs = [new Uint8Array(0), new TextEncoder().encode('abc'), new Uint8Array(64).fill(1), new Uint8Array(200).fill(2), new Uint8Array(56).fill(3)];
  const out = new Uint8Array(32 * inputs.length);
  sha256Many(inputs, out);
  inputs.forEach((m, i) => assert.equal(hex(out.subarray(32 * i, 32 * i + 32)), hex(nobleSha256(m))));
  const sh: (Uint8Array | undefined)[] = new Array(inputs.length).fill(undefined);
  const h: Uint8Array[] = new Array(inputs.length);
  entryHashesMany(inputs, inputs.map((_, i) => new Uint8Array(64).fill(i)), sh, h);
  inputs.forEach((m, i) => assert.equal(hex(sh[i]!), hex(nobleSha256(m))));
  const { signed, decoded } = await run40(); // 40 >= the 16 entries at which verifyRange loads the batch code
  const verified = await verifyRange(decoded);
  assert.deepEqual(verified.map((v) => hex(v.hash)), signed.map((e) => hex(e.hash)));
  assert.equal(_sha256KernelMessages(), before, 'the kernel hashed nothing');
}

test('no WebAssembly SIMD (validation fails): per-message path, same answers', async () => {
  await withPatched('validate', () => false, () => expectFallback(/SIMD unsupported/));
});

test('instantiation refused (as under a CSP without wasm-unsafe-eval): per-message path, same answers', async () => {
  await withPatched('instantiate', () => Promise.reject(new WebAssembly.CompileError('refused by CSP')), () => expectFallback(/instantiation failed: refused by CSP/));
});

test('no WebAssembly at all: per-message path, same answers', async () => {
  await withPatched(null, undefined, () => expectFallback(/no WebAssembly/));
});

test('after the runtime is restored, the kernel loads and is used again', async () => {
  // (verify.ts keeps its own first outcome for the process: a runtime does not gain SIMD later.)
  assert.equal(await loadSha256Kernel(), true);
  const before = _sha256KernelMessages();
  const inputs = Array.from({ length: 6 }, (_, i) => new Uint8Array(30 * i).fill(i));
  const out = new Uint8Array(32 * 6);
  sha256Many(inputs, out);
  inputs.forEach((m, i) => assert.equal(hex(out.subarray(32 * i, 32 * i + 32)), hex(nobleSha256(m))));
  assert.equal(_sha256KernelMessages() - before, 6);
});
