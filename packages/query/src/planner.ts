/**
 * The planner: chooses how to reach the documents of one collection that may match a filter.
 *
 * Access paths: the primary key (`_id` under `eq`/`in`), a secondary index (equality on a prefix of its fields,
 * then at most one range on the next field; a multi-entry index under `contains`), a union for a top-level `or`
 * whose every branch has a non-scan path (ids deduplicated), or a full scan. Each
 * candidate gets an estimated number of documents fetched (from the store's estimators when it has them,
 * otherwise from a fixed selectivity per bound field: equality 5%, range 25%) and a cost that adds an in-memory
 * sort unless the index order is the query order, and that caps the fetches of an order-serving index at about
 * `limit` rows. The cheapest wins; on a tie primary beats index beats scan.
 *
 * Invariants (correctness never depends on the choice):
 * 1. Every access path yields a superset of the documents that match the filter: a range is only ever derived
 *    from a top-level conjunct, and type-bracketed comparisons, `prefix` and `contains` select exactly the index
 *    keys whose values could satisfy them.
 * 2. The executor re-evaluates the whole filter on every fetched document.
 * 3. `servesSort` is set only when the index scan order (ascending, or descending with `reverse`) equals the
 *    query order: the non-constant index fields equal the non-constant sort keys, every sort key has the
 *    direction of the last one (which also orders the id tie-break), and there is at most one key range.
 * 4. A multi-entry index probed by `contains` reads one key range `[value | …)` whose keys are `value | id`
 *    (`encodeKeyV1([element, id])`, one per distinct element, so each document at most once), i.e. ids in
 *    ascending order. It serves a sort whose keys, after dropping those fixed by single-value equality, are none
 *    (id tie-break in the direction of the last key) or start with `_id` (in that key's direction).
 *
 * @packageDocumentation
 */
import { TAG_END, Tag } from './constants.js';
import { type NFilter, type NSort, type P, conjuncts } from './_query.js';
import { concatBytes, encodeStringBodyV1, encodeValueV1, prefixEnd, toHex } from './keys.js';
import type { Access, IndexInfo, KeyRange, QueryStore, Value } from './types.js';
import { Rank, compareBytes, isIdPath, typeRank } from './value.js';

/** A half-open key range [lo, hi); undefined bounds are open. */
export interface ByteRange {
  readonly lo: Uint8Array | undefined;
  readonly hi: Uint8Array | undefined;
}

/** A physical plan for one collection. */
export type PhysicalAccess =
  | { readonly kind: 'scan' }
  | { readonly kind: 'primary'; readonly ids: readonly string[] }
  | { readonly kind: 'union'; readonly branches: readonly PhysicalAccess[] }
  | {
      readonly kind: 'index';
      readonly index: IndexInfo;
      readonly ranges: readonly ByteRange[];
      readonly servesSort: boolean;
      readonly reverse: boolean;
      readonly equalityFields: number;
      readonly rangeField: boolean;
      /** For each index field: the constant it is fixed to by equality (multi-entry: the probed element), if any. */
      readonly fixed: readonly ({ value: Value } | undefined)[];
    };

export interface Candidate {
  readonly access: PhysicalAccess;
  readonly estimatedScanned: number;
  readonly cost: number;
}

/** Options to steer the planner (tests, debugging). */
export interface PlanOptions {
  /** Force an access path: `'scan'`, `'primary'`, `'union'`, or an index id. Ignored if that path cannot serve the filter. */
  readonly force?: string;
  /** Internal: nesting level of union planning. */
  readonly unionDepth?: number;
}

/** Fixed selectivities used when the store has no estimator. */
const EQ_SELECTIVITY = 0.05;
const RANGE_SELECTIVITY = 0.25;
/** At most this many key ranges from `in` lists (their product over equality fields). */
const MAX_RANGES = 256;
/** Default collection size when the store cannot count. */
const DEFAULT_DOCS = 1000;

