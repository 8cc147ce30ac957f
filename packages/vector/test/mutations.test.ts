// Updates and deletes: recall is kept, removed items never come back, the entry point can go, compaction keeps ids,
// and the same seed with the same operations gives the same index, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlatIndex, HnswIndex, encodeIndexV1, loadKernels, type VectorId } from '@hearth/vector';
import { clustered, recallAt, rng } from './_data.js';

const kernels = await loadKernels('wasm');
const DIM = 16;

function build(n: number, seed: number, opts: { compactRatio?: number } = {}): { h: HnswIndex; f: FlatIndex; data: Float32Array[] } {
  const data = clustered(seed, n, DIM, 30);
  const h = new HnswIndex({ dim: DIM, metric: 'l2', M: 12, efConstruction: 100, kernels, seed, ...opts });
  const f = new FlatIndex({ dim: DIM, metric: 'l2', kernels });
  data.forEach((v, i) => {
    h.add(i, v);
    f.add(i, v);
  });
  return { h, f, data };
}

test('deletes: removed ids never returned, recall kept (seeded)', () => {
  const seed = 101;
  const { h, f } = build(3000, seed, { compactRatio: 1 });
  const r = rng(seed);
  const removed = new Set<number>();
  while (removed.size < 900) {
    const id = Math.floor(r() * 3000);
    if (removed.has(id)) continue;
    removed.add(id);
    assert.equal(h.remove(id), true);
    assert.equal(f.remove(id), true);
  }
  assert.equal(h.remove(removed.values().next().value!), false, 'second remove reports absence');
  assert.equal(h.size, 2100);
  const queries = clustered(seed + 1, 60, DIM, 30);
  for (const q of queries) {
    for (const hit of h.search(q, { k: 50, ef: 100 })) assert.ok(!removed.has(hit.id as number), `seed ${seed}: deleted id ${hit.id} returned`);
  }
  const rc = recallAt(h, f, queries, { k: 10, ef: 100 });
  assert.ok(rc >= 0.95, `recall after deletes ${rc} (seed ${seed})`);
  assert.equal(h.has([...removed][0]), false);
  assert.equal(h.get([...removed][0]), undefined);
});

test('updates: new vectors are found, old positions are not, recall kept (seeded)', () => {
  const seed = 202;
  const { h, f } = build(3000, seed);
  const fresh = clustered(seed + 7, 600, DIM, 30);
  for (let i = 0; i < 600; i++) {
    h.update(i * 5, fresh[i]);
    f.update(i * 5, fresh[i]);
  }
  assert.equal(h.size, 3000);
  for (let i = 0; i < 600; i += 37) {
    const hit = h.search(fresh[i], { k: 1, ef: 64 })[0];
    assert.equal(hit.id, i * 5, `updated vector not found at its new position (seed ${seed})`);
    assert.ok(hit.distance < 1e-6);
    assert.deepEqual(Array.from(h.get(i * 5)!), Array.from(fresh[i]));
  }
  const queries = clustered(seed + 1, 60, DIM, 30);
  const rc = recallAt(h, f, queries, { k: 10, ef: 100 });
  assert.ok(rc >= 0.95, `recall after updates ${rc} (seed ${seed})`);
});

test('random add/update/remove sequence matches a model (seeded; prints the seed)', () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const h = new HnswIndex({ dim: 8, metric: 'cosine', M: 6, efConstruction: 40, kernels, seed, compactRatio: 0.3 });
    const model = new Map<VectorId, Float32Array>();
    const vec = (): Float32Array => Float32Array.from({ length: 8 }, () => r() * 2 - 1);
    for (let step = 0; step < 1500; step++) {
      const x = r();
      const id: VectorId = r() < 0.5 ? Math.floor(r() * 300) : `k${Math.floor(r() * 300)}`;
      if (x < 0.5) {
        const v = vec();
        h.set(id, v);
        model.set(id, v);
      } else if (x < 0.8) {
        assert.equal(h.remove(id), model.delete(id), `seed ${seed} step ${step}: remove(${id})`);
      } else if (model.size > 0) {
        const q = vec();
        const hits = h.search(q, { k: 5, ef: 200 });
        for (const hit of hits) assert.ok(model.has(hit.id), `seed ${seed} step ${step}: returned removed id ${hit.id}`);
        assert.equal(hits.length, Math.min(5, model.size), `seed ${seed} step ${step}`);
      }
      assert.equal(h.size, model.size, `seed ${seed} step ${step}: size`);
    }
    assert.deepEqual(new Set(h.ids()), new Set(model.keys()), `seed ${seed}: ids`);
  }
});

