import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { packHlc } from '@hearth/crdt';
import { decodeFieldValueV1, decodeOpsV1, encodeFieldValueV1, encodeOpsV1, DbError, type Op } from '@hearth/db';
import { fixtureOps } from './fixtures/make-fixtures.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isMalformed = (e: unknown) => e instanceof DbError && e.code === 'HEARTH_MALFORMED_OPS';

function normalize(ops: Op[]): unknown[] {
  return ops.map((o) => ({ ...o, hlc: o.hlc.toString(), fields: o.kind === 'delete' ? undefined : [...o.fields].map(([k, v]) => [k, v === null ? null : hex(v)]) }));
}

const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => s !== '_id' && !s.includes('\u0000'));
const opArb = fc.record({
  kind: fc.constantFrom('put', 'patch', 'delete'),
  collection: fc.constantFrom('a', 'notes', 'ü'),
  // Up to 60 graphemes: ids cross the 8-byte steps and the 48-byte limit of the short-ASCII decoder (`asciiString`).
  id: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.string({ minLength: 1, maxLength: 60 })),
  gap: fc.bigInt({ min: 1n, max: 1n << 40n }),
  fields: fc.dictionary(name, fc.option(fc.oneof(fc.string(), fc.integer(), fc.uint8Array({ maxLength: 4 })), { nil: null }), { maxKeys: 4 }),
});

