/**
 * The package's base64url for invite tokens and text frames (`_base64.ts`, over `sse/base64url.ts`): the bytes of
 * Node's own base64url, no padding out, optional padding in, and null for anything that is not canonical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromBase64Url, toBase64Url } from '../src/_base64.js';

test('base64url: round trip, equal to Node\'s encoding, padding accepted on input (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = toBase64Url(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64url'));
      assert.deepEqual(fromBase64Url(text), bytes);
      const padded = text + '='.repeat((4 - (text.length % 4)) % 4);
      assert.deepEqual(fromBase64Url(padded), bytes);
    }),
    { seed: 20261121, numRuns: 300 },
  );
});

test('base64url: refuses bad characters, impossible lengths, non-canonical tails and wrong padding', () => {
  for (const bad of ['ab+c', 'ab/c', 'ab c', 'a', 'abcde', 'AB', 'ABC', 'QQ===', 'QQ=', 'Q===', '==', 'QUJD=']) {
    assert.equal(fromBase64Url(bad), null, JSON.stringify(bad));
  }
  assert.deepEqual(fromBase64Url(''), new Uint8Array(0));
  assert.deepEqual(fromBase64Url('QQ'), Uint8Array.of(0x41));
  assert.deepEqual(fromBase64Url('QQ=='), Uint8Array.of(0x41));
  assert.deepEqual(fromBase64Url('QUI='), Uint8Array.of(0x41, 0x42));
});