function samePath(a: P, b: P): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Distinct values, by encoding. */
function distinct(values: readonly Value[]): Value[] {
  const seen = new Set<string>();
  const out: Value[] = [];
  for (const v of values) {
    const k = toHex(encodeValueV1(v));
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/** Type bracket [start tag, end tag) of the type of `v`. */
function typeBracket(v: Value): [number, number] {
  switch (typeRank(v)) {
    case Rank.NULL:
      return [Tag.NULL, Tag.FALSE];
    case Rank.BOOLEAN:
      return [Tag.FALSE, Tag.NUMBER];
    case Rank.NUMBER:
      return [Tag.NUMBER, Tag.STRING];
    case Rank.STRING:
      return [Tag.STRING, Tag.BYTES];
    case Rank.BYTES:
      return [Tag.BYTES, Tag.ARRAY];
    case Rank.ARRAY:
      return [Tag.ARRAY, Tag.OBJECT];
    case Rank.OBJECT:
      return [Tag.OBJECT, Tag.VECTOR];
    default:
      return [Tag.VECTOR, TAG_END];
  }
}

/** The range of encoded values (of one field) that a range conjunct admits, or undefined if not a range. */
function conjunctRange(c: NFilter): ByteRange | undefined {
  switch (c.op) {
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const [ts, te] = typeBracket(c.value);
      const e = encodeValueV1(c.value);
      if (c.op === 'gt') return { lo: prefixEnd(e), hi: Uint8Array.of(te) };
      if (c.op === 'gte') return { lo: e, hi: Uint8Array.of(te) };
      if (c.op === 'lt') return { lo: Uint8Array.of(ts), hi: e };
      return { lo: Uint8Array.of(ts), hi: prefixEnd(e) };
    }
    case 'prefix': {
      const body = concatBytes(Uint8Array.of(Tag.STRING), encodeStringBodyV1(c.value));
      return { lo: body, hi: prefixEnd(body) };
    }
    default:
      return undefined;
  }
}

function maxBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareBytes(a, b) >= 0 ? a : b;
}

function minBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareBytes(a, b) <= 0 ? a : b;
}

/** Converts a half-open byte range to the store's {@link KeyRange}. */
export function toKeyRange(r: ByteRange, reverse: boolean): KeyRange {
  const out: { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean } = {};
  if (r.lo !== undefined) out.gte = r.lo;
  if (r.hi !== undefined) out.lt = r.hi;
  if (reverse) out.reverse = true;
  return out;
}

/** Public, printable form of a physical access path. */
export function describeAccess(a: PhysicalAccess): Access {
  if (a.kind === 'scan') return { type: 'scan' };
  if (a.kind === 'primary') return { type: 'primary', ids: a.ids };
  if (a.kind === 'union') return { type: 'union', branches: a.branches.map(describeAccess) };
  return {
    type: 'index',
    indexId: a.index.id,
    fields: a.index.fields,
    multiEntry: a.index.multiEntry,
    ranges: a.ranges.map((r) => {
      const o: { gte?: string; lt?: string } = {};
      if (r.lo !== undefined) o.gte = toHex(r.lo);
      if (r.hi !== undefined) o.lt = toHex(r.hi);
      return o;
    }),
    servesSort: a.servesSort,
    reverse: a.reverse,
    equalityFields: a.equalityFields,
    rangeField: a.rangeField,
  };
}

/** Equality alternatives per path from top-level `eq`/`in` conjuncts (the first conjunct on a path wins). */
function equalities(cs: readonly NFilter[]): { path: P; values: Value[] }[] {
  const out: { path: P; values: Value[] }[] = [];
  for (const c of cs) {
    if (c.op !== 'eq' && c.op !== 'in') continue;
    if (out.some((e) => samePath(e.path, c.path))) continue;
    out.push({ path: c.path, values: 'values' in c ? distinct(c.values) : [c.value] });
  }
  return out;
}

