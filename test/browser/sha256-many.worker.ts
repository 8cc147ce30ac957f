/**
 * Runs in a Chromium dedicated worker (bundled by the harness): the batch SHA-256 of `@hearth/log`
 * (`_sha256_many.ts`) with the 4-lane WASM SIMD kernel and with the plain-JS fallback, on the FIPS 180-2 / RFC 6234
 * vectors in batches around the padding edges, on seeded random batches against @noble/hashes, and inside
 * `verifyRange`. Cases: SHA256_MANY_BROWSER_CASES in `sha256-many.test.ts`.
 */
import fc from 'fast-check';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { decodeEntryV1, generateKeypair, signEntry, verifyRange, type VerifiedEntry } from '@hearth/log';
import {
  entryHashesMany,
  loadSha256Kernel,
  sha256KernelUnavailable,
  sha256Many,
  sha256ManyPath,
  _forceSha256ManyPath,
  _sha256KernelMessages,
} from '../../packages/log/src/_sha256_many.js';
import { main, runCase } from './worker-kit.js';

declare const __SEED__: number;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const ascii = (s: string) => new TextEncoder().encode(s);
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}
const PATHS = ['auto', 'wasm', 'fallback'] as const;
const VECTORS: readonly [Uint8Array, string][] = [
  [new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  [
    ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
];

function message(len: number, tag: number): Uint8Array {
  const buf = new Uint8Array(len + 7);
  for (let i = 0; i < len; i++) buf[3 + i] = (i * 31 + tag * 17 + 5) & 255;
  return buf.subarray(3, 3 + len);
}

function many(inputs: readonly Uint8Array[], path: (typeof PATHS)[number]): string[] {
  _forceSha256ManyPath(path);
  try {
    const out = new Uint8Array(32 * inputs.length);
    sha256Many(inputs, out);
    return inputs.map((_, i) => hex(out.subarray(32 * i, 32 * i + 32)));
  } finally {
    _forceSha256ManyPath('auto');
  }
}

main(async () => {
  await runCase('the kernel loads (WebAssembly SIMD) and is the path for batches', async () => {
    check(await loadSha256Kernel(), `kernel unavailable: ${sha256KernelUnavailable()}`);
    check(sha256ManyPath(96, 256) === 'wasm' && sha256ManyPath(400, 256) === 'wasm', 'no native hash here: every short message takes the kernel');
    check(sha256ManyPath(96, 1) === 'js', 'a lone message takes the plain-JS path');
    const before = _sha256KernelMessages();
    const inputs = Array.from({ length: 9 }, (_, i) => message(30 + 40 * i, i));
    const want = inputs.map((m) => hex(nobleSha256(m)));
    check(JSON.stringify(many(inputs, 'auto')) === JSON.stringify(want), 'auto batch = noble');
    check(_sha256KernelMessages() - before === 9, 'the nine messages went through the kernel');
    const at = _sha256KernelMessages();
    check(JSON.stringify(many(inputs, 'fallback')) === JSON.stringify(want), 'forced fallback = noble');
    check(_sha256KernelMessages() === at, 'the forced fallback did not touch the kernel');
  });

  await runCase('FIPS 180-2 / RFC 6234 vectors in batches of 1, 3, 4, 5, 9 with padding-edge lengths', async () => {
    const pool: [Uint8Array, string][] = [...VECTORS, ...[0, 55, 56, 63, 64, 65].map((len, i): [Uint8Array, string] => {
      const m = message(len, i);
      return [m, hex(nobleSha256(m))];
    })];
    for (const [m, d] of VECTORS) for (const path of PATHS) check(many([m], path)[0] === d, `vector on ${path}`);
    for (const size of [1, 3, 4, 5, 9]) {
      for (let rot = 0; rot < pool.length; rot++) {
        const batch = Array.from({ length: size }, (_, i) => pool[(rot + i * 3) % pool.length]);
        for (const path of PATHS) {
          check(JSON.stringify(many(batch.map(([m]) => m), path)) === JSON.stringify(batch.map(([, d]) => d)), `batch of ${size} (rotation ${rot}) on ${path}`);
        }
      }
    }
    const big = message(64 * 1024, 9);
    for (const path of PATHS) check(many([ascii('abc'), big, message(56, 1)], path)[1] === hex(nobleSha256(big)), `64 KiB on ${path}`);
  });

  await runCase('seeded random batches equal @noble/hashes on every path', async () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 19 }), fc.constantFrom(...PATHS), (inputs, path) => {
        check(JSON.stringify(many(inputs, path)) === JSON.stringify(inputs.map((m) => hex(nobleSha256(m)))), `seed ${__SEED__}: batch on ${path}`);
      }),
      { seed: __SEED__, numRuns: 200 },
    );
    const bodies = Array.from({ length: 50 }, (_, i) => message(80 + 7 * i, i));
    const sigs = Array.from({ length: 50 }, (_, i) => message(64, 100 + i));
    for (const path of PATHS) {
      _forceSha256ManyPath(path);
      const sh: (Uint8Array | undefined)[] = new Array(50).fill(undefined);
      const h: Uint8Array[] = new Array(50);
      try {
        entryHashesMany(bodies, sigs, sh, h);
      } finally {
        _forceSha256ManyPath('auto');
      }
      for (let i = 0; i < 50; i++) {
        const s = nobleSha256(bodies[i]);
        const link = new Uint8Array(96);
        link.set(s);
        link.set(sigs[i], 32);
        check(hex(sh[i]!) === hex(s) && hex(h[i]) === hex(nobleSha256(link)), `entry ${i} on ${path}`);
      }
    }
  });

  await runCase('verifyRange hashes a run through the kernel; same hashes as signing; forced fallback agrees', async () => {
    const kp = generateKeypair();
    const signed: VerifiedEntry[] = [];
    for (let seq = 1; seq <= 40; seq++) signed.push(await signEntry({ seq, prev: signed[seq - 2]?.hash, hlc: BigInt(seq), ops: message(60 + seq, seq) }, kp));
    const decoded = signed.map((e) => decodeEntryV1(e.bytes));
    const before = _sha256KernelMessages();
    const verified = await verifyRange(decoded);
    check(_sha256KernelMessages() - before === 80, 'the 40 bodies and 40 link inputs went through the kernel');
    check(verified.every((v, i) => hex(v.hash) === hex(signed[i].hash) && hex(v.signingHash) === hex(signed[i].signingHash)), 'hashes = signing');
    _forceSha256ManyPath('fallback');
    try {
      const again = await verifyRange(decoded);
      check(again.every((v, i) => hex(v.hash) === hex(signed[i].hash)), 'fallback hashes = signing');
    } finally {
      _forceSha256ManyPath('auto');
    }
  });
});
