import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFieldValueV1, encodeFieldValueV1, type DocValue } from '../src/values.js';
// The validator is internal; the test reaches it by path on purpose (it pins agreement with the reference).
import { canonicalValueProblem } from '../src/_validate.js';
import { canonicalWithMsgpackr, restoreWithMsgpackr } from './_msgpackr-ref.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

/**
 * Whether `bytes` holds a float 64 NaN other than `7ff8000000000000` (a byte scan; it may also match inside strings,
 * which only excuses a disagreement in one direction). The reference re-encodes a decoded NaN with its payload
 * bits (V8 keeps them), so it accepts any NaN; the canonical form (and the validator) allow only one.
 */
function hasOtherNaN(bytes: Uint8Array): boolean {
  for (let i = 0; i + 9 <= bytes.length; i++) {
    if (bytes[i] !== 0xcb) continue;
    const v = new DataView(bytes.buffer, bytes.byteOffset + i + 1, 8);
    if (Number.isNaN(v.getFloat64(0)) && !(v.getUint32(0) === 0x7ff80000 && v.getUint32(4) === 0)) return true;
  }
  return false;
}

/** The independent reference: msgpackr decode, restore, msgpackr encode, compare (`_msgpackr-ref.ts`). */
function reference(bytes: Uint8Array): boolean {
  return canonicalWithMsgpackr(bytes);
}

const small: fc.Arbitrary<DocValue> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'y'.repeat(256), '\u{1F600}', 'é'),
  fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
  fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 2 ** 31, -(2 ** 31), 2 ** 32, NaN, 0.5),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.float32Array({ maxLength: 20 }),
);
const scalar: fc.Arbitrary<DocValue> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(70000), '\u{1F600}', 'é'),
  fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
  fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, NaN, Infinity, -Infinity, 0.5),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(new Uint8Array(255), new Uint8Array(256), new Uint8Array(70000)),
  fc.float32Array({ maxLength: 20 }),
  fc.constantFrom(new Float32Array(0), new Float32Array(63), new Float32Array(64), new Float32Array(20000)),
);
function values(leaf: fc.Arbitrary<DocValue>): fc.Arbitrary<DocValue> {
  return fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 18 }),
    object: fc.dictionary(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('é', '\uFF61', '\u{1F600}')), tie('value'), { maxKeys: 18 }),
  })).value as fc.Arbitrary<DocValue>;
}
const value = values(scalar);

test('the validator accepts every canonical encoding (property)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = encodeFieldValueV1(v);
      assert.equal(canonicalValueProblem(bytes), null);
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('the validator agrees with the reference on mutated encodings and random bytes (property)', () => {
  const mutated = fc
    .tuple(values(small), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 3 }))
    .map(([v, edits]) => {
      const arr = [...encodeFieldValueV1(v)];
      for (const [at, byte, how] of edits) {
        const i = arr.length === 0 ? 0 : at % (arr.length + (how === 'insert' ? 1 : 0));
        if (how === 'set' && arr.length > 0) arr[i % arr.length] = byte;
        else if (how === 'insert') arr.splice(i, 0, byte);
        else if (arr.length > 1) arr.splice(i % arr.length, 1);
      }
      return Uint8Array.from(arr);
    });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 24 })), (bytes) => {
      const ours = canonicalValueProblem(bytes) === null;
      const ref = reference(bytes);
      if (ours) assert.ok(ref, `validator accepts what the reference refuses: ${Buffer.from(bytes).toString('hex')}`);
      else if (ref) assert.ok(hasOtherNaN(bytes), `validator refuses a canonical value: ${Buffer.from(bytes).toString('hex')}`);
    }),
    { seed: SEED, numRuns: 3000 },
  );
});

test('the validator refuses the non-canonical forms one by one, as the reference does', () => {
  const cases = [
    'cc05', 'cd0005', 'ce00000005', 'd0ff', 'd1ff80', 'd2ffff8000', 'cb8000000000000000', 'cb3ff0000000000000',
    'd90161', 'da000161', 'c5000101', 'dc000101', 'de00010161c0', '82a162c0a161c0', '82a161c0a161c0', 'a2c0af', 'a3eda080',
    'd4740700', 'c70174', 'c7027408ff', 'c70575070000803f', 'c1', 'ca3f800000', 'cf0000000000000001', 'c0c0', '',
  ];
  for (const h of cases) {
    const bytes = Uint8Array.from(Buffer.from(h, 'hex'));
    assert.equal(reference(bytes), false, `reference accepts ${h}`);
    assert.notEqual(canonicalValueProblem(bytes), null, `validator accepts ${h}`);
  }
  // NaN: only 7ff8000000000000 is canonical (the reference accepts any NaN payload: see hasOtherNaN)
  for (const h of ['cb7ff8000000000001', 'cbfff8000000000000', 'cb7ff0000000000001']) assert.notEqual(canonicalValueProblem(Uint8Array.from(Buffer.from(h, 'hex'))), null, h);
  assert.equal(canonicalValueProblem(Uint8Array.from(Buffer.from('cb7ff8000000000000', 'hex'))), null);
  // depth: 63 nested arrays hold a byte array at level 63; one more level is refused
  const nest = (levels: number, inner: DocValue): DocValue => (levels === 0 ? inner : [nest(levels - 1, inner)]);
  const ok = encodeFieldValueV1(nest(63, new Uint8Array(1)));
  assert.equal(canonicalValueProblem(ok), null);
  const deep = Uint8Array.from([0x91, ...ok]);
  assert.equal(reference(deep), false);
  assert.notEqual(canonicalValueProblem(deep), null);
  const deepScalar = Uint8Array.from([...new Array(64).fill(0x91), 0x01]);
  assert.equal(canonicalValueProblem(deepScalar) === null, reference(deepScalar));
});

test('decodeFieldValueV1 decodes what msgpackr decodes (property), and refuses what the validator refuses', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = encodeFieldValueV1(v);
      assert.deepEqual(decodeFieldValueV1(bytes), restoreWithMsgpackr(bytes));
      assert.deepEqual(decodeFieldValueV1(bytes, false), restoreWithMsgpackr(bytes));
    }),
    { seed: SEED, numRuns: 500 },
  );
  for (const h of ['cc05', 'a2c0af', '82a162c0a161c0', 'c0c0']) {
    assert.throws(() => decodeFieldValueV1(Uint8Array.from(Buffer.from(h, 'hex'))), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION');
  }
});
