/**
 * Shared helpers of the cross-package db tests (`test/db-*.test.ts`): a seeded PRNG and an independent model of
 * the documents a set of entries produces (CRDT applied op by op, without the LSM).
 */
import { applyOp, docFields, emptyDocState, type DocState } from '@hearth/crdt';
import { decodeFieldValueV1, decodeOpsV1, type Database, type Document } from '@hearth/db';
import type { UnverifiedEntry } from '@hearth/log';

/** mulberry32: a small seedable PRNG with uniform outputs in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Documents (collection/id → visible document) obtained by applying every op of `entries`, in any order. */
export function modelOf(entries: readonly UnverifiedEntry[]): Map<string, Document> {
  const states = new Map<string, DocState>();
  for (const e of entries) {
    for (const op of decodeOpsV1(e.ops)) {
      const k = `${op.collection}/${op.id}`;
      let s = states.get(k);
      if (s === undefined) states.set(k, (s = emptyDocState()));
      if (op.kind === 'delete') applyOp(s, { type: 'delete', hlc: op.hlc, feed: e.feed });
      else applyOp(s, { type: op.kind, hlc: op.hlc, feed: e.feed, fields: op.fields } as never);
    }
  }
  const out = new Map<string, Document>();
  for (const [k, s] of [...states].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const f = docFields(s);
    if (f === null) continue;
    const doc: Document = {};
    for (const [name, v] of [...f].sort((a, b) => (a[0] < b[0] ? -1 : 1))) doc[name] = decodeFieldValueV1(v);
    out.set(k, doc);
  }
  return out;
}

/** The database's documents of the given collections, as `modelOf` shapes them. */
export function docsOf(db: Database, collections: readonly string[]): Map<string, Document> {
  const out = new Map<string, Document>();
  for (const c of collections) for (const [id, doc] of db.iterate(c)) out.set(`${c}/${id}`, doc);
  return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** Every durable entry of every feed the database holds. */
export async function allEntries(db: Database): Promise<UnverifiedEntry[]> {
  const out: UnverifiedEntry[] = [];
  for (const sv of db.stateVector()) out.push(...(await db.entriesSince(sv.feed, 0, sv.seq)));
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
