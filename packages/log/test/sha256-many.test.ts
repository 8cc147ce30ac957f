// The batch SHA-256 of @hearth/log (`_sha256_many.ts`): the 4-lane multi-buffer WASM kernel (wasm/sha256.ts) and
// the per-message fallback give the published FIPS 180-2 / RFC 6234 digests in batches of 1, 3, 4, 5 and 9 messages
// of mixed lengths around the padding edges (0, 55, 56, 63, 64, 65 bytes); a seeded property checks both paths
// against @noble/hashes on random lists of random-length messages; entryHashesMany (the two passes of verifyRange)
// agrees with the per-message definition across chunk boundaries; the kernel is the path exercised where
// WebAssembly SIMD exists, and verifyRange uses it for a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { generateKeypair, signEntry, verifyRange, decodeEntryV1, LogError, type VerifiedEntry } from '@hearth/log';
import {
  entryHashesMany,
  loadSha256Kernel,
  sha256KernelLoaded,
  sha256KernelUnavailable,
  sha256Many,
  sha256ManyPath,
  sha256ManyReference,
  _forceSha256ManyPath,
  _sha256KernelMessages,
  NATIVE_MIN_BYTES,
} from '../src/_sha256_many.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new TextEncoder().encode(s);
const PATHS = ['auto', 'wasm', 'fallback'] as const;

