import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bloomHash, bloomMayContain, bloomProbes, buildBloom } from '../src/_bloom.js';

function keyOf(i: number, salt: number): Uint8Array {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint32(0, i);
  new DataView(b.buffer).setUint32(4, salt);
  new DataView(b.buffer).setUint32(8, Math.imul(i, 0x9e3779b1) >>> 0);
  return b;
}

test('bloom: LevelDB hash vectors (util/hash_test.cc, seed 0xbc9f1d34)', () => {
  // LevelDB's Hash(data, n, 0xbc9f1d34) for its test inputs.
  assert.equal(bloomHash(new Uint8Array(0)), 0xbc9f1d34);
  assert.equal(bloomHash(new Uint8Array([0x62])), 0xef1345c4);
  assert.equal(bloomHash(new Uint8Array([0xc3, 0x97])), 0x5b663814);
  assert.equal(bloomHash(new Uint8Array([0xe2, 0x99, 0xa5])), 0x323c078f);
  assert.equal(bloomHash(new Uint8Array([0xe1, 0x80, 0xb9, 0x32])), 0xed21633a);
});

test('bloom: no false negatives; false-positive rate about 1% at 10 bits/key', () => {
  const n = 10_000;
  const hashes = new Uint32Array(n);
  for (let i = 0; i < n; i++) hashes[i] = bloomHash(keyOf(i, 1));
  const filter = buildBloom(hashes, n, 10);
  assert.equal(filter[filter.length - 1], bloomProbes(10));
  assert.equal(bloomProbes(10), 6);
  for (let i = 0; i < n; i++) assert.ok(bloomMayContain(filter, 0, filter.length, hashes[i]), `false negative at ${i}`);
  const trials = 20_000;
  let fp = 0;
  for (let i = 0; i < trials; i++) if (bloomMayContain(filter, 0, filter.length, bloomHash(keyOf(i, 2)))) fp++;
  const rate = fp / trials;
  // Theory: (1 - e^(-6/10))^6 = 0.84%. With 20,000 trials the standard deviation is about 0.065%, so
  // [0.4%, 1.5%] is more than six deviations wide on each side.
  assert.ok(rate > 0.004 && rate < 0.015, `false-positive rate ${rate}`);
});

test('bloom: tiny and empty filters', () => {
  const f = buildBloom(new Uint32Array(0), 0, 10);
  assert.equal(f.length, 9); // 64 bits minimum + k
  assert.equal(bloomMayContain(f, 0, f.length, bloomHash(new Uint8Array([1]))), false);
  assert.equal(bloomMayContain(new Uint8Array(1), 0, 1, 123), true); // too short: "may contain"
});

test('bloom: probing with uint32 arithmetic answers exactly as the double-precision reference', () => {
  // The reference is the filter definition (bit h % bits, double hashing) in plain double arithmetic; the
  // optimized probe must agree for hashes above 2^31 and filter sizes that are not powers of two.
  const reference = (f: Uint8Array, h: number): boolean => {
    const bits = (f.length - 1) * 8;
    const delta = ((h >>> 17) | (h << 15)) >>> 0;
    for (let j = 0; j < f[f.length - 1]; j++) {
      const pos = h % bits;
      if ((f[Math.floor(pos / 8)] & (1 << (pos % 8))) === 0) return false;
      h = (h + delta) % 2 ** 32;
    }
    return true;
  };
  let seed = 0x2545f491;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (const n of [1, 7, 100, 999]) {
    const hashes = new Uint32Array(n);
    for (let i = 0; i < n; i++) hashes[i] = rand();
    const filter = buildBloom(hashes, n, 10);
    for (let i = 0; i < 5000; i++) {
      const h = i < n ? hashes[i] : rand() | (i & 1 ? 0x80000000 : 0);
      assert.equal(bloomMayContain(filter, 0, filter.length, h >>> 0), reference(filter, h >>> 0), `n=${n} h=${h >>> 0} (seed 0x2545f491)`);
    }
  }
});
