/**
 * Small helpers that build query AST nodes. They only construct plain data; validation happens when a query
 * runs. Every helper has an equivalent object literal (see `docs/query.md`).
 *
 * @example
 * ```ts
 * const q: Query = {
 *   collection: 'posts',
 *   where: and(eq('status', 'published'), gte('score', 10), contains('tags', 'db')),
 *   sort: [desc('score'), asc('title')],
 *   limit: 20,
 *   select: ['title', 'author.name'],
 * };
 * ```
 * @packageDocumentation
 */
import type { AggregateSpec, Filter, Hop, Path, SortKey, Value } from './types.js';

/** Field equals `value` (total-order equality: `1` equals `1.0`, `null` does not equal missing). */
export const eq = (path: Path, value: Value): Filter => ({ op: 'eq', path, value });
/** Field does not equal `value` (a missing field does not equal anything, so it matches). */
export const ne = (path: Path, value: Value): Filter => ({ op: 'ne', path, value });
/** Field is greater than `value` and of the same type. */
export const gt = (path: Path, value: Value): Filter => ({ op: 'gt', path, value });
/** Field is greater than or equal to `value` and of the same type. */
export const gte = (path: Path, value: Value): Filter => ({ op: 'gte', path, value });
/** Field is less than `value` and of the same type. */
export const lt = (path: Path, value: Value): Filter => ({ op: 'lt', path, value });
/** Field is less than or equal to `value` and of the same type. */
export const lte = (path: Path, value: Value): Filter => ({ op: 'lte', path, value });
/** Field equals one of `values`. */
export const inList = (path: Path, values: readonly Value[]): Filter => ({ op: 'in', path, values });
/** Field equals none of `values` (missing matches). */
export const nin = (path: Path, values: readonly Value[]): Filter => ({ op: 'nin', path, values });
/** Field is an array with an element equal to `value`. */
export const contains = (path: Path, value: Value): Filter => ({ op: 'contains', path, value });
/** Field is a string starting with `value`. */
export const prefix = (path: Path, value: string): Filter => ({ op: 'prefix', path, value });
/** Field is present (or, with `false`, absent). */
export const exists = (path: Path, present = true): Filter => ({ op: 'exists', path, exists: present });
/** All filters match (true for none). */
export const and = (...filters: Filter[]): Filter => ({ op: 'and', filters });
/** At least one filter matches (false for none). */
export const or = (...filters: Filter[]): Filter => ({ op: 'or', filters });
/** The filter does not match. */
export const not = (filter: Filter): Filter => ({ op: 'not', filter });

/** Ascending sort key. */
export const asc = (path: Path): SortKey => ({ path, dir: 'asc' });
/** Descending sort key. */
export const desc = (path: Path): SortKey => ({ path, dir: 'desc' });

/** A traversal hop from field `from` to collection `to` (matching `toField`, default `_id`). */
export const hop = (from: Path, to: string, options?: { toField?: Path; where?: Filter; depth?: number }): Hop => ({
  from,
  to,
  ...options,
});

/** Aggregate functions. */
export const count = (path?: Path): AggregateSpec => (path === undefined ? { op: 'count' } : { op: 'count', path });
export const sum = (path: Path): AggregateSpec => ({ op: 'sum', path });
export const avg = (path: Path): AggregateSpec => ({ op: 'avg', path });
export const min = (path: Path): AggregateSpec => ({ op: 'min', path });
export const max = (path: Path): AggregateSpec => ({ op: 'max', path });
