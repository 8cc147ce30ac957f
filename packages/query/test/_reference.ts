// The reference evaluator: the plainest possible implementation of the query semantics of docs/query.md over a
// full scan (filter → traverse → sort → cursor → limit → project, or aggregate). It shares only cmpValues and
// compareStrings with the engine (both checked by the key-encoding properties) and the cursor decoder.
import type { Doc, Filter, Path, Query, Row, Value } from '../src/index.js';
import { cmpValues, compareStrings, decodeCursorV1, encodeKeyV1, toHex, typeRank } from '../src/index.js';

export type Collections = Map<string, Map<string, Doc>>;

const seg = (p: Path): string[] => (typeof p === 'string' ? p.split('.') : [...p]);

export function refGet(doc: Doc, path: Path, id: string): Value | undefined {
  const s = seg(path);
  if (s.length === 1 && s[0] === '_id') return id;
  let cur: unknown = doc;
  for (const k of s) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(k)) return undefined;
      cur = cur[Number(k)];
    } else if (cur !== null && typeof cur === 'object' && !ArrayBuffer.isView(cur)) {
      cur = Object.prototype.hasOwnProperty.call(cur, k) ? (cur as Record<string, unknown>)[k] : undefined;
    } else return undefined;
  }
  return cur as Value | undefined;
}

export function refMatch(f: Filter | undefined, doc: Doc, id: string): boolean {
  if (f === undefined) return true;
  switch (f.op) {
    case 'and':
      return f.filters.every((g) => refMatch(g, doc, id));
    case 'or':
      return f.filters.some((g) => refMatch(g, doc, id));
    case 'not':
      return !refMatch(f.filter, doc, id);
    case 'exists':
      return (refGet(doc, f.path, id) !== undefined) === f.exists;
    case 'eq':
      return cmpValues(refGet(doc, f.path, id), f.value) === 0;
    case 'ne':
      return cmpValues(refGet(doc, f.path, id), f.value) !== 0;
    case 'in':
      return f.values.some((v) => cmpValues(refGet(doc, f.path, id), v) === 0);
    case 'nin':
      return !f.values.some((v) => cmpValues(refGet(doc, f.path, id), v) === 0);
    case 'contains': {
      const v = refGet(doc, f.path, id);
      return Array.isArray(v) && v.some((e) => cmpValues(e, f.value) === 0);
    }
    case 'prefix': {
      const v = refGet(doc, f.path, id);
      return typeof v === 'string' && v.slice(0, f.value.length) === f.value;
    }
    default: {
      const v = refGet(doc, f.path, id);
      if (v === undefined || typeRank(v) !== typeRank(f.value)) return false;
      const c = cmpValues(v, f.value);
      return f.op === 'gt' ? c > 0 : f.op === 'gte' ? c >= 0 : f.op === 'lt' ? c < 0 : c <= 0;
    }
  }
}

interface R {
  id: string;
  doc: Doc;
}

function refCompare(q: Query, a: R, b: R): number {
  const sort = q.sort ?? [];
  for (const s of sort) {
    const c = cmpValues(refGet(a.doc, s.path, a.id), refGet(b.doc, s.path, b.id));
    if (c !== 0) return (s.dir ?? 'asc') === 'asc' ? c : -c;
  }
  const last = sort.length ? sort[sort.length - 1].dir ?? 'asc' : 'asc';
  return last === 'asc' ? compareStrings(a.id, b.id) : compareStrings(b.id, a.id);
}

function refProject(doc: Doc, id: string, select: readonly Path[] | undefined): Doc {
  if (select === undefined) return doc;
  const out: Record<string, unknown> = {};
  for (const p of select) {
    const v = refGet(doc, p, id);
    if (v === undefined) continue;
    const s = seg(p);
    let cur = out;
    for (let i = 0; i < s.length - 1; i++) {
      const n = cur[s[i]];
      cur[s[i]] = n !== null && typeof n === 'object' && !Array.isArray(n) && !ArrayBuffer.isView(n) ? { ...n } : {};
      cur = cur[s[i]] as Record<string, unknown>;
    }
    cur[s[s.length - 1]] = v;
  }
  return out as Doc;
}

