// Traversal (join by value): hops through the primary key, through an index on the target field, and through a
// single hashed scan when no index exists; depth n with cycles; filters at each hop; random graphs against the
// reference evaluator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryQueryStore, asc, cmpValues, eq, executeWithExplain, gte, hop, type Query, type Row } from '../src/index.js';
import { SEED, rng } from './_arb.js';
import { chance, int, pick } from './_gen.js';
import { type Collections, refQuery } from './_reference.js';

function sameRows(actual: readonly Row[], expected: readonly Row[], what: string): void {
  assert.deepEqual(actual.map((r) => r.id), expected.map((r) => r.id), `${what}: ids`);
  actual.forEach((r, i) => assert.equal(cmpValues(r.doc, expected[i].doc), 0, `${what}: doc of ${r.id}`));
}

function blog(): MemoryQueryStore {
  const s = new MemoryQueryStore();
  s.put('users', 'u1', { name: 'Ann', managerId: 'u2', friends: ['u2', 'u3'], age: 40 });
  s.put('users', 'u2', { name: 'Bob', managerId: 'u3', friends: ['u1'], age: 50 });
  s.put('users', 'u3', { name: 'Cy', managerId: 'u1', friends: [], age: 30 }); // cycle u1 → u2 → u3 → u1
  s.put('users', 'u4', { name: 'Di', friends: ['u3'], age: 20 });
  s.put('posts', 'p1', { authorId: 'u1', title: 'LSM trees', score: 5 });
  s.put('posts', 'p2', { authorId: 'u1', title: 'CRDTs', score: 9 });
  s.put('posts', 'p3', { authorId: 'u4', title: 'HNSW', score: 7 });
  s.put('posts', 'p4', { authorId: 'u9', title: 'orphan', score: 1 }); // dangling reference
  return s;
}

test('traversal: posts.authorId → users._id through the primary key', () => {
  const s = blog();
  const { result, explain } = executeWithExplain(s, {
    collection: 'posts',
    where: gte('score', 5),
    traverse: [hop('authorId', 'users')],
    sort: [asc('name')],
  });
  assert.deepEqual(result.rows.map((r) => r.doc.name), ['Ann', 'Di']);
  assert.equal(explain.hops.length, 1);
  assert.equal(explain.hops[0].access, 'primary');
  assert.equal(explain.hops[0].lookups, 2); // u1 once (deduplicated), u4
  assert.equal(explain.hops[0].docsScanned, 2);
});

test('traversal: users._id → posts.authorId uses an index on the target field, not a scan per value', () => {
  const s = blog();
  const q: Query = { collection: 'users', where: eq('name', 'Ann'), traverse: [hop('_id', 'posts', { toField: 'authorId' })], sort: [asc('title')] };
  const before = executeWithExplain(s, q);
  assert.deepEqual(before.result.rows.map((r) => r.id), ['p2', 'p1']);
  assert.equal(before.explain.hops[0].access, 'scan');
  assert.equal(before.explain.hops[0].docsScanned, 4); // one scan of posts, hashed

  const ix = s.createIndex({ collection: 'posts', fields: ['authorId', 'score'] });
  const after = executeWithExplain(s, q);
  assert.deepEqual(after.result.rows.map((r) => r.id), ['p2', 'p1']);
  assert.equal(after.explain.hops[0].access, 'index');
  assert.equal(after.explain.hops[0].indexId, ix.id);
  assert.equal(after.explain.hops[0].docsScanned, 2); // only Ann's posts are read
});

test('traversal: depth n follows a chain with a cycle, each document once', () => {
  const s = blog();
  const chain = (depth: number) =>
    executeWithExplain(s, { collection: 'users', where: eq('_id', 'u1'), traverse: [hop('managerId', 'users', { depth })], sort: [asc('_id')] });
  assert.deepEqual(chain(1).result.rows.map((r) => r.id), ['u2']);
  assert.deepEqual(chain(2).result.rows.map((r) => r.id), ['u2', 'u3']);
  const three = chain(3);
  assert.deepEqual(three.result.rows.map((r) => r.id), ['u1', 'u2', 'u3']); // back to the start
  const ten = chain(10);
  assert.deepEqual(ten.result.rows.map((r) => r.id), ['u1', 'u2', 'u3']);
  assert.equal(ten.explain.hops[0].levels, 4); // stops when no new document is reached
});

