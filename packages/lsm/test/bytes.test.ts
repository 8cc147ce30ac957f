import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareBytes, prefix32 } from '../src/_bytes.js';

test('prefix32: differing prefixes order keys as compareBytes does; equal prefixes defer to it', () => {
  // Short keys and shared leading bytes are where a padded prefix could go wrong.
  const key = fc.uint8Array({ maxLength: 6 }).map((a) => a.map((b) => b % 4));
  fc.assert(
    fc.property(key, key, (a, b) => {
      const pa = prefix32(a);
      const pb = prefix32(b);
      assert.ok(pa >= 0 && pa <= 0xffffffff && Number.isInteger(pa));
      const c = Math.sign(compareBytes(a, b));
      if (pa !== pb) assert.equal(Math.sign(pa - pb), c);
    }),
    { numRuns: 5000, seed: 0x5eed32 },
  );
  assert.equal(prefix32(new Uint8Array([0xff, 0xfe, 0xfd, 0xfc, 9])), 0xfffefdfc);
  assert.equal(prefix32(new Uint8Array([1])), 0x01000000);
  assert.equal(prefix32(new Uint8Array(0)), 0);
});
