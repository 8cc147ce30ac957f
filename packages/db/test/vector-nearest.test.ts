/**
 * Vector indexes in the Database: `createVectorIndex` + `nearest` against an exact scan of the documents (recall@10
 * ≥ 0.95 on clustered data, HNSW with int8, with and without filters, down to a filter matching a handful), updates
 * and deletes, skipped documents, argument errors. Seeded: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { Database, DbError } from '@hearth/db';
import { clustered, exactNearest, recall, rng } from './_vdata.js';

const SEED = Number(process.env.HEARTH_SEED ?? 424242);
const DIM = 16;
const N = 1500;
const open = (fs = new MemoryFileSystem()) => Database.open({ fs, name: 'db' });
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

/** Puts N clustered documents: `emb`, a `tag` (a: 50%, b: 40%, c: 10%) and a `rare` flag on 6 of them. */
async function fill(db: Database, seed: number): Promise<Float32Array[]> {
  const vecs = clustered(seed, N + 40, DIM);
  const r = rng(seed ^ 0x55);
  const rare = new Set([3, 170, 444, 801, 1203, 1499]);
  for (let i = 0; i < N; i += 100) {
    await db.transaction((tx) => {
      for (let j = i; j < Math.min(N, i + 100); j++) {
        const x = r();
        tx.put('docs', `d${j}`, { emb: vecs[j], tag: x < 0.5 ? 'a' : x < 0.9 ? 'b' : 'c', n: j, ...(rare.has(j) ? { rare: true } : {}) });
      }
    });
  }
  return vecs;
}

test('nearest: recall@10 >= 0.95 against exact search (HNSW, int8), with and without filters', async () => {
  const label = `seed ${SEED} (rerun with HEARTH_SEED=${SEED})`;
  const db = await open();
  const vecs = await fill(db, SEED);
  const info = await db.createVectorIndex('docs', 'emb', { dimension: DIM, metric: 'cosine', quantization: 'int8', threshold: 300, efConstruction: 100 });
  assert.equal(info.kind, 'hnsw', label);
  assert.equal(info.size, N);
  assert.deepEqual(info.skipped, { missing: 0, invalid: 0 });
  const queries = vecs.slice(N, N + 25);
  const docs = [...db.iterate('docs')];
  const cases = [
    { name: 'no filter', filter: undefined, keep: () => true },
    { name: 'tag = a (50%)', filter: { op: 'eq', path: 'tag', value: 'a' } as const, keep: (_: string, d: Record<string, unknown>) => d.tag === 'a' },
    { name: 'tag = a (50%), graph forced', graph: true, filter: { op: 'eq', path: 'tag', value: 'a' } as const, keep: (_: string, d: Record<string, unknown>) => d.tag === 'a' },
    { name: 'tag = c (10%), graph forced', graph: true, filter: { op: 'eq', path: 'tag', value: 'c' } as const, keep: (_: string, d: Record<string, unknown>) => d.tag === 'c' },
    { name: 'tag = c (10%)', filter: { op: 'eq', path: 'tag', value: 'c' } as const, keep: (_: string, d: Record<string, unknown>) => d.tag === 'c' },
    { name: 'rare (6 documents)', filter: { op: 'eq', path: 'rare', value: true } as const, keep: (_: string, d: Record<string, unknown>) => d.rare === true },
    { name: 'n in [5, 9] and tag = b', filter: { op: 'and', filters: [{ op: 'in', path: 'n', values: [5, 9] }, { op: 'eq', path: 'tag', value: 'b' }] } as const, keep: (_: string, d: Record<string, unknown>) => (d.n === 5 || d.n === 9) && d.tag === 'b' },
    { name: 'matches nothing', filter: { op: 'eq', path: 'tag', value: 'zzz' } as const, keep: () => false },
  ];
  for (const c of cases) {
    let sum = 0;
    let strategies = new Set<string>();
    const qs = c.filter === undefined ? queries : queries.slice(0, 12); // a filtered call evaluates the filter over the collection
    for (const q of qs) {
      const truth = exactNearest(docs, 'docs', 'emb', DIM, 'cosine', q, 10, c.keep);
      const { hits, plan } = db.explainNearest('docs', 'emb', q, { k: 10, ef: 64, ...(c.filter ? { filter: c.filter } : {}), ...('graph' in c ? { filterStrategy: 'graph' as const } : {}) });
      strategies.add(plan.strategy);
      assert.equal(plan.index, 'hnsw');
      if (plan.strategy === 'hnsw') assert.equal(plan.quantized, true, `${c.name}: int8 codes searched`);
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].distance <= hits[i].distance, 'sorted by distance');
      for (const h of hits) {
        assert.ok(c.keep(h.id, h.doc), `${c.name}: ${h.id} does not pass the filter`);
        assert.deepEqual(h.doc, db.get('docs', h.id), 'doc is the stored document');
      }
      if (c.filter !== undefined) {
        // no secondary index: the filter is tested per document the search asks about
        assert.equal(plan.filterMode, 'per-document');
        assert.ok(plan.filterEvaluations! > 0 && plan.filterEvaluations! <= N);
        if (plan.strategy === 'hnsw-filtered') assert.ok(plan.filterEvaluations! < N, 'a filtered graph search reads only what it visits');
      }
      if ('graph' in c) assert.equal(plan.strategy, 'hnsw-filtered');
      sum += recall(truth, hits);
      // distances are exact f32 distances
      for (const h of hits) {
        const t = truth.find((x) => x.id === h.id);
        if (t) assert.ok(Math.abs(t.distance - h.distance) < 1e-4, `${c.name}: distance ${h.distance} vs exact ${t.distance}`);
      }
    }
    const r = sum / qs.length;
    console.log(`  ${c.name}: recall@10 ${r.toFixed(3)}, strategies ${[...strategies].join(', ')}`);
    assert.ok(r >= 0.95, `${c.name}: recall@10 ${r} < 0.95, ${label}`);
    if (c.name.startsWith('rare') || c.name.startsWith('n in') || c.name === 'matches nothing') {
      assert.deepEqual([...strategies], ['filter-then-flat'], `${c.name}: a very selective filter runs flat (exact)`);
      assert.equal(r, 1, `${c.name}: exact`);
    }
    strategies = new Set();
  }
  // with a secondary index that serves the filter, the matching set comes from the index at once
  await db.createIndex('docs', ['rare']);
  const rareFilter = { op: 'eq', path: 'rare', value: true } as const;
  for (const q of queries.slice(0, 5)) {
    const { hits, plan } = db.explainNearest('docs', 'emb', q, { k: 10, filter: rareFilter });
    assert.equal(plan.filterMode, 'set');
    assert.equal(plan.filterMatches, 6);
    assert.equal(plan.strategy, 'filter-then-flat');
    assert.deepEqual(hits.map((h) => h.id), exactNearest(docs, 'docs', 'emb', DIM, 'cosine', q, 10, (_, d) => d.rare === true).map((h) => h.id));
  }
  const byId = db.explainNearest('docs', 'emb', queries[0], { k: 3, filter: { op: 'in', path: '_id', values: ['d1', 'd2', 'd3', 'nope'] } });
  assert.equal(byId.plan.filterMode, 'set');
  assert.deepEqual(byId.hits.map((h) => h.id).sort(), ['d1', 'd2', 'd3']);
  await db.close();
});