test('ops V1 round-trips (property) and the encoder is a function of the ops', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), fc.bigInt({ min: 0n, max: 1n << 62n }), (raw, start) => {
      let hlc = start;
      const ops: Op[] = raw.map((r, i) => {
        if (i > 0) hlc += r.gap;
        if (r.kind === 'delete') return { kind: 'delete', collection: r.collection, id: r.id, hlc };
        const entries = Object.entries(r.fields).map(([k, v]) => [k, v === null ? (r.kind === 'put' ? encodeFieldValueV1(null) : null) : encodeFieldValueV1(v)] as const);
        return r.kind === 'put'
          ? { kind: 'put', collection: r.collection, id: r.id, hlc, fields: new Map(entries as [string, Uint8Array][]) }
          : { kind: 'patch', collection: r.collection, id: r.id, hlc, fields: new Map(entries) };
      });
      const bytes = encodeOpsV1(ops);
      const back = decodeOpsV1(bytes);
      assert.deepEqual(normalize(back), normalize(ops));
      assert.equal(hex(encodeOpsV1(back)), hex(bytes));
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('fixture ops-v1.bin decodes to the worked example of docs/formats/ops.md', () => {
  const bytes = readFileSync(new URL('./fixtures/ops-v1.bin', import.meta.url));
  assert.equal(hex(bytes), hex(encodeOpsV1(fixtureOps())), 'the encoder still writes the fixture');
  const ops = decodeOpsV1(bytes);
  assert.equal(ops.length, 3);
  assert.deepEqual(ops.map((o) => [o.kind, o.collection, o.id]), [['put', 'notes', 'n1'], ['patch', 'notes', 'n1'], ['delete', 'notes', 'n2']]);
  assert.equal(ops[0].hlc, packHlc(1763700000000, 0));
  assert.equal(ops[1].hlc, packHlc(1763700000000, 1));
  assert.equal(ops[2].hlc, packHlc(1763700000001, 0));
  const put = ops[0] as Extract<Op, { kind: 'put' }>;
  assert.equal(decodeFieldValueV1(put.fields.get('title')!), 'hello');
  assert.deepEqual(decodeFieldValueV1(put.fields.get('tags')!), ['a', 'b']);
  assert.deepEqual([...(decodeFieldValueV1(put.fields.get('v')!) as Float32Array)], [0.5, -1]);
  const patch = ops[1] as Extract<Op, { kind: 'patch' }>;
  assert.equal(patch.fields.get('title'), null);
  assert.equal(decodeFieldValueV1(patch.fields.get('done')!), true);
  assert.equal(hex(bytes.subarray(0, 4)), '01030505', 'version, 3 ops, 5 strings, "notes" length');
});

test('malformed payloads are refused with HEARTH_MALFORMED_OPS, at every truncation and for each rule', () => {
  const good = readFileSync(new URL('./fixtures/ops-v1.bin', import.meta.url));
  for (let n = 0; n < good.length; n++) assert.throws(() => decodeOpsV1(good.subarray(0, n)), isMalformed, `truncated at ${n}`);
  const patch = (at: number, v: number) => {
    const b = Uint8Array.from(good);
    b[at] = v;
    return b;
  };
  assert.throws(() => decodeOpsV1(patch(0, 2)), isMalformed, 'version');
  assert.throws(() => decodeOpsV1(Uint8Array.from([...good, 0])), isMalformed, 'trailing byte');
  assert.throws(() => decodeOpsV1(Uint8Array.from([1, 0, 0])), isMalformed, 'no ops');
  const t = packHlc(1763700000000, 0);
  const f = (v: unknown) => encodeFieldValueV1(v as never);
  const enc = (ops: Op[]) => encodeOpsV1(ops);
  // equal stamps: the encoder refuses (a caller bug), the decoder refuses a zero delta
  assert.throws(() => enc([{ kind: 'delete', collection: 'c', id: 'a', hlc: t }, { kind: 'delete', collection: 'c', id: 'b', hlc: t }]), RangeError);
  const two = enc([{ kind: 'delete', collection: 'c', id: 'a', hlc: t }, { kind: 'delete', collection: 'c', id: 'b', hlc: t + 1n }]);
  const zeroDelta = Uint8Array.from(two);
  zeroDelta[two.length - 4] = 0; // the delta varint of op 1 (kind, delta, collection, idLen, id)
  assert.throws(() => decodeOpsV1(zeroDelta), isMalformed, 'zero delta');
  // field named _id, non-canonical value, repeated string, unknown op kind, empty id
  assert.throws(() => decodeOpsV1(enc([{ kind: 'put', collection: 'c', id: 'a', hlc: t, fields: new Map([['_id', f(1)]]) }])), isMalformed);
  assert.throws(() => decodeOpsV1(enc([{ kind: 'put', collection: 'c', id: 'a', hlc: t, fields: new Map([['x', Uint8Array.of(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0)]]) }])), isMalformed);
  assert.doesNotThrow(() => decodeOpsV1(enc([{ kind: 'put', collection: 'c', id: 'a', hlc: t, fields: new Map([['x', Uint8Array.of(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0)]]) }]), { checkValues: false }));
  const dupTable = Uint8Array.of(1, 1, 2, 1, 0x63, 1, 0x63, ...new Uint8Array(8), 3, 0, 1, 0x61);
  assert.throws(() => decodeOpsV1(dupTable), isMalformed, 'repeated string');
  assert.throws(() => decodeOpsV1(Uint8Array.of(1, 1, 1, 1, 0x63, ...new Uint8Array(8), 9, 0, 1, 0x61)), isMalformed, 'op kind');
  assert.throws(() => decodeOpsV1(Uint8Array.of(1, 1, 1, 1, 0x63, ...new Uint8Array(8), 3, 0, 0)), isMalformed, 'empty id');
  assert.doesNotThrow(() => decodeOpsV1(Uint8Array.of(1, 1, 1, 1, 0x63, ...new Uint8Array(8), 3, 0, 1, 0x61)));
  assert.throws(() => decodeOpsV1(Uint8Array.of(1, 1, 1, 1, 0x00, ...new Uint8Array(8), 3, 0, 1, 0x61)), isMalformed, 'NUL collection');
  assert.throws(() => decodeOpsV1(Uint8Array.of(1, 1, 1, 1, 0xff, ...new Uint8Array(8), 3, 0, 1, 0x61)), isMalformed, 'invalid UTF-8');
});

test('decodeOpsV1 refuses collection names over the byte limit (UTF-8 bytes, not UTF-16 units) and accepts the limit', async () => {
  const { encodeOpsV1, decodeOpsV1 } = await import('../src/ops.js');
  const { MAX_COLLECTION_BYTES } = await import('../src/constants.js');
  const fields = new Map([['a', Uint8Array.of(0x01)]]);
  const ok = encodeOpsV1([{ kind: 'put', collection: 'x'.repeat(MAX_COLLECTION_BYTES), id: 'i', hlc: 5n, fields }]);
  assert.equal(decodeOpsV1(ok)[0].collection.length, MAX_COLLECTION_BYTES);
  for (const collection of ['x'.repeat(MAX_COLLECTION_BYTES + 1), 'é'.repeat(MAX_COLLECTION_BYTES / 2 + 1)]) {
    const bad = encodeOpsV1([{ kind: 'put', collection, id: 'i', hlc: 5n, fields }]);
    assert.throws(() => decodeOpsV1(bad), (e: unknown) => (e as { code?: string }).code === 'HEARTH_MALFORMED_OPS');
  }
  // a repeated string in a long table, and a field name index out of range
  const many = new Map(Array.from({ length: 12 }, (_, i) => [`f${i}`, Uint8Array.of(0x01)] as [string, Uint8Array]));
  const p = encodeOpsV1([{ kind: 'put', collection: 'c', id: 'i', hlc: 5n, fields: many }]);
  assert.equal(decodeOpsV1(p)[0].kind, 'put');
});

test('large payloads: thousands of ops and of fields per op round-trip; repeated names are refused at any position', () => {
  const t0 = packHlc(1763700000000, 0);
  const many = new Map(Array.from({ length: 1500 }, (_, i) => [`f${i}`, encodeFieldValueV1(i)] as [string, Uint8Array]));
  const ops: Op[] = Array.from({ length: 3000 }, (_, i) => ({ kind: 'put' as const, collection: 'c', id: `d${i}`, hlc: t0 + BigInt(i), fields: i === 2999 ? many : new Map([['a', encodeFieldValueV1(i)], ['b', encodeFieldValueV1('x')]]) }));
  const bytes = encodeOpsV1(ops);
  const back = decodeOpsV1(bytes);
  assert.equal(back.length, 3000);
  assert.equal(Object.keys(back).length, 3000, 'no holes');
  const last = back[2999] as Extract<Op, { kind: 'put' }>;
  assert.equal(last.fields.size, 1500);
  assert.equal(decodeFieldValueV1(last.fields.get('f1499')!), 1499);
  const second = back[1] as Extract<Op, { kind: 'put' }>;
  assert.deepEqual([...second.fields.keys()], ['a', 'b']);
  assert.equal(Buffer.from(encodeOpsV1(back)).toString('hex'), Buffer.from(bytes).toString('hex'));
  // Ops of the same names share one names array.
  const namesOf = (op: Op) => (op as unknown as { fields: { names: unknown } }).fields.names;
  assert.equal(namesOf(back[0]), namesOf(back[1]));
  // A field name used twice in one op (the second use names the first field's table index) is refused.
  const small = encodeOpsV1([{ kind: 'put', collection: 'c', id: 'x', hlc: t0, fields: new Map([['p', encodeFieldValueV1(1)], ['q', encodeFieldValueV1(2)]]) }]);
  // layout: 01 01 03 | 01 'c' | 01 'p' | 01 'q' | hlc(8) | kind, coll 0, id 01 'x', 02 fields, name 1, len, v, name 2, len, v
  const bad = Uint8Array.from(small);
  const at = bad.length - 3; // the second field's name index
  assert.equal(bad[at], 2);
  bad[at] = 1;
  assert.throws(() => decodeOpsV1(bad), (e: unknown) => e instanceof DbError && e.code === 'HEARTH_MALFORMED_OPS' && /repeated/.test(e.message));
});