/** Reference rows of the final document set (before sort, cursor and limit). */
export function refMatchSet(data: Collections, q: Query): R[] {
  let set: R[] = [];
  for (const [id, doc] of data.get(q.collection) ?? []) if (refMatch(q.where, doc, id)) set.push({ id, doc });
  for (const h of q.traverse ?? []) {
    const reached = new Map<string, R>();
    let frontier = set;
    for (let level = 1; level <= (h.depth ?? 1) && frontier.length; level++) {
      const next: R[] = [];
      for (const [id, doc] of data.get(h.to) ?? []) {
        if (reached.has(id)) continue;
        const target = refGet(doc, h.toField ?? '_id', id);
        if (target === undefined) continue;
        const hit = frontier.some((r) => {
          const v = refGet(r.doc, h.from, r.id);
          return Array.isArray(v) ? v.some((e) => e !== undefined && cmpValues(e, target) === 0) : v !== undefined && cmpValues(v, target) === 0;
        });
        if (hit && refMatch(h.where, doc, id)) {
          reached.set(id, { id, doc });
          next.push({ id, doc });
        }
      }
      frontier = next;
    }
    set = [...reached.values()];
  }
  return set;
}

/** The reference result of a query: rows (and hasMore for row queries). */
export function refQuery(data: Collections, q: Query): { rows: Row[]; hasMore: boolean } {
  const set = refMatchSet(data, q);
  if (q.aggregate !== undefined) return { rows: refAggregate(q, set), hasMore: false };
  let rows = set.sort((a, b) => refCompare(q, a, b));
  if (q.after !== undefined) {
    const target = q.traverse?.length ? q.traverse[q.traverse.length - 1].to : q.collection;
    const sort = (q.sort ?? []).map((s) => ({ path: seg(s.path), dir: s.dir ?? ('asc' as const) }));
    const pos = decodeCursorV1(q.after, target, sort);
    const posId = pos[pos.length - 1] as string;
    const lastDir = sort.length ? sort[sort.length - 1].dir : 'asc';
    rows = rows.filter((r) => {
      for (let i = 0; i < sort.length; i++) {
        const c = cmpValues(refGet(r.doc, sort[i].path, r.id), pos[i]);
        if (c !== 0) return sort[i].dir === 'asc' ? c > 0 : c < 0;
      }
      const c = compareStrings(r.id, posId);
      return lastDir === 'asc' ? c > 0 : c < 0;
    });
  }
  const hasMore = q.limit !== undefined && rows.length > q.limit;
  if (q.limit !== undefined) rows = rows.slice(0, q.limit);
  return { rows: rows.map((r) => ({ id: r.id, doc: refProject(r.doc, r.id, q.select) })), hasMore };
}

function refAggregate(q: Query, set: R[]): Row[] {
  const a = q.aggregate!;
  const groupBy = a.groupBy ?? [];
  const groups = new Map<string, { vals: (Value | undefined)[]; rows: R[] }>();
  for (const r of set) {
    const vals = groupBy.map((p) => refGet(r.doc, p, r.id));
    const k = toHex(encodeKeyV1(vals));
    if (!groups.has(k)) groups.set(k, { vals, rows: [] });
    groups.get(k)!.rows.push(r);
  }
  if (groups.size === 0 && groupBy.length === 0) groups.set('', { vals: [], rows: [] });
  const out: Row[] = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const doc: Record<string, unknown> = {};
    groupBy.forEach((p, i) => {
      if (g.vals[i] === undefined) return;
      const s = seg(p);
      let cur = doc;
      for (let j = 0; j < s.length - 1; j++) cur = (cur[s[j]] ??= {}) as Record<string, unknown>;
      cur[s[s.length - 1]] = g.vals[i];
    });
    for (const [name, spec] of Object.entries(a.values)) {
      const vs = g.rows.map((r) => (spec.path === undefined ? undefined : refGet(r.doc, spec.path, r.id)));
      const nums = vs.filter((v): v is number => typeof v === 'number');
      const present = vs.filter((v) => v !== undefined);
      switch (spec.op) {
        case 'count':
          doc[name] = spec.path === undefined ? g.rows.length : present.length;
          break;
        case 'sum':
          doc[name] = nums.reduce((x, y) => x + y, 0);
          break;
        case 'avg':
          doc[name] = nums.length ? nums.reduce((x, y) => x + y, 0) / nums.length : null;
          break;
        case 'min':
          doc[name] = present.length ? present.reduce((x, y) => (cmpValues(y, x) < 0 ? y : x)) : null;
          break;
        case 'max':
          doc[name] = present.length ? present.reduce((x, y) => (cmpValues(y, x) > 0 ? y : x)) : null;
          break;
      }
    }
    out.push({ id: k, doc: doc as Doc });
  }
  return out;
}
