import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyOp, emptyDocState, encodeDocStateV1 } from '@hearth/crdt';
// The fast encoder is internal; the test reaches it by path on purpose (it pins byte equality with the reference).
import { encodeFreshState } from '../src/_docstate.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('encodeFreshState is encodeDocStateV1 of one put or delete on an empty state (property)', () => {
  const feed = fc.constantFrom(new Uint8Array(32).fill(0xaa), Uint8Array.of(1, 2, 3), new Uint8Array(200).fill(7));
  const name = fc.oneof(fc.constantFrom('a', 'b', 'title', 'é', '\uFF61', '\u{1F600}', 'ab', 'x'.repeat(130)), fc.string({ unit: 'grapheme', maxLength: 5 }));
  const value = fc.uint8Array({ maxLength: 300 });
  const hlc = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  fc.assert(
    fc.property(fc.constantFrom('put' as const, 'delete' as const), hlc, feed, fc.dictionary(name, value, { maxKeys: 140 }), (kind, h, f, dict) => {
      const fields = new Map(Object.entries(dict));
      const s = emptyDocState();
      applyOp(s, kind === 'put' ? { type: 'put', hlc: h, feed: f, fields } : { type: 'delete', hlc: h, feed: f });
      assert.equal(hex(encodeFreshState(kind, h, f, fields)), hex(encodeDocStateV1(s)));
    }),
    { seed: SEED, numRuns: 500 },
  );
});
