// The adaptive index policy: per-shape statistics, build decisions past the thresholds (and only then, and
// once), the proposed index actually serving the shape, drop decisions for idle indexes, the decision log, and
// the off switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptiveIndexPolicy,
  MemoryQueryStore,
  and,
  asc,
  contains,
  desc,
  eq,
  executeWithExplain,
  gt,
  proposeIndex,
  type Explain,
  type Query,
} from '../src/index.js';

function store(n = 2000): MemoryQueryStore {
  const s = new MemoryQueryStore();
  for (let i = 0; i < n; i++) s.put('posts', `p${i}`, { author: `u${i % 100}`, at: i, tags: i % 50 === 0 ? ['rare'] : ['common'] });
  return s;
}

const byAuthor: Query = { collection: 'posts', where: eq('author', 'u7'), sort: [desc('at')], limit: 5 };

function run(s: MemoryQueryStore, p: AdaptiveIndexPolicy, q: Query, now: number) {
  const { explain } = executeWithExplain(s, q);
  return { explain, decisions: p.observe(explain, now) };
}

test('a scan-heavy shape gets one build decision after minExecutions, and the index then serves it', () => {
  const s = store();
  const p = new AdaptiveIndexPolicy({ minExecutions: 3, minRatio: 10, minScanned: 500 });
  assert.deepEqual(run(s, p, byAuthor, 1).decisions, []);
  assert.deepEqual(run(s, p, { ...byAuthor, where: eq('author', 'u8') }, 2).decisions, []); // same shape, other value
  const third = run(s, p, byAuthor, 3);
  assert.equal(third.decisions.length, 1);
  const d = third.decisions[0];
  assert.equal(d.kind, 'build');
  if (d.kind !== 'build') return;
  assert.deepEqual(d.fields, [['author'], ['at']]);
  assert.equal(d.multiEntry, false);
  assert.equal(d.at, 3);
  assert.match(d.reason, /ran 3 times, scanning 2000 documents on average for 5\.0 returned/);
  // Pending: not proposed twice while the database builds it.
  assert.deepEqual(run(s, p, byAuthor, 4).decisions, []);
  // The database builds it and registers it; the shape now reads limit+1 documents through it.
  const info = s.createIndex({ collection: d.collection, fields: d.fields, multiEntry: d.multiEntry }, 'adaptive');
  p.indexBuilt(info, 5);
  const after = run(s, p, byAuthor, 6);
  assert.equal(after.explain.access.type === 'index' && after.explain.access.indexId, info.id);
  assert.equal(after.explain.docsScanned, 6);
  assert.deepEqual(after.decisions, []);
  const stats = p.shapes().find((x) => x.shape.key === after.explain.shape.key)!;
  assert.equal(stats.executions, 5);
  assert.equal(stats.returned, 25);
  assert.deepEqual(p.decisions(), [d]);
});

test('no decision below the thresholds: selective queries, small collections, few executions', () => {
  const p = new AdaptiveIndexPolicy({ minExecutions: 3, minRatio: 10, minScanned: 500 });
  const small = store(100);
  for (let i = 0; i < 10; i++) assert.deepEqual(run(small, p, byAuthor, i).decisions, []); // scans 100 < minScanned
  const s = store();
  const wide: Query = { collection: 'posts', where: gt('at', -1) }; // returns everything: ratio 1
  for (let i = 0; i < 10; i++) assert.deepEqual(run(s, p, wide, i).decisions, []);
  assert.deepEqual(p.decisions(), []);
});

test('shapes that only use contains get a multi-entry index; _id lookups get none', () => {
  const s = store();
  const p = new AdaptiveIndexPolicy({ minExecutions: 2, minScanned: 100 });
  run(s, p, { collection: 'posts', where: contains('tags', 'rare') }, 1);
  const d = run(s, p, { collection: 'posts', where: contains('tags', 'rare') }, 2).decisions;
  assert.equal(d.length, 1);
  assert.ok(d[0].kind === 'build' && d[0].multiEntry && d[0].fields[0][0] === 'tags');
  assert.equal(proposeIndex({ collection: 'c', equality: [['_id']], range: [], contains: [], sort: [], key: 'k' }), undefined);
  assert.deepEqual(proposeIndex({ collection: 'c', equality: [['a']], range: [['b']], contains: [], sort: [{ path: ['c'], dir: 'asc' }], key: 'k' }), {
    fields: [['a'], ['b']],
    multiEntry: false,
  });
  assert.deepEqual(proposeIndex({ collection: 'c', equality: [], range: [['b']], contains: [], sort: [{ path: ['b'], dir: 'desc' }], key: 'k' }), {
    fields: [['b']],
    multiEntry: false,
  });
});

