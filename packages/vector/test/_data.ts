/**
 * Seeded test data: clustered Gaussian vectors (so neighbourhoods have structure, as in real embeddings) and
 * helpers to compare an index with the exact flat index.
 */
import type { SearchOptions, VectorIndex, VectorLike } from '@hearth/vector';

/** mulberry32 */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  const u = 1 - r();
  const v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** `n` vectors of `dim` dims around `clusters` random centres (spread 1 vs centre scale 3). */
export function clustered(seed: number, n: number, dim: number, clusters = 50): Float32Array[] {
  const r = rng(seed);
  const centres: Float32Array[] = [];
  for (let c = 0; c < clusters; c++) centres.push(Float32Array.from({ length: dim }, () => 3 * gauss(r)));
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)];
    out.push(Float32Array.from({ length: dim }, (_, d) => c[d] + gauss(r)));
  }
  return out;
}

/** Mean recall@k of `index` against `exact` over `queries`. */
export function recallAt(index: VectorIndex, exact: VectorIndex, queries: VectorLike[], opts: SearchOptions): number {
  let hit = 0;
  let total = 0;
  for (const q of queries) {
    const truth = exact.search(q, opts).map((h) => h.id);
    const got = new Set(index.search(q, opts).map((h) => h.id));
    for (const id of truth) if (got.has(id)) hit++;
    total += truth.length;
  }
  return total === 0 ? 1 : hit / total;
}
