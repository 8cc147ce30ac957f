// Planner choices and the shape of explain(): primary key, equality over range over none without estimators,
// estimates steering the choice when the store has them, order-serving indexes with early limit, reverse scans,
// `in` lists as several ranges, contradictory bounds, multi-entry `contains`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryQueryStore,
  and,
  asc,
  contains,
  desc,
  eq,
  execute,
  explain,
  gt,
  gte,
  inList,
  lt,
  or,
  prefix,
  type QueryStore,
} from '../src/index.js';
import { HearthError } from '@hearth/io';
import { SEED, rng } from './_arb.js';
import { doc } from './_gen.js';
import { type Collections, refQuery } from './_reference.js';

function tickets(n = 200): MemoryQueryStore {
  const s = new MemoryQueryStore();
  for (let i = 0; i < n; i++) {
    s.put('t', `t${String(i).padStart(4, '0')}`, {
      status: i % 10 === 0 ? 'open' : 'closed',
      at: i,
      owner: { name: `user${i % 7}` },
      tags: i % 3 === 0 ? ['bug', 'ui'] : ['feature'],
    });
  }
  return s;
}

/** The same store without estimators: the planner falls back to fixed selectivities. */
function blind(s: MemoryQueryStore): QueryStore {
  return {
    getDoc: (c, id) => s.getDoc(c, id),
    scan: (c) => s.scan(c),
    indexes: (c) => s.indexes(c),
    scanIndex: (i, r) => s.scanIndex(i, r),
  };
}

test('explain: shape of the report', () => {
  const s = tickets();
  const e = explain(s, { collection: 't', where: eq('status', 'open'), sort: [asc('at')], limit: 5 });
  assert.deepEqual(e.access, { type: 'scan' });
  assert.equal(e.candidates.length, 1);
  assert.deepEqual(e.candidates[0].access, e.access);
  assert.equal(e.estimatedScanned, 200);
  assert.equal(e.docsScanned, 200);
  assert.equal(e.indexEntriesRead, 0);
  assert.equal(e.docsMatched, 20);
  assert.equal(e.returned, 5);
  assert.equal(e.sortInMemory, true);
  assert.deepEqual(e.hops, []);
  assert.ok(e.ms >= 0);
  assert.equal(e.shape.key, 't?eq=status&range=&contains=&sort=at:asc');
});

test('planner: the primary key serves _id equality and in-lists', () => {
  const s = tickets();
  s.createIndex({ collection: 't', fields: ['status'] });
  const e = explain(s, { collection: 't', where: and(inList('_id', ['t0003', 't0001', 'nope']), eq('status', 'closed')) });
  assert.deepEqual(e.access, { type: 'primary', ids: ['t0003', 't0001', 'nope'] });
  assert.equal(e.docsScanned, 3);
  assert.deepEqual(execute(s, { collection: 't', where: inList('_id', ['t0003', 't0001', 'nope']) }).rows.map((r) => r.id), ['t0001', 't0003']);
});

test('planner without estimators: equality beats range beats scan', () => {
  const s = tickets();
  s.createIndex({ collection: 't', fields: ['at'] });
  s.createIndex({ collection: 't', fields: ['owner.name'] });
  const b = blind(s);
  const both = explain(b, { collection: 't', where: and(gte('at', 10), eq('owner.name', 'user3')) });
  assert.equal(both.access.type === 'index' && both.access.indexId, s.indexes('t')[1].id);
  const rangeOnly = explain(b, { collection: 't', where: and(gte('at', 10), prefix('status', 'o')) });
  assert.equal(rangeOnly.access.type === 'index' && rangeOnly.access.indexId, s.indexes('t')[0].id);
  assert.equal(explain(b, { collection: 't', where: prefix('status', 'o') }).access.type, 'scan');
  assert.deepEqual(both.candidates.map((c) => c.access.type), ['index', 'index', 'scan']);
});

test('planner with estimators: the more selective index wins', () => {
  const s = tickets();
  const byStatus = s.createIndex({ collection: 't', fields: ['status'] });
  const byAt = s.createIndex({ collection: 't', fields: ['at'] });
  // status = closed matches 180 documents; at < 5 matches 5: the range is more selective here.
  const e = explain(s, { collection: 't', where: and(eq('status', 'closed'), lt('at', 5)) });
  assert.equal(e.access.type === 'index' && e.access.indexId, byAt.id);
  assert.equal(e.estimatedScanned, 5);
  assert.equal(e.docsScanned, 5);
  const f = explain(s, { collection: 't', where: and(eq('status', 'open'), gte('at', 0)) });
  assert.equal(f.access.type === 'index' && f.access.indexId, byStatus.id);
  assert.equal(f.docsScanned, 20);
});

