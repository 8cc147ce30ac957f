// The examples of docs/query.md, run as written (with the data they assume), so the document stays true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptiveIndexPolicy,
  MemoryQueryStore,
  and,
  applyDiff,
  asc,
  avg,
  contains,
  count,
  createLiveQuery,
  desc,
  eq,
  execute,
  executeWithExplain,
  gte,
  hop,
  max,
  sum,
  type Query,
} from '../src/index.js';

test('docs/query.md: a query, its JSON form, and the next page', () => {
  const store = new MemoryQueryStore();
  for (let i = 0; i < 30; i++) {
    store.put('posts', `p${i}`, {
      status: i % 3 ? 'published' : 'draft',
      score: i,
      tags: i % 2 ? ['db', 'lsm'] : ['ui'],
      title: `t${i}`,
      author: { name: `a${i % 4}` },
    });
  }
  const sameQuery: Query = {
    collection: 'posts',
    where: and(eq('status', 'published'), gte('score', 10), contains('tags', 'db')),
    sort: [desc('score'), asc('title')],
    limit: 20,
    select: ['title', 'author.name', 'score'],
  };
  const json = JSON.parse(`{
    "collection": "posts",
    "where": { "op": "and", "filters": [
      { "op": "eq", "path": "status", "value": "published" },
      { "op": "gte", "path": "score", "value": 10 },
      { "op": "contains", "path": "tags", "value": "db" } ] },
    "sort": [ { "path": "score", "dir": "desc" }, { "path": "title" } ],
    "limit": 20,
    "select": [ "title", "author.name", "score" ]
  }`) as Query;
  const page = execute(store, sameQuery);
  assert.deepEqual(execute(store, json), page);
  assert.deepEqual(page.rows[0], { id: 'p29', doc: { title: 't29', author: { name: 'a1' }, score: 29 } });
  const next = execute(store, { ...sameQuery, after: page.cursor });
  assert.equal(page.rows.length + next.rows.length, [11, 13, 17, 19, 23, 25, 29].length);
});

test('docs/query.md: aggregation example', () => {
  const store = new MemoryQueryStore();
  store.put('sales', 's1', { shop: { region: 'north' }, product: 'apples', amount: 10 });
  store.put('sales', 's2', { shop: { region: 'north' }, product: 'apples', amount: 5 });
  store.put('sales', 's3', { shop: { region: 'north' }, product: 'apples' });
  store.put('sales', 's4', { shop: { region: 'south' }, product: 'pears', amount: 1 });
  const { rows } = execute(store, {
    collection: 'sales',
    where: eq('product', 'apples'),
    aggregate: { groupBy: ['shop.region'], values: { n: count(), total: sum('amount'), mean: avg('amount'), top: max('amount') } },
  });
  assert.deepEqual(rows.map((r) => r.doc), [{ shop: { region: 'north' }, n: 3, total: 15, mean: 7.5, top: 10 }]);
});

test('docs/query.md: traversal examples', () => {
  const store = new MemoryQueryStore();
  store.put('users', 'u1', { name: 'Ann', managerId: 'u2', age: 41 });
  store.put('users', 'u2', { name: 'Bob', managerId: 'u3', age: 52 });
  store.put('users', 'u3', { name: 'Cy', age: 38 });
  store.put('posts', 'p1', { authorId: 'u1', score: 7 });
  store.put('posts', 'p2', { authorId: 'u2', score: 3 });
  store.createIndex({ collection: 'posts', fields: ['authorId', 'score'] });
  const ids = (q: Query) => execute(store, q).rows.map((r) => r.id);
  assert.deepEqual(ids({ collection: 'posts', where: gte('score', 5), traverse: [hop('authorId', 'users')], sort: [asc('name')] }), ['u1']);
  assert.deepEqual(ids({ collection: 'users', where: eq('name', 'Ann'), traverse: [hop('_id', 'posts', { toField: 'authorId' })] }), ['p1']);
  assert.deepEqual(ids({ collection: 'users', where: eq('_id', 'u1'), traverse: [hop('managerId', 'users', { depth: 3, where: gte('age', 40) })] }), ['u2']);
});

test('docs/query.md: live query and adaptive policy examples', () => {
  const snapshot = new MemoryQueryStore();
  snapshot.put('todos', 't1', { done: false, at: 1 });
  const live = createLiveQuery(snapshot, { collection: 'todos', where: eq('done', false), sort: [asc('at')], limit: 50 });
  let rows = live.result.rows;
  const changes = [snapshot.put('todos', 't2', { done: false, at: 0 })];
  const diff = live.apply(changes, snapshot);
  if (diff) rows = applyDiff(rows, diff);
  assert.deepEqual(rows.map((r) => r.id), ['t2', 't1']);

  const policy = new AdaptiveIndexPolicy({ minExecutions: 5, minRatio: 10, minScanned: 1000, unusedMs: 7 * 86_400_000 });
  for (let i = 0; i < 2000; i++) snapshot.put('todos', `x${i}`, { done: true, at: i, owner: `o${i % 100}` });
  const built: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { explain } = executeWithExplain(snapshot, { collection: 'todos', where: eq('owner', 'o1') });
    for (const d of policy.observe(explain, i)) if (d.kind === 'build') built.push(JSON.stringify(d.fields));
  }
  assert.deepEqual(built, ['[["owner"]]']);
  assert.equal(policy.decisions().length, 1);
  policy.enabled = false;
});
