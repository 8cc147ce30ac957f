// Recall of HNSW against the exact flat index (hnswlib's rule: at least 0.95), for every metric, with int8
// quantisation off and on, and with filters from unselective to very selective. Data: 5,000 clustered vectors of
// 32 dims (seeded), 100 queries from the same distribution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlatIndex, HnswIndex, loadKernels, type Metric, type VectorId } from '@hearth/vector';
import { clustered, recallAt } from './_data.js';

const SEED = 1;
const N = 5000;
const DIM = 32;
const data = clustered(SEED, N, DIM);
const queries = clustered(SEED + 1, 100, DIM);
const kernels = await loadKernels('wasm');
// Inner product is not a metric (no triangle inequality), which makes graph search harder: it needs a larger ef.
const EF: Record<Metric, number> = { cosine: 128, l2: 128, ip: 256 };

const built = new Map<string, { h: HnswIndex; f: FlatIndex }>();
function indexes(metric: Metric, quant: boolean): { h: HnswIndex; f: FlatIndex } {
  const key = `${metric}/${quant}`;
  let x = built.get(key);
  if (!x) {
    const h = new HnswIndex({ dim: DIM, metric, M: 16, efConstruction: 200, kernels, quantization: quant ? { type: 'int8' } : undefined });
    const f = new FlatIndex({ dim: DIM, metric, kernels });
    data.forEach((v, i) => {
      h.add(i, v);
      f.add(i, v);
    });
    x = { h, f };
    built.set(key, x);
  }
  return x;
}

for (const metric of ['cosine', 'l2', 'ip'] as const) {
  for (const quant of [false, true]) {
    test(`recall@10 >= 0.95: ${metric}, int8 ${quant ? 'on' : 'off'} (seed ${SEED})`, () => {
      const { h, f } = indexes(metric, quant);
      assert.equal(h.quantized, quant);
      const r = recallAt(h, f, queries, { k: 10, ef: EF[metric] });
      assert.ok(r >= 0.95, `recall@10 ${r.toFixed(3)} < 0.95 (metric ${metric}, quant ${quant}, seed ${SEED})`);
      // Reported distances are exact f32 distances even when the search ran on int8 codes.
      const q = queries[0];
      const exact = new Map(f.search(q, { k: 50 }).map((x) => [x.id, x.distance]));
      for (const hit of h.search(q, { k: 10, ef: EF[metric] })) {
        if (exact.has(hit.id)) assert.ok(Math.abs(exact.get(hit.id)! - hit.distance) < 1e-4, 'distance is not the f32 one');
      }
    });
  }
}

test('quantisation reports memory saved: codes are at most a third of the f32 rows', () => {
  const { h } = indexes('cosine', true);
  const m = h.memory();
  assert.ok(m.codes > 0 && m.codes * 3 <= m.vectors, `codes ${m.codes} vs vectors ${m.vectors}`);
  const plain = indexes('cosine', false).h.memory();
  assert.equal(plain.codes, 0);
});

const filters: { name: string; pred: (id: VectorId) => boolean; graph: boolean }[] = [
  { name: 'unselective (50%)', pred: (id) => (id as number) % 2 === 0, graph: true },
  { name: 'selective (10%)', pred: (id) => (id as number) % 10 === 3, graph: true },
  { name: 'very selective (1%)', pred: (id) => (id as number) % 100 === 7, graph: true },
  { name: 'extremely selective (6 items)', pred: (id) => (id as number) % 1000 === 999 || id === 5, graph: false },
  { name: 'matches nothing', pred: () => false, graph: false },
];

for (const metric of ['cosine', 'l2'] as const) {
  for (const quant of [false, true]) {
    for (const { name, pred, graph } of filters) {
      test(`filtered recall@10 >= 0.95: ${name}, ${metric}, int8 ${quant ? 'on' : 'off'}`, () => {
        const { h, f } = indexes(metric, quant);
        const matches = data.filter((_, i) => pred(i)).length;
        // auto always; the forced graph path too where the graph can reach the matches (not for a handful of items).
        for (const strategy of graph ? (['auto', 'graph'] as const) : (['auto'] as const)) {
          const opts = { k: 10, ef: EF[metric], filter: pred, filterStrategy: strategy };
          const r = recallAt(h, f, queries, opts);
          assert.ok(r >= 0.95, `filtered recall ${r.toFixed(3)} (${name}, ${strategy})`);
          for (const q of queries.slice(0, 10)) {
            const { hits, plan } = h.explain(q, opts);
            if (strategy === 'graph') assert.equal(plan.strategy, 'hnsw-filtered');
            for (const hit of hits) assert.ok(pred(hit.id), 'a hit fails the filter');
            assert.equal(hits.length, Math.min(10, matches), 'fewer hits than matching items');
          }
        }
      });
    }
  }
}

test('the planner picks filter-then-flat for very selective filters and the graph for unselective ones', () => {
  const { h } = indexes('cosine', false);
  const q = queries[0];
  const plan = (pred: (id: VectorId) => boolean, ef: number): string => h.explain(q, { k: 10, ef, filter: pred }).plan.strategy;
  assert.equal(plan((id) => (id as number) % 2 === 0, 10), 'hnsw-filtered');
  assert.equal(plan((id) => (id as number) % 100 === 7, 10), 'filter-then-flat');
  assert.equal(plan((id) => id === 5, 128), 'filter-then-flat');
  assert.equal(plan(() => false, 128), 'filter-then-flat');
  const { plan: p } = h.explain(q, { k: 10, ef: 10, filter: (id) => (id as number) % 2 === 0 });
  assert.ok(p.selectivity! > 0.4 && p.selectivity! < 0.6, `sampled selectivity ${p.selectivity}`);
});

test('a filtered graph search keeps expanding past ef until matches are found', () => {
  const { h, f } = indexes('l2', false);
  // 20% selectivity, tiny ef: a fixed over-fetch of ef would return fewer than k; the in-loop filter must not.
  const pred = (id: VectorId): boolean => (id as number) % 5 === 1;
  for (const q of queries.slice(0, 20)) {
    const { hits, plan } = h.explain(q, { k: 10, ef: 10, filter: pred, filterStrategy: 'graph' });
    assert.equal(plan.strategy, 'hnsw-filtered');
    assert.equal(hits.length, 10);
    assert.ok(hits.every((x) => pred(x.id)));
  }
  const r = recallAt(h, f, queries, { k: 10, ef: 128, filter: pred });
  assert.ok(r >= 0.95, `recall ${r}`);
});
