import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CorruptionError } from '@hearth/io';
import { applyOp, decodeDocStateV1, emptyDocState, encodeDocStateV1, type DocOp } from '@hearth/crdt';
import { encodeFieldValueV1, type DocValue } from '@hearth/db';
// The read path's decoder is internal; the test reaches it by path on purpose (it pins equality with the strict
// reference decoder, invariant 1 of `_decode.ts`).
import { SHORT_TEXT_BYTES, asciiString, decodeVisibleDoc, trustedUtf8 } from '../src/_decode.js';
import { visibleDocument } from '../src/_read.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const key = fc.oneof(fc.constantFrom('__proto__', 'a', 'é', '\u{1F600}', 'x'.repeat(70)), fc.string({ unit: 'grapheme', maxLength: 6 }));
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double().filter((x) => !Object.is(x, -0)),
  fc.integer(),
  fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 30, maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.float32Array({ maxLength: 8 }),
);
const value: fc.Arbitrary<DocValue> = fc.letrec<{ v: DocValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 20 }),
    fc.dictionary(key, tie('v'), { maxKeys: 20 }),
  ),
})).v;

const feed = fc.constantFrom(new Uint8Array(32).fill(0xaa), new Uint8Array(32).fill(0xbb), Uint8Array.of(1, 2, 3));
const fieldName = fc.oneof(fc.constantFrom('a', 'b', 'title', 'é', '\uFF61', '\u{1F600}', '__proto__', 'n'.repeat(80)), fc.string({ unit: 'grapheme', maxLength: 5 }));
const encoded = value.map((v) => encodeFieldValueV1(v));
const op: fc.Arbitrary<DocOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed, fields: fc.dictionary(fieldName, encoded, { maxKeys: 6 }).map((d) => new Map(Object.entries(d))) }),
  fc.record({ type: fc.constant('patch' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed, fields: fc.dictionary(fieldName, fc.option(encoded, { nil: null }), { maxKeys: 6 }).map((d) => new Map(Object.entries(d))) }),
  fc.record({ type: fc.constant('delete' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed }),
);

function stateBytes(ops: DocOp[]): Uint8Array {
  const s = emptyDocState();
  for (const o of ops) applyOp(s, o);
  return encodeDocStateV1(s);
}

test('decodeVisibleDoc equals the strict decoder + visibleDocument (property: random op histories, nested values)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 10 }), (ops) => {
      const bytes = stateBytes(ops);
      const want = visibleDocument(decodeDocStateV1(bytes));
      const got = decodeVisibleDoc(bytes);
      assert.deepStrictEqual(got, want, `state ${hex(bytes)}`);
      if (got !== undefined) {
        assert.deepEqual(Object.keys(got), Object.keys(want!), 'key order');
        assert.equal(Object.getPrototypeOf(got), Object.prototype);
      }
    }),
    { seed: SEED, numRuns: 250 },
  );
});

test('decodeVisibleDoc returns fresh containers: mutating a result does not change the next decode', () => {
  const fields = new Map<string, Uint8Array>([
    ['bin', encodeFieldValueV1(Uint8Array.of(1, 2, 3))],
    ['vec', encodeFieldValueV1(Float32Array.of(1.5, -2))],
    ['list', encodeFieldValueV1([1, 'two', { three: [3] }])],
    ['obj', encodeFieldValueV1({ k: 'v' })],
  ]);
  const bytes = stateBytes([{ type: 'put', hlc: 1n, feed: Uint8Array.of(7), fields }]);
  const a = decodeVisibleDoc(bytes)!;
  (a.bin as Uint8Array)[0] = 99;
  (a.vec as Float32Array)[0] = 99;
  ((a.list as DocValue[])[2] as { three: number[] }).three.push(4);
  (a.obj as Record<string, string>).k = 'changed';
  const b = decodeVisibleDoc(bytes)!;
  assert.deepStrictEqual(b, { bin: Uint8Array.of(1, 2, 3), list: [1, 'two', { three: [3] }], obj: { k: 'v' }, vec: Float32Array.of(1.5, -2) });
  assert.notEqual((b.bin as Uint8Array).buffer, bytes.buffer);
});

