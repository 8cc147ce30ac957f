// Index key encoding V1: the committed fixture, the order property against cmpValues, round trips, tuples,
// canonical forms and the errors of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  HearthError,
} from '@hearth/io';
import {
  INDEX_KEY_VERSION,
  QueryError,
  cmpValues,
  compareBytes,
  compareStrings,
  decodeKeyV1,
  decodeValueV1,
  encodeKeyV1,
  encodeValueV1,
  fromHex,
  prefixEnd,
  toHex,
} from '../src/index.js';
import { maybeValueArb, params, sign, valueArb } from './_arb.js';
import { fromTagged } from './_fixture.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/index-keys-v1.json', import.meta.url), 'utf8')) as {
  version: number;
  singles: number;
  entries: { values: unknown[]; hex: string }[];
};

test('fixture: version matches the code', () => {
  assert.equal(fixture.version, INDEX_KEY_VERSION);
});

test('fixture: every value encodes to its committed bytes and decodes back', () => {
  for (const e of fixture.entries) {
    const values = e.values.map(fromTagged);
    assert.equal(toHex(encodeKeyV1(values)), e.hex, `encoding of ${JSON.stringify(e.values)}`);
    const back = decodeKeyV1(fromHex(e.hex));
    assert.equal(back.length, values.length);
    back.forEach((v, i) => assert.equal(cmpValues(v, values[i]), 0, `decoded ${JSON.stringify(e.values)}[${i}]`));
  }
});

test('fixture: single values are listed in ascending order and their encodings ascend with them', () => {
  const singles = fixture.entries.slice(0, fixture.singles);
  for (let i = 1; i < singles.length; i++) {
    const a = fromTagged(singles[i - 1].values[0]);
    const b = fromTagged(singles[i].values[0]);
    const c = cmpValues(a, b);
    assert.ok(c <= 0, `values ${i - 1} and ${i} out of order`);
    assert.equal(sign(compareBytes(fromHex(singles[i - 1].hex), fromHex(singles[i].hex))), c, `bytes ${i - 1}/${i}`);
  }
});

test('property: compare(encode(a), encode(b)) == cmpValues(a, b)', () => {
  fc.assert(
    fc.property(maybeValueArb, maybeValueArb, (a, b) => {
      assert.equal(sign(compareBytes(encodeValueV1(a), encodeValueV1(b))), cmpValues(a, b));
    }),
    params(4000),
  );
});

test('property: tuple keys sort element by element (prefix-freeness)', () => {
  const tuple = fc.array(maybeValueArb, { minLength: 1, maxLength: 3 });
  fc.assert(
    fc.property(tuple, tuple, (a, b) => {
      let expected = 0;
      for (let i = 0; i < Math.min(a.length, b.length) && expected === 0; i++) expected = cmpValues(a[i], b[i]);
      if (expected === 0) expected = sign(a.length - b.length);
      assert.equal(sign(compareBytes(encodeKeyV1(a), encodeKeyV1(b))), expected);
    }),
    params(3000),
  );
});

test('property: decode(encode(v)) equals v and re-encodes identically', () => {
  fc.assert(
    fc.property(maybeValueArb, (v) => {
      const e = encodeValueV1(v);
      const d = decodeValueV1(e);
      assert.equal(cmpValues(d, v), 0);
      assert.deepEqual(encodeValueV1(d), e);
    }),
    params(3000),
  );
});

test('property: cmpValues is a total order (antisymmetric, transitive via sort consistency)', () => {
  fc.assert(
    fc.property(fc.array(maybeValueArb, { maxLength: 12 }), (vs) => {
      for (const a of vs) for (const b of vs) assert.equal(cmpValues(a, b) + cmpValues(b, a), 0);
      const sorted = vs.map((v) => ({ v })).sort((x, y) => cmpValues(x.v, y.v));
      for (let i = 1; i < sorted.length; i++) {
        for (let j = i; j < sorted.length; j++) assert.ok(cmpValues(sorted[i - 1].v, sorted[j].v) <= 0);
      }
    }),
    params(500),
  );
});