function indexCandidate(
  index: IndexInfo,
  cs: readonly NFilter[],
  eqs: readonly { path: P; values: Value[] }[],
  sort: readonly NSort[],
): Omit<Extract<PhysicalAccess, { kind: 'index' }>, 'kind'> & { bound: number } | undefined {
  const fixedOf = (f: P): { value: Value } | undefined => {
    const e = eqs.find((x) => samePath(x.path, f));
    return e !== undefined && e.values.length === 1 ? { value: e.values[0] } : undefined;
  };
  if (index.multiEntry) {
    const c = cs.find((x) => x.op === 'contains' && samePath(x.path, index.fields[0]));
    if (c === undefined || c.op !== 'contains') return undefined;
    const e = encodeKeyPrefix([c.value]);
    // Order service (invariant 4): one probed element value, so the keys read are `value | id` in id order.
    // Sort keys fixed by equality compare equal on every match; the first remaining key must be `_id` (ids are
    // unique, so later keys never decide), or none remain and the id tie-break is the whole order.
    const rest = sort.filter((s) => fixedOf(s.path) === undefined);
    const servesSort = rest.length === 0 || isIdPath(rest[0].path);
    const dir = rest.length ? rest[0].dir : sort.length ? sort[sort.length - 1].dir : 'asc';
    return {
      index, ranges: [{ lo: e, hi: prefixEnd(e) }], servesSort, reverse: servesSort && dir === 'desc',
      equalityFields: 1, rangeField: false, fixed: [{ value: c.value }], bound: 1,
    };
  }
  // Equality prefix, then at most one range on the next field.
  const alts: Value[][] = [];
  let product = 1;
  for (const f of index.fields) {
    const e = eqs.find((x) => samePath(x.path, f));
    if (e === undefined || product * e.values.length > MAX_RANGES) break;
    alts.push(e.values);
    product *= e.values.length;
  }
  const eqCount = alts.length;
  let range: ByteRange | undefined;
  if (eqCount < index.fields.length) {
    const f = index.fields[eqCount];
    for (const c of cs) {
      if (!('path' in c) || !samePath(c.path, f)) continue;
      const r = conjunctRange(c);
      if (r === undefined) continue;
      range = range === undefined ? r : { lo: maxBytes(range.lo, r.lo), hi: minBytes(range.hi, r.hi) };
    }
  }
  // Order service (invariant 3).
  const lastDir = sort.length ? sort[sort.length - 1].dir : 'asc';
  const fixed = index.fields.map(fixedOf);
  const sortRest = sort.filter((s) => fixedOf(s.path) === undefined);
  const idxRest = index.fields.filter((f, i) => fixed[i] === undefined);
  const servesSort =
    product === 1 &&
    sortRest.length === idxRest.length &&
    sortRest.every((s, i) => s.dir === lastDir && samePath(s.path, idxRest[i]));
  if (eqCount === 0 && range === undefined && !servesSort) return undefined;
  // Key ranges: the product of the equality alternatives, each extended by the range.
  let prefixes: Uint8Array[] = [new Uint8Array(0)];
  for (const vs of alts) {
    const next: Uint8Array[] = [];
    for (const p of prefixes) for (const v of vs) next.push(concatBytes(p, encodeValueV1(v)));
    prefixes = next;
  }
  const ranges: ByteRange[] = [];
  for (const p of prefixes) {
    if (range !== undefined) {
      const lo = concatBytes(p, range.lo ?? new Uint8Array(0));
      const hi = range.hi !== undefined ? concatBytes(p, range.hi) : p.length ? prefixEnd(p) : undefined;
      if (hi !== undefined && compareBytes(lo, hi) >= 0) continue; // empty: contradictory bounds
      ranges.push({ lo, hi });
    } else if (p.length) {
      ranges.push({ lo: p, hi: prefixEnd(p) });
    } else {
      ranges.push({ lo: undefined, hi: undefined });
    }
  }
  ranges.sort((a, b) => compareBytes(a.lo ?? new Uint8Array(0), b.lo ?? new Uint8Array(0)));
  return {
    index, ranges, servesSort, reverse: servesSort && lastDir === 'desc',
    equalityFields: eqCount, rangeField: range !== undefined, fixed, bound: eqCount + (range !== undefined ? 1 : 0),
  };
}

function encodeKeyPrefix(values: Value[]): Uint8Array {
  return concatBytes(...values.map((v) => encodeValueV1(v)));
}