/** FIPS 180-2 appendix B and RFC 6234 section 8.5 (TEST1, TEST2_1, TEST2_2 of SHA-256), and the empty message. */
const VECTORS: readonly [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['448-bit', ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  [
    '896-bit',
    ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
];
const MILLION_A = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0';

/** A message of `len` bytes, a pattern depending on `tag`, as a view at an odd offset of a larger buffer. */
function message(len: number, tag: number): Uint8Array {
  const buf = new Uint8Array(len + 7).fill(0xee);
  for (let i = 0; i < len; i++) buf[3 + i] = (i * 31 + tag * 17 + 5) & 255;
  return buf.subarray(3, 3 + len);
}

/** Hashes `inputs` through sha256Many on `path` into a buffer with guard bytes; checks the guards; returns hexes. */
function many(inputs: readonly Uint8Array[], path: (typeof PATHS)[number]): string[] {
  _forceSha256ManyPath(path);
  try {
    const out = new Uint8Array(5 + 32 * inputs.length + 5).fill(0x55);
    sha256Many(inputs, out, 5);
    assert.deepEqual([...out.subarray(0, 5), ...out.subarray(5 + 32 * inputs.length)], new Array(10).fill(0x55), 'nothing outside the output range');
    return inputs.map((_, i) => hex(out.subarray(5 + 32 * i, 37 + 32 * i)));
  } finally {
    _forceSha256ManyPath('auto');
  }
}

test('the kernel loads where WebAssembly SIMD exists (Node 20+), and the batch path then uses it', async () => {
  assert.equal(await loadSha256Kernel(), true, `kernel unavailable: ${sha256KernelUnavailable()}`);
  assert.equal(sha256KernelLoaded(), true);
  // Link inputs (96 bytes) take the kernel on every platform; in Node bodies of four blocks and more go native.
  assert.equal(sha256ManyPath(96, 256), 'wasm');
  assert.equal(sha256ManyPath(134, 256), 'wasm');
  assert.equal(sha256ManyPath(NATIVE_MIN_BYTES, 256), 'native');
  assert.equal(sha256ManyPath(96, 1), 'native', 'a lone message is not worth the kernel');
  const before = _sha256KernelMessages();
  const inputs = Array.from({ length: 9 }, (_, i) => message(40 + i * 9, i));
  const out = new Uint8Array(32 * 9);
  sha256Many(inputs, out);
  assert.equal(_sha256KernelMessages() - before, 9, 'all nine short messages went through the kernel');
  inputs.forEach((m, i) => assert.equal(hex(out.subarray(32 * i, 32 * i + 32)), hex(nobleSha256(m))));
  _forceSha256ManyPath('fallback');
  try {
    const at = _sha256KernelMessages();
    const out2 = new Uint8Array(32 * 9);
    sha256Many(inputs, out2);
    assert.equal(_sha256KernelMessages(), at, 'forced fallback does not touch the kernel');
    assert.deepEqual(out2, out);
    assert.equal(sha256ManyPath(96, 256), 'native');
  } finally {
    _forceSha256ManyPath('auto');
  }
});

test('FIPS 180-2 / RFC 6234 vectors, alone and in batches of 1, 3, 4, 5, 9 with padding-edge lengths, every path', async () => {
  await loadSha256Kernel();
  const want = new Map(VECTORS.map(([name, m, d]) => [m, { name, d }]));
  for (const [, m, d] of VECTORS) for (const path of PATHS) assert.deepEqual(many([m], path), [d]);
  const edges = [0, 55, 56, 63, 64, 65, 119, 120, 128].map((len, i) => message(len, i));
  const pool = [...VECTORS.map(([, m]) => m), ...edges];
  for (const size of [1, 3, 4, 5, 9]) {
    for (let rot = 0; rot < pool.length; rot++) {
      const batch = Array.from({ length: size }, (_, i) => pool[(rot + i * 3) % pool.length]);
      const expected = batch.map((m) => want.get(m)?.d ?? hex(nobleSha256(m)));
      for (const path of PATHS) assert.deepEqual(many(batch, path), expected, `batch of ${size} (rotation ${rot}) on ${path}`);
    }
  }
});

test('long messages: a 64 KiB message among short ones, and one million "a" through the kernel', async () => {
  await loadSha256Kernel();
  const big = message(64 * 1024, 7);
  const batch = [message(10, 1), big, message(64, 2), message(3000, 3), ascii('abc'), message(0, 0)];
  const expected = batch.map((m) => hex(nobleSha256(m)));
  for (const path of PATHS) assert.deepEqual(many(batch, path), expected, path);
  const million = new Uint8Array(1_000_000).fill(0x61);
  assert.deepEqual(many([million, ascii('abc')], 'wasm'), [MILLION_A, VECTORS[1][2]]);
  // the kernel's memory grew for the million: later small batches still work (views renewed)
  assert.deepEqual(many([ascii('abc'), new Uint8Array(0)], 'wasm'), [VECTORS[1][2], VECTORS[0][2]]);
});

test('property (seeded): sha256Many equals @noble/hashes sha256 on random lists of random-length messages', async () => {
  await loadSha256Kernel();
  const msg = fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 50, maxLength: 70 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 5000 }) },
  );
  fc.assert(
    fc.property(fc.array(msg, { maxLength: 23 }), fc.constantFrom(...PATHS), (inputs, path) => {
      const expected = inputs.map((m) => hex(nobleSha256(m)));
      assert.deepEqual(many(inputs, path), expected);
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('sha256ManyReference is the per-message definition; sha256Many rejects a short output buffer', () => {
  const inputs = [ascii('abc'), new Uint8Array(0)];
  const out = new Uint8Array(64);
  sha256ManyReference(inputs, out);
  assert.equal(hex(out.subarray(0, 32)), VECTORS[1][2]);
  assert.equal(hex(out.subarray(32)), VECTORS[0][2]);
  assert.throws(() => sha256Many(inputs, new Uint8Array(63)), RangeError);
  assert.throws(() => sha256Many(inputs, new Uint8Array(64), 1), RangeError);
});

/** The per-entry definition: signingHash = SHA-256(body), hash = SHA-256(signingHash || signature). */
function definition(body: Uint8Array, signature: Uint8Array): [string, string] {
  const sh = nobleSha256(body);
  const link = new Uint8Array(96);
  link.set(sh);
  link.set(signature, 32);
  return [hex(sh), hex(nobleSha256(link))];
}

test('entryHashesMany: both passes agree with the definition on every path, across chunks, with preset signing hashes', async () => {
  await loadSha256Kernel();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.boolean()), { maxLength: 40 }),
      fc.constantFrom(...PATHS),
      (rows, path) => {
        const bodies = rows.map(([b]) => b);
        const sigs = rows.map(([, s]) => s);
        const want = rows.map(([b, s]) => definition(b, s));
        const sh: (Uint8Array | undefined)[] = rows.map(([b, , preset]) => (preset ? nobleSha256(b) : undefined));
        const h: Uint8Array[] = new Array(rows.length);
        _forceSha256ManyPath(path);
        try {
          entryHashesMany(bodies, sigs, sh, h);
        } finally {
          _forceSha256ManyPath('auto');
        }
        assert.deepEqual(
          rows.map((_, i) => [hex(sh[i]!), hex(h[i])]),
          want,
        );
        for (let i = 0; i < rows.length; i++) assert.equal(h[i].length, 32);
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
  // More than one chunk (256 KiB of padded bodies per kernel call): 700 bodies of 500 bytes.
  const bodies = Array.from({ length: 700 }, (_, i) => message(500 - (i % 7), i));
  const sigs = Array.from({ length: 700 }, (_, i) => message(64, i + 1000));
  for (const path of PATHS) {
    const sh: (Uint8Array | undefined)[] = new Array(700).fill(undefined);
    const h: Uint8Array[] = new Array(700);
    _forceSha256ManyPath(path);
    try {
      entryHashesMany(bodies, sigs, sh, h);
    } finally {
      _forceSha256ManyPath('auto');
    }
    for (let i = 0; i < 700; i++) assert.deepEqual([hex(sh[i]!), hex(h[i])], definition(bodies[i], sigs[i]), `${path} entry ${i}`);
    // the last entry's hashes own their bytes (a feed head kept after the run pins 32 bytes, not the chunk)
    assert.equal(h[699].buffer.byteLength, 32);
    assert.equal(sh[699]!.buffer.byteLength, 32);
  }
});

async function chain(n: number, kp = generateKeypair()): Promise<VerifiedEntry[]> {
  const out: VerifiedEntry[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const e = await signEntry({ seq, prev: out[seq - 2]?.hash, hlc: BigInt(seq), ops: message(60 + (seq % 90), seq) }, kp);
    out.push(e);
  }
  return out;
}

test('verifyRange hashes a run through the kernel, gives the same hashes as signing, and still finds a broken chain', async () => {
  await loadSha256Kernel();
  const kp = generateKeypair();
  const signed = await chain(40, kp);
  // seq 17 of the same feed signed over another prev (a fork): verifyRange must report the chain broken there
  const fork = await signEntry({ seq: 17, prev: new Uint8Array(32).fill(9), hlc: 17n, ops: message(77, 17) }, kp);
  const decoded = signed.map((e) => decodeEntryV1(e.bytes));
  const before = _sha256KernelMessages();
  const verified = await verifyRange(decoded);
  assert.ok(_sha256KernelMessages() - before >= 40, 'the 40 link hashes at least went through the kernel');
  verified.forEach((v, i) => {
    assert.equal(hex(v.hash), hex(signed[i].hash));
    assert.equal(hex(v.signingHash), hex(signed[i].signingHash));
  });
  for (const path of ['wasm', 'fallback'] as const) {
    _forceSha256ManyPath(path);
    try {
      assert.deepEqual((await verifyRange(decoded)).map((v) => hex(v.hash)), signed.map((e) => hex(e.hash)), path);
      const mixed = [...decoded.slice(0, 16), decodeEntryV1(fork.bytes), ...decoded.slice(17)];
      await assert.rejects(verifyRange(mixed), (e: unknown) => e instanceof LogError && e.code === 'HEARTH_BROKEN_CHAIN' && /seq 16/.test(e.message));
    } finally {
      _forceSha256ManyPath('auto');
    }
  }
});
