/**
 * {@link SyncReplica} over a `@hearth/db` {@link Database}, and the encoding of membership records as documents.
 *
 * Membership records live in the collection `_members` (spec: `docs/sync.md`, "Membership records"): one document
 * per record, written once with `put`, never changed:
 *
 * - id: `<subject hex (64)>.<author hex (64)>.<at (16 hex digits)>`, all lowercase;
 * - fields: `action` (`"admit"` | `"remove"`) and `role` (`"admin"` | `"member"`; `"member"` for removals).
 *
 * Why the author and time are in the id: the document state (LWW) does not say who wrote a document or when, and
 * membership needs both; the id makes each record its own document (a grow-only set) and ingest checks that the id
 * tells the truth: the author is the entry's feed and `at` is at most the op's HLC stamp and at least
 * {@link RECORD_MAX_LAG_MS} before it (the writer takes `at` from its wall clock just before the write, which the
 * db's HLC stamp never precedes).
 *
 * @packageDocumentation
 */
import type { CommitEvent, Database } from '@hearth/db';
import { decodeFieldValueV1, decodeOpsV1, type Op } from '@hearth/db';
import { hlcMs, packHlc } from '@hearth/crdt';
import { feedIdFromHex, feedIdToHex, type StateVectorEntry, type UnverifiedEntry } from '@hearth/log';
import { MEMBERS_COLLECTION } from './constants.js';
import { SyncError, SyncErrorCode } from './errors.js';
import type { MembershipRecord, Role } from './membership.js';
import type { CommitNotice, ReplicaFeedResult, SyncReplica } from './types.js';

/** How far a record's `at` may lag behind the HLC stamp of the op that writes it: 10 minutes (ms). */
export const RECORD_MAX_LAG_MS = 10 * 60 * 1000;

const RECORD_ID = /^([0-9a-f]{64})\.([0-9a-f]{64})\.([0-9a-f]{16})$/;

/** The document id of a record. */
export function membershipRecordId(subject: Uint8Array, author: Uint8Array, at: bigint): string {
  return `${feedIdToHex(subject)}.${feedIdToHex(author)}.${at.toString(16).padStart(16, '0')}`;
}

/** Parses a record document (id + fields); null if it is not a well-formed record. */
export function parseMembershipRecord(id: string, fields: Readonly<Record<string, unknown>>): MembershipRecord | null {
  const m = RECORD_ID.exec(id);
  if (m === null) return null;
  const keys = Object.keys(fields);
  if (keys.length !== 2 || !('action' in fields) || !('role' in fields)) return null;
  const { action, role } = fields;
  if (action !== 'admit' && action !== 'remove') return null;
  if (role !== 'admin' && role !== 'member') return null;
  if (action === 'remove' && role !== 'member') return null;
  return { subject: feedIdFromHex(m[1]), author: feedIdFromHex(m[2]), at: BigInt('0x' + m[3]), action, role };
}

const MEMBERS_UTF8 = new TextEncoder().encode(MEMBERS_COLLECTION);

/** Whether `needle` (non-empty) occurs in `hay`. */
function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

function notAdmin(message: string, entry: UnverifiedEntry): SyncError {
  return new SyncError(SyncErrorCode.NOT_ADMIN, message, { feed: feedIdToHex(entry.feed), seq: entry.seq });
}

/** Options of {@link DatabaseReplica}. */
export interface DatabaseReplicaOptions {
  /** Wall clock used for a record's `at` (ms). Must be the clock the Database's HLC uses. Default `Date.now`. */
  wallClock?: () => number;
  /** Most entries per read of the feed store while filling a batch. Default 4,096. */
  readChunk?: number;
}

/**
 * The {@link CommitNotice} of a Database commit event. `membership` is computed on read only (the node reads it for
 * local commits, not for ingested entries), by a getter on the prototype: one notice per applied entry, and an
 * object literal with its own getter costs 400-550 ns to create and read in V8 (Node and a Chromium worker,
 * microbenchmark), this class 16-37 ns.
 */
class DbCommitNotice implements CommitNotice {
  constructor(private readonly event: CommitEvent) {}
  get feed(): Uint8Array {
    return this.event.feed;
  }
  get seq(): number {
    return this.event.seq;
  }
  get local(): boolean {
    return this.event.local;
  }
  get membership(): boolean {
    return this.event.changes.some((c) => c.collection === MEMBERS_COLLECTION);
  }
}

/** A {@link SyncReplica} over a Database. */
export class DatabaseReplica implements SyncReplica {
  private readonly wallClock: () => number;
  private readonly readChunk: number;
  private lastAt = 0n;

