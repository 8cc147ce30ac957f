/** The relay's JSON form of document values (`apps/relay/src/json.ts`): round trip and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromJsonValue, toJsonValue } from '@hearth/relay';

const SEED = Number(process.env.RELAY_SEED ?? 7);

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.string(),
    fc.uint8Array({ maxLength: 20 }),
    fc.float32Array({ maxLength: 8 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string().filter((k) => !k.startsWith('$') && k !== '__proto__'), tie('v'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).v;

test('toJsonValue / fromJsonValue round-trip document values through JSON text (seeded property)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const back = fromJsonValue(JSON.parse(JSON.stringify(toJsonValue(v))));
      assert.deepEqual(back, v);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('malformed special objects are refused with TypeError', () => {
  for (const bad of [{ $bytes: 'A*' }, { $bytes: 3 }, { $f32: ['x'] }, { $num: 'big' }]) assert.throws(() => fromJsonValue(bad), TypeError);
  assert.deepEqual(fromJsonValue({ $bytes: 'AQ', other: 1 }), { $bytes: 'AQ', other: 1 }, 'only one-key objects are special');
});
