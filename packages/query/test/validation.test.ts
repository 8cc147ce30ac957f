// Bad queries and cursors get typed errors with stable codes; paths, projection and filter semantics at the
// edges (missing vs null, type-bracketed comparisons, NaN, nested paths, array indexes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryQueryStore,
  QueryError,
  asc,
  desc,
  encodeCursorV1,
  eq,
  execute,
  exists,
  gt,
  lt,
  ne,
  nin,
  not,
  or,
  prefix,
  cmpValues,
  decodeCursorV1,
  type Query,
} from '../src/index.js';
import fc from 'fast-check';
import { maybeValueArb, params } from './_arb.js';

const isCode = (code: string) => (e: unknown) => e instanceof QueryError && e.code === code;

function store(): MemoryQueryStore {
  const s = new MemoryQueryStore();
  s.put('c', 'a', { v: 1, s: 'apple', n: { x: 1 }, arr: [10, 20] });
  s.put('c', 'b', { v: null, s: 'apricot', n: { x: 2 }, arr: [30] });
  s.put('c', 'c', { s: 'banana', 'dotted.key': 7 });
  s.put('c', 'd', { v: NaN, s: 5 });
  s.put('c', 'e', { v: '2', n: 3 });
  return s;
}

const ids = (q: Query) => execute(store(), q).rows.map((r) => r.id);

test('invalid queries: HEARTH_INVALID_QUERY', () => {
  const bad: unknown[] = [
    { collection: '' },
    { collection: 'c', where: { op: 'like', path: 'a', value: 1 } },
    { collection: 'c', where: { op: 'eq', path: '', value: 1 } },
    { collection: 'c', where: { op: 'eq', path: 'a..b', value: 1 } },
    { collection: 'c', where: { op: 'eq', path: 'a' } },
    { collection: 'c', where: { op: 'in', path: 'a', values: 1 } },
    { collection: 'c', where: { op: 'prefix', path: 'a', value: 1 } },
    { collection: 'c', where: { op: 'and', filters: {} } },
    { collection: 'c', limit: -1 },
    { collection: 'c', limit: 1.5 },
    { collection: 'c', sort: [{ path: 'a', dir: 'up' }] },
    { collection: 'c', traverse: [{ from: 'a', to: 'd', depth: 0 }] },
    { collection: 'c', aggregate: { values: {} } },
    { collection: 'c', aggregate: { values: { x: { op: 'median', path: 'a' } } } },
    { collection: 'c', aggregate: { values: { x: { op: 'sum' } } } },
    { collection: 'c', aggregate: { values: { n: { op: 'count' } } }, limit: 3 },
    { collection: 'c', aggregate: { groupBy: ['n'], values: { n: { op: 'count' } } } },
  ];
  for (const q of bad) assert.throws(() => execute(store(), q as Query), isCode('HEARTH_INVALID_QUERY'), JSON.stringify(q));
  assert.throws(() => execute(store(), null as unknown as Query), TypeError);
});

test('filter values outside the model: HEARTH_UNSUPPORTED_VALUE', () => {
  assert.throws(() => ids({ collection: 'c', where: eq('v', new Date(0) as never) }), isCode('HEARTH_UNSUPPORTED_VALUE'));
  assert.throws(() => ids({ collection: 'c', where: prefix('s', '\ud800') }), isCode('HEARTH_UNSUPPORTED_VALUE'));
});

test('cursors: garbage, other versions and other orders are refused with HEARTH_INVALID_CURSOR', () => {
  const s = store();
  const q: Query = { collection: 'c', sort: [asc('s')], limit: 2 };
  const page = execute(s, q);
  assert.ok(page.cursor !== undefined && page.hasMore);
  for (const after of ['', '!!!', 'AAAA', page.cursor!.slice(0, -3), `Ag${page.cursor!.slice(2)}`]) {
    assert.throws(() => execute(s, { ...q, after }), isCode('HEARTH_INVALID_CURSOR'), after);
  }
  assert.throws(() => execute(s, { ...q, sort: [desc('s')], after: page.cursor }), isCode('HEARTH_INVALID_CURSOR'));
  assert.throws(() => execute(s, { ...q, collection: 'other', after: page.cursor }), isCode('HEARTH_INVALID_CURSOR'));
  // A well-formed cursor whose last value is not an id.
  assert.throws(() => execute(s, { ...q, after: encodeCursorV1('c', [{ path: ['s'], dir: 'asc' }], ['x', 5]) }), isCode('HEARTH_INVALID_CURSOR'));
  assert.deepEqual(page.rows.map((r) => r.id), ['e', 'd']); // missing < number < strings
  assert.deepEqual(execute(s, { ...q, after: page.cursor }).rows.map((r) => r.id), ['a', 'b']);
});

