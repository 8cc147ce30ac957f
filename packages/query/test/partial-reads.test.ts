// Partial reads (QueryStore contract 5, executor invariant 4): which queries use them, with which fields, and
// that callers always get whole documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryQueryStore, and, asc, count, createLiveQuery, desc, eq, execute, gte, hop, sum, type Doc, type QueryStore } from '../src/index.js';

/** A MemoryQueryStore that records what the engine read. */
function recording(): { store: QueryStore; mem: MemoryQueryStore; calls: string[] } {
  const mem = new MemoryQueryStore();
  const calls: string[] = [];
  const store: QueryStore = {
    getDoc: (c, id) => (calls.push(`getDoc ${id}`), mem.getDoc(c, id)),
    scan: (c) => (calls.push('scan'), mem.scan(c)),
    getDocFields: (c, id, f) => (calls.push(`getDocFields ${id} ${[...f].sort().join(',')}`), mem.getDocFields(c, id, f)),
    scanFields: (c, f) => (calls.push(`scanFields ${[...f].sort().join(',')}`), mem.scanFields(c, f)),
    indexes: (c) => mem.indexes(c),
    scanIndex: (i, r) => mem.scanIndex(i, r),
    countDocs: (c) => mem.countDocs(c),
    estimateRange: (i, r) => mem.estimateRange(i, r),
  };
  return { store, mem, calls };
}

function fill(mem: MemoryQueryStore): Map<string, Doc> {
  const docs = new Map<string, Doc>();
  for (let i = 0; i < 40; i++) {
    const d: Doc = { s: `s${i % 3}`, n: i, big: { text: 'x'.repeat(i), list: [i, i + 1] }, tags: [`t${i % 5}`] };
    mem.put('c', `d${String(i).padStart(2, '0')}`, d);
    docs.set(`d${String(i).padStart(2, '0')}`, d);
  }
  return docs;
}

test('a scan with a sort reads only the filter and sort fields, then re-reads the returned rows in full', () => {
  const { store, mem, calls } = recording();
  const docs = fill(mem);
  const r = execute(store, { collection: 'c', where: eq('s', 's1'), sort: [desc('n')], limit: 3 });
  assert.deepEqual(calls.filter((c) => c.startsWith('scan')), ['scanFields n,s']);
  assert.deepEqual(r.rows.map((x) => x.id), ['d37', 'd34', 'd31']);
  for (const row of r.rows) assert.deepEqual(row.doc, docs.get(row.id), 'whole documents are returned');
  assert.deepEqual(calls.filter((c) => c.startsWith('getDoc ')), ['getDoc d37', 'getDoc d34', 'getDoc d31']);
  // The cursor of a partially read page continues correctly.
  const next = execute(store, { collection: 'c', where: eq('s', 's1'), sort: [desc('n')], limit: 3, after: r.cursor });
  assert.deepEqual(next.rows.map((x) => x.id), ['d28', 'd25', 'd22']);
  assert.deepEqual(next.rows[0].doc, docs.get('d28'));
});

test('aggregates read only grouped and aggregated fields; an index that does not serve the sort reads partially', () => {
  const { store, mem, calls } = recording();
  fill(mem);
  const a = execute(store, { collection: 'c', where: gte('n', 10), aggregate: { groupBy: ['s'], values: { k: count(), t: sum('n') } } });
  assert.deepEqual(calls, ['scanFields n,s']);
  assert.equal(a.rows.length, 3);
  const ix = mem.createIndex({ collection: 'c', fields: [['s']] });
  calls.length = 0;
  const r = execute(store, { collection: 'c', where: eq('s', 's2'), sort: [asc('n')], select: ['big'], limit: 2 });
  assert.ok(calls.every((c) => !c.startsWith('scan')), `the index ${ix.id} is used`);
  assert.ok(calls.some((c) => c === 'getDocFields d02 n,s'));
  assert.deepEqual(r.rows, [{ id: 'd02', doc: { big: { text: 'xx', list: [2, 3] } } }, { id: 'd05', doc: { big: { text: 'xxxxx', list: [5, 6] } } }]);
});

test('an index that serves the sort, hops and live queries read whole documents', () => {
  const { store, mem, calls } = recording();
  fill(mem);
  mem.createIndex({ collection: 'c', fields: [['s'], ['n']] });
  execute(store, { collection: 'c', where: and(eq('s', 's0'), gte('n', 3)), sort: [asc('n')], limit: 2 });
  assert.ok(calls.length > 0 && calls.every((c) => c.startsWith('getDoc ')), calls.join('; '));
  calls.length = 0;
  execute(store, { collection: 'c', where: eq('s', 's0'), traverse: [hop('n', 'c', { toField: 'n' })], limit: 2 });
  assert.ok(calls.every((c) => !c.startsWith('getDocFields') && !c.startsWith('scanFields')), calls.join('; '));
  calls.length = 0;
  const live = createLiveQuery(store, { collection: 'c', where: eq('s', 's1'), sort: [desc('big.text')], limit: 2 });
  assert.ok(calls.every((c) => !c.startsWith('getDocFields') && !c.startsWith('scanFields')), calls.join('; '));
  assert.equal(live.result.rows.length, 2);
});

test('covering: an index holding every field read answers from its keys, equal to the scan (missing, NaN, objects)', () => {
  const { store, mem, calls } = recording();
  const docs: Doc[] = [
    { s: 'a', n: 1, o: { k: [1, 'x'] } },
    { s: 'a', n: Number.NaN, o: { k: [] } },
    { s: 'a', o: { k: [2] } },
    { s: 'b', n: -0, o: null },
    { s: 'a', n: 2.5, o: Uint8Array.of(1, 2), other: 'not read' },
    { s: 'b', n: 7 },
  ];
  docs.forEach((d, i) => mem.put('c', `d${i}`, d));
  const agg = { collection: 'c', where: eq('s', 'a'), aggregate: { groupBy: ['o'], values: { k: count(), t: sum('n') } } } as const;
  const viaScan = execute(store, agg, { force: 'scan' });
  const ix = mem.createIndex({ collection: 'c', fields: [['s'], ['n'], ['o']] });
  calls.length = 0;
  const viaIndex = execute(store, agg, { force: ix.id });
  assert.equal(calls.length, 0, 'no document was read');
  assert.deepEqual(viaIndex, viaScan);
  // Rows: evaluated from keys, returned in full.
  const q = { collection: 'c', where: and(eq('s', 'a'), gte('n', 0)), sort: [desc('o')], limit: 2 } as const;
  const want = execute(store, q, { force: 'scan' });
  calls.length = 0;
  const rows = execute(store, q, { force: ix.id });
  assert.deepEqual(rows, want);
  assert.equal(rows.rows.length, 2);
  for (const r of rows.rows) assert.deepEqual(r.doc, docs[Number(r.id.slice(1))], 'whole documents');
  assert.deepEqual(calls, rows.rows.map((r) => `getDoc ${r.id}`), 'only the returned rows are read');
  // A field outside the index: no covering.
  calls.length = 0;
  execute(store, { collection: 'c', where: eq('s', 'a'), aggregate: { values: { k: count('other') } } }, { force: ix.id });
  assert.ok(calls.length > 0 && calls.every((c) => c.startsWith('getDocFields')), calls.join('; '));
});
