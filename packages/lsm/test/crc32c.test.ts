import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@hearth/lsm';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time reference (the definition, RFC 3720 B.4), to check the table-driven one against. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c: published vectors (RFC 3720 B.4, LevelDB crc32c_test)', () => {
  assert.equal(crc32c(utf8('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c: equals the bitwise reference, and extends across chunks', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (data, cut) => {
      const k = Math.min(cut, data.length);
      const whole = crc32c(data);
      assert.equal(whole, reference(data));
      assert.equal(crc32c(data, k, data.length, crc32c(data, 0, k)), whole);
    }),
    { seed: 0xc5c, numRuns: 300 },
  );
});

test('crc32c: argument checks', () => {
  assert.throws(() => crc32c(new Uint8Array(4), 2, 9), RangeError);
  assert.throws(() => crc32c([1, 2] as unknown as Uint8Array), TypeError);
});