test('decodeVisibleDoc: deleted and tombstone-only states are undefined; a put of no fields is {}', () => {
  const f = Uint8Array.of(1);
  assert.equal(decodeVisibleDoc(stateBytes([{ type: 'put', hlc: 1n, feed: f, fields: new Map([['a', encodeFieldValueV1(1)]]) }, { type: 'delete', hlc: 2n, feed: f }])), undefined);
  assert.equal(decodeVisibleDoc(stateBytes([{ type: 'patch', hlc: 1n, feed: f, fields: new Map([['a', null]]) }])), undefined);
  assert.deepStrictEqual(decodeVisibleDoc(stateBytes([{ type: 'put', hlc: 1n, feed: f, fields: new Map() }])), {});
  assert.deepStrictEqual(
    decodeVisibleDoc(stateBytes([{ type: 'delete', hlc: 1n, feed: f }, { type: 'patch', hlc: 2n, feed: f, fields: new Map([['b', encodeFieldValueV1('x')]]) }])),
    { b: 'x' },
  );
});

test('decodeVisibleDoc refuses truncated, extended and unknown-version input with CorruptionError (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 6 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (ops, cut, extra) => {
      const bytes = stateBytes(ops);
      const prefix = bytes.subarray(0, cut % bytes.length);
      assert.throws(() => decodeVisibleDoc(prefix), CorruptionError, `prefix of ${prefix.length}/${bytes.length} bytes`);
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      longer[bytes.length] = extra;
      assert.throws(() => decodeVisibleDoc(longer), CorruptionError, 'a trailing byte');
      const v2 = bytes.slice();
      v2[0] = 2;
      assert.throws(() => decodeVisibleDoc(v2), CorruptionError, 'version 2');
    }),
    { seed: SEED, numRuns: 150 },
  );
});

test('decodeVisibleDoc: a field value with trailing bytes inside its length is corruption', () => {
  const good = stateBytes([{ type: 'put', hlc: 1n, feed: Uint8Array.of(1), fields: new Map([['a', Uint8Array.of(0x01, 0x02)]]) }]);
  assert.throws(() => decodeVisibleDoc(good), CorruptionError);
});

test('decodeVisibleDoc with fields holds exactly those fields of the whole document; existence is unchanged (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 8 }), fc.array(fieldName, { maxLength: 4 }), (ops, names) => {
      const bytes = stateBytes(ops);
      const full = decodeVisibleDoc(bytes);
      const fields = new Set(names);
      const part = decodeVisibleDoc(bytes, fields);
      if (full === undefined) return assert.equal(part, undefined);
      const want: Record<string, unknown> = {};
      for (const k of Object.keys(full)) if (fields.has(k)) Object.defineProperty(want, k, { value: full[k], enumerable: true, writable: true, configurable: true });
      assert.deepStrictEqual(part, want, `state ${hex(bytes)}, fields ${JSON.stringify(names)}`);
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test('trustedUtf8 equals TextDecoder for ASCII and non-ASCII text of every length up to 64, at any offset', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  for (let len = 0; len <= 64; len++) {
    const ascii = Array.from({ length: len }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');
    const variants = [ascii];
    for (let at = 0; at < len; at += 3) variants.push(ascii.slice(0, at) + (at % 2 ? 'é' : '😀') + ascii.slice(at + 1));
    for (const text of variants) {
      const bytes = enc.encode(text);
      const framed = new Uint8Array(bytes.length + 5);
      framed.set(bytes, 3);
      assert.equal(trustedUtf8(framed, 3, 3 + bytes.length), dec.decode(bytes), JSON.stringify(text));
      // asciiString: the same string for short ASCII, null for anything else (the caller's decoder takes it).
      const short = text === ascii && bytes.length <= SHORT_TEXT_BYTES;
      assert.equal(asciiString(framed, 3, 3 + bytes.length), short ? text : null, JSON.stringify(text));
    }
  }
});