test('planner: an index that serves the sort lets limit stop the scan early, forward and reverse', () => {
  const s = tickets();
  s.createIndex({ collection: 't', fields: ['status'] });
  const compound = s.createIndex({ collection: 't', fields: ['status', 'at'] });
  const q = { collection: 't', where: eq('status', 'closed'), sort: [desc('at')], limit: 3 };
  const e = explain(s, q);
  assert.equal(e.access.type, 'index');
  if (e.access.type !== 'index') return;
  assert.equal(e.access.indexId, compound.id);
  assert.equal(e.access.servesSort, true);
  assert.equal(e.access.reverse, true);
  assert.equal(e.sortInMemory, false);
  assert.equal(e.docsScanned, 4); // limit + 1, to know whether more rows exist
  assert.deepEqual(execute(s, q).rows.map((r) => r.doc.at), [199, 198, 197]);
  // Ascending, from a cursor: the scan starts after the cursor's key.
  const p1 = execute(s, { ...q, sort: [asc('at')] });
  const p2q = { ...q, sort: [asc('at')], after: p1.cursor };
  const p2 = explain(s, p2q);
  assert.equal(p2.docsScanned, 4);
  assert.deepEqual(execute(s, p2q).rows.map((r) => r.doc.at), [4, 5, 6]);
});

test('planner: mixed sort directions are sorted in memory', () => {
  const s = tickets();
  s.createIndex({ collection: 't', fields: ['status', 'at'] });
  const e = explain(s, { collection: 't', sort: [asc('status'), desc('at')], limit: 2 });
  assert.ok(e.access.type === 'scan' || (e.access.type === 'index' && !e.access.servesSort));
  assert.equal(e.sortInMemory, true);
  assert.deepEqual(execute(s, { collection: 't', sort: [asc('status'), desc('at')], limit: 2 }).rows.map((r) => r.doc.at), [199, 198]);
});

test('planner: in-lists become one range per value; contradictory bounds read nothing', () => {
  const s = tickets();
  const ix = s.createIndex({ collection: 't', fields: ['owner.name', 'at'] });
  const e = explain(s, { collection: 't', where: and(inList('owner.name', ['user1', 'user2']), gt('at', 150)) });
  assert.equal(e.access.type === 'index' && e.access.indexId, ix.id);
  assert.equal(e.access.type === 'index' && e.access.ranges.length, 2);
  assert.equal(e.docsScanned, e.returned);
  const none = explain(s, { collection: 't', where: and(gt('at', 10), lt('at', 5)), sort: [asc('owner.name')] }, { force: ix.id });
  const atIx = s.createIndex({ collection: 't', fields: ['at'] });
  const none2 = explain(s, { collection: 't', where: and(gt('at', 10), lt('at', 5)) }, { force: atIx.id });
  assert.equal(none2.access.type === 'index' && none2.access.ranges.length, 0);
  assert.equal(none2.docsScanned, 0);
  assert.equal(none.returned, 0);
  // Type bracketing: a numeric range never reads string values.
  s.put('t', 'weird', { at: 'soon', status: 'open' });
  assert.deepEqual(execute(s, { collection: 't', where: gt('at', 198) }).rows.map((r) => r.id), ['t0199']);
  assert.deepEqual(execute(s, { collection: 't', where: gt('at', '') }).rows.map((r) => r.id), ['weird']);
});

test('planner: a multi-entry index serves contains', () => {
  const s = tickets(30);
  const ix = s.createIndex({ collection: 't', fields: ['tags'], multiEntry: true });
  const e = explain(s, { collection: 't', where: contains('tags', 'bug') });
  assert.equal(e.access.type === 'index' && e.access.indexId, ix.id);
  assert.equal(e.docsScanned, 10);
  assert.equal(e.returned, 10);
});

