/**
 * Offline tools over a relay's data directory (run them while the relay is stopped: a Database has one writer):
 * export and import documents as JSONL, verify every feed (decoding, chain, signatures, heads), rebuild the views
 * from the feeds. The CLI (`cli.ts`) wraps them.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { Database, decodeOpsV1, type Document } from '@hearth/db';
import { decodeEntryV1, feedIdToHex, verifyEntry } from '@hearth/log';
import { RelayError, RelayErrorCode, syncConstants } from '@hearth/sync';
import { fromJsonValue, toJsonValue } from './json.js';

const MEMBERS = syncConstants.MEMBERS_COLLECTION;

async function openDb(dataDir: string, spaceHex: string, rebuild = false): Promise<Database> {
  if (!/^[0-9a-f]{64}$/.test(spaceHex)) throw new TypeError('"space" expected 64 lowercase hex digits');
  const fs = new NodeFileSystem(dataDir, { create: true });
  return Database.open({ fs, name: spaceHex, ...(rebuild ? { rebuild: true } : {}) });
}

/** Every collection named by an op of a stored entry (the log is the source of truth), sorted. */
async function collectionsOf(db: Database): Promise<string[]> {
  const names = new Set<string>();
  for (const { feed, seq: head } of db.stateVector()) {
    let seq = 0;
    while (seq < head) {
      const batch = await db.entriesSince(feed, seq, 500);
      if (batch.length === 0) break;
      for (const e of batch) for (const op of decodeOpsV1(e.ops, { checkValues: false })) names.add(op.collection);
      seq = batch[batch.length - 1].seq;
    }
  }
  return [...names].sort();
}

/**
 * Writes every document of a space as JSON lines `{"collection","id","doc"}` (values in the JSON form of
 * `json.ts`), collections and ids ascending. Membership records (`_members`) are log metadata, not exported.
 * @returns the number of documents written.
 */
export async function exportSpace(dataDir: string, spaceHex: string, write: (line: string) => void | Promise<void>): Promise<number> {
  const db = await openDb(dataDir, spaceHex);
  try {
    let n = 0;
    for (const c of await collectionsOf(db)) {
      if (c === MEMBERS) continue;
      for (const [id, doc] of db.iterate(c)) {
        await write(`${JSON.stringify({ collection: c, id, doc: toJsonValue(doc) })}\n`);
        n++;
      }
    }
    return n;
  } finally {
    await db.close();
  }
}

/** What {@link importSpace} did. */
export interface ImportReport {
  readonly documents: number;
  /** The feed the documents were written to (the relay's own key in that space). */
  readonly feed: string;
}

/**
 * Writes documents from JSON lines (as {@link exportSpace} writes them) into the space, as `put`s signed by the
 * relay's own key, in transactions of up to `batch` documents. Blank lines are skipped.
 * @throws RelayError `HEARTH_RELAY_BAD_REQUEST` naming the line for a malformed line or one writing `_members`
 *   (membership is written by admins only); DbError for a document the database refuses. Lines before the failing
 *   batch are committed.
 */
