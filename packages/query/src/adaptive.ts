/**
 * Adaptive indexing as a policy object, independent of the database.
 *
 * The Database feeds it the {@link Explain} of every query it runs ({@link AdaptiveIndexPolicy.observe}) and,
 * from time to time, its list of indexes ({@link AdaptiveIndexPolicy.review}). The policy keeps statistics per
 * query shape (which fields are filtered and sorted, never the values) and answers with decisions:
 * - `build`: a shape ran at least `minExecutions` times, read on average at least `minScanned` documents, and
 *   read at least `minRatio` times more documents than it returned. The proposed index is the shape's equality
 *   fields, then its sort fields (when no range precedes them) or its first range field; a shape that only uses
 *   `contains` gets a multi-entry index. The database builds it in the background and registers it (makes it
 *   visible to `QueryStore.indexes`) when complete, then calls {@link AdaptiveIndexPolicy.indexBuilt}.
 *   Likewise a traversal hop that found no index on its target field (and so scanned the target collection) at
 *   least `minExecutions` times, reading at least `minScanned` documents on average, gets an index on that field.
 * - `drop`: an index of an origin listed in `dropOrigins` (default: only indexes the policy itself proposed)
 *   has not served a query for `unusedMs`.
 * Every decision is logged with its reason and time. A disabled policy records nothing and decides nothing.
 *
 * @packageDocumentation
 */
import type { Explain, IndexInfo, QueryShape } from './types.js';
import { isIdPath, pathName } from './value.js';

/** Thresholds of the policy. Times are in ms. */
export interface AdaptivePolicyOptions {
  /** Default true. */
  enabled?: boolean;
  /** Executions of a shape before it can trigger a build. Default 5. */
  minExecutions?: number;
  /** Documents scanned per row returned (over the shape's history) that triggers a build. Default 10. */
  minRatio?: number;
  /** Average documents scanned per execution below which a shape never triggers a build. Default 1000. */
  minScanned?: number;
  /** An index unused this long is proposed for dropping. Default 7 days. */
  unusedMs?: number;
  /** Origins of indexes the policy may propose to drop. Default `['adaptive']`. */
  dropOrigins?: readonly ('user' | 'adaptive')[];
  /** Decisions kept in the log (oldest dropped first). Default 1000. */
  maxLog?: number;
}

/** A decision of the policy. `at` is the caller's clock (ms) when it was taken. */
export type IndexDecision =
  | {
      readonly kind: 'build';
      readonly collection: string;
      readonly fields: readonly (readonly string[])[];
      readonly multiEntry: boolean;
      readonly shape: string;
      readonly reason: string;
      readonly at: number;
    }
  | { readonly kind: 'drop'; readonly indexId: string; readonly collection: string; readonly reason: string; readonly at: number };

/** Statistics of one query shape. */
export interface ShapeStats {
  readonly shape: QueryShape;
  executions: number;
  docsScanned: number;
  returned: number;
  totalMs: number;
  lastAt: number;
}

