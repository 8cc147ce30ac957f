// Seeded generators of documents, writes and queries for the model tests.
import type { Doc, Filter, Path, Query, SortKey, Value } from '../src/index.js';

export type Rand = () => number;

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const chance = (r: Rand, p: number): boolean => r() < p;
export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const STRINGS = ['', 'a', 'ab', 'abc', 'b', 'ba', 'a\u0000', 'a\u0000b', 'é', '\uffff', '😀'];
const NUMBERS = [-2, -1, -0.5, 0, -0, 0.5, 1, 2, 3, NaN];

/** A scalar from small pools, so that equal values recur. */
export function scalar(r: Rand): Value {
  const k = r();
  if (k < 0.08) return null;
  if (k < 0.16) return chance(r, 0.5);
  if (k < 0.55) return pick(r, NUMBERS);
  if (k < 0.9) return pick(r, STRINGS);
  if (k < 0.95) return Float32Array.of(...Array.from({ length: int(r, 0, 2) }, () => pick(r, [0, -0, 0.5, 1, NaN])));
  return Uint8Array.of(int(r, 0, 2));
}

/** A value: mostly scalars, sometimes a short array or a small object. */
export function value(r: Rand, depth = 0): Value {
  const k = r();
  if (depth < 2 && k < 0.12) return Array.from({ length: int(r, 0, 3) }, () => value(r, depth + 1));
  if (depth < 2 && k < 0.2) {
    const o: Record<string, Value> = {};
    for (const key of ['x', 'y']) if (chance(r, 0.7)) o[key] = value(r, depth + 1);
    return o;
  }
  return scalar(r);
}

/** A document with fields a, b, s, tags, n (each sometimes missing or of an unexpected type). */
export function doc(r: Rand): Doc {
  const d: Doc = {};
  if (chance(r, 0.85)) d.a = chance(r, 0.8) ? int(r, 0, 5) : scalar(r);
  if (chance(r, 0.85)) d.b = value(r);
  if (chance(r, 0.85)) d.s = chance(r, 0.85) ? pick(r, STRINGS) : scalar(r);
  if (chance(r, 0.8)) d.tags = chance(r, 0.85) ? Array.from({ length: int(r, 0, 3) }, () => pick(r, ['x', 'y', 'z', 1, 2] as Value[])) : pick(r, ['x', 1, null] as Value[]);
  if (chance(r, 0.8)) d.n = chance(r, 0.85) ? { x: chance(r, 0.8) ? int(r, 0, 3) : scalar(r), ...(chance(r, 0.5) ? { y: pick(r, STRINGS) } : {}) } : scalar(r);
  return d;
}

export const FIELDS: Path[] = ['a', 'b', 's', 'tags', 'n.x', ['n', 'y'], '_id', 'tags.0', 'missing'];
export const INDEXABLE: Path[][] = [['a'], ['b'], ['s'], ['a', 's'], ['s', 'a'], ['n.x'], ['a', 'n.x'], ['tags'], ['a', 'b', 's']];

function compareValue(r: Rand, path: Path): Value {
  const p = typeof path === 'string' ? path : path.join('.');
  if (p === '_id') return `d${int(r, 0, 30)}`;
  if (p === 'a' || p === 'n.x') return chance(r, 0.85) ? int(r, -1, 6) : scalar(r);
  if (p === 'tags' || p === 'tags.0') return pick(r, ['x', 'y', 'z', 1, 2] as Value[]);
  return scalar(r);
}

/** A random filter, leaning to top-level conjunctions (which indexes can serve). */
export function filter(r: Rand, depth = 0): Filter {
  const k = r();
  if (depth < 2 && k < 0.25) return { op: 'and', filters: Array.from({ length: int(r, 1, 3) }, () => filter(r, depth + 1)) };
  if (depth < 2 && k < 0.33) return { op: 'or', filters: Array.from({ length: int(r, 0, 2) }, () => filter(r, depth + 1)) };
  if (depth < 2 && k < 0.37) return { op: 'not', filter: filter(r, depth + 1) };
  const path = pick(r, FIELDS);
  const op = pick(r, ['eq', 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'contains', 'prefix', 'exists'] as const);
  switch (op) {
    case 'in':
    case 'nin':
      return { op, path, values: Array.from({ length: int(r, 0, 3) }, () => compareValue(r, path)) };
    case 'prefix':
      return { op, path, value: pick(r, ['', 'a', 'ab', 'b', 'a\u0000', '😀']) };
    case 'exists':
      return { op, path, exists: chance(r, 0.7) };
    default:
      return { op, path, value: compareValue(r, path) };
  }
}

export function sortKeys(r: Rand): SortKey[] {
  const n = pick(r, [0, 1, 1, 2, 2, 3]);
  const dirAll = pick(r, ['asc', 'desc'] as const);
  return Array.from({ length: n }, () => ({ path: pick(r, ['a', 's', 'b', 'n.x', '_id', 'tags'] as Path[]), dir: chance(r, 0.75) ? dirAll : pick(r, ['asc', 'desc'] as const) }));
}

/** A random row or aggregate query on collection `c`. */
export function query(r: Rand, collection: string): Query {
  const where = chance(r, 0.85) ? (chance(r, 0.6) ? { op: 'and' as const, filters: Array.from({ length: int(r, 1, 3) }, () => filter(r, 1)) } : filter(r)) : undefined;
  if (chance(r, 0.15)) {
    return {
      collection,
      ...(where ? { where } : {}),
      aggregate: {
        groupBy: pick(r, [[], ['a'], ['n.x', 's'], ['tags']] as Path[][]),
        values: { cnt: { op: 'count' }, na: { op: 'count', path: 'a' }, sa: { op: 'sum', path: 'b' }, av: { op: 'avg', path: 'a' }, lo: { op: 'min', path: 's' }, hi: { op: 'max', path: 'n.x' } },
      },
    };
  }
  const q: { -readonly [K in keyof Query]: Query[K] } = { collection };
  if (where) q.where = where;
  const sort = sortKeys(r);
  if (sort.length) q.sort = sort;
  if (chance(r, 0.6)) q.limit = int(r, 0, 12);
  if (chance(r, 0.2)) q.select = pick(r, [['a'], ['n.x', 's'], ['n', 'n.x'], ['tags.0', '_id']] as Path[][]);
  return q;
}