test('planner: a multi-entry contains probe serves an _id order and stops at limit', () => {
  // 2000 packages; every third is tagged 'x' (some twice, to check one row per document), ids inserted shuffled.
  const r = rng(SEED + 7000);
  const s = new MemoryQueryStore();
  const data: Collections = new Map([['pkgs', new Map()]]);
  const ids = Array.from({ length: 2000 }, (_, i) => `p${String(i).padStart(5, '0')}`);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  ids.forEach((id, i) => {
    const d = { tag: i % 3 === 0 ? (i % 2 === 0 ? ['x', 'y', 'x'] : ['z', 'x']) : ['y'], kind: i % 2 === 0 ? 'lib' : 'app', n: i };
    s.put('pkgs', id, d);
    data.get('pkgs')!.set(id, d);
  });
  const ix = s.createIndex({ collection: 'pkgs', fields: ['tag'], multiEntry: true });
  const matches = [...data.get('pkgs')!.values()].filter((d) => (d.tag as string[]).includes('x')).length;
  assert.ok(matches > 600);
  for (const q of [
    { collection: 'pkgs', where: contains('tag', 'x'), limit: 20 },
    { collection: 'pkgs', where: contains('tag', 'x'), sort: [asc('_id')], limit: 20 },
    { collection: 'pkgs', where: contains('tag', 'x'), sort: [desc('_id')], limit: 20 },
    { collection: 'pkgs', where: contains('tag', 'x'), sort: [desc('_id'), asc('n')], limit: 20 },
    { collection: 'pkgs', where: and(contains('tag', 'x'), eq('kind', 'lib')), sort: [desc('kind'), asc('_id')], limit: 20 },
    { collection: 'pkgs', where: and(contains('tag', 'x'), eq('kind', 'app')), sort: [desc('kind')], limit: 20 },
  ]) {
    const label = JSON.stringify(q);
    const e = explain(s, q);
    assert.equal(e.access.type === 'index' && e.access.indexId, ix.id, label);
    assert.equal(e.access.type === 'index' && e.access.servesSort, true, label);
    assert.equal(e.sortInMemory, false, label);
    // Early stop: limit + 1 rows read, not all matches (where `kind` rejects about half, a few times that).
    const bound = q.where.op === 'and' ? 4 * (q.limit + 1) : q.limit + 1;
    assert.ok(e.docsScanned <= bound, `${label}: scanned ${e.docsScanned} of ${matches}`);
    assert.equal(e.returned, 20, label);
    // Results and pagination equal the reference evaluator, page after page.
    let cursor: string | undefined;
    for (let page = 0; page < 4; page++) {
      const pq = cursor === undefined ? q : { ...q, after: cursor };
      const got = execute(s, pq);
      const ref = refQuery(data, pq);
      assert.deepEqual(got.rows.map((x) => x.id), ref.rows.map((x) => x.id), `${label} page ${page}`);
      assert.equal(got.hasMore, ref.hasMore);
      assert.equal(new Set(got.rows.map((x) => x.id)).size, got.rows.length);
      cursor = got.cursor;
    }
  }
  // Orders the index cannot give still sort in memory, with the same results.
  for (const q of [
    { collection: 'pkgs', where: contains('tag', 'x'), sort: [asc('n')], limit: 20 },
    { collection: 'pkgs', where: contains('tag', 'x'), sort: [asc('kind'), asc('_id')], limit: 20 },
  ]) {
    const e = explain(s, q);
    assert.equal(e.access.type === 'index' && e.access.servesSort, false, JSON.stringify(q));
    assert.deepEqual(execute(s, q).rows.map((x) => x.id), refQuery(data, q).rows.map((x) => x.id));
  }
});

test('an index naming a document the snapshot lacks is reported as HEARTH_CORRUPTION', () => {
  const s = tickets(5);
  const ix = s.createIndex({ collection: 't', fields: ['at'] });
  const broken: QueryStore = {
    getDoc: (c, id) => (id === 't0002' ? undefined : s.getDoc(c, id)),
    scan: (c) => s.scan(c),
    indexes: (c) => s.indexes(c),
    scanIndex: (i, r) => s.scanIndex(i, r),
  };
  assert.throws(
    () => execute(broken, { collection: 't', where: gte('at', 0) }, { force: ix.id }),
    (e: unknown) => e instanceof HearthError && e.code === 'HEARTH_CORRUPTION' && /t0002/.test(e.message),
  );
});

test('top-k without an order-serving index: large scans with sort + limit equal the reference', () => {
  const r = rng(SEED + 6000);
  const s = new MemoryQueryStore();
  const data: Collections = new Map([['c', new Map()]]);
  for (let i = 0; i < 5000; i++) {
    const d = doc(r);
    s.put('c', `d${i}`, d);
    data.get('c')!.set(`d${i}`, d);
  }
  for (const q of [
    { collection: 'c', sort: [asc('a'), desc('s')], limit: 7 },
    { collection: 'c', where: gte('a', 1), sort: [desc('n.x')], limit: 600 },
    { collection: 'c', sort: [asc('b')], limit: 1500 },
  ]) {
    const e = explain(s, q);
    assert.equal(e.access.type, 'scan');
    const got = execute(s, q);
    const ref = refQuery(data, q);
    assert.deepEqual(got.rows.map((x) => x.id), ref.rows.map((x) => x.id), JSON.stringify(q));
    assert.equal(got.hasMore, ref.hasMore);
    const page2 = execute(s, { ...q, after: got.cursor });
    assert.deepEqual(page2.rows.map((x) => x.id), refQuery(data, { ...q, after: got.cursor }).rows.map((x) => x.id));
  }
});

test('planner: a top-level or is served as a union of index branches, each id once', () => {
  const s = tickets();
  const byStatus = s.createIndex({ collection: 't', fields: ['status'] });
  const byAt = s.createIndex({ collection: 't', fields: ['at'] });
  const q = { collection: 't', where: or(eq('status', 'open'), lt('at', 25)), sort: [asc('at')] };
  const e = explain(s, q);
  assert.deepEqual(e.access, {
    type: 'union',
    branches: [explain(s, { collection: 't', where: eq('status', 'open') }, { force: byStatus.id }).access, explain(s, { collection: 't', where: lt('at', 25) }, { force: byAt.id }).access],
  });
  const got = execute(s, q).rows.map((r) => r.id);
  assert.deepEqual(got, execute(s, q, { force: 'scan' }).rows.map((r) => r.id));
  assert.equal(new Set(got).size, got.length);
  assert.equal(got.length, 20 + 25 - 3); // t0000, t0010, t0020 match both branches
  assert.ok(e.docsScanned < 200);
  // A branch no index serves makes the union impossible: scan.
  assert.equal(explain(s, { collection: 't', where: or(eq('status', 'open'), prefix('owner.name', 'user1')) }).access.type, 'scan');
});