  constructor(
    readonly db: Database,
    options: DatabaseReplicaOptions = {},
  ) {
    this.wallClock = options.wallClock ?? Date.now;
    this.readChunk = options.readChunk ?? 4096;
  }

  get feed(): Uint8Array {
    return this.db.feed;
  }

  stateVector(): StateVectorEntry[] {
    return this.db.stateVector();
  }

  async readEntries(feed: Uint8Array, fromSeq: number, maxBytes: number): Promise<Uint8Array[]> {
    // Reads of the records that fit (checksummed, not decoded or hashed: the receiver verifies everything), at most
    // readChunk entries each; one read when the budget is an ENTRIES message.
    const out = await this.db.entryBytesSince(feed, fromSeq - 1, maxBytes, this.readChunk);
    let bytes = 0;
    for (const e of out) bytes += e.length;
    while (out.length > 0 && out.length % this.readChunk === 0 && bytes < maxBytes) {
      const more = await this.db.entryBytesSince(feed, fromSeq - 1 + out.length, maxBytes - bytes, this.readChunk);
      if (more.length === 0 || (more.length === 1 && bytes + more[0].length > maxBytes)) break;
      for (const e of more) {
        out.push(e);
        bytes += e.length;
      }
      if (more.length < this.readChunk) break;
    }
    return out;
  }

  async ingest(entries: readonly (Uint8Array | UnverifiedEntry)[]): Promise<readonly ReplicaFeedResult[]> {
    const r = await this.db.ingest(entries);
    return r.feeds;
  }

  onCommit(listener: (commit: CommitNotice) => void): () => void {
    // Sync reads the changes of local commits only (membership records it wrote): ingest need not compute them.
    return this.db.onCommit((e) => listener(new DbCommitNotice(e)), { remoteChanges: false });
  }

  setExcludedRanges(ranges: readonly { feed: Uint8Array; after: bigint | null; upTo: bigint | null }[]): Promise<boolean> {
    return this.db.setExcludedRanges(ranges);
  }

  membershipRecords(): MembershipRecord[] {
    const out: MembershipRecord[] = [];
    for (const [id, doc] of this.db.iterate(MEMBERS_COLLECTION)) {
      const rec = parseMembershipRecord(id, doc);
      if (rec !== null) out.push(rec);
    }
    return out;
  }

  recordsIn(entry: UnverifiedEntry): MembershipRecord[] {
    // Collection names are literal UTF-8 in the payload's string table (docs/formats/ops.md), so a payload without
    // the bytes of `_members` writes no record: skip the decode (the common case by far).
    if (!containsBytes(entry.ops, MEMBERS_UTF8)) return [];
    let ops: Op[];
    try {
      ops = decodeOpsV1(entry.ops, { checkValues: false });
    } catch {
      return []; // ingest refuses it with HEARTH_MALFORMED_OPS
    }
    const out: MembershipRecord[] = [];
    for (const op of ops) {
      if (op.collection !== MEMBERS_COLLECTION) continue;
      if (op.kind !== 'put') throw notAdmin(`a membership record can only be written once with put, got ${op.kind}`, entry);
      const fields: Record<string, unknown> = {};
      try {
        for (const [k, v] of op.fields) fields[k] = decodeFieldValueV1(v);
      } catch {
        throw notAdmin('a membership record holds a malformed value', entry);
      }
      const rec = parseMembershipRecord(op.id, fields);
      if (rec === null) throw notAdmin(`malformed membership record ${op.id.slice(0, 80)}`, entry);
      if (feedIdToHex(rec.author) !== feedIdToHex(entry.feed)) throw notAdmin('a membership record names another author than its feed', entry);
      if (rec.at > op.hlc || hlcMs(rec.at) < hlcMs(op.hlc) - RECORD_MAX_LAG_MS) {
        throw notAdmin(`a membership record's time is outside [stamp - ${RECORD_MAX_LAG_MS} ms, stamp]`, entry);
      }
      out.push(rec);
    }
    return out;
  }

  async writeMembershipRecord(subject: Uint8Array, action: 'admit' | 'remove', role: Role): Promise<void> {
    // Distinct, increasing `at` per author even within one millisecond (each record is its own document).
    const wall = packHlc(this.wallClock(), 0);
    const at = wall > this.lastAt ? wall : this.lastAt + 1n;
    this.lastAt = at;
    await this.db.put(MEMBERS_COLLECTION, membershipRecordId(subject, this.db.feed, at), { action, role: action === 'remove' ? 'member' : role });
  }
}