test('removing the entry point and then everything, then adding again', () => {
  const { h, data } = build(500, 303);
  // Remove items one by one from the top of the hierarchy: the search must keep working throughout.
  for (let i = 0; i < 500; i++) {
    assert.ok(h.remove(i));
    if (i % 50 === 0 && h.size > 0) {
      const hits = h.search(data[499], { k: 3, ef: 50 });
      assert.equal(hits[0].id, 499);
    }
  }
  assert.equal(h.size, 0);
  assert.deepEqual(h.search(data[0], { k: 3 }), []);
  h.add('again', data[0]);
  assert.deepEqual(h.search(data[0], { k: 3 }).map((x) => x.id), ['again']);
});

test('compaction drops tombstones, keeps ids and results', () => {
  const { h, f, data } = build(1000, 404, { compactRatio: 1 });
  for (let i = 0; i < 1000; i += 2) {
    h.remove(i);
    f.remove(i);
  }
  const before = h.memory().vectors;
  const q = data[1];
  h.compact();
  assert.ok(h.memory().vectors < before, 'compaction frees slots');
  assert.equal(h.size, 500);
  assert.deepEqual(h.search(q, { k: 5, ef: 100 }).map((x) => x.id), f.search(q, { k: 5 }).map((x) => x.id));
  // Automatic compaction at the default ratio (0.5).
  const g = build(400, 405).h;
  for (let i = 0; i < 250; i++) g.remove(i);
  // The 200th removal reached 200 tombstones >= 0.5 x 400 slots and compacted to 200 slots; 50 more tombstones
  // (< 0.5 x 200) do not trigger another.
  assert.equal(g.memory().vectors, 200 * DIM * 4, 'auto compaction did not run');
  assert.equal(g.search(data[0], { k: 200, ef: 300 }).length, 150);
});

test('deterministic: same seed and operations give identical bytes; another seed does not', () => {
  const a = build(800, 505).h;
  const b = build(800, 505).h;
  for (const x of [a, b]) {
    for (let i = 0; i < 100; i++) x.remove(i * 3);
    x.update(1, new Float32Array(DIM).fill(0.5));
  }
  const ea = encodeIndexV1({ kind: 'hnsw', hnsw: a.exportState() });
  const eb = encodeIndexV1({ kind: 'hnsw', hnsw: b.exportState() });
  assert.deepEqual(ea, eb);
  const data = clustered(505, 800, DIM, 30);
  const c = new HnswIndex({ dim: DIM, metric: 'l2', M: 12, efConstruction: 100, kernels, seed: 999 });
  data.forEach((v, i) => c.add(i, v));
  for (let i = 0; i < 100; i++) c.remove(i * 3);
  c.update(1, new Float32Array(DIM).fill(0.5));
  assert.notDeepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: c.exportState() }), ea);
});

test('bad input is refused with TypeError / RangeError', () => {
  const h = new HnswIndex({ dim: 3, kernels });
  h.add(1, [1, 2, 3]);
  assert.throws(() => h.add(1, [1, 2, 3]), RangeError);
  assert.throws(() => h.update(2, [1, 2, 3]), RangeError);
  assert.throws(() => h.add(2, [1, 2]), /expected length 3, got length=2/);
  assert.throws(() => h.add(2, [1, NaN, 3]), RangeError);
  assert.throws(() => h.add(-1, [1, 2, 3]), RangeError);
  assert.throws(() => h.add(1.5, [1, 2, 3]), RangeError);
  assert.throws(() => h.add({} as never, [1, 2, 3]), TypeError);
  assert.throws(() => h.add(3, 'abc' as never), TypeError);
  assert.throws(() => h.search([1, 2, 3], { k: 0 }), RangeError);
  assert.throws(() => h.search([1, 2, 3], { k: 1, filter: 3 as never }), TypeError);
  assert.throws(() => h.search([1, 2, 3], { k: 1, filterStrategy: 'x' as never }), RangeError);
  assert.throws(() => new HnswIndex({ dim: 0 }), RangeError);
  assert.throws(() => new HnswIndex({ dim: 4, M: 1 }), RangeError);
  assert.throws(() => new HnswIndex({ dim: 4, metric: 'manhattan' as never }), RangeError);
  assert.throws(() => new FlatIndex({ dim: 4, quantization: { type: 'pq' as never } }), RangeError);
});
