/**
 * Internal: validation and normalization of the query AST, filter evaluation, sort order, projection.
 *
 * A normalized query has every path as a segment array and every value checked against the document model (by
 * encoding it), so the planner and executor trust it without further checks.
 */
import { QueryError, QueryErrorCode } from './errors.js';
import { encodeValueV1 } from './keys.js';
import type { AggregateSpec, Doc, Filter, Query, Value } from './types.js';
import { cmpValues, compareStrings, getPath, isIdPath, normalizePath, setOwn, typeRank } from './value.js';

export type P = readonly string[];

/** A filter with normalized paths. */
export type NFilter =
  | { readonly op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; readonly path: P; readonly value: Value }
  | { readonly op: 'in' | 'nin'; readonly path: P; readonly values: readonly Value[] }
  | { readonly op: 'contains'; readonly path: P; readonly value: Value }
  | { readonly op: 'prefix'; readonly path: P; readonly value: string }
  | { readonly op: 'exists'; readonly path: P; readonly exists: boolean }
  | { readonly op: 'and' | 'or'; readonly filters: readonly NFilter[] }
  | { readonly op: 'not'; readonly filter: NFilter };

export interface NSort {
  readonly path: P;
  readonly dir: 'asc' | 'desc';
}

export interface NHop {
  readonly from: P;
  readonly to: string;
  readonly toField: P;
  readonly where: NFilter | undefined;
  readonly depth: number;
}

export interface NAggregate {
  readonly groupBy: readonly P[];
  readonly values: readonly { readonly name: string; readonly op: AggregateSpec['op']; readonly path: P | undefined }[];
}

export interface NQuery {
  readonly collection: string;
  readonly where: NFilter | undefined;
  readonly traverse: readonly NHop[];
  readonly sort: readonly NSort[];
  readonly limit: number | undefined;
  readonly after: string | undefined;
  readonly select: readonly P[] | undefined;
  readonly aggregate: NAggregate | undefined;
  /** The collection of the final document set (the last hop's `to`, or `collection`). */
  readonly target: string;
}

function invalid(message: string, where: string): never {
  throw new QueryError(QueryErrorCode.INVALID_QUERY, message, { where });
}

function checkValue(v: unknown, where: string): Value {
  if (v === undefined) invalid('a filter value cannot be undefined (use exists)', where);
  try {
    encodeValueV1(v as Value);
  } catch (e) {
    if (e instanceof QueryError) throw new QueryError(e.code as 'HEARTH_UNSUPPORTED_VALUE', e.message, { where });
    throw e;
  }
  return v as Value;
}

const MAX_FILTER_DEPTH = 64;

/**
 * Validates and normalizes a filter.
 * @throws QueryError `HEARTH_INVALID_QUERY` / `HEARTH_UNSUPPORTED_VALUE`.
 */
export function normalizeFilter(f: Filter, where = 'where', depth = 0): NFilter {
  if (depth > MAX_FILTER_DEPTH) invalid(`filter nested deeper than ${MAX_FILTER_DEPTH}`, where);
  if (typeof f !== 'object' || f === null) invalid('a filter is an object with an op', where);
  const w = `${where}.${String((f as { op?: unknown }).op)}`;
  switch (f.op) {
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
      return { op: f.op, path: normalizePath(f.path, w), value: checkValue(f.value, w) } as NFilter;
    case 'in':
    case 'nin':
      if (!Array.isArray(f.values)) invalid(`${f.op} takes an array of values`, w);
      return { op: f.op, path: normalizePath(f.path, w), values: f.values.map((v, i) => checkValue(v, `${w}[${i}]`)) };
    case 'prefix':
      if (typeof f.value !== 'string') invalid('prefix takes a string', w);
      checkValue(f.value, w);
      return { op: 'prefix', path: normalizePath(f.path, w), value: f.value };
    case 'exists':
      return { op: 'exists', path: normalizePath(f.path, w), exists: f.exists !== false };
    case 'and':
    case 'or':
      if (!Array.isArray(f.filters)) invalid(`${f.op} takes an array of filters`, w);
      return { op: f.op, filters: f.filters.map((g, i) => normalizeFilter(g, `${w}[${i}]`, depth + 1)) };
    case 'not':
      return { op: 'not', filter: normalizeFilter(f.filter, w, depth + 1) };
    default:
      return invalid(`unknown filter op ${JSON.stringify((f as { op?: unknown }).op)}`, where);
  }
}

