/**
 * Ingest refuses forged, tampered, forked, malformed, drifting and gapped input with typed errors, per feed, and
 * leaves everything already stored (documents, state vector, other feeds' results) untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { decodeEntryV1, encodeEntryV1, isDecodedEntry, keypairFromSecretKey, signEntry, type VerifiedEntry } from '@hearth/log';
import { packHlc } from '@hearth/crdt';
import { Database, encodeFieldValueV1, encodeOpsV1 } from '@hearth/db';
import { hex } from './db-helpers.js';

const A = keypairFromSecretKey(new Uint8Array(32).fill(31));
const B = keypairFromSecretKey(new Uint8Array(32).fill(32));
const C = keypairFromSecretKey(new Uint8Array(32).fill(33));
const NOW = 1763700000000;

async function writer(kp = A, n = 5): Promise<{ db: Database; entries: VerifiedEntry[] }> {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'w', keypair: kp, wallClock: () => NOW });
  for (let i = 1; i <= n; i++) await db.put('c', `k${i}`, { i, by: hex(kp.publicKey).slice(0, 4) });
  const entries = await db.entriesSince(db.feed, 0);
  await db.close();
  return { db, entries };
}

async function receiver(): Promise<Database> {
  return Database.open({ fs: new MemoryFileSystem(), name: 'r', keypair: B, wallClock: () => NOW });
}

function fingerprint(db: Database): string {
  return hex(db.stateHash()) + JSON.stringify(db.stateVector().map((e) => [hex(e.feed), e.seq, hex(e.hash)]));
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  b[at] ^= 1;
  return b;
}

test('forged and tampered entries are refused (signature, chain); nothing changes; other feeds still ingest', async () => {
  const { entries } = await writer();
  const { entries: fromC } = await writer(C, 2);
  const db = await receiver();
  await db.put('c', 'mine', { v: 1 });
  assert.ok((await db.ingest(entries.slice(0, 2))).ok);
  const before = fingerprint(db);

  // forged: A's feed id, signed by someone else
  const forged = await signEntry({ seq: 3, prev: entries[1].hash, hlc: packHlc(NOW, 99), ops: entries[2].ops }, C);
  const forgedBytes = encodeEntryV1({ feed: A.publicKey, seq: 3, prev: entries[1].hash, hlc: packHlc(NOW, 99), ops: entries[2].ops, signature: forged.signature });
  let r = await db.ingest([forgedBytes, ...fromC]);
  const fa = r.feeds.find((f) => hex(f.feed) === hex(A.publicKey))!;
  assert.equal(fa.error?.code, 'HEARTH_INVALID_SIGNATURE');
  assert.equal(fa.appended, 0);
  const fc = r.feeds.find((f) => hex(f.feed) === hex(C.publicKey))!;
  assert.equal(fc.appended, 2, 'another feed in the same call is not affected');
  assert.ok(!r.ok);
  assert.deepEqual(db.get('c', 'k1'), { i: 1, by: hex(C.publicKey).slice(0, 4) }, 'equal stamps (one fake wall clock): the greater feed id wins');
  const withC = fingerprint(db);
  assert.notEqual(withC, before);

  // tampered body of a middle entry: the chain breaks (the run is refused whole)
  r = await db.ingest([entries[2].bytes, flip(entries[3].bytes, 100), entries[4].bytes]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_BROKEN_CHAIN');
  // tampered last entry: its signature fails
  r = await db.ingest([entries[2].bytes, flip(entries[3].bytes, 100)]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_INVALID_SIGNATURE');
  // tampered signature byte
  r = await db.ingest([flip(entries[2].bytes, entries[2].bytes.length - 5)]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_INVALID_SIGNATURE');
  // gap
  r = await db.ingest([entries[4]]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_SEQUENCE_GAP');
  assert.equal(fingerprint(db), withC, 'nothing changed');
  // undecodable input refuses the whole call
  await assert.rejects(db.ingest([entries[2].bytes, entries[3].bytes.subarray(0, 50)]), (e: unknown) => (e as { code?: string }).code === 'HEARTH_MALFORMED_ENTRY');
  assert.equal(fingerprint(db), withC);
  // the genuine entries are still accepted afterwards, duplicates counted
  r = await db.ingest([...entries, ...entries]);
  assert.ok(r.ok);
  assert.equal(r.appended, 3);
  assert.equal(r.duplicates, 7);
  await db.close();
});

test('a fork is refused with HEARTH_FORK, evidence kept, the feed frozen; documents unchanged', async () => {
  const { entries } = await writer(A, 3);
  const db = await receiver();
  assert.ok((await db.ingest(entries)).ok);
  const before = fingerprint(db);
  // A's key signs another entry at seq 2
  const other = await signEntry({ seq: 2, prev: entries[0].hash, hlc: packHlc(NOW, 50), ops: encodeOpsV1([{ kind: 'delete', collection: 'c', id: 'k1', hlc: packHlc(NOW, 50) }]) }, A);
  let r = await db.ingest([other.bytes]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_FORK');
  assert.equal(fingerprint(db), before);
  // one that does not link to the head
  const next = await signEntry({ seq: 4, prev: other.hash, hlc: packHlc(NOW, 60), ops: entries[0].ops }, A);
  r = await db.ingest([next.bytes]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_FEED_FROZEN');
  assert.equal(fingerprint(db), before);
  await db.close();
});

test('validly signed entries with a malformed payload, a future HLC or op stamps past the entry HLC are refused; earlier entries stay', async () => {
  const { entries } = await writer(A, 2);
  const db = await receiver();
  const v = (x: unknown) => encodeFieldValueV1(x as never);
  const s3 = packHlc(NOW, 10);
  const e3 = await signEntry({ seq: 3, prev: entries[1].hash, hlc: s3, ops: encodeOpsV1([{ kind: 'put', collection: 'c', id: 'k3', hlc: s3, fields: new Map([['i', v(3)]]) }]) }, A);
  const garbage = await signEntry({ seq: 4, prev: e3.hash, hlc: packHlc(NOW, 11), ops: Uint8Array.of(1, 2, 3) }, A);
  let r = await db.ingest([...entries, e3, garbage]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_MALFORMED_OPS');
  assert.equal(r.feeds[0].appended, 3, 'entries before the refused one are kept');
  assert.equal(r.feeds[0].head, 3);
  assert.deepEqual(db.get('c', 'k3'), { i: 3 });
  const before = fingerprint(db);

  const late = packHlc(NOW + 3_600_000, 0);
  const drift = await signEntry({ seq: 4, prev: e3.hash, hlc: late, ops: encodeOpsV1([{ kind: 'delete', collection: 'c', id: 'k1', hlc: late }]) }, A);
  r = await db.ingest([drift]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_CLOCK_DRIFT');
  const sneaky = await signEntry({ seq: 4, prev: e3.hash, hlc: packHlc(NOW, 12), ops: encodeOpsV1([{ kind: 'delete', collection: 'c', id: 'k1', hlc: late }]) }, A);
  r = await db.ingest([sneaky]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_MALFORMED_OPS', 'an op stamp beyond its entry HLC');
  const badValue = await signEntry({ seq: 4, prev: e3.hash, hlc: packHlc(NOW, 12), ops: encodeOpsV1([{ kind: 'put', collection: 'c', id: 'k1', hlc: packHlc(NOW, 12), fields: new Map([['x', Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1)]]) }]) }, A);
  r = await db.ingest([badValue]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_MALFORMED_OPS', 'a value outside the model (a msgpack timestamp)');
  assert.equal(fingerprint(db), before);
  // One call holding a good entry, a drifting one, then a malformed one: the first refusal in seq order wins.
  const s4 = packHlc(NOW, 13);
  const e4 = await signEntry({ seq: 4, prev: e3.hash, hlc: s4, ops: encodeOpsV1([{ kind: 'put', collection: 'c', id: 'k4', hlc: s4, fields: new Map([['i', v(4)]]) }]) }, A);
  const d5 = await signEntry({ seq: 5, prev: e4.hash, hlc: late, ops: encodeOpsV1([{ kind: 'delete', collection: 'c', id: 'k1', hlc: late }]) }, A);
  const g6 = await signEntry({ seq: 6, prev: d5.hash, hlc: packHlc(NOW, 14), ops: Uint8Array.of(1, 2, 3) }, A);
  r = await db.ingest([e4, d5, g6]);
  assert.equal(r.feeds[0].error?.code, 'HEARTH_CLOCK_DRIFT');
  assert.equal(r.feeds[0].appended, 1, 'the entry before the drifting one is kept');
  assert.equal(r.feeds[0].head, 4);
  assert.deepEqual(db.get('c', 'k4'), { i: 4 });
  await db.close();
});

test('entry objects: ones decodeEntryV1 made are used as they are; hand-made ones are decoded again from their bytes', async () => {
  const { entries } = await writer(A, 3);
  const db = await receiver();
  // decoded objects (what the sync node hands over): accepted, same result as bytes
  const decoded = entries.slice(0, 2).map((e) => decodeEntryV1(e.bytes));
  assert.ok(decoded.every((e) => isDecodedEntry(e)));
  assert.ok((await db.ingest(decoded)).ok);
  assert.equal(db.stateVector()[0].seq, 2);
  // a hand-made object claiming seq 3 over entry 1's bytes: its fields are ignored, the bytes say seq 1 (a duplicate)
  const forged = { ...decodeEntryV1(entries[0].bytes), seq: 3 };
  assert.equal(isDecodedEntry(forged), false, 'a copy does not carry the stamp');
  const r = await db.ingest([forged]);
  assert.equal(r.feeds[0].appended, 0);
  assert.equal(r.feeds[0].duplicates, 1);
  assert.equal(db.stateVector()[0].seq, 2);
  assert.ok((await db.ingest([decodeEntryV1(entries[2].bytes)])).ok);
  assert.deepEqual(db.get('c', 'k3'), { i: 3, by: hex(A.publicKey).slice(0, 4) });
  await db.close();
});