function defKey(collection: string, fields: readonly (readonly string[])[], multiEntry: boolean): string {
  return `${collection}|${JSON.stringify(fields)}${multiEntry ? '|multi' : ''}`;
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The index a shape would want, or undefined when no single index helps it. */
export function proposeIndex(shape: QueryShape): { fields: (readonly string[])[]; multiEntry: boolean } | undefined {
  if (shape.equality.some(isIdPath)) return undefined; // the primary key serves it
  const fields: (readonly string[])[] = [...shape.equality];
  const sortRest = shape.sort.filter((s) => !shape.equality.some((e) => samePath(e, s.path)) && !isIdPath(s.path));
  const lastDir = shape.sort.length ? shape.sort[shape.sort.length - 1].dir : 'asc';
  const sortUsable = sortRest.length > 0 && sortRest.every((s) => s.dir === lastDir);
  if (sortUsable && (shape.range.length === 0 || samePath(shape.range[0], sortRest[0].path))) {
    fields.push(...sortRest.map((s) => s.path));
  } else if (shape.range.length > 0) {
    fields.push(shape.range[0]);
  }
  if (fields.length > 0) return { fields, multiEntry: false };
  if (shape.contains.length > 0) return { fields: [shape.contains[0]], multiEntry: true };
  return undefined;
}

/** The adaptive index policy. See the package documentation above. */
export class AdaptiveIndexPolicy {
  private readonly opts: Required<AdaptivePolicyOptions>;
  private readonly stats = new Map<string, ShapeStats>();
  private readonly log: IndexDecision[] = [];
  /** Definitions proposed and not yet built or abandoned, and definitions known to exist. */
  private readonly pending = new Set<string>();
  private readonly existing = new Set<string>();
  private readonly lastUsed = new Map<string, number>();
  private readonly dropProposed = new Set<string>();
  private readonly hopStats = new Map<string, { executions: number; docsScanned: number }>();

  constructor(options: AdaptivePolicyOptions = {}) {
    const o = {
      enabled: options.enabled ?? true,
      minExecutions: options.minExecutions ?? 5,
      minRatio: options.minRatio ?? 10,
      minScanned: options.minScanned ?? 1000,
      unusedMs: options.unusedMs ?? 7 * 24 * 3600 * 1000,
      dropOrigins: options.dropOrigins ?? ['adaptive'],
      maxLog: options.maxLog ?? 1000,
    };
    for (const k of ['minExecutions', 'minRatio', 'minScanned', 'unusedMs', 'maxLog'] as const) {
      if (typeof o[k] !== 'number' || !(o[k] >= 0)) throw new RangeError(`"${k}" expected a non-negative number, got ${o[k]}`);
    }
    this.opts = o;
  }

  /** Whether the policy records and decides. */
  get enabled(): boolean {
    return this.opts.enabled;
  }

  set enabled(on: boolean) {
    this.opts.enabled = on;
  }

  private decide(d: IndexDecision): IndexDecision {
    this.log.push(d);
    if (this.log.length > this.opts.maxLog) this.log.splice(0, this.log.length - this.opts.maxLog);
    return d;
  }

  /**
   * Records one executed query.
   * @param e the query's explain.
   * @param now the caller's clock in ms.
   * @returns the decisions this execution triggered (at most one build per shape and one per scanning hop).
   */
  observe(e: Explain, now: number): IndexDecision[] {
    if (!this.opts.enabled) return [];
    if (e.access.type === 'index') this.lastUsed.set(e.access.indexId, now);
    for (const h of e.hops) if (h.indexId !== undefined) this.lastUsed.set(h.indexId, now);
    let s = this.stats.get(e.shape.key);
    if (s === undefined) {
      s = { shape: e.shape, executions: 0, docsScanned: 0, returned: 0, totalMs: 0, lastAt: now };
      this.stats.set(e.shape.key, s);
    }
    s.executions++;
    s.docsScanned += e.docsScanned;
    s.returned += e.returned;
    s.totalMs += e.ms;
    s.lastAt = now;
    const { minExecutions, minRatio, minScanned } = this.opts;
    const out: IndexDecision[] = [];
    // Traversal hops without an index on the target field scan the target collection once per execution.
    for (const h of e.hops) {
      if (h.access !== 'scan') continue;
      const hk = `hop:${h.to}|${JSON.stringify(h.toField)}`;
      let hs = this.hopStats.get(hk);
      if (hs === undefined) this.hopStats.set(hk, (hs = { executions: 0, docsScanned: 0 }));
      hs.executions++;
      hs.docsScanned += h.docsScanned;
      const avg = hs.docsScanned / hs.executions;
      const key = defKey(h.to, [h.toField], false);
      if (hs.executions < minExecutions || avg < minScanned || this.pending.has(key) || this.existing.has(key)) continue;
      this.pending.add(key);
      out.push(this.decide({
        kind: 'build', collection: h.to, fields: [h.toField], multiEntry: false, shape: hk, at: now,
        reason: `traversal hop to ${h.to}.${pathName(h.toField)} ran ${hs.executions} times without an index, ` +
          `scanning ${avg.toFixed(0)} documents on average (>= ${minScanned}); index on ${pathName(h.toField)}`,
      }));
    }
    const avgScanned = s.docsScanned / s.executions;
    const ratio = s.docsScanned / Math.max(1, s.returned);
    // `docsScanned` counts the starting collection only; hops were judged above.
    if (s.executions < minExecutions || avgScanned < minScanned || ratio < minRatio) return out;
    const p = proposeIndex(s.shape);
    if (p === undefined) return out;
    const key = defKey(s.shape.collection, p.fields, p.multiEntry);
    if (this.pending.has(key) || this.existing.has(key)) return out;
    if (e.access.type === 'index' && defKey(e.collection, e.access.fields, e.access.multiEntry) === key) return out;
    this.pending.add(key);
    const reason =
      `shape ${s.shape.key} ran ${s.executions} times, scanning ${avgScanned.toFixed(0)} documents on average for ` +
      `${(s.returned / s.executions).toFixed(1)} returned (ratio ${ratio.toFixed(1)} >= ${minRatio}, ` +
      `avg ${(s.totalMs / s.executions).toFixed(2)} ms); index on ${p.fields.map(pathName).join(', ')}` +
      (p.multiEntry ? ' (multi-entry)' : '');
    out.push(this.decide({ kind: 'build', collection: s.shape.collection, fields: p.fields, multiEntry: p.multiEntry, shape: s.shape.key, reason, at: now }));
    return out;
  }

  /**
   * Reviews the registered indexes: remembers them (so no build is proposed for an existing definition) and
   * proposes dropping those unused for `unusedMs` whose origin is in `dropOrigins`. An index is first seen
   * unused at the first review that lists it.
   */
  review(indexes: readonly IndexInfo[], now: number): IndexDecision[] {
    if (!this.opts.enabled) return [];
    const out: IndexDecision[] = [];
    const live = new Set<string>();
    this.existing.clear();
    for (const ix of indexes) {
      live.add(ix.id);
      const key = defKey(ix.collection, ix.fields, ix.multiEntry);
      this.existing.add(key);
      this.pending.delete(key);
      if (!this.lastUsed.has(ix.id)) this.lastUsed.set(ix.id, now);
      if (!this.opts.dropOrigins.includes(ix.origin ?? 'user') || this.dropProposed.has(ix.id)) continue;
      const idle = now - (this.lastUsed.get(ix.id) as number);
      if (idle >= this.opts.unusedMs) {
        this.dropProposed.add(ix.id);
        out.push(this.decide({
          kind: 'drop', indexId: ix.id, collection: ix.collection, at: now,
          reason: `index ${ix.id} (${ix.origin ?? 'user'}) has served no query for ${Math.round(idle)} ms (>= ${this.opts.unusedMs} ms)`,
        }));
      }
    }
    for (const id of [...this.lastUsed.keys()]) if (!live.has(id)) this.lastUsed.delete(id);
    for (const id of [...this.dropProposed]) if (!live.has(id)) this.dropProposed.delete(id);
    return out;
  }

  /** The database finished building a proposed index (or decided not to): it may be proposed again only if missing. */
  indexBuilt(info: IndexInfo, now: number): void {
    const key = defKey(info.collection, info.fields, info.multiEntry);
    this.pending.delete(key);
    this.existing.add(key);
    this.lastUsed.set(info.id, now);
  }

  /** Forgets a pending proposal that the database abandoned, so that it can be proposed again. */
  abandon(collection: string, fields: readonly (readonly string[])[], multiEntry: boolean): void {
    this.pending.delete(defKey(collection, fields, multiEntry));
  }

  /** Statistics per shape. */
  shapes(): readonly ShapeStats[] {
    return [...this.stats.values()];
  }

  /** Every decision taken, oldest first (at most `maxLog`). */
  decisions(): readonly IndexDecision[] {
    return this.log.slice();
  }
}