/** Whether document `doc` with id `id` matches filter `f`. Semantics in `docs/query.md`. */
export function matches(f: NFilter | undefined, doc: Doc, id: string): boolean {
  if (f === undefined) return true;
  switch (f.op) {
    case 'eq':
      return cmpValues(getPath(doc, f.path, id), f.value) === 0;
    case 'ne':
      return cmpValues(getPath(doc, f.path, id), f.value) !== 0;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const v = getPath(doc, f.path, id);
      if (v === undefined || typeRank(v) !== typeRank(f.value)) return false;
      const c = cmpValues(v, f.value);
      return f.op === 'gt' ? c > 0 : f.op === 'gte' ? c >= 0 : f.op === 'lt' ? c < 0 : c <= 0;
    }
    case 'in':
    case 'nin': {
      const v = getPath(doc, f.path, id);
      const hit = f.values.some((x) => cmpValues(v, x) === 0);
      return f.op === 'in' ? hit : !hit;
    }
    case 'contains': {
      const v = getPath(doc, f.path, id);
      return Array.isArray(v) && v.some((e) => cmpValues(e, f.value) === 0);
    }
    case 'prefix': {
      const v = getPath(doc, f.path, id);
      return typeof v === 'string' && v.startsWith(f.value);
    }
    case 'exists':
      return (getPath(doc, f.path, id) !== undefined) === f.exists;
    case 'and':
      return f.filters.every((g) => matches(g, doc, id));
    case 'or':
      return f.filters.some((g) => matches(g, doc, id));
    case 'not':
      return !matches(f.filter, doc, id);
  }
}

/** The top-level conjuncts of a filter (`and` flattened). */
export function conjuncts(f: NFilter | undefined): NFilter[] {
  if (f === undefined) return [];
  if (f.op === 'and') return f.filters.flatMap(conjuncts);
  return [f];
}

/** Paths read by a filter. */
export function filterPaths(f: NFilter | undefined, out: P[] = []): P[] {
  if (f === undefined) return out;
  if ('filters' in f) for (const g of f.filters) filterPaths(g, out);
  else if ('filter' in f) filterPaths(f.filter, out);
  else out.push(f.path);
  return out;
}

/**
 * Validates and normalizes a query.
 * @throws QueryError `HEARTH_INVALID_QUERY` / `HEARTH_UNSUPPORTED_VALUE`.
 */
export function normalizeQuery(q: Query): NQuery {
  if (typeof q !== 'object' || q === null) throw new TypeError('"query" expected an object');
  if (typeof q.collection !== 'string' || q.collection.length === 0) invalid('collection must be a non-empty string', 'collection');
  const where = q.where === undefined ? undefined : normalizeFilter(q.where);
  const traverse: NHop[] = [];
  if (q.traverse !== undefined) {
    if (!Array.isArray(q.traverse)) invalid('traverse takes an array of hops', 'traverse');
    q.traverse.forEach((h, i) => {
      const w = `traverse[${i}]`;
      if (typeof h !== 'object' || h === null) invalid('a hop is an object', w);
      if (typeof h.to !== 'string' || h.to.length === 0) invalid('hop.to must be a collection name', w);
      const depth = h.depth ?? 1;
      if (!Number.isInteger(depth) || depth < 1 || depth > 64) invalid('hop.depth must be an integer in 1..64', w);
      traverse.push({
        from: normalizePath(h.from, `${w}.from`),
        to: h.to,
        toField: normalizePath(h.toField ?? '_id', `${w}.toField`),
        where: h.where === undefined ? undefined : normalizeFilter(h.where, `${w}.where`),
        depth,
      });
    });
  }
  const sort: NSort[] = [];
  if (q.sort !== undefined) {
    if (!Array.isArray(q.sort)) invalid('sort takes an array of sort keys', 'sort');
    q.sort.forEach((s, i) => {
      const dir = s.dir ?? 'asc';
      if (dir !== 'asc' && dir !== 'desc') invalid(`sort direction must be asc or desc, got ${JSON.stringify(dir)}`, `sort[${i}]`);
      sort.push({ path: normalizePath(s.path, `sort[${i}]`), dir });
    });
  }
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 0)) invalid('limit must be a non-negative integer', 'limit');
  if (q.after !== undefined && typeof q.after !== 'string') invalid('after must be a cursor string', 'after');
  const select = q.select === undefined ? undefined : q.select.map((p, i) => normalizePath(p, `select[${i}]`));
  let aggregate: NAggregate | undefined;
  if (q.aggregate !== undefined) {
    if (q.sort !== undefined || q.limit !== undefined || q.after !== undefined || q.select !== undefined) {
      invalid('an aggregate query takes no sort, limit, after or select', 'aggregate');
    }
    const a = q.aggregate;
    if (typeof a.values !== 'object' || a.values === null) invalid('aggregate.values must be an object', 'aggregate');
    const groupBy = (a.groupBy ?? []).map((p, i) => normalizePath(p, `aggregate.groupBy[${i}]`));
    const names = Object.keys(a.values);
    if (names.length === 0) invalid('aggregate.values names no aggregate', 'aggregate');
    const values = names.map((name) => {
      const spec = a.values[name];
      const w = `aggregate.values.${name}`;
      if (typeof spec !== 'object' || spec === null) invalid('an aggregate is an object with an op', w);
      if (!['count', 'sum', 'avg', 'min', 'max'].includes(spec.op)) invalid(`unknown aggregate op ${JSON.stringify(spec.op)}`, w);
      if (spec.op !== 'count' && spec.path === undefined) invalid(`${spec.op} needs a path`, w);
      if (groupBy.some((g) => g[0] === name)) invalid(`aggregate name ${name} collides with a groupBy field`, w);
      return { name, op: spec.op, path: spec.path === undefined ? undefined : normalizePath(spec.path, w) };
    });
    aggregate = { groupBy, values };
  }
  return {
    collection: q.collection,
    where,
    traverse,
    sort,
    limit: q.limit,
    after: q.after,
    select,
    aggregate,
    target: traverse.length ? traverse[traverse.length - 1].to : q.collection,
  };
}