/**
 * Lists the access paths that can serve `where` on `collection` with their costs, cheapest first.
 *
 * @param sort the order the caller needs (empty with a traversal or an aggregate, where order is not needed).
 * @param limit the caller's limit when rows are needed in order (caps the cost of an order-serving index).
 * @param needsOrder whether rows must come out in query order (false: no sort cost counted).
 */
export function planAccess(
  store: QueryStore,
  collection: string,
  where: NFilter | undefined,
  sort: readonly NSort[],
  limit: number | undefined,
  needsOrder: boolean,
  options?: PlanOptions,
): Candidate[] {
  const cs = conjuncts(where);
  const eqs = equalities(cs);
  const n = Math.max(1, store.countDocs?.(collection) ?? DEFAULT_DOCS);
  const sortCost = (est: number) => (needsOrder ? est * Math.log2(est + 2) * 0.02 : 0);
  const out: (Candidate & { rank: number })[] = [];

  const idEq = eqs.find((e) => isIdPath(e.path));
  if (idEq !== undefined) {
    const ids = idEq.values.filter((v): v is string => typeof v === 'string');
    out.push({ access: { kind: 'primary', ids }, estimatedScanned: ids.length, cost: ids.length + sortCost(ids.length), rank: 0 });
  }

  for (const index of store.indexes(collection)) {
    const c = indexCandidate(index, cs, eqs, needsOrder ? sort : []);
    if (c === undefined) continue;
    let est: number;
    if (store.estimateRange !== undefined) {
      est = 0;
      for (const r of c.ranges) est += store.estimateRange(index.id, toKeyRange(r, false));
    } else {
      est = c.ranges.length === 0 ? 0 : n * EQ_SELECTIVITY ** c.equalityFields * (c.rangeField ? RANGE_SELECTIVITY : 1) * c.ranges.length;
    }
    est = Math.min(est, index.multiEntry ? Infinity : n);
    let cost = est;
    if (c.servesSort && needsOrder && limit !== undefined) {
      // Early stop: about limit+1 matching rows; a residual filter may reject some of the rows fetched.
      const residual = cs.length > c.bound;
      cost = Math.min(est, (limit + 1) * (residual ? 4 : 1));
    }
    if (!(c.servesSort && needsOrder)) cost += sortCost(est);
    const { bound: _bound, ...rest } = c;
    out.push({ access: { kind: 'index', ...rest }, estimatedScanned: Math.round(est), cost, rank: 1 });
  }

  // Index union: a top-level `or` whose every branch can be served without a scan (one level of nesting).
  if ((options?.unionDepth ?? 0) < 1) {
    for (const c of cs) {
      if (c.op !== 'or') continue;
      const branches: Candidate[] = [];
      for (const f of c.filters) {
        const best = planAccess(store, collection, f, [], undefined, false, { unionDepth: (options?.unionDepth ?? 0) + 1 })[0];
        if (best.access.kind === 'scan') break;
        branches.push(best);
      }
      if (branches.length !== c.filters.length) continue;
      const est = branches.reduce((x, b) => x + b.estimatedScanned, 0);
      const cost = branches.reduce((x, b) => x + b.cost, 0) + sortCost(est);
      out.push({ access: { kind: 'union', branches: branches.map((b) => b.access) }, estimatedScanned: est, cost, rank: 1.5 });
    }
  }

  out.push({ access: { kind: 'scan' }, estimatedScanned: n, cost: n + sortCost(n), rank: 2 });
  out.sort((a, b) => a.cost - b.cost || a.rank - b.rank);
  if (options?.force !== undefined) {
    const i = out.findIndex((c) =>
      options.force === c.access.kind || (c.access.kind === 'index' && c.access.index.id === options.force));
    if (i > 0) out.unshift(...out.splice(i, 1));
  }
  return out.map(({ rank: _rank, ...c }) => c);
}

/** Finds a regular index whose first field is `field`, for traversal lookups (fewest fields first). */
export function indexForLookup(store: QueryStore, collection: string, field: P): IndexInfo | undefined {
  let best: IndexInfo | undefined;
  for (const ix of store.indexes(collection)) {
    if (ix.multiEntry || !samePath(ix.fields[0], field)) continue;
    if (best === undefined || ix.fields.length < best.fields.length) best = ix;
  }
  return best;
}
