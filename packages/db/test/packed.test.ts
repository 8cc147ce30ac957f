import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyOp, emptyDocState, encodeDocStateV1 } from '@hearth/crdt';
// Internal modules, reached by path on purpose: the packed form must give the same bytes as the Map form.
import { PackedFields } from '../src/_packed.js';
import { encodeFreshState } from '../src/_docstate.js';
import { encodeOpsV1, decodeOpsV1, type Op } from '../src/ops.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Packs `entries` (values as given, null = removal) the way the Database's draft does, after some leading bytes. */
function pack(entries: [string, Uint8Array | null][], lead: number): PackedFields {
  const parts: number[] = new Array(lead).fill(0xee);
  const spans: number[] = [];
  for (const [, v] of entries) {
    if (v === null) spans.push(0, -1);
    else {
      spans.push(parts.length, v.length);
      parts.push(...v);
    }
  }
  const backing = new Uint8Array(parts.length + 7);
  backing.set(parts, 3);
  return new PackedFields(entries.map(([k]) => k), backing.subarray(3, 3 + parts.length), spans);
}

const name = fc.oneof(fc.constantFrom('a', 'b', 'title', 'é', '\uFF61', '\u{1F600}', 'x'.repeat(40)), fc.string({ unit: 'grapheme', maxLength: 5 }));
const value = fc.uint8Array({ maxLength: 80 });

test('PackedFields behaves as the Map it packs', () => {
  fc.assert(
    fc.property(fc.dictionary(name, fc.option(value, { nil: null }), { maxKeys: 40 }), fc.nat({ max: 5 }), (dict, lead) => {
      const entries = Object.entries(dict);
      const p = pack(entries, lead);
      const m = new Map(entries);
      assert.equal(p.size, m.size);
      assert.deepEqual([...p.keys()], [...m.keys()]);
      assert.deepEqual([...p.entries()].map(([k, v]) => [k, v && hex(v)]), [...m.entries()].map(([k, v]) => [k, v && hex(v)]));
      for (const k of [...m.keys(), 'absent-name']) {
        assert.equal(p.has(k), m.has(k));
        const a = p.get(k);
        const b = m.get(k);
        assert.equal(a === undefined ? 'u' : a === null ? 'n' : hex(a), b === undefined ? 'u' : b === null ? 'n' : hex(b));
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('the fresh-state and ops encoders write the same bytes for packed fields as for a Map (property)', () => {
  const feed = new Uint8Array(32).fill(0xaa);
  fc.assert(
    fc.property(fc.dictionary(name, value, { maxKeys: 30 }), fc.dictionary(name, fc.option(value, { nil: null }), { maxKeys: 8 }), fc.nat({ max: 5 }), (putDict, patchDict, lead) => {
      const put = Object.entries(putDict);
      const packed = pack(put, lead);
      const m = new Map(put);
      const s = emptyDocState();
      applyOp(s, { type: 'put', hlc: 77n, feed, fields: m });
      assert.equal(hex(encodeFreshState('put', 77n, feed, packed as unknown as ReadonlyMap<string, Uint8Array>)), hex(encodeDocStateV1(s)));
      // applyOp takes the packed fields too (as a ReadonlyMap)
      const s2 = emptyDocState();
      applyOp(s2, { type: 'put', hlc: 77n, feed, fields: packed as unknown as ReadonlyMap<string, Uint8Array> });
      assert.equal(hex(encodeDocStateV1(s2)), hex(encodeDocStateV1(s)));
      const patch = Object.entries(patchDict);
      const opsPacked: Op[] = [
        { kind: 'put', collection: 'c', id: 'x', hlc: 5n, fields: packed as unknown as ReadonlyMap<string, Uint8Array> },
        { kind: 'patch', collection: 'c', id: 'x', hlc: 6n, fields: pack(patch, lead) },
      ];
      const opsMap: Op[] = [
        { kind: 'put', collection: 'c', id: 'x', hlc: 5n, fields: m },
        { kind: 'patch', collection: 'c', id: 'x', hlc: 6n, fields: new Map(patch) },
      ];
      const a = encodeOpsV1(opsPacked);
      assert.equal(hex(a), hex(encodeOpsV1(opsMap)));
      assert.equal(decodeOpsV1(a, { checkValues: false }).length, 2);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('encodeFreshState reuses a learnt name shape only for equal names (same, reordered, renamed, resized)', () => {
  const feed = new Uint8Array(32).fill(0xbb);
  const v = (s: string) => new TextEncoder().encode(s);
  const shapes: [string, Uint8Array][][] = [
    [['title', v('a')], ['body', v('b')], ['é', v('c')]],
    [['title', v('xx')], ['body', v('yyy')], ['é', v('z'.repeat(40))]], // same names, new arrays and values
    [['body', v('1')], ['title', v('2')], ['é', v('3')]], // reordered
    [['title', v('1')], ['bodz', v('2')], ['é', v('3')]], // renamed
    [['title', v('1')], ['body', v('2')]], // fewer
    [['title', v('a')], ['body', v('b')], ['é', v('c')]],
  ];
  for (const entries of shapes) {
    const s = emptyDocState();
    applyOp(s, { type: 'put', hlc: 9n, feed, fields: new Map(entries) });
    assert.equal(hex(encodeFreshState('put', 9n, feed, pack(entries.map(([k, x]) => [k, x]), 2) as unknown as ReadonlyMap<string, Uint8Array>)), hex(encodeDocStateV1(s)));
  }
});