test('nearest follows puts, patches, deletes; skipped documents are counted, never an error', async () => {
  const db = await open();
  const vecs = clustered(SEED + 1, 400, 8);
  await db.createVectorIndex('p', 'v', { dimension: 8, metric: 'l2', threshold: 100 });
  for (let i = 0; i < 300; i++) await db.put('p', `x${i}`, { v: vecs[i], i });
  let info = db.vectorIndexes()[0];
  assert.equal(info.size, 300);
  assert.equal(info.kind, 'hnsw');

  // updates: 60 documents get new vectors (by put and by patch)
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0) await db.put('p', `x${i}`, { v: vecs[300 + i], i });
    else await db.patch('p', `x${i}`, { v: vecs[300 + i] });
  }
  for (let i = 0; i < 60; i++) {
    const [top] = db.nearest('p', 'v', vecs[300 + i], { k: 1 });
    assert.equal(top.id, `x${i}`, 'an updated document is found at its new vector');
    assert.ok(top.distance < 1e-9);
    assert.ok(!db.nearest('p', 'v', vecs[i], { k: 5 }).some((h) => h.id === `x${i}` && h.distance < 1e-9), 'the old vector is gone');
  }
  // a patch of another field keeps the vector
  await db.patch('p', 'x100', { note: 'hello' });
  assert.equal(db.nearest('p', 'v', vecs[100], { k: 1 })[0].id, 'x100');
  assert.equal(db.nearest('p', 'v', vecs[100], { k: 1 })[0].doc.note, 'hello', 'the hit carries the current document');

  // deletes: never returned again
  const deleted = new Set<string>();
  for (let i = 100; i < 160; i++) {
    await db.delete('p', `x${i}`);
    deleted.add(`x${i}`);
  }
  await db.transaction((tx) => {
    for (let i = 160; i < 170; i++) {
      tx.delete('p', `x${i}`);
      deleted.add(`x${i}`);
    }
  });
  for (let i = 100; i < 170; i++) {
    const hits = db.nearest('p', 'v', vecs[i], { k: 20 });
    assert.equal(hits.length, 20);
    for (const h of hits) assert.ok(!deleted.has(h.id), `deleted ${h.id} returned`);
  }
  const all = db.nearest('p', 'v', vecs[0], { k: 1000, ef: 1000 });
  assert.equal(all.length, 230);
  assert.deepEqual(new Set(all.map((h) => h.id)), new Set([...db.iterate('p')].map(([id]) => id)), 'the index holds exactly the live documents');

  // skipped: missing field, null, wrong dimension, not a vector, non-finite; the writes succeed
  await db.put('p', 'm1', { other: 1 });
  await db.put('p', 'm2', { v: null });
  await db.put('p', 'bad1', { v: new Float32Array(7) });
  await db.put('p', 'bad2', { v: 'not a vector' });
  await db.put('p', 'bad3', { v: [1, 2, 3, 4, 5, 6, 7, NaN] });
  await db.patch('p', 'x0', { v: null }); // was indexed: now missing
  info = db.vectorIndexes()[0];
  assert.deepEqual(info.skipped, { missing: 3, invalid: 3 });
  assert.deepEqual([...info.invalidIds].sort(), ['bad1', 'bad2', 'bad3']);
  assert.equal(info.size, 229);
  assert.ok(!db.nearest('p', 'v', vecs[300], { k: 5 }).some((h) => h.id === 'x0'));
  // a plain array of numbers of the right dimension is a vector too; fixing a document brings it in
  await db.patch('p', 'bad1', { v: Array.from(vecs[399]) });
  assert.equal(db.nearest('p', 'v', vecs[399], { k: 1 })[0].id, 'bad1');
  await db.delete('p', 'bad2');
  await db.delete('p', 'm1');
  assert.deepEqual(db.vectorIndexes()[0].skipped, { missing: 2, invalid: 1 });
  await db.close();
});

