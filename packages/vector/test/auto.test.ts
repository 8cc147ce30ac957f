// AutoIndex: flat (exact) at or below the threshold, HNSW above it, and explain() says which answered and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoIndex, FlatIndex, loadKernels } from '@hearth/vector';
import { clustered, recallAt } from './_data.js';

test('AutoIndex switches from flat to HNSW past the threshold and keeps answering', async () => {
  const kernels = await loadKernels('wasm');
  const data = clustered(77, 1200, 16, 10);
  const queries = clustered(78, 30, 16, 10);
  const a = new AutoIndex({ dim: 16, metric: 'l2', threshold: 1000, kernels, M: 12 });
  const f = new FlatIndex({ dim: 16, metric: 'l2', kernels });
  data.slice(0, 1000).forEach((v, i) => {
    a.add(i, v);
    f.add(i, v);
  });
  assert.equal(a.kind, 'flat');
  let { hits, plan } = a.explain(queries[0], { k: 10 });
  assert.equal(plan.index, 'flat');
  assert.equal(plan.strategy, 'flat');
  assert.match(plan.reason, /threshold 1000: flat/);
  assert.deepEqual(hits, f.search(queries[0], { k: 10 }));
  data.slice(1000).forEach((v, i) => {
    a.add(1000 + i, v);
    f.add(1000 + i, v);
  });
  assert.equal(a.kind, 'hnsw');
  ({ hits, plan } = a.explain(queries[0], { k: 10, ef: 64 }));
  assert.equal(plan.index, 'hnsw');
  assert.match(plan.reason, /HNSW/);
  assert.equal(a.size, 1200);
  assert.ok(recallAt(a, f, queries, { k: 10, ef: 100 }) >= 0.95);
  // Filters and mutations pass through.
  assert.ok(a.remove(5));
  assert.ok(!a.has(5));
  a.update(6, data[0]);
  assert.deepEqual(Array.from(a.get(6)!), Array.from(data[0]));
  const r = a.explain(queries[1], { k: 5, filter: (id) => id === 7 || id === 8 });
  assert.equal(r.plan.strategy, 'filter-then-flat');
  assert.deepEqual(new Set(r.hits.map((h) => h.id)), new Set([7, 8]));
  const c = await AutoIndex.create({ dim: 4 });
  c.add('x', [1, 0, 0, 0]);
  assert.equal(c.search([1, 0, 0, 0], { k: 1 })[0].id, 'x');
});
