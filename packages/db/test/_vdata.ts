/**
 * Seeded vector test data for the Database's vector tests: clustered Gaussian vectors (neighbourhoods with
 * structure, as real embeddings have) and an exact (brute-force, f64) nearest-neighbour reference.
 */
import type { Database, Document } from '@hearth/db';

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

/** `n` vectors of `dim` dims around `clusters` random centres (spread 1 around centres of scale 3). */
export function clustered(seed: number, n: number, dim: number, clusters = 30): Float32Array[] {
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

/** Distance as the vector package defines it (smaller is nearer), computed in f64. */
export function distance(metric: 'cosine' | 'l2' | 'ip', a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    l2 += (a[i] - b[i]) ** 2;
  }
  if (metric === 'l2') return l2;
  if (metric === 'ip') return 1 - dot;
  return 1 - dot / Math.sqrt(na * nb);
}

/**
 * Exact k nearest ids among the documents of `collection` whose `field` is a valid vector of `dim` and that pass
 * `keep`, read straight from the database's documents (not from its index), or from a list of them read before.
 */
export function exactNearest(
  db: Database | readonly [string, Document][], collection: string, field: string, dim: number, metric: 'cosine' | 'l2' | 'ip', q: ArrayLike<number>, k: number,
  keep: (id: string, doc: Document) => boolean = () => true,
): { id: string; distance: number }[] {
  const all: { id: string; distance: number }[] = [];
  for (const [id, doc] of Array.isArray(db) ? db : (db as Database).iterate(collection)) {
    const v = doc[field];
    if (!(v instanceof Float32Array) || v.length !== dim || !keep(id, doc)) continue;
    all.push({ id, distance: distance(metric, q, v) });
  }
  all.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : 1));
  return all.slice(0, k);
}

/** Fraction of the exact ids found in `got`. 1 when `truth` is empty and `got` is too. */
export function recall(truth: readonly { id: string }[], got: readonly { id: string }[]): number {
  if (truth.length === 0) return got.length === 0 ? 1 : 0;
  const g = new Set(got.map((h) => h.id));
  let hit = 0;
  for (const t of truth) if (g.has(t.id)) hit++;
  return hit / truth.length;
}