test('createVectorIndex is idempotent; conflicts, unknown indexes and bad arguments are refused', async () => {
  const db = await open();
  await db.put('c', 'a', { e: new Float32Array([1, 0, 0]) });
  await db.put('c', 'b', { e: new Float32Array([0, 0, 0]) }); // zero vector: no direction for cosine
  const a = await db.createVectorIndex('c', 'e', { dimension: 3 });
  assert.equal(a.kind, 'flat');
  assert.deepEqual(a.skipped, { missing: 0, invalid: 1 });
  const again = await db.createVectorIndex('c', 'e', { dimension: 3, metric: 'cosine' });
  assert.deepEqual({ ...again, unsaved: 0 }, { ...a, unsaved: 0 });
  await assert.rejects(db.createVectorIndex('c', 'e', { dimension: 4 }), (e: unknown) => e instanceof DbError && e.code === 'HEARTH_VECTOR_INDEX_CONFLICT');
  assert.throws(() => db.nearest('c', 'nope', [1, 0, 0], { k: 1 }), code('HEARTH_NO_VECTOR_INDEX'));
  assert.throws(() => db.nearest('c', 'e', [1, 0], { k: 1 }), RangeError);
  assert.throws(() => db.nearest('c', 'e', [1, 0, 0], { k: 0 }), RangeError);
  assert.throws(() => db.nearest('c', 'e', [1, 0, 0], { k: 1, filter: { op: 'bogus' } as never }), code('HEARTH_INVALID_QUERY'));
  await assert.rejects(db.createVectorIndex('c', 'f', { dimension: 0 }), RangeError);
  await assert.rejects(db.createVectorIndex('c', 'f', { dimension: 3, metric: 'dot' as never }), RangeError);
  await assert.rejects(db.createVectorIndex('c', '_id', { dimension: 3 }), TypeError);
  assert.deepEqual(db.nearest('c', 'e', [0.9, 0.1, 0], { k: 5 }).map((h) => h.id), ['a']);
  assert.equal(await db.dropVectorIndex('c', 'e'), true);
  assert.equal(await db.dropVectorIndex('c', 'e'), false);
  assert.throws(() => db.nearest('c', 'e', [1, 0, 0], { k: 1 }), code('HEARTH_NO_VECTOR_INDEX'));
  await db.close();
  assert.throws(() => db.nearest('c', 'e', [1, 0, 0], { k: 1 }), code('HEARTH_CLOSED'));
});