test('property: prefixEnd(k) is above every key extending k', () => {
  fc.assert(
    fc.property(valueArb, maybeValueArb, (a, b) => {
      const k = encodeValueV1(a);
      const ext = encodeKeyV1([a, b]);
      assert.equal(compareBytes(ext, prefixEnd(k)), -1);
      assert.equal(compareBytes(k, ext), -1);
    }),
    params(1000),
  );
});

test('strings order by code point, not UTF-16 unit', () => {
  // U+FFFF is below U+1F600 as a code point, above its high surrogate (0xD83D) as a UTF-16 unit.
  assert.ok('\uffff' > '😀');
  assert.equal(compareStrings('\uffff', '😀'), -1);
  assert.equal(cmpValues('\uffff', '😀'), -1);
  assert.equal(compareBytes(encodeValueV1('\uffff'), encodeValueV1('😀')), -1);
});

test('canonical forms: -0 is 0, NaN is one value above +Infinity, undefined properties are absent', () => {
  assert.deepEqual(encodeValueV1(-0), encodeValueV1(0));
  assert.deepEqual(encodeValueV1(NaN), encodeValueV1(Number.parseFloat('nan')));
  const otherNaN = new Float64Array(new Uint32Array([1, 0x7ff00000]).buffer)[0]; // a signalling-pattern NaN
  assert.ok(Number.isNaN(otherNaN));
  assert.deepEqual(encodeValueV1(otherNaN), encodeValueV1(NaN));
  assert.equal(compareBytes(encodeValueV1(Infinity), encodeValueV1(NaN)), -1);
  assert.equal(cmpValues(NaN, Infinity), 1);
  assert.deepEqual(encodeValueV1({ a: 1, b: undefined }), encodeValueV1({ a: 1 }));
  assert.deepEqual(encodeValueV1({ b: 1, a: 2 }), encodeValueV1({ a: 2, b: 1 }));
});

test('values outside the model are refused with HEARTH_UNSUPPORTED_VALUE', () => {
  for (const bad of [new Date(0), new Map(), new Float64Array(2), new Int8Array(1), 1n, Symbol('x'), () => 1, '\ud800', 'a\udc00b']) {
    assert.throws(
      () => encodeValueV1(bad as never),
      (e: unknown) => e instanceof QueryError && e.code === 'HEARTH_UNSUPPORTED_VALUE',
      String(typeof bad),
    );
  }
});

test('malformed keys are reported as HEARTH_CORRUPTION', () => {
  const cases = ['', '00', '0a', '05bff0', '0661', '0801', '0902', '090261000200', '06ff00', '05', '05' + '7fffffffffffffff'];
  for (const hex of cases) {
    assert.throws(
      () => decodeValueV1(fromHex(hex)),
      (e: unknown) => e instanceof HearthError && e.code === 'HEARTH_CORRUPTION',
      hex,
    );
  }
  // Trailing bytes after a complete value.
  assert.throws(() => decodeValueV1(fromHex('0202')), (e: unknown) => e instanceof HearthError && e.code === 'HEARTH_CORRUPTION');
});

test('property: decodeKeyPrefixV1(encodeKeyV1(t), n) is the first n values of decodeKeyV1 (covering reads)', async () => {
  const { decodeKeyPrefixV1 } = await import('../src/keys.js');
  fc.assert(
    fc.property(fc.array(maybeValueArb, { maxLength: 6 }), fc.nat({ max: 8 }), (t, n) => {
      const key = encodeKeyV1(t);
      const all = decodeKeyV1(key);
      const part = decodeKeyPrefixV1(key, n);
      assert.equal(part.length, Math.min(n, t.length));
      part.forEach((v, i) => assert.equal(cmpValues(v, all[i]), 0, `value ${i}`));
      part.forEach((v, i) => assert.equal(cmpValues(v, t[i]), 0, `value ${i} equals the encoded one`));
    }),
    params(300),
  );
});
