// Aggregations: count/sum/avg/min/max with and without groupBy (one or several fields, nested paths, missing
// values), SQL-like empty input, exact order-independent sums (checked against exact BigInt arithmetic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExactSum, MemoryQueryStore, avg, count, eq, execute, explain, max, min, sum } from '../src/index.js';
import { params } from './_arb.js';

function sales(): MemoryQueryStore {
  const s = new MemoryQueryStore();
  const rows: [string, string | undefined, string, number | string | undefined][] = [
    ['s1', 'north', 'apples', 10],
    ['s2', 'north', 'pears', 5],
    ['s3', 'south', 'apples', 7],
    ['s4', 'south', 'apples', 'n/a'], // not a number: ignored by sum/avg, counted by count
    ['s5', undefined, 'pears', 2], // no region: its own group
    ['s6', 'north', 'apples', undefined],
  ];
  for (const [id, region, product, amount] of rows) {
    s.put('sales', id, { ...(region !== undefined ? { shop: { region } } : {}), product, ...(amount !== undefined ? { amount } : {}) });
  }
  return s;
}

test('aggregate without groupBy: one row over all matching documents', () => {
  const { rows } = execute(sales(), {
    collection: 'sales',
    aggregate: { values: { n: count(), withAmount: count('amount'), total: sum('amount'), mean: avg('amount'), lo: min('amount'), hi: max('amount') } },
  });
  assert.equal(rows.length, 1);
  // min/max use the total order over present values: numbers < strings.
  assert.deepEqual(rows[0].doc, { n: 6, withAmount: 5, total: 24, mean: 6, lo: 2, hi: 'n/a' });
});

test('aggregate with groupBy on a nested path: groups in key order, missing first', () => {
  const { rows } = execute(sales(), { collection: 'sales', aggregate: { groupBy: ['shop.region'], values: { n: count(), total: sum('amount') } } });
  assert.deepEqual(rows.map((r) => r.doc), [
    { n: 1, total: 2 },
    { shop: { region: 'north' }, n: 3, total: 15 },
    { shop: { region: 'south' }, n: 2, total: 7 },
  ]);
});

test('aggregate with several groupBy fields and a filter', () => {
  const { rows } = execute(sales(), {
    collection: 'sales',
    where: eq('product', 'apples'),
    aggregate: { groupBy: ['shop.region', 'product'], values: { n: count(), avgAmount: avg('amount') } },
  });
  assert.deepEqual(rows.map((r) => r.doc), [
    { shop: { region: 'north' }, product: 'apples', n: 2, avgAmount: 10 },
    { shop: { region: 'south' }, product: 'apples', n: 2, avgAmount: 7 },
  ]);
});

test('aggregate over no documents: one row without groupBy, none with it', () => {
  const s = sales();
  const none = eq('product', 'plums');
  assert.deepEqual(execute(s, { collection: 'sales', where: none, aggregate: { values: { n: count(), t: sum('amount'), a: avg('amount'), m: min('amount') } } }).rows.map((r) => r.doc), [
    { n: 0, t: 0, a: null, m: null },
  ]);
  assert.deepEqual(execute(s, { collection: 'sales', where: none, aggregate: { groupBy: ['product'], values: { n: count() } } }).rows, []);
});

test('aggregate results do not depend on the plan', () => {
  const s = sales();
  const q = { collection: 'sales', where: eq('product', 'apples'), aggregate: { groupBy: ['shop.region'], values: { t: sum('amount') } } };
  const scan = execute(s, q);
  s.createIndex({ collection: 'sales', fields: ['product'] });
  assert.equal(explain(s, q).access.type, 'index');
  assert.deepEqual(execute(s, q).rows, scan.rows);
});

/** The exact sum of finite doubles as a rounded double, through BigInt (each double is m·2^e, e >= -1074). */
function bigSum(xs: number[]): number {
  let acc = 0n;
  for (const x of xs) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const bits = view.getBigUint64(0);
    const exp = Number((bits >> 52n) & 0x7ffn);
    let mant = bits & ((1n << 52n) - 1n);
    if (exp !== 0) mant |= 1n << 52n;
    const shift = BigInt(Math.max(exp, 1) - 1); // value = mant · 2^(shift - 1074)
    const scaled = mant << shift;
    acc += bits >> 63n ? -scaled : scaled;
  }
  // acc · 2^-1074, rounded once: Number() of a BigInt rounds to nearest, ties to even.
  const neg = acc < 0n;
  let mag = neg ? -acc : acc;
  let e = -1074;
  const len = mag.toString(2).length;
  if (len > 60) {
    const drop = BigInt(len - 60);
    const sticky = (mag & ((1n << drop) - 1n)) !== 0n ? 1n : 0n;
    mag = (mag >> drop) | sticky;
    e += Number(drop);
  }
  let v = Number(mag);
  while (e > 0) { const k = Math.min(e, 1000); v *= 2 ** k; e -= k; }
  while (e < 0) { const k = Math.max(e, -1000); v *= 2 ** k; e -= k; }
  return neg ? -v : v;
}

test('property: ExactSum is exactly rounded and independent of order', () => {
  const finite = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, min: -1e300, max: 1e300 }), fc.integer().map((i) => i / 8));
  fc.assert(
    fc.property(fc.array(finite, { maxLength: 30 }), fc.nat(), (xs, rot) => {
      const a = new ExactSum();
      for (const x of xs) a.add(x);
      const b = new ExactSum();
      const k = xs.length ? rot % xs.length : 0;
      for (const x of [...xs.slice(k), ...xs.slice(0, k)].reverse()) b.add(x);
      assert.ok(Object.is(a.value() + 0, b.value() + 0), 'order independent');
      assert.equal(a.value(), bigSum(xs));
    }),
    params(2000),
  );
  const s = new ExactSum();
  for (const x of [1e308, 1e308, -1e308]) s.add(x);
  assert.equal(s.value(), 1e308); // no intermediate overflow in the partials
  const t = new ExactSum();
  for (const x of [0.1, 0.2, 0.3, -0.6]) t.add(x);
  assert.equal(t.value(), bigSum([0.1, 0.2, 0.3, -0.6]));
  const u = new ExactSum();
  u.add(Infinity);
  u.add(-Infinity);
  assert.ok(Number.isNaN(u.value()));
});