/** A matched document with its id. */
export interface DocRow {
  readonly id: string;
  readonly doc: Doc;
}

/**
 * The comparator of a query's order: the sort keys, then `_id` in the direction of the last key (ascending
 * when there is none). Returns -1, 0 or 1; 0 only for the same id.
 */
export function rowComparator(sort: readonly NSort[]): (a: DocRow, b: DocRow) => number {
  const lastDir = sort.length ? sort[sort.length - 1].dir : 'asc';
  return (a, b) => {
    for (const s of sort) {
      const c = cmpValues(getPath(a.doc, s.path, a.id), getPath(b.doc, s.path, b.id));
      if (c !== 0) return s.dir === 'asc' ? c : -c;
    }
    const c = compareStrings(a.id, b.id);
    return lastDir === 'asc' ? c : -c;
  };
}

/** A row's position in a query's order: its sort key values then its id. */
export function positionOf(sort: readonly NSort[], row: DocRow): (Value | undefined)[] {
  const out: (Value | undefined)[] = sort.map((s) => getPath(row.doc, s.path, row.id));
  out.push(row.id);
  return out;
}

/** Compares a row with a position (from {@link positionOf} or a cursor) in the query's order. */
export function comparePosition(sort: readonly NSort[], row: DocRow, pos: readonly (Value | undefined)[]): number {
  for (let i = 0; i < sort.length; i++) {
    const c = cmpValues(getPath(row.doc, sort[i].path, row.id), pos[i]);
    if (c !== 0) return sort[i].dir === 'asc' ? c : -c;
  }
  const c = compareStrings(row.id, pos[sort.length] as string);
  const lastDir = sort.length ? sort[sort.length - 1].dir : 'asc';
  return lastDir === 'asc' ? c : -c;
}

function setPath(out: Record<string, unknown>, path: P, value: Value): void {
  let cur = out;
  for (let i = 0; i < path.length - 1; i++) {
    const next = Object.prototype.hasOwnProperty.call(cur, path[i]) ? cur[path[i]] : undefined;
    // Copy on descent: `next` may be an object of the stored document, which must not be mutated.
    setOwn(cur, path[i], typeof next !== 'object' || next === null || Array.isArray(next) || ArrayBuffer.isView(next) ? {} : { ...next });
    cur = cur[path[i]] as Record<string, unknown>;
  }
  setOwn(cur, path[path.length - 1], value);
}

/**
 * Projects a document onto paths: the result holds, for each path that is present, its value at that path
 * (nested objects rebuilt; array indexes become object keys). `_id` is taken from `id`.
 */
export function project(doc: Doc, id: string, select: readonly P[] | undefined): Doc {
  if (select === undefined) return doc;
  const out: Record<string, unknown> = {};
  for (const p of select) {
    const v = getPath(doc, p, id);
    if (v !== undefined) setPath(out, p, v);
  }
  return out as Doc;
}

export { isIdPath, setPath };
