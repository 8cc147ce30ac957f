// SHA-256 paths of @hearth/log agree with node:crypto: the plain-JS one (`_sha256.ts`, used where no synchronous
// native hash exists) on the FIPS 180-2 examples and on seeded random inputs of every length over several blocks,
// and the exported sha256Sync / sha256 (native in Node) on the same inputs; linkHash's scratch input leaks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256Into, sha256Js } from '../src/_sha256.js';
import { sha256, sha256Sync } from '../src/_crypto.js';
import { linkHash } from '@hearth/log';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('FIPS 180-2 examples', () => {
  const abc = new TextEncoder().encode('abc');
  assert.equal(hex(sha256Js(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const two = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
  assert.equal(hex(sha256Js(two)), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  assert.equal(hex(sha256Js(new Uint8Array(1_000_000).fill(0x61))), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  assert.equal(hex(sha256Js(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('every length 0..300 and random inputs (views at offsets) match node:crypto on every path', async () => {
  for (let len = 0; len <= 300; len++) {
    const d = new Uint8Array(len).map((_, i) => (i * 131 + len * 7) & 255);
    assert.equal(hex(sha256Js(d)), ref(d), `length ${len}`);
  }
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.nat(9), async (bytes, offset) => {
      const big = new Uint8Array(offset + bytes.length + 5).fill(0xee);
      big.set(bytes, offset);
      const view = big.subarray(offset, offset + bytes.length);
      const want = ref(bytes);
      assert.equal(hex(sha256Js(view)), want);
      const out = new Uint8Array(40).fill(0x55);
      sha256Into(big, offset, bytes.length, out, 3);
      assert.equal(hex(out.subarray(3, 35)), want, 'sha256Into a range, written at an offset');
      assert.deepEqual([...out.subarray(0, 3), ...out.subarray(35)], [0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55], 'nothing outside the output range');
      assert.equal(hex(sha256Sync(view)), want);
      assert.equal(hex(await sha256(view)), want);
      assert.equal(hex(await sha256(view, 'noble')), want);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('sha256Sync outputs never share bytes: each call returns its own 32 bytes', () => {
  const a = sha256Sync(new Uint8Array([1]));
  const b = sha256Sync(new Uint8Array([2]));
  const want = hex(a);
  for (let i = 0; i < 300; i++) sha256Sync(new Uint8Array([i & 255])); // across slab boundaries
  assert.equal(hex(a), want);
  assert.equal(a.length, 32);
  assert.notEqual(hex(a), hex(b));
});

test('linkHash: SHA-256(signingHash || signature), independent of earlier calls; wrong lengths are RangeError', () => {
  const a = new Uint8Array(32).fill(1);
  const s = new Uint8Array(64).fill(2);
  const want = ref(new Uint8Array([...a, ...s]));
  linkHash(new Uint8Array(32).fill(9), new Uint8Array(64).fill(9));
  assert.equal(hex(linkHash(a, s)), want);
  assert.throws(() => linkHash(new Uint8Array(31), s), RangeError);
  assert.throws(() => linkHash(a, new Uint8Array(63)), RangeError);
});