test('traversal: arrays are followed element by element, with a filter at each hop', () => {
  const s = blog();
  // Friends of Di (u3), then friends-of-friends aged >= 40 — and the posts they wrote.
  const q: Query = {
    collection: 'users',
    where: eq('name', 'Di'),
    traverse: [hop('friends', 'users'), hop('managerId', 'users', { where: gte('age', 40) }), hop('_id', 'posts', { toField: 'authorId' })],
    sort: [asc('_id')],
  };
  const { result, explain } = executeWithExplain(s, q);
  assert.deepEqual(result.rows.map((r) => r.id), ['p1', 'p2']); // Di → Cy → (manager Ann, 40) → Ann's posts
  assert.deepEqual(explain.hops.map((h) => h.reached), [1, 1, 2]);
});

test('traversal: random graphs equal the reference, with and without target indexes', () => {
  for (let sc = 0; sc < 30; sc++) {
    const seed = SEED + 3000 + sc;
    const r = rng(seed);
    const store = new MemoryQueryStore();
    const data: Collections = new Map([['a', new Map()], ['b', new Map()]]);
    const ids = (n: number) => `n${int(r, 0, n)}`;
    for (const c of ['a', 'b']) {
      for (let i = 0; i < 25; i++) {
        const id = ids(30);
        const d = {
          k: int(r, 0, 6),
          link: chance(r, 0.8) ? ids(30) : chance(r, 0.5) ? [ids(30), ids(30)] : null,
          key: chance(r, 0.9) ? `n${int(r, 0, 30)}` : int(r, 0, 3),
          w: int(r, 0, 4),
        };
        store.put(c, id, d);
        data.get(c)!.set(id, structuredClone(d));
      }
    }
    if (chance(r, 0.5)) store.createIndex({ collection: 'b', fields: ['key'] });
    if (chance(r, 0.5)) store.createIndex({ collection: 'a', fields: ['key', 'w'] });
    for (let qi = 0; qi < 10; qi++) {
      const hops = Array.from({ length: int(r, 1, 3) }, () =>
        hop(pick(r, ['link', 'key', '_id']), pick(r, ['a', 'b']), {
          toField: pick(r, ['_id', 'key', 'link']),
          ...(chance(r, 0.4) ? { where: gte('w', int(r, 0, 3)) } : {}),
          depth: int(r, 1, 3),
        }));
      const q: Query = {
        collection: pick(r, ['a', 'b']),
        ...(chance(r, 0.5) ? { where: gte('k', int(r, 0, 5)) } : {}),
        traverse: hops,
        sort: [asc('w')],
        ...(chance(r, 0.5) ? { limit: int(r, 1, 6) } : {}),
      };
      const got = executeWithExplain(store, q);
      sameRows(got.result.rows, refQuery(data, q).rows, `seed ${seed} ${JSON.stringify(q)}`);
      // Paging a traversal with cursors yields the unlimited result.
      if (q.limit !== undefined) {
        const all: Row[] = [];
        let after: string | undefined;
        for (let page = 0; page < 100; page++) {
          const res = executeWithExplain(store, { ...q, ...(after ? { after } : {}) }).result;
          all.push(...res.rows);
          if (!res.hasMore) break;
          after = res.cursor;
        }
        sameRows(all, refQuery(data, { ...q, limit: undefined }).rows, `seed ${seed} paged ${JSON.stringify(q)}`);
      }
      // No hop ever reads its target collection more than once in full.
      for (const h of got.explain.hops) if (h.access === 'scan') assert.ok(h.docsScanned <= data.get(h.to)!.size);
    }
  }
});