test('idle adaptive indexes are proposed for dropping after unusedMs; user indexes are kept', () => {
  const s = store(300);
  const p = new AdaptiveIndexPolicy({ unusedMs: 1000 });
  const mine = s.createIndex({ collection: 'posts', fields: ['at'] }, 'adaptive');
  const users = s.createIndex({ collection: 'posts', fields: ['author'] }, 'user');
  assert.deepEqual(p.review(s.indexes('posts'), 0), []);
  run(s, p, { collection: 'posts', where: and(gt('at', 10)), sort: [asc('at')], limit: 1 }, 800); // uses `mine`
  assert.deepEqual(p.review(s.indexes('posts'), 1500), []); // used 700 ms ago
  const drops = p.review(s.indexes('posts'), 1800);
  assert.equal(drops.length, 1);
  assert.ok(drops[0].kind === 'drop' && drops[0].indexId === mine.id);
  assert.match(drops[0].reason, /served no query for 1000 ms/);
  assert.deepEqual(p.review(s.indexes('posts'), 5000), []); // proposed once
  assert.ok(!p.decisions().some((d) => d.kind === 'drop' && d.indexId === users.id));
});

test('a disabled policy records and decides nothing', () => {
  const s = store();
  const p = new AdaptiveIndexPolicy({ enabled: false, minExecutions: 1, minScanned: 1 });
  for (let i = 0; i < 5; i++) assert.deepEqual(run(s, p, byAuthor, i).decisions, []);
  assert.deepEqual(p.shapes(), []);
  assert.deepEqual(p.review(s.indexes('posts'), 1e12), []);
  p.enabled = true;
  assert.equal(run(s, p, byAuthor, 9).decisions.length, 1);
  assert.throws(() => new AdaptiveIndexPolicy({ minRatio: -1 }), RangeError);
});

test('the decision log is bounded by maxLog', () => {
  const p = new AdaptiveIndexPolicy({ minExecutions: 1, minScanned: 0, minRatio: 0, maxLog: 2 });
  const e = (field: string): Explain => ({
    collection: 'c', access: { type: 'scan' }, candidates: [], estimatedScanned: 10, docsScanned: 10, indexEntriesRead: 0,
    docsMatched: 0, returned: 0, sortInMemory: false, hops: [], ms: 1,
    shape: { collection: 'c', equality: [[field]], range: [], contains: [], sort: [], key: `c?eq=${field}` },
  });
  for (const f of ['a', 'b', 'c']) assert.equal(p.observe(e(f), 1).length, 1);
  assert.deepEqual(p.decisions().map((d) => d.kind === 'build' && d.fields[0][0]), ['b', 'c']);
});

test('a traversal hop that scans its target gets an index on the target field', () => {
  const s = store();
  for (let i = 0; i < 100; i++) s.put('users', `u${i}`, { name: `n${i}`, team: `t${i % 5}` });
  const p = new AdaptiveIndexPolicy({ minExecutions: 2, minScanned: 50 });
  const q: Query = { collection: 'users', where: eq('_id', 'u3'), traverse: [{ from: '_id', to: 'posts', toField: 'author' }], limit: 3 };
  assert.deepEqual(run(s, p, q, 1).decisions, []);
  const ds = run(s, p, q, 2).decisions;
  assert.equal(ds.length, 1);
  const d = ds[0];
  assert.ok(d.kind === 'build' && d.collection === 'posts' && JSON.stringify(d.fields) === '[["author"]]', JSON.stringify(d));
  assert.match(d.reason, /traversal hop to posts\.author ran 2 times without an index, scanning 2000 documents/);
  const info = s.createIndex({ collection: 'posts', fields: ['author'] }, 'adaptive');
  p.indexBuilt(info, 3);
  const after = run(s, p, q, 4);
  assert.equal(after.explain.hops[0].access, 'index');
  assert.equal(after.explain.hops[0].docsScanned, 20);
  assert.deepEqual(after.decisions, []);
});