test('filter semantics at the edges', () => {
  assert.deepEqual(ids({ collection: 'c', where: eq('v', null) }), ['b']); // null is not missing
  assert.deepEqual(ids({ collection: 'c', where: exists('v', false) }), ['c']);
  assert.deepEqual(ids({ collection: 'c', where: ne('v', 1) }), ['b', 'c', 'd', 'e']); // missing matches ne
  assert.deepEqual(ids({ collection: 'c', where: nin('v', [1, null]) }), ['c', 'd', 'e']);
  assert.deepEqual(ids({ collection: 'c', where: gt('v', 0) }), ['a', 'd']); // numbers only; NaN is above all
  assert.deepEqual(ids({ collection: 'c', where: lt('v', 'z') }), ['e']); // strings only
  assert.deepEqual(ids({ collection: 'c', where: eq('v', NaN) }), ['d']);
  assert.deepEqual(ids({ collection: 'c', where: eq('n.x', 2) }), ['b']);
  assert.deepEqual(ids({ collection: 'c', where: eq(['dotted.key'], 7) }), ['c']);
  assert.deepEqual(ids({ collection: 'c', where: eq('arr.1', 20) }), ['a']);
  assert.deepEqual(ids({ collection: 'c', where: prefix('s', 'ap') }), ['a', 'b']);
  assert.deepEqual(ids({ collection: 'c', where: or() }), []);
  assert.deepEqual(ids({ collection: 'c', where: not(or()) }), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(ids({ collection: 'c', where: eq('n', 3) }), ['e']);
  assert.deepEqual(ids({ collection: 'c', where: eq('n.x.y', 3) }), []);
});

test('sort: total order over mixed types, missing first, ties by id in the last direction', () => {
  assert.deepEqual(ids({ collection: 'c', sort: [asc('v')] }), ['c', 'b', 'a', 'd', 'e']); // missing, null, 1, NaN, '2'
  assert.deepEqual(ids({ collection: 'c', sort: [desc('v')] }), ['e', 'd', 'a', 'b', 'c']);
  assert.deepEqual(ids({ collection: 'c', sort: [desc('zzz')] }), ['e', 'd', 'c', 'b', 'a']);
});

test('projection keeps only the selected paths, nested rebuilt, originals untouched', () => {
  const s = store();
  const rows = execute(s, { collection: 'c', where: eq('_id', 'a'), select: ['n.x', 's', 'nothing', ['n']] }).rows;
  assert.deepEqual(rows, [{ id: 'a', doc: { n: { x: 1 }, s: 'apple' } }]);
  const again = execute(s, { collection: 'c', where: eq('_id', 'b'), select: ['n', 'n.x', 'arr.0'] }).rows;
  assert.deepEqual(again[0].doc, { n: { x: 2 }, arr: { 0: 30 } });
  assert.deepEqual(s.getDoc('c', 'b'), { v: null, s: 'apricot', n: { x: 2 }, arr: [30] });
});

test('keys named __proto__ are ordinary fields everywhere', () => {
  const s = new MemoryQueryStore();
  const d = JSON.parse('{"__proto__": {"x": 1}, "k": 2}');
  s.put('c', 'p', d);
  s.createIndex({ collection: 'c', fields: [['__proto__', 'x']] });
  const rows = execute(s, { collection: 'c', where: eq(['__proto__', 'x'], 1), select: [['__proto__', 'x']] }).rows;
  assert.equal(rows.length, 1);
  assert.ok(Object.prototype.hasOwnProperty.call(rows[0].doc, '__proto__'));
  assert.equal(Object.getPrototypeOf(rows[0].doc), Object.prototype);
  assert.deepEqual(Object.keys(rows[0].doc), ['__proto__']);
  const agg = execute(s, { collection: 'c', aggregate: { groupBy: [['__proto__', 'x']], values: { n: { op: 'count' } } } }).rows;
  assert.deepEqual(Object.keys(agg[0].doc), ['__proto__', 'n']);
});

test('property: decodeCursorV1(encodeCursorV1(position)) returns the position', () => {
  const sort = [{ path: ['a'], dir: 'asc' as const }, { path: ['b', 'c'], dir: 'desc' as const }];
  fc.assert(
    fc.property(maybeValueArb, maybeValueArb, fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), (a, b, id) => {
      const back = decodeCursorV1(encodeCursorV1('coll', sort, [a, b, id]), 'coll', sort);
      assert.equal(back.length, 3);
      assert.equal(cmpValues(back[0], a), 0);
      assert.equal(cmpValues(back[1], b), 0);
      assert.equal(back[2], id);
    }),
    params(1000),
  );
});

test('vectors (Float32Array) are values: ordered, indexed, opaque to paths and contains', () => {
  const s = new MemoryQueryStore();
  s.put('v', 'a', { e: Float32Array.of(0.5, 1) });
  s.put('v', 'b', { e: Float32Array.of(0.25) });
  s.put('v', 'c', { e: [0.5, 1] });
  s.createIndex({ collection: 'v', fields: ['e'] });
  const q = (f: Query['where'], sort = [asc('e')]) => execute(s, { collection: 'v', where: f, sort }).rows.map((r) => r.id);
  assert.deepEqual(q(undefined), ['c', 'b', 'a']); // arrays < vectors; vectors element-wise
  assert.deepEqual(q(eq('e', Float32Array.of(0.5, 1))), ['a']);
  assert.deepEqual(q(gt('e', Float32Array.of(0.3))), ['a']); // type-bracketed: vectors only
  assert.deepEqual(q(eq('e.0', 0.5)), ['c']); // paths do not descend into vectors
  assert.deepEqual(q({ op: 'contains', path: 'e', value: 0.5 }), ['c']); // nor does contains
  assert.deepEqual(execute(s, { collection: 'v', where: eq('_id', 'a'), select: ['e'] }).rows[0].doc, { e: Float32Array.of(0.5, 1) });
});