export async function importSpace(dataDir: string, spaceHex: string, lines: AsyncIterable<string> | Iterable<string>, batch = 256): Promise<ImportReport> {
  const db = await openDb(dataDir, spaceHex);
  try {
    let n = 0;
    let lineNo = 0;
    let pending: { collection: string; id: string; doc: Document }[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const docs = pending;
      pending = [];
      await db.transaction((tx) => {
        for (const d of docs) tx.put(d.collection, d.id, d.doc);
      });
      n += docs.length;
    };
    for await (const raw of lines) {
      lineNo++;
      const line = raw.trim();
      if (line === '') continue;
      let rec: { collection?: unknown; id?: unknown; doc?: unknown };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        throw new RelayError(RelayErrorCode.BAD_REQUEST, `line ${lineNo}: not JSON`);
      }
      if (typeof rec?.collection !== 'string' || typeof rec.id !== 'string' || rec.doc === null || typeof rec.doc !== 'object' || Array.isArray(rec.doc)) {
        throw new RelayError(RelayErrorCode.BAD_REQUEST, `line ${lineNo}: expected {"collection": string, "id": string, "doc": object}`);
      }
      if (rec.collection === MEMBERS) throw new RelayError(RelayErrorCode.BAD_REQUEST, `line ${lineNo}: ${MEMBERS} holds membership records, which only admins write`);
      let doc: Document;
      try {
        doc = fromJsonValue(rec.doc) as Document;
      } catch (e) {
        throw new RelayError(RelayErrorCode.BAD_REQUEST, `line ${lineNo}: ${(e as Error).message}`);
      }
      pending.push({ collection: rec.collection, id: rec.id, doc });
      if (pending.length >= batch) await flush();
    }
    await flush();
    return { documents: n, feed: feedIdToHex(db.feed) };
  } finally {
    await db.close();
  }
}

/** What {@link verifySpace} found. */
export interface VerifyReport {
  readonly feeds: number;
  readonly entries: number;
  /** Every problem: the feed, the seq and the typed error's code and message. Empty: every feed verified. */
  readonly problems: { feed: string; seq: number; code: string; message: string }[];
}

/**
 * Checks every stored entry of every feed of a space: it decodes, its seq follows the previous one, its `prev` is
 * the previous entry's hash, its ed25519 signature verifies (each entry, not one per run), and the last hash is the
 * head the state vector names.
 * @throws as `Database.open` if the database cannot be opened (e.g. `HEARTH_CORRUPTION` in the views).
 */
export async function verifySpace(dataDir: string, spaceHex: string): Promise<VerifyReport> {
  const db = await openDb(dataDir, spaceHex);
  const problems: VerifyReport['problems'] = [];
  let entries = 0;
  const sv = db.stateVector();
  try {
    for (const { feed, seq: head, hash: headHash } of sv) {
      const fhex = feedIdToHex(feed);
      let seq = 0;
      let prevHash: Uint8Array = new Uint8Array(32);
      try {
        while (seq < head) {
          const batch = await db.entriesSince(feed, seq, 500);
          if (batch.length === 0) {
            problems.push({ feed: fhex, seq: seq + 1, code: 'HEARTH_SEQUENCE_GAP', message: `feed ends at ${seq}, head is ${head}` });
            break;
          }
          for (const stored of batch) {
            const e = await verifyEntry(decodeEntryV1(stored.bytes));
            if (e.seq !== seq + 1) throw new RelayError('HEARTH_SEQUENCE_GAP', `seq ${e.seq} after ${seq}`);
            if (!e.prev.every((b, i) => b === prevHash[i])) throw new RelayError('HEARTH_BROKEN_CHAIN', `prev of seq ${e.seq} is not the hash of seq ${seq}`);
            prevHash = e.hash;
            seq = e.seq;
            entries++;
          }
        }
        if (seq === head && !prevHash.every((b, i) => b === headHash[i])) problems.push({ feed: fhex, seq, code: 'HEARTH_BROKEN_CHAIN', message: 'the last entry is not the head the state vector names' });
      } catch (e) {
        problems.push({ feed: fhex, seq: seq + 1, code: e instanceof HearthError ? e.code : 'HEARTH_IO', message: (e as Error).message });
      }
    }
    return { feeds: sv.length, entries, problems };
  } finally {
    await db.close();
  }
}

/**
 * Drops and rebuilds every view of a space from its feeds (after `HEARTH_CORRUPTION` in the views).
 * @returns entries replayed and the state hash after the rebuild (hex).
 */
export async function rebuildSpace(dataDir: string, spaceHex: string): Promise<{ stateHash: string; feeds: number }> {
  const db = await openDb(dataDir, spaceHex, true);
  try {
    return { stateHash: Buffer.from(db.stateHash()).toString('hex'), feeds: db.stateVector().length };
  } finally {
    await db.close();
  }
}
