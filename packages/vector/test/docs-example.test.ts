// The usage example at the top of docs/vector.md, run as written (with a memory file system and small data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { AutoIndex, HnswIndex, openIndex } from '@hearth/vector';
import { clustered } from './_data.js';

test('docs/vector.md example', async () => {
  const fs = new MemoryFileSystem();
  const data = clustered(9, 300, 100, 5);
  const [vector, newVector, query] = [data[0], data[1], data[2]];
  const allowed = new Set<number>([3, 4, 5]);

  const index = await HnswIndex.create({ dim: 100, metric: 'cosine', M: 16, efConstruction: 200 });
  assert.equal(index.kernelKind, 'wasm');
  data.forEach((v, i) => index.add(i + 100, v));
  index.add(42, vector);
  index.update(42, newVector);
  index.remove(42);
  const hits = index.search(query, { k: 10, ef: 64 });
  assert.equal(hits.length, 10);
  assert.ok(hits.every((h) => h.id !== 42));
  for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].distance <= hits[i].distance);
  for (const id of allowed) index.add(id, data[id]);
  const { hits: filtered, plan } = index.explain(query, { k: 10, filter: (id) => allowed.has(id as number) });
  assert.equal(plan.strategy, 'filter-then-flat');
  assert.deepEqual(new Set(filtered.map((h) => h.id)), allowed);
  await index.save(fs, 'vectors/embedding.hnsw');
  const again = await openIndex(fs, 'vectors/embedding.hnsw');
  assert.deepEqual(again.search(query, { k: 10, ef: 64 }), index.search(query, { k: 10, ef: 64 }));

  const auto = await AutoIndex.create({ dim: 100, threshold: 10_000 });
  auto.add('a', vector);
  assert.equal(auto.kind, 'flat');
  assert.equal(auto.search(vector, { k: 1 })[0].id, 'a');
});
