/**
 * Vector indexes across replicas: entries ingested from a second database (puts, vector updates, patches of other
 * fields, deletes, a document with a vector of the wrong dimension) keep the receiver's index current, and both
 * replicas then answer `nearest` identically (exact flat index on both sides, and HNSW checked against exact
 * search on the receiver). The index definition is local: the author declares none until the end.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { keypairFromSecretKey } from '@hearth/log';
import { Database, type Document } from '@hearth/db';
import { prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 31337);
const A = keypairFromSecretKey(new Uint8Array(32).fill(21));
const B = keypairFromSecretKey(new Uint8Array(32).fill(22));
const DIM = 8;

function vec(r: () => number): Float32Array {
  return Float32Array.from({ length: DIM }, () => r() * 2 - 1);
}

function exact(db: Database, q: Float32Array, k: number, keep: (d: Document) => boolean = () => true): string[] {
  const all: [string, number][] = [];
  for (const [id, d] of db.iterate('items')) {
    const v = d.v;
    if (!(v instanceof Float32Array) || v.length !== DIM || !keep(d)) continue;
    let s = 0;
    for (let i = 0; i < DIM; i++) s += (q[i] - v[i]) ** 2;
    all.push([id, s]);
  }
  return all.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k).map((x) => x[0]);
}

test('ingest from another replica updates the vector index (puts, updates, deletes); replicas agree', async () => {
  const label = `seed ${SEED} (rerun with HEARTH_SEED=${SEED})`;
  const r = prng(SEED);
  const author = await Database.open({ fs: new MemoryFileSystem(), name: 'a', keypair: A });
  const reader = await Database.open({ fs: new MemoryFileSystem(), name: 'b', keypair: B });
  await reader.createVectorIndex('items', 'v', { dimension: DIM, metric: 'l2', threshold: 150 });
  await reader.createVectorIndex('items', 'w', { dimension: DIM, metric: 'l2', threshold: 1_000_000 }); // a second, flat index on the same collection
  let sent = 0;
  const sync = async () => {
    const entries = await author.entriesSince(author.feed, sent);
    const res = await reader.ingest(entries);
    assert.ok(res.ok, label);
    sent = author.stateVector()[0].seq;
  };
  for (let i = 0; i < 300; i += 50) {
    await author.transaction((tx) => {
      for (let j = i; j < i + 50; j++) tx.put('items', `i${j}`, { v: vec(r), w: vec(r), g: j % 3 });
    });
  }
  await sync();
  assert.equal(reader.vectorIndexes()[0].size, 300);
  assert.equal(reader.vectorIndexes()[0].kind, 'hnsw');
  // updates, patches of another field, deletes, a bad vector, a removed field, interleaved with syncs
  const deleted = new Set<string>();
  for (let round = 0; round < 3; round++) {
    await author.transaction((tx) => {
      for (let j = 0; j < 30; j++) {
        const id = `i${Math.floor(r() * 300)}`;
        const x = r();
        if (x < 0.4) tx.patch('items', id, { v: vec(r) });
        else if (x < 0.6) tx.patch('items', id, { g: 7 });
        else if (x < 0.8) {
          tx.delete('items', id);
          deleted.add(id);
        } else tx.put('items', id, { v: vec(r), w: vec(r), g: 1 });
        if (x >= 0.8) deleted.delete(id);
      }
    });
    await author.put('items', `bad${round}`, { v: new Float32Array(DIM + 1), w: vec(r) });
    await author.patch('items', `i${round}`, { v: null });
    deleted.delete(`i${round}`);
    await sync();
  }
  await reader.createVectorIndex('items', 'v', { dimension: DIM, metric: 'l2', threshold: 150 }); // idempotent
  await author.createVectorIndex('items', 'v', { dimension: DIM, metric: 'l2', threshold: 1_000_000 }); // flat: exact
  assert.deepEqual(reader.stateHash(), author.stateHash(), 'same documents');
  const live = [...reader.iterate('items')];
  const withV = live.filter(([, d]) => d.v instanceof Float32Array && (d.v as Float32Array).length === DIM);
  const info = reader.vectorIndexes().find((x) => x.field === 'v')!;
  assert.equal(info.size, withV.length, 'index size = documents with a valid vector');
  assert.equal(info.skipped.invalid, 3);
  assert.ok(info.skipped.missing >= 1);
  assert.equal(reader.vectorIndexes().find((x) => x.field === 'w')!.size, live.filter(([, d]) => d.w instanceof Float32Array).length);
  let hit = 0;
  let total = 0;
  for (let q = 0; q < 30; q++) {
    const query = vec(r);
    const got = reader.nearest('items', 'v', query, { k: 10, ef: 128 }).map((h) => h.id);
    for (const id of got) assert.ok(!deleted.has(id) || reader.get('items', id) !== undefined, `deleted ${id} returned`);
    const truth = exact(reader, query, 10);
    assert.deepEqual(author.nearest('items', 'v', query, { k: 10 }).map((h) => h.id), truth, 'the author (flat, exact) agrees with exact search');
    for (const id of truth) if (got.includes(id)) hit++;
    total += truth.length;
    // the second, flat index answers exactly on the receiver
    const wq = vec(r);
    const wTruth: string[] = [];
    {
      const all: [string, number][] = [];
      for (const [id, d] of live) if (d.w instanceof Float32Array) all.push([id, (d.w as Float32Array).reduce((s, x, i) => s + (wq[i] - x) ** 2, 0)]);
      all.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      wTruth.push(...all.slice(0, 5).map((x) => x[0]));
    }
    assert.deepEqual(reader.nearest('items', 'w', wq, { k: 5 }).map((h) => h.id), wTruth);
    // filtered, through the query engine, on both replicas
    const f = { op: 'eq', path: 'g', value: 7 } as const;
    assert.deepEqual(reader.nearest('items', 'v', query, { k: 5, filter: f }).map((h) => h.id), exact(reader, query, 5, (d) => d.g === 7));
  }
  assert.ok(hit / total >= 0.95, `recall@10 ${hit / total} on the receiver, ${label}`);
  for (const id of deleted) if (reader.get('items', id) === undefined) assert.ok(!reader.nearest('items', 'v', new Float32Array(DIM), { k: 400, ef: 400 }).some((h) => h.id === id), `deleted ${id} in the index`);
  await author.close();
  await reader.close();
});
