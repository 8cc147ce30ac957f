/**
 * The `Database`: the one object that owns a replica. It holds the feed store (the signed log, source of truth),
 * the LSM tree (the documents derived from the log) and the HLC, and runs the write path, ingest, recovery and the
 * change stream. Guide: `docs/db.md`; formats: `docs/formats/ops.md`, `docs/formats/db-layout.md`.
 *
 * Write path (group commit): each `put`/`patch`/`delete` (or a whole transaction) is checked and encoded at the
 * call, stamped when it is queued (a transaction's writes take consecutive stamps), and waits in the queue. One
 * commit at a time takes the queued writes (up to `maxCommitBytes` of payload, never splitting a transaction),
 * encodes them as one ops payload, signs one entry, appends it to the own feed, syncs (one fsync), applies it to
 * the LSM (memtable, in the same turn), and only then resolves the writes' promises: so a write is durable when
 * its promise resolves, and a read after `await put(...)` sees it. Writes that arrive while a commit is in flight form the next entry.
 *
 * Invariants:
 * 1. Every entry applied to the LSM was durable in its feed file first (append, then `sync`, then apply). So the
 *    applied state vector (stored as the LSM's applied position) never runs ahead of the durable feeds, except
 *    when a feed file lost synced data (detected on open, `RecoveryInfo.lost`).
 * 2. Each entry is applied with one `lsm.batch` (atomically, at one LSM sequence number), whose position is the
 *    applied state vector including that entry. Replay after a crash re-applies whole entries past the position.
 * 3. Commits, ingests, rebuilds and close run one at a time (`exclusive`); the own feed's head only changes inside.
 * 4. Own-feed entries have strictly increasing sequence numbers, chained by `prev`; each op stamp is unique and
 *    greater than every stamp before it in the feed (the clock restarts from the newest head's HLC on open); an
 *    entry's HLC is its last op's stamp.
 * 5. `stateVector()` and `entriesSince()` expose only durable entries, so a peer never sees an own entry that a
 *    crash could take back (which would make the next entry at that seq a fork).
 *
 * @packageDocumentation
 */
import { IoError, IoErrorCode, CorruptionError, HearthError, type FileSystem } from '@hearth/io';
import { openLsm, type BatchOp, type Lsm, type LsmOptions, type Snapshot as LsmSnapshot } from '@hearth/lsm';
import {
  FeedStore,
  LogError,
  LogErrorCode,
  decodeEntryV1,
  isDecodedEntry,
  decodeStateVectorV1,
  encodeStateVectorV1,
  feedIdToHex,
  signEntry,
  verifyEntry,
  verifyRange,
  type EntryCryptoOptions,
  type FeedHead,
  type Keypair,
  type RecoveryReport,
  type StateVectorEntry,
  type UnverifiedEntry,
  type VerifiedEntry,
  logConstants,
} from '@hearth/log';
import {
  ClockDriftError,
  HybridClock,
  applyOp,
  decodeDocStateV1,
  encodeDocStateV1,
  docFields,
  emptyDocState,
  type DocState,
} from '@hearth/crdt';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFreshState } from './_docstate.js';
import { packEnd, packOffset, packStart, packValue } from './_encode.js';
import { PackedFields } from './_packed.js';
import type { ExclusionSet, ExcludedRange } from './exclusions.js';
import { DEFAULT_MAX_COMMIT_BYTES, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MEMTABLE_BYTES, FEEDS_DIR, LSM_DIR, PREFIX_DOC, VECTORS_DIR, VECTOR_CATALOG_FILE, EXCLUDED_FILE } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';
import { checkId, collectionEnd, collectionStart, docKey, fieldNameProblem } from './_keys.js';
import { collectionBytes, decodeFields, iterateDocs, readDoc, readDocFields, type IterateOptions, type KvView } from './_read.js';
import { DEFAULT_DOC_CACHE_BYTES, DocCache } from './_doccache.js';
import { decodeOpsV1, encodeOpsV1, type Op } from './ops.js';
import { type DocValue, type Document } from './values.js';
import { writeVarint } from '@hearth/crdt';
// Type-only: the vector engine (`_vectors.ts` and @hearth/vector) is loaded on demand (`loadVectors`), so apps that
// never declare a vector index do not ship it.
import type { VectorIndexes, NearestHit, NearestOptions, NearestPlan, VectorIndexInfo, VectorIndexOptions, VectorRecovery } from './_vectors.js';
import type { AdaptivePolicyOptions, Diff, Explain, IndexEntry, IndexInfo, KeyRange, Path, Query, QueryResult, QueryStore } from '@hearth/query';
import { IndexManager, type CreateIndexOptions, type IndexStatus } from './_indexes.js';
import { LiveQueries, type LiveHandle, type LiveUpdate } from './_live.js';

/** Options of {@link Database.open}. Sizes in bytes, times in ms. */
export interface DatabaseOptions {
  /** The file system (OPFS, IndexedDB, Node, memory, fault-injecting). */
  fs: FileSystem;
  /** Directory of the database inside `fs` (created if missing), e.g. `"notes"`. */
  name: string;
  /**
   * The device keypair (its public key is this replica's feed id). If omitted, it is loaded from `<name>/keypair`,
   * or created and stored there. The browser SDK keeps the keypair in IndexedDB and passes it in.
   */
  keypair?: Keypair;
  /** Largest document (encoded fields of one put or patch). Default 1 MiB. */
  maxDocumentBytes?: number;
  /** Largest ops payload a group commit packs into one entry. Default 1 MiB; at most 16 MiB minus the header. */
  maxCommitBytes?: number;
  /** Wall clock for the HLC (tests). Default `Date.now`. */
  wallClock?: () => number;
  /** Largest drift of a remote HLC ahead of the wall clock accepted on ingest. Default 5 minutes. */
  maxDriftMs?: number;
  /**
   * LSM tuning (memtable size, caches, compaction). The database's default memtable is 16 MiB (the LSM's own
   * default is 4 MiB): fewer flushes and compactions cut the CPU per write by about a fifth, at the cost of more
   * memory (two memtables at most) and more entries to replay after a crash.
   */
  lsm?: Omit<LsmOptions, 'fs' | 'dir'>;
  /** Drop and rebuild every view from the feeds while opening (after `HEARTH_CORRUPTION` from the views). */
  rebuild?: boolean;
  /** Passed to the feed store: cut a feed file at a corrupt record even when valid ones follow (default false). */
  repairFeeds?: boolean;
  /** Ed25519 backend for signing and verification (default `auto`). */
  crypto?: EntryCryptoOptions;
  /**
   * Adaptive indexes (`docs/db.md`, "Adaptive indexes"): the thresholds of `@hearth/query`'s
   * `AdaptiveIndexPolicy`, or `false` to turn them off. Default: on with the policy's defaults.
   */
  adaptiveIndexes?: false | AdaptivePolicyOptions;
  /**
   * Budget of the cache of decoded documents that serves repeated reads (`docs/db.md`, "Document cache"), in
   * bytes (an estimate of the memory held). Default 16 MiB; 0 turns it off.
   */
  docCacheBytes?: number;
}

/** What open found and did. */
export interface RecoveryInfo {
  /** Entries replayed into the LSM (written to the feeds but not yet in SSTables at the last shutdown or crash). */
  readonly replayed: number;
  /** Torn tails (and requested repairs) the feed store cut. */
  readonly feedRepairs: readonly RecoveryReport[];
  /**
   * Feeds whose file holds fewer entries than the views reflect (synced data was lost). For the own feed, local
   * writes are refused (`HEARTH_FEED_BEHIND`) until `ingest` restores the entries.
   */
  readonly lost: readonly { readonly feed: Uint8Array; readonly appliedSeq: number; readonly heldSeq: number }[];
  /** Whether the views were rebuilt from the feeds (`rebuild: true`). */
  readonly rebuilt: boolean;
  /** Whether a new keypair was created in the database directory. */
  readonly keypairCreated: boolean;
  /** What open did with each vector index: loaded from its file (and caught up), or rebuilt, and why. */
  readonly vectors: VectorRecovery;
}

/** One document change of an applied entry. `before`/`after` are absent when the document did not exist. */
export interface Change {
  readonly collection: string;
  readonly id: string;
  readonly before?: Document;
  readonly after?: Document;
}

/** Delivered to {@link Database.onCommit} listeners once per applied entry (local or ingested). */
export interface CommitEvent {
  /** Feed (author) of the entry. */
  readonly feed: Uint8Array;
  readonly seq: number;
  readonly hlc: bigint;
  /** Whether this replica wrote the entry. */
  readonly local: boolean;
  /** Documents whose visible content changed, each once, in first-touched order. */
  readonly changes: readonly Change[];
}

/** Options of {@link Database.onCommit}. */
export interface OnCommitOptions {
  /**
   * Whether the listener reads the `changes` of ingested entries. Default true. False lets ingest skip computing
   * them while no listener wants them; the events of ingested entries then carry an empty `changes`.
   */
  remoteChanges?: boolean;
}

/** Result of {@link Database.ingest} for one feed. */
export interface IngestFeedResult {
  readonly feed: Uint8Array;
  /** Entries appended and applied. */
  readonly appended: number;
  /** Entries already held (identical), skipped. */
  readonly duplicates: number;
  /** The feed's head after the call (0 if none). */
  readonly head: number;
  /**
   * Why the feed's remaining entries were refused: a `LogError` (`HEARTH_INVALID_SIGNATURE`,
   * `HEARTH_BROKEN_CHAIN`, `HEARTH_SEQUENCE_GAP`, `HEARTH_ENTRY_TOO_LARGE`), `ForkError`, `FeedFrozenError`,
   * `ClockDriftError` or `DbError` `HEARTH_MALFORMED_OPS`. Entries before the refused one (in seq order) were kept.
   */
  readonly error?: HearthError;
}

/** Result of {@link Database.ingest}. */
export interface IngestResult {
  /** Per feed, ascending by feed id. */
  readonly feeds: readonly IngestFeedResult[];
  readonly appended: number;
  readonly duplicates: number;
  /** Whether no feed reported an error. */
  readonly ok: boolean;
}

/** Counters of {@link Database.stats}. */
export interface DatabaseStats {
  /** Entries this replica has signed (its own feed's head). */
  readonly ownHead: number;
  /** Entries committed by this process (local group commits). */
  readonly commits: number;
  /** Local writes (ops) committed by this process. */
  readonly opsCommitted: number;
  /** Writes queued and not yet committed. */
  readonly pending: number;
  /** Feeds held. */
  readonly feeds: number;
}

/**
 * A consistent read view at one point (an LSM snapshot). Release it when done.
 *
 * It is also the read view the query engine runs on: a `@hearth/query` `QueryStore` (`getDoc`, `scan`, `indexes`,
 * `scanIndex`, `countDocs`, `estimateRange`), so `execute(db.snapshot(), query)` works; `indexes` lists the
 * secondary indexes complete when the snapshot was taken (entries under the LSM prefix `0x02`,
 * `docs/formats/db-layout.md`).
 */
export interface DbSnapshot {
  get(collection: string, id: string): Document | undefined;
  getMany(collection: string, ids: readonly string[]): (Document | undefined)[];
  iterate(collection: string, options?: IterateOptions): IterableIterator<[string, Document]>;
  /** {@link Database.stateHash} at this snapshot. */
  stateHash(): Uint8Array;
  /** QueryStore: the document, or undefined (also for a collection name or id the database would refuse). */
  getDoc(collection: string, id: string): Document | undefined;
  /** QueryStore: every document of the collection, in id order (none for a name the database would refuse). */
  scan(collection: string): Iterable<readonly [string, Document]>;
  /**
   * QueryStore contract 5: `getDoc` decoding only the top-level `fields` (others may be missing). For the query
   * engine's filter, sort and aggregate evaluation.
   */
  getDocFields(collection: string, id: string, fields: ReadonlySet<string>): Document | undefined;
  /** QueryStore contract 5: `scan` decoding only the top-level `fields` (others may be missing). */
  scanFields(collection: string, fields: ReadonlySet<string>): Iterable<readonly [string, Document]>;
  /** QueryStore: the secondary indexes of a collection complete at this snapshot. */
  indexes(collection: string): readonly IndexInfo[];
  /** QueryStore: the entries of an index in a key range. @throws QueryError `HEARTH_INVALID_QUERY`: no such index here. */
  scanIndex(indexId: string, range: KeyRange): Iterable<IndexEntry>;
  /** QueryStore estimate: approximate number of documents of a collection. */
  countDocs(collection: string): number;
  /** QueryStore estimate: approximate number of index entries in a range. */
  estimateRange(indexId: string, range: KeyRange): number;
  /** Releases the snapshot. Idempotent; reads after it throw `HEARTH_CLOSED`. */
  release(): void;
}

/** Writes inside {@link Database.transaction}. All of them become one log entry, or none is written. */
export interface Transaction {
  put(collection: string, id: string, doc: Document): void;
  patch(collection: string, id: string, fields: Document): void;
  delete(collection: string, id: string): void;
  /** Reads the committed document with this transaction's own writes applied. */
  get(collection: string, id: string): Document | undefined;
}

/** A handle on one collection: the Database's methods with the collection bound. */
export interface Collection {
  readonly name: string;
  put(id: string, doc: Document): Promise<void>;
  patch(id: string, fields: Document): Promise<void>;
  delete(id: string): Promise<void>;
  get(id: string): Document | undefined;
  getMany(ids: readonly string[]): (Document | undefined)[];
  iterate(options?: IterateOptions): IterableIterator<[string, Document]>;
}

/**
 * A write, checked and encoded at the call. It becomes its own {@link Op} when queued: `enqueue` sets `hlc` (0n
 * until then) and queues the draft itself, so a write makes one object, not two. Every draft is created with the
 * same properties in the same order (one hidden class); a delete has `fields` undefined.
 */
interface Draft {
  kind: 'put' | 'patch' | 'delete';
  collection: string;
  id: string;
  hlc: bigint;
  fields: PackedFields | undefined;
  /** Upper bound of its bytes in an ops payload. */
  bytes: number;
}

/** A queued unit: one write or one transaction. */
interface Unit {
  ops: Op[];
  bytes: number;
  resolve(): void;
  reject(e: unknown): void;
}

/** An entry about to be applied (its hash may not be known yet). */
interface PendingApply {
  feed: Uint8Array;
  seq: number;
  hlc: bigint;
  ops: readonly Op[];
  local: boolean;
}

/** An entry ready to apply. */
interface Applicable extends PendingApply {
  feedHex: string;
  hash: Uint8Array;
}

/** New document states and change events computed by `prepare`, not yet in the LSM. */
/** LSM key recording the excluded ranges the views were built under: `0x00 "excluded"` (`db-layout.md`). */
const EXCLUDED_META_KEY = Uint8Array.of(0x00, ...new TextEncoder().encode('excluded'));

function sameBytesOrAbsent(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Prepared {
  batch: BatchOp[];
  events: CommitEvent[];
}

/** What `prepareStates` computed: the documents' new states by collection, and the change events. */
interface PreparedStates {
  collections: Map<string, PreparedCollection>;
  events: CommitEvent[];
}

/** The prepared documents of one collection. */
interface PreparedCollection {
  name: string;
  /** Its UTF-8 bytes (`collectionBytes`). */
  bytes: Uint8Array;
  /** Whether it has maintained indexes (`IndexManager.has`): documents then keep their fields before. */
  indexed: boolean;
  byId: Map<string, PreparedDoc>;
  /** Lookups of stored states that found none, up to {@link EMPTY_CHECK_AFTER} (past it: no check to come). */
  misses: number;
  /**
   * The LSM holds no document of the collection (checked once, by `emptyCheck`: when the collection has many ops
   * in a row, or after its first misses in `preparedDoc`): every id not met before in the batch is fresh.
   */
  empty: boolean;
}

/** After this many documents of one collection with no stored state, `preparedDoc` checks the whole collection. */
const EMPTY_CHECK_AFTER = 64;

/**
 * One document's state while a batch is prepared. Exactly one form is current: `encoded` (set by the fresh-document
 * path, decoded only if something needs the state), else `state` (null together with `encoded` = empty state).
 * A dirty one is its own `put` of the LSM batch (`type`, `key`, `value`): one object per document. Every one is
 * created with all properties, in one order (one hidden class).
 */
interface PreparedDoc {
  type: 'put';
  key: Uint8Array;
  /** The encoded new state, set when the batch is built. */
  value: Uint8Array;
  state: DocState | null;
  encoded: Uint8Array | null;
  /** No state was stored and no op applied yet: the next put or delete may take the fresh path. */
  fresh: boolean;
  dirty: boolean;
  c: string;
  id: string;
  /** Visible fields before the batch, for index maintenance (undefined when the collection has no index). */
  before: ReadonlyMap<string, Uint8Array> | null | undefined;
  /**
   * Visible fields after the fresh path (null: not visible): the put's own fields (any order: every consumer looks
   * fields up by name or sorts them); undefined when they must come from `state`.
   */
  after: ReadonlyMap<string, Uint8Array> | null | undefined;
  /** The last entry (index in `prepare`'s items) that recorded this document as touched (change events). */
  touchedBy: number;
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * A document as `prepareStates` first meets it: its stored state (read from the LSM, not decoded when absent).
 * Per-op work lives in small functions (this one and {@link applyPrepared}): called thousands of times per commit,
 * they are optimized early, while the loop calling them runs once per commit.
 */
function preparedDoc(lsm: Lsm, coll: PreparedCollection, id: string): PreparedDoc {
  const key = docKey(coll.bytes, id);
  // A batch into a collection the LSM holds nothing of (a bulk load into a new collection) looks nothing up per
  // document: one range read checks the collection (`emptyCheck`); an id met before in this batch is found in
  // `byId` and never comes here again.
  let stored: Uint8Array | undefined;
  if (!coll.empty) {
    stored = lsm.get(key);
    if (stored === undefined && ++coll.misses === EMPTY_CHECK_AFTER) emptyCheck(lsm, coll);
    else if (stored !== undefined) coll.misses = EMPTY_CHECK_AFTER + 1; // holds documents: no check
  }
  const state = stored === undefined ? null : decodeDocStateV1(stored);
  return {
    type: 'put',
    key,
    value: EMPTY_BYTES,
    state,
    encoded: null,
    fresh: stored === undefined,
    dirty: false,
    c: coll.name,
    id,
    before: coll.indexed ? (state === null ? null : docFields(state)) : undefined, // for index maintenance
    after: undefined,
    touchedBy: -1,
  };
}

/** Sets `coll.empty` to whether the LSM holds no document of the collection; no check after this one. */
function emptyCheck(lsm: Lsm, coll: PreparedCollection): void {
  const it = lsm.iterate({ gte: collectionStart(coll.bytes), lt: collectionEnd(coll.bytes), limit: 1 });
  coll.empty = it.next().done === true;
  it.return?.();
  coll.misses = EMPTY_CHECK_AFTER + 1;
}

/** Applies one op of `feed` to a prepared document. */
function applyPrepared(rec: PreparedDoc, op: Op, feed: Uint8Array): void {
  if (rec.fresh && op.kind !== 'patch') {
    // A document never written here: its new state follows from the op alone (`encodeFreshState`), and so do its
    // visible fields (no decode of the state for change events or index maintenance).
    rec.encoded = encodeFreshState(op.kind, op.hlc, feed, op.kind === 'put' ? op.fields : undefined);
    rec.after = op.kind === 'put' ? op.fields : null;
    rec.fresh = false;
    rec.dirty = true;
    return;
  }
  const state = stateOf(rec);
  rec.encoded = null;
  rec.after = undefined;
  rec.fresh = false;
  const changed =
    op.kind === 'delete'
      ? applyOp(state, { type: 'delete', hlc: op.hlc, feed })
      : applyOp(state, { type: op.kind, hlc: op.hlc, feed, fields: op.fields } as Parameters<typeof applyOp>[1]);
  if (changed) rec.dirty = true;
}

/** The visible fields of a prepared document: from the fresh path when it set them, else decoded from its state. */
function afterFields(rec: PreparedDoc): ReadonlyMap<string, Uint8Array> | null {
  return rec.after !== undefined ? rec.after : docFields(stateOf(rec));
}

/** The current state of a prepared document, decoding the fresh path's bytes on demand. */
function stateOf(rec: PreparedDoc): DocState {
  if (rec.state === null) rec.state = rec.encoded !== null ? decodeDocStateV1(rec.encoded) : emptyDocState();
  return rec.state;
}

const ZERO_HASH = new Uint8Array(32);
/** Field names already found acceptable (`fieldNameProblem`), so hot loops skip the check. Bounded. */
const checkedFieldNames = new Set<string>();
/** The field names of the last document drafted (checked; see `draft`). */
let lastDraftNames: readonly string[] = [];
const MAX_PAYLOAD_BYTES = logConstants.MAX_ENTRY_BYTES - logConstants.ENTRY_MIN_BYTES;
/** Entries per LSM batch when replaying or rebuilding. */
const REPLAY_CHUNK = 256;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameFields(a: ReadonlyMap<string, Uint8Array> | null, b: ReadonlyMap<string, Uint8Array> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || (w !== v && !equalBytes(v, w))) return false;
  }
  return true;
}

type Fields = ReadonlyMap<string, Uint8Array> | null;

/**
 * A change whose documents are decoded on first access. `before`/`after` are own enumerable getters, so
 * `structuredClone`, `postMessage` and `JSON.stringify` see plain values (the sources and decoded documents are
 * private fields, which they do not see). The getters are shared functions on descriptors made once: several
 * times cheaper per change than an object literal with closures (one change per applied entry at least).
 */
class LazyChange {
  declare readonly before?: Document;
  declare readonly after?: Document;
  #bf: Fields;
  #af: Fields;
  #b: Document | undefined | null = null;
  #a: Document | undefined | null = null;
  constructor(
    readonly collection: string,
    readonly id: string,
    beforeFields: Fields,
    afterFields: Fields,
  ) {
    this.#bf = beforeFields;
    this.#af = afterFields;
    Object.defineProperty(this, 'before', BEFORE);
    Object.defineProperty(this, 'after', AFTER);
  }
  getBefore(): Document | undefined {
    if (this.#b === null) this.#b = this.#bf === null ? undefined : decodeFields(this.#bf);
    return this.#b;
  }
  getAfter(): Document | undefined {
    if (this.#a === null) this.#a = this.#af === null ? undefined : decodeFields(this.#af);
    return this.#a;
  }
}

const BEFORE: PropertyDescriptor = { get: LazyChange.prototype.getBefore, enumerable: true, configurable: true };
const AFTER: PropertyDescriptor = { get: LazyChange.prototype.getAfter, enumerable: true, configurable: true };

/** Per change: collection, id, visible fields before, visible fields after. */
type PendingChanges = (string | Fields)[];
const NO_CHANGES: PendingChanges = [];

/**
 * A {@link CommitEvent} whose `changes` are made on first access (an own enumerable getter, as `before`/`after` of a
 * change, so `structuredClone` sees a plain array): listeners that only read the feed and seq (sync announcing an
 * ingested entry) cost no change objects.
 */
class Commit {
  declare readonly changes: readonly Change[];
  #pending: PendingChanges;
  #changes: Change[] | null = null;
  constructor(
    readonly feed: Uint8Array,
    readonly seq: number,
    readonly hlc: bigint,
    readonly local: boolean,
    pending: PendingChanges,
  ) {
    this.#pending = pending;
    Object.defineProperty(this, 'changes', CHANGES);
  }
  getChanges(): readonly Change[] {
    if (this.#changes === null) {
      const p = this.#pending;
      const out: Change[] = [];
      for (let i = 0; i < p.length; i += 4) out.push(new LazyChange(p[i] as string, p[i + 1] as string, p[i + 2] as Fields, p[i + 3] as Fields));
      this.#changes = out;
      this.#pending = NO_CHANGES;
    }
    return this.#changes;
  }
}
const CHANGES: PropertyDescriptor = { get: Commit.prototype.getChanges, enumerable: true, configurable: true };

const NO_CHANGE_LIST: readonly Change[] = Object.freeze([]);

/**
 * A {@link CommitEvent} with no changes: the entry changed nothing visible, or no listener asked for the changes of
 * ingested entries (`onCommit`'s `remoteChanges`). A plain data property: defining {@link Commit}'s own getter on
 * each instance costs ~0.3 µs, once per applied entry.
 */
class BareCommit {
  declare readonly changes: readonly Change[];
  constructor(
    readonly feed: Uint8Array,
    readonly seq: number,
    readonly hlc: bigint,
    readonly local: boolean,
  ) {
    this.changes = NO_CHANGE_LIST;
  }
}

function reportListenerError(e: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === 'function') g.reportError(e);
  else
    queueMicrotask(() => {
      throw e;
    });
}

/**
 * A Hearth database replica (see the file header and `docs/db.md`).
 *
 * @example
 * ```ts
 * const db = await Database.open({ fs: new MemoryFileSystem(), name: 'notes' });
 * await db.put('notes', 'n1', { title: 'hello', tags: ['a'], embedding: new Float32Array([0.1, 0.2]) });
 * db.get('notes', 'n1'); // { embedding: Float32Array [...], tags: ['a'], title: 'hello' }
 * await db.transaction((tx) => { tx.patch('notes', 'n1', { title: 'hi' }); tx.delete('notes', 'n2'); });
 * await db.close();
 * ```
 */
export class Database {
  private readonly ownHex: string;
  private ownHead: FeedHead;
  /** Applied state vector (what the LSM reflects), by feed hex. */
  private readonly applied = new Map<string, StateVectorEntry>();
  /** Durable heads (what peers may be served), by feed hex. */
  private readonly durable = new Map<string, StateVectorEntry>();
  private readonly queue: Unit[] = [];
  private loop: Promise<void> | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  /** Commit listeners, each with whether it wants the changes of ingested entries (`onCommit`'s `remoteChanges`). */
  private readonly listeners = new Map<(e: CommitEvent) => void, boolean>();
  /** Listeners with `remoteChanges` true. */
  private remoteChangeListeners = 0;
  /** Incremented on every subscribe and unsubscribe (`emit` copies the listeners again only then). */
  private listenersVersion = 0;
  private closing = false;
  private closePromise: Promise<void> | null = null;
  private closed = false;
  private failure: DbError | null = null;
  /**
   * Entries left out of the views (`exclusions.ts`); set on open, replaced by `setExcludedRanges`. Null: none, and
   * `exclusions.ts` not loaded (a bundle loads it on first use: most databases never exclude anything).
   */
  private exclusions: ExclusionSet | null = null;
  private ownBehind: { appliedSeq: number; heldSeq: number } | null = null;
  private commits = 0;
  private opsCommitted = 0;
  /** Vector indexes (`_vectors.ts`); undefined until open has recovered the documents. */
  private vectors: VectorIndexes | undefined;
  /** Secondary indexes, queries and the adaptive policy (`_indexes.ts`). */
  private readonly ix: IndexManager;
  /** Live queries (`_live.ts`). */
  private readonly lives: LiveQueries;
  private readonly maxDocumentBytes: number;
  private readonly maxCommitBytes: number;
  /** Decoded documents for repeated reads (`_doccache.ts`); invalidated by `install`. */
  private readonly docCache: DocCache;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    /** The device keypair; its public key is this replica's feed id. */
    readonly keypair: Keypair,
    private readonly feeds: FeedStore,
    private lsm: Lsm,
    private clock: HybridClock,
    private readonly options: DatabaseOptions,
    /** What open found and did. */
    readonly recovery: RecoveryInfo,
  ) {
    this.ownHex = feedIdToHex(keypair.publicKey);
    this.ownHead = feeds.head(keypair.publicKey) ?? { seq: 0, hash: ZERO_HASH };
    this.maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
    this.maxCommitBytes = options.maxCommitBytes ?? DEFAULT_MAX_COMMIT_BYTES;
    this.ix = new IndexManager({ lsm: () => this.lsm, exclusive: (fn) => this.exclusive(fn), fs, dir, now: () => (options.wallClock ?? Date.now)() }, options.adaptiveIndexes);
    this.lives = new LiveQueries({ view: () => this.snapshot(), onCommit: (l) => this.onCommit(l) });
    this.docCache = new DocCache(() => this.lsm.sequence, options.docCacheBytes ?? DEFAULT_DOC_CACHE_BYTES);
  }

  /** This replica's feed id (the keypair's public key). */
  get feed(): Uint8Array {
    return this.keypair.publicKey;
  }

  /**
   * Opens (or creates) the database in directory `name` of `fs`: loads or creates the keypair, recovers the feed
   * store (cutting torn tails), opens the LSM, compares every feed's head with the applied state vector, replays
   * entries past it (from every feed), and starts the clock after the newest head's HLC.
   *
   * @throws CorruptionError `HEARTH_CORRUPTION` if the views cannot be trusted (the LSM refuses to open, its
   *   applied position does not decode, or a feed's entry at the applied seq has another hash): reopen with
   *   `{ rebuild: true }` to rebuild every view from the feeds. Also for a damaged keypair file, or a feed file
   *   corrupt in the middle (`repairFeeds: true` cuts it; the dropped entries can be fetched again from peers).
   * @throws IoError from the file system; TypeError / RangeError for bad options.
   */
  static async open(options: DatabaseOptions): Promise<Database> {
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
    const { fs, name } = options;
    if (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function') throw new TypeError('"options.fs" expected a FileSystem');
    if (typeof name !== 'string' || name === '') throw new TypeError('"options.name" expected a non-empty path');
    for (const [k, lo, hi] of [
      ['maxDocumentBytes', 1, MAX_PAYLOAD_BYTES],
      ['maxCommitBytes', 1, MAX_PAYLOAD_BYTES],
    ] as const) {
      const v = options[k];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < lo || v > hi)) throw new RangeError(`"${k}" expected an integer in [${lo}, ${hi}], got ${v}`);
    }
    await fs.mkdir(name);
    let keypair = options.keypair;
    let keypairCreated = false;
    if (keypair === undefined) {
      // Loaded on use: a browser app hands its keypair in (the SDK keeps it in IndexedDB), so its bundle skips this.
      const { loadOrCreateKeypair } = await import('./keypair-file.js');
      const r = await loadOrCreateKeypair(fs, name);
      keypair = r.keypair;
      keypairCreated = r.created;
    } else if (!(keypair.publicKey instanceof Uint8Array) || keypair.publicKey.length !== 32 || !(keypair.secretKey instanceof Uint8Array)) {
      throw new TypeError('"options.keypair" expected a Keypair');
    }
    // The feed store and the LSM open at the same time: on OPFS their file opens are round trips to the browser
    // process, and the feed store's scan (CPU) runs while the LSM's are in flight.
    const lsmDir = `${name}/${LSM_DIR}`;
    const opened = await Promise.allSettled([
      FeedStore.open({ fs, dir: `${name}/${FEEDS_DIR}`, repair: options.repairFeeds ?? false }),
      (async () => {
        if (options.rebuild === true && (await fs.exists(lsmDir))) await fs.remove(lsmDir, { recursive: true });
        return openLsm({ memtableBytes: DEFAULT_MEMTABLE_BYTES, ...options.lsm, fs, dir: lsmDir });
      })(),
    ] as const);
    if (opened[0].status === 'rejected' || opened[1].status === 'rejected') {
      // Release what did open (OPFS handles are exclusive), then report the feed store's failure first.
      if (opened[0].status === 'fulfilled') await opened[0].value.close().catch(() => undefined);
      if (opened[1].status === 'fulfilled') await opened[1].value.close().catch(() => undefined);
      if (opened[0].status === 'rejected') throw opened[0].reason;
      const e = (opened[1] as PromiseRejectedResult).reason as unknown;
      if (e instanceof CorruptionError) {
        throw new CorruptionError(`the document views (LSM) cannot be opened: ${e.message}. Reopen with { rebuild: true } to rebuild them from the log`, { cause: e });
      }
      throw e;
    }
    const feeds = opened[0].value;
    let lsm: Lsm | undefined = opened[1].value;
    try {
      // Views built under other excluded ranges than the file's (a crash between saving the file and rebuilding):
      // rebuild them from the log (`exclusions.ts`). Neither the file nor the LSM's record: nothing is excluded.
      const ex = (await fs.exists(`${name}/${EXCLUDED_FILE}`)) || lsm.get(EXCLUDED_META_KEY) !== undefined ? await import('./exclusions.js') : null;
      const excluded = ex === null ? [] : await ex.loadExcludedRanges(fs, name);
      let rebuilt = options.rebuild === true;
      if (ex !== null && !rebuilt && !sameBytesOrAbsent(lsm.get(EXCLUDED_META_KEY), excluded.length === 0 ? undefined : ex.encodeExcludedFileV1(excluded))) {
        await lsm.close();
        lsm = undefined;
        await fs.remove(lsmDir, { recursive: true });
        lsm = await openLsm({ memtableBytes: DEFAULT_MEMTABLE_BYTES, ...options.lsm, fs, dir: lsmDir });
        rebuilt = true;
      }
      const clock = new HybridClock({ wallClock: options.wallClock, maxDriftMs: options.maxDriftMs });
      const db = new Database(fs, name, keypair, feeds, lsm, clock, options, {
        replayed: 0,
        feedRepairs: feeds.recovered,
        lost: [],
        rebuilt,
        keypairCreated,
        vectors: { catalog: 'absent', indexes: [] },
      });
      if (ex !== null) db.exclusions = new ex.ExclusionSet(excluded);
      await db.ix.load(); // index definitions and completion records, before replay maintains them
      await db.recover();
      await db.markExclusions();
      await db.ix.resume();
      await db.openVectors(rebuilt);
      return db;
    } catch (e) {
      await lsm?.close().catch(() => undefined);
      await feeds.close().catch(() => undefined);
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------------ recovery

  /** Compares heads with the applied state vector, replays what is missing, starts the clock. */
  private async recover(): Promise<void> {
    const pos = this.lsm.appliedPosition;
    if (pos !== undefined) {
      let items: StateVectorEntry[];
      try {
        items = decodeStateVectorV1(pos);
      } catch (e) {
        throw new CorruptionError(`the LSM's applied position is not a state vector (${(e as Error).message}). Reopen with { rebuild: true }`, { cause: e });
      }
      for (const it of items) this.applied.set(feedIdToHex(it.feed), it);
    }
    const lost: { feed: Uint8Array; appliedSeq: number; heldSeq: number }[] = [];
    for (const [hex, a] of this.applied) {
      const head = this.feeds.head(a.feed);
      const held = head?.seq ?? 0;
      if (held < a.seq) {
        lost.push({ feed: a.feed, appliedSeq: a.seq, heldSeq: held });
        if (hex === this.ownHex) this.ownBehind = { appliedSeq: a.seq, heldSeq: held };
        continue;
      }
      // The head's hash is in memory; an older entry's is computed from its bytes.
      const hash = a.seq === held ? head!.hash : (await this.feeds.read(a.feed, a.seq, a.seq))[0].hash;
      if (!equalBytes(hash, a.hash)) {
        throw new CorruptionError(
          `feed ${hex.slice(0, 16)}… holds another entry at seq ${a.seq} than the views were built from. Reopen with { rebuild: true }`,
        );
      }
    }
    let replayed = 0;
    let newest = 0n;
    for (const feed of this.feeds.feeds()) {
      const head = this.feeds.head(feed);
      if (head === null) continue;
      const hex = feedIdToHex(feed);
      this.durable.set(hex, { feed, seq: head.seq, hash: head.hash });
      const hlc = this.feeds.headHlc(feed)!; // in memory: no read of the (maybe megabytes long) last entry
      if (hlc > newest) newest = hlc;
      const from = (this.applied.get(hex)?.seq ?? 0) + 1;
      replayed += await this.replayFeed(feed, from, head.seq);
    }
    // Invariant 4: stamps after a restart are above every stamp held (the own head's first of all).
    this.clock = new HybridClock({ wallClock: this.options.wallClock, maxDriftMs: this.options.maxDriftMs, last: newest });
    (this.recovery as { replayed: number }).replayed = replayed;
    (this.recovery as { lost: unknown }).lost = lost;
  }

  /** Applies entries `from..to` of `feed` (no change events). Returns the number applied. */
  private async replayFeed(feed: Uint8Array, from: number, to: number): Promise<number> {
    const hex = feedIdToHex(feed);
    let n = 0;
    for (let s = from; s <= to; s += REPLAY_CHUNK) {
      const entries = await this.feeds.read(feed, s, Math.min(to, s + REPLAY_CHUNK - 1));
      const items: Applicable[] = entries.map((e) => {
        let ops: Op[];
        try {
          ops = decodeOpsV1(e.ops, { checkValues: false });
        } catch (err) {
          throw new CorruptionError(`stored entry ${hex.slice(0, 16)}…/${e.seq} has a malformed ops payload: ${(err as Error).message}`, { cause: err });
        }
        return { feed: e.feed, feedHex: hex, seq: e.seq, hash: e.hash, hlc: e.hlc, ops, local: hex === this.ownHex };
      });
      await this.apply(items, false).done;
      n += items.length;
    }
    return n;
  }

  /**
   * Rebuilds every view from the feeds alone: drops the LSM's files, replays every entry of every feed, flushes.
   * Waits for queued writes first. Snapshots taken before are invalidated (`HEARTH_CLOSED`). Emits no change
   * events (re-run live queries afterwards). If the own feed is behind (`HEARTH_FEED_BEHIND`), writes stay
   * refused in this session; but the rebuilt views no longer record the lost entries, so after a reopen the guard
   * is gone: restore the own feed by `ingest` before rebuilding.
   * @throws IoError / CorruptionError from the file system or a damaged feed.
   */
  async rebuild(): Promise<void> {
    this.checkOpen();
    await this.drain();
    await this.ix.cancelBuilds();
    await this.exclusive(async () => {
      this.checkOpen();
      await this.rebuildViews();
    });
  }

  /** The body of {@link Database.rebuild}. REQUIRES: inside `exclusive`, queue drained, index builds cancelled. */
  private async rebuildViews(): Promise<void> {
    {
      await this.lsm.close();
      const lsmDir = `${this.dir}/${LSM_DIR}`;
      if (await this.fs.exists(lsmDir)) await this.fs.remove(lsmDir, { recursive: true });
      this.lsm = await openLsm({ memtableBytes: DEFAULT_MEMTABLE_BYTES, ...this.options.lsm, fs: this.fs, dir: lsmDir });
      this.docCache.clear(); // a new LSM: sequence numbers start again
      this.applied.clear();
      this.vectors?.pause(); // vector indexes are rebuilt from the documents once they are replayed
      await this.ix.afterRebuildOpen(); // every index complete and maintained by the replay
      for (const feed of this.feeds.feeds()) {
        const head = this.feeds.head(feed);
        if (head !== null) await this.replayFeed(feed, 1, head.seq);
      }
      await this.markExclusions();
      await this.lsm.flush();
      await this.vectors?.rebuildAll();
      // `ownBehind` stays: the lost own entries are still lost, and the rebuilt views no longer show it.
    }
  }

  // ------------------------------------------------------------------------------------------ excluded ranges

  /**
   * Sets the entries to leave out of every view (`exclusions.ts`): entries of `range.feed` with an HLC `h` such
   * that `after < h <= upTo` (a null bound is open). They stay stored in the feeds (the log is append-only) and
   * keep being served by `entriesSince`; only documents, indexes and vectors ignore them. The sync layer calls this
   * with the ranges its membership view refuses (a removed device's entries after its removal), so that replicas
   * that stored such entries before they learnt of the removal converge with those that refused them.
   *
   * The ranges replace the previous ones and are persisted (`<name>/excluded`, `docs/formats/db-layout.md`). If the
   * change alters whether an entry held here is excluded, the views are rebuilt from the log (as {@link rebuild}:
   * no change events; live queries should be re-run). Waits for queued writes first.
   * @param ranges any order; overlapping ranges are merged.
   * @returns whether the views were rebuilt.
   * @throws TypeError / RangeError for a malformed range; IoError from the file system.
   */
  async setExcludedRanges(ranges: readonly ExcludedRange[]): Promise<boolean> {
    this.checkOpen();
    if (Array.isArray(ranges) && ranges.length === 0 && this.exclusions === null) return false; // none before, none now
    const { ExclusionSet, normalizeRanges, sameRanges, saveExcludedRanges } = await import('./exclusions.js');
    this.checkOpen();
    const next = normalizeRanges(ranges);
    const nextSet = new ExclusionSet(next);
    const current = (): ExclusionSet => (this.exclusions ??= new ExclusionSet([]));
    for (;;) {
      if (sameRanges(next, current().ranges)) return false;
      await this.drain();
      // Index builds must stop before a rebuild, outside the lock (as `rebuild`): decide first, check again inside.
      const cancelled = await this.statusChanges(current(), nextSet);
      if (cancelled) await this.ix.cancelBuilds();
      const r = await this.exclusive(async (): Promise<boolean | 'retry'> => {
        this.checkOpen();
        if (sameRanges(next, current().ranges)) return false;
        const affected = await this.statusChanges(current(), nextSet);
        if (affected && !cancelled) return 'retry'; // an entry arrived meanwhile: cancel the builds first
        await saveExcludedRanges(this.fs, this.dir, next);
        this.exclusions = nextSet;
        if (affected) await this.rebuildViews();
        else await this.markExclusions();
        return affected;
      });
      if (r === 'retry') continue;
      if (cancelled && !r) await this.ix.resume(); // builds stopped for a rebuild that turned out unneeded
      return r;
    }
  }

  /** The current excluded ranges (normalized: ascending by feed, then lower bound). */
  excludedRanges(): ExcludedRange[] {
    return (this.exclusions?.ranges ?? []).map((r) => ({ feed: r.feed.slice(), after: r.after, upTo: r.upTo }));
  }

  /** Whether some entry held changes its exclusion status between two sets. Reads the HLCs of the feeds involved. */
  private async statusChanges(a: ExclusionSet, b: ExclusionSet): Promise<boolean> {
    const hexes = new Set([...a.feeds(), ...b.feeds()]);
    for (const feed of this.feeds.feeds()) {
      const hex = feedIdToHex(feed);
      if (!hexes.has(hex)) continue;
      const head = this.feeds.head(feed);
      if (head === null) continue;
      for (let s = 1; s <= head.seq; s += REPLAY_CHUNK) {
        const entries = await this.feeds.read(feed, s, Math.min(head.seq, s + REPLAY_CHUNK - 1));
        for (const e of entries) if (a.excludes(hex, e.hlc) !== b.excludes(hex, e.hlc)) return true;
      }
    }
    return false;
  }

  /** Records in the LSM which excluded ranges the views were built under (checked on open). */
  private async markExclusions(): Promise<void> {
    const ex = this.exclusions;
    if ((ex === null || ex.size === 0) && this.lsm.get(EXCLUDED_META_KEY) === undefined) return;
    const want = ex === null || ex.size === 0 ? undefined : (await import('./exclusions.js')).encodeExcludedFileV1(ex.ranges);
    if (sameBytesOrAbsent(this.lsm.get(EXCLUDED_META_KEY), want)) return;
    const op: BatchOp = want === undefined ? { type: 'del', key: EXCLUDED_META_KEY } : { type: 'put', key: EXCLUDED_META_KEY, value: want };
    await this.lsm.batch([op], { position: encodeStateVectorV1([...this.applied.values()]) });
  }

  // ------------------------------------------------------------------------------------------------ writes

  /**
   * Replaces (or creates) document `id` of `collection` with `doc`. Resolves once the write is signed, durable in
   * the own feed and applied (a read afterwards sees it). Top-level fields are the CRDT's last-writer-wins
   * registers; nested objects and arrays are values, replaced whole.
   * @throws (rejects with) DbError `HEARTH_INVALID_KEY`, `HEARTH_UNSUPPORTED_VALUE`, `HEARTH_DOCUMENT_TOO_LARGE`,
   *   `HEARTH_FEED_BEHIND`, `HEARTH_DB_FAILED`; IoError `HEARTH_CLOSED`, `HEARTH_QUOTA_EXCEEDED` and other I/O
   *   errors. Bad input writes nothing.
   */
  put(collection: string, id: string, doc: Document): Promise<void> {
    try {
      return this.enqueue([this.draft('put', collection, id, doc)]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Writes some fields of document `id` (JSON Merge Patch at the top level, RFC 7396): a field set to `null` is
   * removed, `undefined` is ignored, others are written. Patching a missing or deleted document creates it with
   * these fields (CRDT semantics: the patch is newer). Same promise and errors as {@link Database.put}.
   */
  patch(collection: string, id: string, fields: Document): Promise<void> {
    try {
      return this.enqueue([this.draft('patch', collection, id, fields)]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Deletes document `id` (a tombstone). Same promise and errors as {@link Database.put}. */
  delete(collection: string, id: string): Promise<void> {
    try {
      return this.enqueue([this.draft('delete', collection, id)]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Runs `fn` and commits the writes it makes through `tx` as **one** log entry: all of them or none. If `fn`
   * throws (or a write inside it is refused), nothing is written and the error is rethrown. Resolves with `fn`'s
   * result once the entry is durable and applied. Transactions do not isolate reads from concurrent commits
   * (`tx.get` reads the latest committed state plus the transaction's own writes); use `snapshot()` for that.
   * @throws LogError `HEARTH_ENTRY_TOO_LARGE` if the writes exceed one entry (16 MiB); the errors of `put`.
   */
  async transaction<T>(fn: (tx: Transaction) => T | Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('"fn" expected a function');
    this.checkWritable();
    const drafts: Draft[] = [];
    let open = true;
    const check = (): void => {
      if (!open) throw new TypeError('transaction used after its function returned');
    };
    const tx: Transaction = {
      put: (c, id, doc) => {
        check();
        drafts.push(this.draft('put', c, id, doc));
      },
      patch: (c, id, fields) => {
        check();
        drafts.push(this.draft('patch', c, id, fields));
      },
      delete: (c, id) => {
        check();
        drafts.push(this.draft('delete', c, id));
      },
      get: (c, id) => {
        check();
        return this.txRead(c, id, drafts);
      },
    };
    let result: T;
    try {
      result = await fn(tx);
    } finally {
      open = false;
    }
    if (drafts.length === 0) return result;
    let bytes = 0;
    for (const d of drafts) bytes += d.bytes;
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new LogError(LogErrorCode.ENTRY_TOO_LARGE, `transaction of about ${bytes} bytes exceeds one entry (${MAX_PAYLOAD_BYTES} bytes of ops)`);
    }
    await this.enqueue(drafts);
    return result;
  }

  /** The document as a transaction sees it: committed state with the drafts applied in order. */
  private txRead(collection: string, id: string, drafts: readonly Draft[]): Document | undefined {
    let doc = readDoc(this.lsm, collection, id, this.docCache);
    for (const d of drafts) {
      if (d.collection !== collection || d.id !== id) continue;
      if (d.kind === 'delete') doc = undefined;
      else if (d.kind === 'put') doc = decodeFields(d.fields as ReadonlyMap<string, Uint8Array>);
      else {
        const next: Document = { ...(doc ?? {}) };
        for (const [k, v] of d.fields!) {
          if (v === null) delete next[k];
          else Object.defineProperty(next, k, { value: decodeFields(new Map([[k, v]]))[k], enumerable: true, writable: true, configurable: true });
        }
        doc = next;
      }
    }
    return doc;
  }

  /** Checks and encodes one write. @throws the errors of `put` (synchronously). */
  private draft(kind: Draft['kind'], collection: string, id: string, doc?: Document): Draft {
    this.checkWritable();
    const c = collectionBytes(collection);
    checkId(id, collection);
    let bytes = 24 + c.length + id.length * 3;
    if (kind === 'delete') return { kind, collection, id, hlc: 0n, fields: undefined, bytes };
    if (!isPlainObject(doc)) {
      throw new DbError(DbErrorCode.UNSUPPORTED_VALUE, `a document must be a plain object, got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}`, { collection, id });
    }
    if (Object.getOwnPropertySymbols(doc).length > 0) throw new DbError(DbErrorCode.UNSUPPORTED_VALUE, 'a document has symbol keys', { collection, id });
    // The values are encoded back to back into one array (`_packed.ts`): few objects per write.
    const keys = Object.keys(doc);
    let names = keys;
    // Documents written together usually have the same field names in the same order: names equal to the last
    // draft's at the same position were checked already, and when all are equal its names array is reused (the
    // ops and state encoders recognise a names array they saw by identity).
    const last = lastDraftNames;
    let same = true;
    const spans: number[] = new Array(2 * keys.length);
    let docBytes = 0;
    packStart();
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i];
      const v = doc[name];
      if (v === undefined) {
        if (names === keys) names = keys.slice(0, i); // from here on, copy the names that are kept
        continue;
      }
      const f = names === keys ? i : names.push(name) - 1;
      if (name !== last[f]) {
        same = false;
        if (!checkedFieldNames.has(name)) {
          const problem = fieldNameProblem(name);
          if (problem !== null) throw new DbError(DbErrorCode.UNSUPPORTED_VALUE, problem, { collection, id });
          if (checkedFieldNames.size >= 4096) checkedFieldNames.clear();
          checkedFieldNames.add(name);
        }
      }
      if (v === null && kind === 'patch') {
        spans[2 * f] = 0;
        spans[2 * f + 1] = -1;
        docBytes += name.length;
        bytes += name.length * 3 + 4;
        continue;
      }
      let at: number;
      try {
        at = packValue(v as DocValue, name);
      } catch (e) {
        if (e instanceof DbError) throw new DbError(e.code as typeof DbErrorCode.UNSUPPORTED_VALUE, e.message, { collection, id });
        throw e;
      }
      const len = packOffset() - at;
      spans[2 * f] = at;
      spans[2 * f + 1] = len;
      docBytes += name.length + len;
      bytes += name.length * 3 + 10 + len;
    }
    if (names !== keys) spans.length = 2 * names.length;
    if (same && names.length === last.length) names = last as string[];
    else lastDraftNames = names; // never changed from here on (`_packed.ts` invariant 2)
    const fields = new PackedFields(names, packEnd(spans, names.length), spans);
    if (docBytes > this.maxDocumentBytes) {
      throw new DbError(DbErrorCode.DOCUMENT_TOO_LARGE, `document of ${docBytes} bytes exceeds the limit of ${this.maxDocumentBytes}`, { collection, id });
    }
    return { kind, collection, id, hlc: 0n, fields, bytes };
  }

  /**
   * Stamps drafts in order and queues them as one unit (the drafts become its ops). One draft takes `clock.now()`;
   * several take consecutive stamps from one `clock.now()` (the HLC's counter advancing, as when the wall clock
   * has not moved), and the clock restarts after the last (as on open): one clock reading per transaction.
   * @throws RangeError if the HLC is exhausted (nothing is queued).
   */
  private enqueue(drafts: Draft[]): Promise<void> {
    this.checkWritable();
    let bytes = 0;
    let hlc = this.clock.now();
    const n = drafts.length;
    for (let i = 0; i < n; i++) {
      const d = drafts[i];
      bytes += d.bytes;
      if (i > 0) hlc += 1n;
      d.hlc = hlc;
    }
    if (n > 1) this.clock = new HybridClock({ wallClock: this.options.wallClock, maxDriftMs: this.options.maxDriftMs, last: hlc });
    const ops = drafts as Op[];
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, bytes, resolve, reject });
      if (this.loop === null) this.loop = this.runLoop();
    });
  }

  /** Commits queued units until the queue is empty. */
  private async runLoop(): Promise<void> {
    try {
      // Let the current turn finish queueing: writes issued together form one entry.
      await Promise.resolve();
      while (this.queue.length > 0) await this.exclusive(() => this.commitNext());
    } finally {
      this.loop = null;
      if (this.queue.length > 0) this.loop = this.runLoop();
    }
  }

  /** Waits until every queued write has been committed (or refused). */
  private async drain(): Promise<void> {
    while (this.loop !== null) await this.loop;
  }

  /**
   * One group commit: sign one entry for the queued units (up to the size cap), make it durable, apply it.
   * The new document states are computed while the entry is hashed and signed (`prepareStates`: WebCrypto works
   * off this thread; a failure there rejects the writes and writes nothing), the LSM batch with its index changes
   * while the entry is synced (`batchOf`); they reach the memtable only after the entry is durable (invariant 1).
   * A failure to build the batch after the entry was written leaves a durable, unapplied entry: the database
   * refuses writes until reopened (the replay applies it or reports why not), and the writes are rejected with
   * the error (their outcome is the replay's).
   */
  private async commitNext(): Promise<void> {
    const units: Unit[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && (units.length === 0 || bytes + this.queue[0].bytes <= this.maxCommitBytes)) {
      const u = this.queue.shift()!;
      units.push(u);
      bytes += u.bytes;
    }
    const fail = (e: unknown): void => {
      for (const u of units) u.reject(e);
    };
    if (this.failure !== null) return fail(this.failure);
    if (this.ownBehind !== null) return fail(this.feedBehindError());
    const ops: Op[] = units.length === 1 ? units[0].ops : units.flatMap((u) => u.ops);
    const seq = this.ownHead.seq + 1;
    const hlc = ops[ops.length - 1].hlc;
    let entry: VerifiedEntry;
    let states: PreparedStates;
    try {
      const payload = encodeOpsV1(ops);
      const signing = signEntry({ seq, prev: seq === 1 ? undefined : this.ownHead.hash, hlc, ops: payload }, this.keypair, this.options.crypto);
      // The new document states are computed while the entry is hashed and signed (WebCrypto works off this
      // thread); they change nothing until installed, and are dropped if signing or the append fails.
      try {
        states = this.prepareStates([{ feed: this.keypair.publicKey, seq, hlc, ops, local: true }], true);
      } catch (e) {
        signing.catch(() => undefined);
        throw e;
      }
      entry = await signing;
      await this.feeds.append([entry]); // a failed append is cut back by the feed store: nothing was written
    } catch (e) {
      return fail(e);
    }
    // The LSM batch (with the index changes, which an index being built records) is built while the entry is
    // synced (the fsync runs off the main thread); it reaches the memtable only after the sync succeeded
    // (invariant 1).
    const syncing = this.feeds.sync();
    syncing.catch(() => undefined); // awaited below
    let prepared: Prepared | undefined;
    let prepareError: unknown;
    try {
      prepared = { batch: this.batchOf(states), events: states.events };
    } catch (e) {
      prepareError = e;
    }
    try {
      await syncing;
    } catch (e) {
      // The entry may or may not be durable: refuse further writes until reopen (which replays what survived).
      this.failure = new DbError(DbErrorCode.FAILED, `a commit's sync failed (${(e as Error).message}); close and reopen the database`, { cause: e });
      return fail(e);
    }
    this.ownHead = { seq: entry.seq, hash: entry.hash };
    this.durable.set(this.ownHex, { feed: entry.feed, seq: entry.seq, hash: entry.hash });
    let done: Promise<void>;
    try {
      if (prepared === undefined) throw prepareError;
      done = this.install(prepared, [entry]);
    } catch (e) {
      // The entry is durable but not applied: the outcome of these writes is what the replay on reopen makes of it.
      this.failure = new DbError(DbErrorCode.FAILED, `applying a durable entry failed (${(e as Error).message}); close and reopen the database (it replays the entry)`, { cause: e });
      return fail(e);
    }
    this.commits++;
    this.opsCommitted += ops.length;
    for (const u of units) u.resolve();
    this.emit(prepared.events);
    try {
      await done; // back-pressure: wait while the LSM has no room for another memtable
    } catch (e) {
      this.failure ??= new DbError(DbErrorCode.FAILED, `the LSM failed (${(e as Error).message}); close and reopen the database`, { cause: e });
    }
  }

  /** Applies entries: {@link Database.prepare} then {@link Database.install}. REQUIRES: as `prepare`, entries durable. */
  private apply(items: readonly Applicable[], emit: boolean): { events: CommitEvent[]; done: Promise<void> } {
    const prepared = this.prepare(items, emit);
    return { events: prepared.events, done: this.install(prepared, items) };
  }

  /**
   * Computes the new document states of entries (reading the current ones from the LSM) and the change events
   * (only when `emit` and someone listens), without changing anything. REQUIRES: inside `exclusive` (no other
   * write may reach the LSM before the matching `install`), each feed's entries in seq order.
   */
  private prepare(items: readonly PendingApply[], emit: boolean): Prepared {
    const p = this.prepareStates(items, emit);
    return { batch: this.batchOf(p), events: p.events };
  }

  /**
   * The first half of {@link Database.prepare}: the new states and the change events. Reads the LSM and changes
   * nothing anywhere (a commit runs it while its entry is signed, and drops it if signing or the append fails).
   * REQUIRES: as `prepare`.
   */
  private prepareStates(items: readonly PendingApply[], emit: boolean): PreparedStates {
    const wantEvents = emit && this.listeners.size > 0;
    // Changes of ingested entries only when some listener asked for them (`onCommit`'s `remoteChanges`).
    const remoteChanges = wantEvents && this.remoteChangeListeners > 0;
    // collection -> id -> document (nested: no key string built per op)
    const collections = new Map<string, PreparedCollection>();
    let cur: PreparedCollection | undefined;
    const events: CommitEvent[] = [];
    // The documents the current entry touched, each once, in first-touched order, with their visible fields before.
    const touched: PreparedDoc[] = [];
    const touchedBefore: (ReadonlyMap<string, Uint8Array> | null)[] = [];
    let nTouched = 0;
    for (let n = 0; n < items.length; n++) {
      const item = items[n];
      // An entry in an excluded range is stored and counted as applied, but its ops change no view.
      if (this.exclusions !== null && this.exclusions.size > 0 && this.exclusions.excludes(feedIdToHex(item.feed), item.hlc)) continue;
      const wantChanges = item.local ? wantEvents : remoteChanges;
      const ops = item.ops;
      for (let o = 0; o < ops.length; o++) {
        const op = ops[o];
        if (cur === undefined || cur.name !== op.collection) {
          cur = collections.get(op.collection);
          if (cur === undefined) {
            const name = op.collection;
            collections.set(name, (cur = { name, bytes: collectionBytes(name), indexed: this.ix.has(name), byId: new Map(), misses: 0, empty: false }));
            // Many ops of it ahead (a bulk write): check the collection now, before any per-document lookup.
            if (o + EMPTY_CHECK_AFTER < ops.length && ops[o + EMPTY_CHECK_AFTER].collection === name) emptyCheck(this.lsm, cur);
          }
        }
        let rec = cur.byId.get(op.id);
        if (rec === undefined) cur.byId.set(op.id, (rec = preparedDoc(this.lsm, cur, op.id)));
        if (wantChanges && rec.touchedBy !== n) {
          rec.touchedBy = n;
          touched[nTouched] = rec;
          touchedBefore[nTouched++] = rec.fresh ? null : afterFields(rec);
        }
        applyPrepared(rec, op, item.feed);
      }
      if (wantChanges) {
        let pending = NO_CHANGES;
        for (let t = 0; t < nTouched; t++) {
          const rec = touched[t];
          const before = touchedBefore[t];
          const after = afterFields(rec);
          if (!sameFields(before, after)) {
            if (pending === NO_CHANGES) pending = [];
            pending.push(rec.c, rec.id, before, after);
          }
        }
        nTouched = 0;
        events.push(pending === NO_CHANGES ? new BareCommit(item.feed, item.seq, item.hlc, item.local) : new Commit(item.feed, item.seq, item.hlc, item.local, pending));
      } else if (wantEvents) {
        events.push(new BareCommit(item.feed, item.seq, item.hlc, item.local));
      }
    }
    return { collections, events };
  }

  /**
   * The second half of {@link Database.prepare}: the LSM batch of prepared states, with the index changes they
   * make (an index being built records the documents written: run this only for entries that will be installed).
   */
  private batchOf(p: PreparedStates): BatchOp[] {
    const batch: BatchOp[] = [];
    for (const coll of p.collections.values()) {
      let writes = 0;
      for (const rec of coll.byId.values()) {
        if (!rec.dirty) continue;
        rec.value = rec.encoded ?? encodeDocStateV1(rec.state!);
        batch.push(rec);
        writes++;
        // Index entries go into the same batch as the document (docs/formats/db-layout.md).
        if (rec.before !== undefined) this.ix.maintainFields(rec.c, rec.id, rec.before, afterFields(rec), batch);
      }
      if (writes > 0) this.ix.noteWrite(coll.name, writes);
    }
    return batch;
  }

  /**
   * Writes prepared states to the LSM in one batch whose position is the applied state vector including
   * `heads` (invariant 2). The memtable is updated before this returns; the promise resolves when the LSM has room
   * again. REQUIRES: the entries are durable; nothing reached the LSM since `prepare`.
   */
  private install(prepared: Prepared, heads: readonly { feed: Uint8Array; feedHex?: string; seq: number; hash: Uint8Array }[]): Promise<void> {
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      const next = heads[i + 1];
      // Heads come in runs of one feed in seq order: only the last of a run can become the feed's applied head.
      if (next !== undefined && h.feedHex !== undefined && next.feedHex === h.feedHex && next.seq > h.seq) continue;
      const hex = h.feedHex ?? feedIdToHex(h.feed);
      const prev = this.applied.get(hex);
      if (prev === undefined || h.seq > prev.seq) this.applied.set(hex, { feed: h.feed, seq: h.seq, hash: h.hash });
    }
    this.docCache.invalidate(prepared.batch); // same turn as the memtable update (`_doccache.ts`, invariant 1)
    const done = this.lsm.batch(prepared.batch, { position: encodeStateVectorV1([...this.applied.values()]) });
    this.vectors?.applyBatch(prepared.batch); // same turn as the memtable update (`_vectors.ts`, invariant 1)
    return done;
  }

  private emit(events: readonly CommitEvent[]): void {
    if (this.listeners.size === 0) return;
    // Each event goes to the listeners registered when it is delivered: the list is copied again only after a
    // listener subscribed or unsubscribed (one copy per batch, not per event).
    let version = -1;
    let list: ((e: CommitEvent) => void)[] = [];
    for (const ev of events) {
      if (version !== this.listenersVersion) {
        version = this.listenersVersion;
        list = [...this.listeners.keys()];
      }
      for (let i = 0; i < list.length; i++) {
        const l = list[i];
        if (version !== this.listenersVersion && !this.listeners.has(l)) continue; // unsubscribed meanwhile
        try {
          l(ev);
        } catch (e) {
          reportListenerError(e);
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ ingest

  /**
   * Ingests entries of other feeds (or of this replica's own feed, restoring it), e.g. received by sync.
   * Accepts encoded entries or decoded {@link UnverifiedEntry} objects (re-decoded from their `bytes`), in any
   * order, duplicates allowed. Per feed, entries are sorted by seq; those the store already holds (identical) are
   * skipped; the rest must continue the feed's head: each consecutive run is checked with `verifyRange` (one
   * signature, the hash chain), every ops payload is decoded and checked, op stamps must not exceed their entry's
   * HLC, and the clock observes each entry's HLC (`HEARTH_CLOCK_DRIFT` if too far ahead). Accepted entries are
   * appended, synced (one fsync for the call), then applied, with one change event each.
   *
   * An error in one feed stops that feed at the refused entry (the result names it) and does not affect others;
   * nothing already stored is touched. A different entry at a held seq (or one that does not link to the head) is
   * a fork: evidence is kept and the feed frozen (`ForkError`), as the feed store does.
   *
   * @throws LogError `HEARTH_MALFORMED_ENTRY` / `HEARTH_ENTRY_TOO_LARGE` if an input does not decode (then nothing
   *   is ingested); IoError `HEARTH_CLOSED`; I/O errors (a failed sync also sets `HEARTH_DB_FAILED`).
   */
  async ingest(input: readonly (Uint8Array | UnverifiedEntry)[]): Promise<IngestResult> {
    this.checkOpen();
    if (!Array.isArray(input)) throw new TypeError('"input" expected an array of entries');
    const byFeed = new Map<string, UnverifiedEntry[]>();
    let lastFeed: Uint8Array | null = null;
    let lastHex = '';
    for (let i = 0; i < input.length; i++) {
      const x = input[i];
      // An entry object this process's decoder made is used as it is (its fields are views of its bytes); any other
      // object is decoded again from its bytes, so hand-made fields are never trusted.
      let e: UnverifiedEntry;
      if (isDecodedEntry(x)) e = x;
      else {
        const bytes = x instanceof Uint8Array ? x : (x as UnverifiedEntry)?.bytes;
        if (!(bytes instanceof Uint8Array)) throw new TypeError(`"input[${i}]" expected Uint8Array or UnverifiedEntry`);
        e = decodeEntryV1(bytes);
      }
      // Entries of one feed usually come together: reuse the previous entry's hex when the feed is the same.
      const hex = lastFeed !== null && equalBytes(e.feed, lastFeed) ? lastHex : feedIdToHex(e.feed);
      lastFeed = e.feed;
      lastHex = hex;
      let list = byFeed.get(hex);
      if (list === undefined) byFeed.set(hex, (list = []));
      list.push(e);
    }
    return this.exclusive(async () => {
      this.checkOpen();
      if (this.failure !== null) throw this.failure;
      const results: IngestFeedResult[] = [];
      const toApply: Applicable[] = [];
      const ctx = { appendAttempted: false };
      for (const hex of [...byFeed.keys()].sort()) {
        try {
          results.push(await this.ingestFeed(byFeed.get(hex)!, toApply, ctx));
        } catch (e) {
          // An I/O failure after entries were appended (not yet synced or applied): the views would miss them
          // until the next open replays them, so refuse further writes until then.
          if (ctx.appendAttempted) {
            this.failure = new DbError(DbErrorCode.FAILED, `an ingest failed after appending entries (${(e as Error).message}); close and reopen the database`, { cause: e });
          }
          throw e;
        }
      }
      if (toApply.length > 0) {
        try {
          await this.feeds.sync();
        } catch (e) {
          this.failure = new DbError(DbErrorCode.FAILED, `an ingest's sync failed (${(e as Error).message}); close and reopen the database`, { cause: e });
          throw e;
        }
        for (let i = 0; i < toApply.length; i++) {
          const a = toApply[i];
          const next = toApply[i + 1];
          if (next !== undefined && next.feedHex === a.feedHex && next.seq > a.seq) continue; // as in `install`
          const prev = this.durable.get(a.feedHex);
          if (prev === undefined || a.seq > prev.seq) this.durable.set(a.feedHex, { feed: a.feed, seq: a.seq, hash: a.hash });
        }
        const own = this.feeds.head(this.keypair.publicKey);
        if (own !== null && own.seq > this.ownHead.seq) this.ownHead = own;
        if (this.ownBehind !== null && this.ownHead.seq >= this.ownBehind.appliedSeq) this.ownBehind = null;
        for (let i = 0; i < toApply.length; i += REPLAY_CHUNK) {
          const applied = this.apply(toApply.slice(i, i + REPLAY_CHUNK), true);
          this.emit(applied.events);
          await applied.done;
        }
      }
      let appended = 0;
      let duplicates = 0;
      for (const r of results) {
        appended += r.appended;
        duplicates += r.duplicates;
      }
      return { feeds: results, appended, duplicates, ok: results.every((r) => r.error === undefined) };
    });
  }

  /** Ingests the entries of one feed (see `ingest`); pushes what it appended onto `toApply`. */
  private async ingestFeed(list: UnverifiedEntry[], toApply: Applicable[], ctx: { appendAttempted: boolean }): Promise<IngestFeedResult> {
    const feed = list[0].feed;
    const hex = feedIdToHex(feed);
    list.sort((a, b) => a.seq - b.seq);
    let appended = 0;
    let duplicates = 0;
    let error: HearthError | undefined;
    const local = hex === this.ownHex;
    try {
      // Identical duplicates inside the input are dropped; a different entry at the same seq is kept for later
      // (after the first one is stored it shows up as a fork).
      const first: UnverifiedEntry[] = [];
      const conflicting: UnverifiedEntry[] = [];
      for (const e of list) {
        const last = first[first.length - 1];
        if (last !== undefined && last.seq === e.seq) {
          if (equalBytes(last.bytes, e.bytes)) duplicates++;
          else conflicting.push(e);
        } else first.push(e);
      }
      for (const pass of [first, conflicting]) {
        if (pass.length === 0) continue;
        let head = this.feeds.head(feed)?.seq ?? 0;
        // Entries at or below the head: identical ones are duplicates; others are fork candidates.
        const held = pass.filter((e) => e.seq <= head);
        if (held.length > 0) {
          const stored = await this.feeds.read(feed, held[0].seq, held[held.length - 1].seq);
          for (const e of held) {
            if (equalBytes(stored[e.seq - held[0].seq].bytes, e.bytes)) {
              duplicates++;
              continue;
            }
            const v = await verifyEntry(e, this.options.crypto); // only a validly signed entry is fork evidence
            ctx.appendAttempted = true;
            await this.feeds.append([v]); // throws ForkError (evidence kept, feed frozen)
          }
        }
        const fresh = pass.filter((e) => e.seq > head);
        if (fresh.length === 0) continue;
        if (fresh[0].seq !== head + 1) {
          throw new LogError(LogErrorCode.SEQUENCE_GAP, `entries start at seq ${fresh[0].seq}, the feed's head is ${head}`, { feed: hex, seq: fresh[0].seq });
        }
        // The run up to the first gap (verifyRange reports the gap after accepting nothing: check it ourselves).
        let end = 1;
        while (end < fresh.length && fresh[end].seq === fresh[end - 1].seq + 1) end++;
        const verified = await verifyRange(fresh.slice(0, end), this.options.crypto);
        const accepted: VerifiedEntry[] = [];
        const decoded: Op[][] = [];
        let stop: HearthError | undefined;
        for (const v of verified) {
          try {
            const ops = decodeOpsV1(v.ops, { checkValues: true });
            for (const op of ops) {
              if (op.hlc > v.hlc) throw new DbError(DbErrorCode.MALFORMED_OPS, `an op's stamp is later than its entry's HLC (entry ${v.seq})`);
            }
            this.clock.receive(v.hlc);
            accepted.push(v);
            decoded.push(ops);
          } catch (e) {
            if (!(e instanceof ClockDriftError || (e instanceof DbError && e.code === DbErrorCode.MALFORMED_OPS))) throw e;
            stop = e;
            break;
          }
        }
        if (accepted.length > 0) {
          ctx.appendAttempted = true;
          const r = await this.feeds.append(accepted);
          appended += r.appended;
          duplicates += r.duplicates;
          accepted.forEach((v, i) => toApply.push({ feed: v.feed, feedHex: hex, seq: v.seq, hash: v.hash, hlc: v.hlc, ops: decoded[i], local }));
          head = accepted[accepted.length - 1].seq;
        }
        if (stop !== undefined) throw stop;
        if (end < fresh.length) {
          throw new LogError(LogErrorCode.SEQUENCE_GAP, `expected seq ${head + 1}, got ${fresh[end].seq}`, { feed: hex, seq: fresh[end].seq });
        }
      }
    } catch (e) {
      // Only the input's faults are per-feed results; I/O failures and corruption of this replica propagate.
      if (!(e instanceof LogError || e instanceof ClockDriftError || (e instanceof DbError && e.code === DbErrorCode.MALFORMED_OPS))) throw e;
      error = e;
    }
    return { feed, appended, duplicates, head: this.feeds.head(feed)?.seq ?? 0, ...(error !== undefined ? { error } : {}) };
  }

  // ------------------------------------------------------------------------------------------------ sync support

  /**
   * The state vector this replica can serve: per feed held, the last durable seq and its hash, ascending by feed.
   */
  stateVector(): StateVectorEntry[] {
    this.checkOpen();
    return [...this.durable.values()]
      .sort((a, b) => (feedIdToHex(a.feed) < feedIdToHex(b.feed) ? -1 : 1))
      .map((e) => ({ feed: e.feed.slice(), seq: e.seq, hash: e.hash.slice() }));
  }

  /** The applied state vector: what the documents reflect (equal to {@link stateVector} except after a loss). */
  appliedStateVector(): StateVectorEntry[] {
    this.checkOpen();
    return decodeStateVectorV1(encodeStateVectorV1([...this.applied.values()]));
  }

  /**
   * Durable entries of `feed` after `seq` (at most `limit`, default 1,000), in seq order, for serving a peer.
   * `[]` if there are none. Each has `bytes` (the encoded entry) to send.
   * @throws RangeError if `seq` is not a safe integer >= 0 or `limit` not a positive integer.
   * @throws CorruptionError if a stored record is damaged.
   */
  async entriesSince(feed: Uint8Array, seq: number, limit = 1000): Promise<VerifiedEntry[]> {
    this.checkOpen();
    if (!(feed instanceof Uint8Array) || feed.length !== 32) throw new TypeError('"feed" expected Uint8Array of length 32');
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`"seq" expected a safe integer >= 0, got ${seq}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`"limit" expected a positive integer, got ${limit}`);
    const head = this.durable.get(feedIdToHex(feed))?.seq ?? 0;
    if (seq >= head) return [];
    return this.feeds.read(feed, seq + 1, Math.min(head, seq + limit));
  }

  /**
   * Encoded durable entries of `feed` after `seq`, for serving a peer: consecutive, in seq order, at most `limit`
   * (default 1,000) and as many as fit in `maxBytes` (at least one). Cheaper than {@link Database.entriesSince}:
   * record checksums and structure are checked but nothing is decoded or hashed (`FeedStore.readEncoded`; the
   * receiver verifies everything). `[]` if there are none.
   * @throws RangeError if `seq` is not a safe integer >= 0, `limit` not a positive integer, `maxBytes` not positive.
   * @throws CorruptionError if a stored record is damaged.
   */
  async entryBytesSince(feed: Uint8Array, seq: number, maxBytes: number, limit = 1000): Promise<Uint8Array[]> {
    this.checkOpen();
    if (!(feed instanceof Uint8Array) || feed.length !== 32) throw new TypeError('"feed" expected Uint8Array of length 32');
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`"seq" expected a safe integer >= 0, got ${seq}`);
    const head = this.durable.get(feedIdToHex(feed))?.seq ?? 0;
    if (seq >= head) return [];
    return this.feeds.readEncoded(feed, seq + 1, Math.min(limit, head - seq), maxBytes);
  }

  // ------------------------------------------------------------------------------------------------ reads

  /**
   * The document, or undefined if it does not exist (never written, or deleted). Synchronous: reads the memtable,
   * block cache and files directly. Values are fresh copies the caller owns.
   * @throws DbError `HEARTH_INVALID_KEY`; IoError `HEARTH_CLOSED`; CorruptionError.
   */
  get(collection: string, id: string): Document | undefined {
    this.checkOpen();
    return readDoc(this.lsm, collection, id, this.docCache);
  }

  /** {@link Database.get} for several ids, in order. */
  getMany(collection: string, ids: readonly string[]): (Document | undefined)[] {
    this.checkOpen();
    if (!Array.isArray(ids)) throw new TypeError('"ids" expected an array of strings');
    return ids.map((id) => readDoc(this.lsm, collection, id, this.docCache));
  }

  /**
   * Iterates `[id, document]` over a collection in ascending order of the ids' UTF-8 bytes (descending with
   * `reverse`), skipping deleted documents. The iterator reads the latest state as it goes (writes made while it
   * runs may or may not be seen); iterate a {@link Database.snapshot} for a consistent view.
   */
  iterate(collection: string, options?: IterateOptions): IterableIterator<[string, Document]> {
    this.checkOpen();
    return iterateDocs(this.lsm, collection, options);
  }

  /** A handle on one collection. @throws DbError `HEARTH_INVALID_KEY` for a bad name. */
  collection(name: string): Collection {
    collectionBytes(name);
    return {
      name,
      put: (id, doc) => this.put(name, id, doc),
      patch: (id, fields) => this.patch(name, id, fields),
      delete: (id) => this.delete(name, id),
      get: (id) => this.get(name, id),
      getMany: (ids) => this.getMany(name, ids),
      iterate: (options) => this.iterate(name, options),
    };
  }

  /** A consistent read view of every collection at this moment (MVCC by LSM sequence number). */
  snapshot(): DbSnapshot {
    this.checkOpen();
    const snap: LsmSnapshot = this.lsm.snapshot();
    const view: KvView = snap;
    const at = snap.sequence;
    const lsmAt = this.lsm;
    let released = false;
    // The cache answers only while this snapshot is readable: a released snapshot, one a rebuild invalidated or one
    // of a closed database reads the LSM, which raises HEARTH_CLOSED as it always did.
    const cache = (): DocCache | undefined => (released || this.closed || this.lsm !== lsmAt ? undefined : this.docCache);
    return {
      get: (c, id) => readDoc(view, c, id, cache(), at),
      getMany: (c, ids) => ids.map((id) => readDoc(view, c, id, cache(), at)),
      iterate: (c, options) => iterateDocs(view, c, options),
      stateHash: () => hashDocs(view),
      getDoc: (c, id) => {
        try {
          return readDoc(view, c, id, cache(), at);
        } catch (e) {
          if (e instanceof DbError && e.code === DbErrorCode.INVALID_KEY) return undefined;
          throw e;
        }
      },
      scan: (c) => {
        try {
          collectionBytes(c);
        } catch (e) {
          if (e instanceof DbError && e.code === DbErrorCode.INVALID_KEY) return [];
          throw e;
        }
        return iterateDocs(view, c);
      },
      getDocFields: (c, id, fields) => {
        try {
          return readDocFields(view, c, id, fields, cache(), at);
        } catch (e) {
          if (e instanceof DbError && e.code === DbErrorCode.INVALID_KEY) return undefined;
          throw e;
        }
      },
      scanFields: (c, fields) => {
        try {
          collectionBytes(c);
        } catch (e) {
          if (e instanceof DbError && e.code === DbErrorCode.INVALID_KEY) return [];
          throw e;
        }
        return iterateDocs(view, c, {}, fields);
      },
      ...this.ix.view(view),
      release: () => {
        released = true;
        snap.release();
      },
    };
  }

  /**
   * SHA-256 over every document state (tombstones included) in key order: for each document key, the varint
   * length and bytes of the key, then of its canonical state encoding (`docs/formats/doc-state.md`). Replicas
   * that applied the same set of entries have equal hashes.
   */
  stateHash(): Uint8Array {
    this.checkOpen();
    const snap = this.lsm.snapshot();
    try {
      return hashDocs(snap);
    } finally {
      snap.release();
    }
  }

  /**
   * Subscribes to applied entries (local commits and ingested entries; not replay or rebuild): one event per entry,
   * in the order applied. The listener runs synchronously after the entry is applied; an exception it throws is
   * reported (`reportError`), not propagated. Subscribing a function twice delivers each event to it once (its
   * options are merged: changes if either asked); the unsubscribe function removes it. Each event goes to the
   * listeners subscribed when it is delivered; one unsubscribed (by another listener) before its turn is not called.
   *
   * With `remoteChanges: false` the listener does not need the `changes` of ingested entries: while every listener
   * says so, ingest skips computing them (the visible fields before and after each document, per entry) and those
   * events carry an empty `changes`. Local commits always carry their changes. Sync uses this: it only needs to know
   * that an entry was applied.
   *
   * @returns the unsubscribe function (idempotent).
   * @throws TypeError if `listener` is not a function.
   */
  onCommit(listener: (event: CommitEvent) => void, options: OnCommitOptions = {}): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function');
    const had = this.listeners.get(listener);
    const remote = options.remoteChanges !== false || had === true;
    if (had === undefined) this.listenersVersion++;
    if (remote && had !== true) this.remoteChangeListeners++; // options merge: never from true back to false
    this.listeners.set(listener, remote); // an existing listener keeps its place in the delivery order
    return () => this.unsubscribe(listener);
  }

  private unsubscribe(listener: (event: CommitEvent) => void): void {
    const remote = this.listeners.get(listener);
    if (remote === undefined) return;
    this.listeners.delete(listener);
    if (remote) this.remoteChangeListeners--;
    this.listenersVersion++;
  }

  // ------------------------------------------------------------------------------------------------ queries

  /**
   * Declares a secondary index on `fields` of `collection` (`docs/db.md`, "Queries and indexes") and builds it
   * online: writes and queries continue meanwhile; the planner uses it once complete, when the promise resolves.
   * Entries live in the LSM under prefix `0x02` and are written in the same batch as each document change (local
   * writes, ingest, replay). Definitions are kept in `<name>/indexes` and are local to this replica (not synced).
   * An equal definition returns the existing index.
   * @throws QueryError `HEARTH_INVALID_QUERY` (bad fields, multi-entry with several fields, name in use);
   *   DbError `HEARTH_INVALID_KEY`; IoError `HEARTH_CLOSED`.
   */
  createIndex(collection: string, fields: readonly Path[], options: CreateIndexOptions = {}): Promise<IndexInfo> {
    this.checkOpen();
    return this.ix.create(collection, fields, options, 'user', 'createIndex');
  }

  /** Drops an index by id or name (its entries are deleted). @throws QueryError `HEARTH_INVALID_QUERY` if none. */
  dropIndex(idOrName: string): Promise<void> {
    this.checkOpen();
    return this.ix.drop(idOrName);
  }

  /** The indexes (declared and adaptive), with origin, reason, creation time, state and use counts. */
  indexes(collection?: string): IndexStatus[] {
    return this.ix.list(collection);
  }

  /** Resolves when no index build is running (tests, benchmarks). */
  indexesSettled(): Promise<void> {
    return this.ix.settle();
  }

  /**
   * Runs a query (`docs/query.md`) on a consistent snapshot: `options.snapshot` if given (not released), else a
   * fresh one. Feeds the adaptive index policy.
   * @throws QueryError `HEARTH_INVALID_QUERY`, `HEARTH_INVALID_CURSOR`, `HEARTH_UNSUPPORTED_VALUE`;
   *   CorruptionError if an index names a missing document; IoError `HEARTH_CLOSED`.
   */
  query(query: Query, options: { snapshot?: DbSnapshot } = {}): QueryResult {
    return this.withView(options.snapshot, (v) => this.ix.query(v, query));
  }

  /** Runs a query and returns its plan and counts (`Explain`, `docs/query.md`). Same errors as {@link query}. */
  explain(query: Query, options: { snapshot?: DbSnapshot } = {}): Explain {
    return this.withView(options.snapshot, (v) => this.ix.explain(v, query));
  }

  private withView<T>(snapshot: DbSnapshot | undefined, fn: (v: QueryStore) => T): T {
    this.checkOpen();
    if (snapshot !== undefined) return fn(snapshot as QueryStore);
    const snap = this.snapshot();
    try {
      return fn(snap as QueryStore);
    } finally {
      snap.release();
    }
  }

  /**
   * A live query: `callback(result, null)` runs at once with the current result, then `callback(result, diff)`
   * after every applied entry (local commit or ingested) that changes the result, synchronously after the entry
   * is applied. `diff` lists removed, added and changed rows with positions (`applyDiff` from `@hearth/query`
   * turns the previous rows into the new ones). Maintained incrementally by the engine (only queries a change can
   * affect do work). Returns the handle; `unsubscribe()` stops it. An exception in `callback` is reported.
   * @throws QueryError for a malformed query; IoError `HEARTH_CLOSED`.
   */
  live(query: Query, callback: (result: QueryResult, diff: Diff | null) => void): LiveHandle {
    this.checkOpen();
    return this.lives.add(query, callback);
  }

  /** {@link live} as an async iterator of `{ result, diff }` (the first has `diff: null`); `return()` stops it. */
  liveIterator(query: Query): AsyncIterableIterator<LiveUpdate> {
    this.checkOpen();
    return this.lives.iterator(query);
  }

  // ------------------------------------------------------------------------------------------------ vectors

  /**
   * Loads (or rebuilds) the vector indexes after the documents are recovered, if this database has any (a vector
   * catalog file): otherwise the vector engine is not even loaded until `createVectorIndex`.
   */
  private async openVectors(rebuild: boolean): Promise<void> {
    if (!(await this.fs.exists(`${this.dir}/${VECTORS_DIR}/${VECTOR_CATALOG_FILE}`))) return;
    await this.loadVectors(rebuild);
  }

  /** Imports the vector engine and opens the vector indexes. REQUIRES: documents recovered; no other writer. */
  private async loadVectors(rebuild: boolean): Promise<VectorIndexes> {
    const { VectorIndexes } = await import('./_vectors.js');
    const { vectors, recovery } = await VectorIndexes.open(
      { fs: this.fs, dir: this.dir, feeds: this.feeds, lsm: () => this.lsm, applied: () => [...this.applied.values()], snapshot: () => this.snapshot() },
      { rebuild },
    );
    this.vectors = vectors;
    (this.recovery as { vectors: VectorRecovery }).vectors = recovery;
    return vectors;
  }

  private noVectorIndex(collection: string, field: string): DbError {
    return new DbError(DbErrorCode.NO_VECTOR_INDEX, `no vector index on ${collection}.${field}: declare one with createVectorIndex`, { collection });
  }

  /**
   * Declares a vector index on top-level `field` of `collection` (`docs/vector.md`, "Using vectors in a
   * Database") and builds it from the documents; from then on every applied change (local writes, ingest, replay)
   * keeps it current. A document whose field is missing, null, of another dimension, not finite or (cosine) zero is
   * left out and counted (`vectorIndexes()[i].skipped`); the write itself is never refused. The definition is
   * local to this replica (kept in `<name>/vectors/catalog`, not synced). Idempotent for an identical definition.
   * @throws DbError `HEARTH_VECTOR_INDEX_CONFLICT` (another definition on that field), `HEARTH_INVALID_KEY`;
   *   TypeError / RangeError for bad options; IoError from saving the index.
   */
  createVectorIndex(collection: string, field: string, options: VectorIndexOptions): Promise<VectorIndexInfo> {
    this.checkOpen();
    return this.exclusive(async () => {
      this.checkOpen();
      return (this.vectors ?? (await this.loadVectors(false))).create(collection, field, options);
    });
  }

  /** Drops the vector index on `collection`.`field` and its files. Resolves whether one existed. */
  dropVectorIndex(collection: string, field: string): Promise<boolean> {
    this.checkOpen();
    return this.exclusive(async () => {
      this.checkOpen();
      return this.vectors === undefined ? false : this.vectors.drop(collection, field);
    });
  }

  /** The vector indexes: definition, flat or HNSW, size, skipped documents, unsaved changes. */
  vectorIndexes(): VectorIndexInfo[] {
    this.checkOpen();
    return this.vectors === undefined ? [] : this.vectors.list();
  }

  /**
   * The `k` documents of `collection` whose `field` is nearest to `vector`, nearest first: `{ id, doc, distance }`.
   * `filter` (a `@hearth/query` filter) keeps only matching documents and is exact however selective it is: the
   * query engine computes the matching set when a secondary index serves the filter, else tests the documents the
   * search asks about; the vector index picks filter-then-flat (few matches) or a filtered graph search
   * (`explainNearest` says which). Synchronous: index, filter and documents are read in one turn, at the latest
   * state. A selective filter that no secondary index serves reads every document of the collection.
   * @throws DbError `HEARTH_NO_VECTOR_INDEX`; RangeError for a vector of another dimension or a bad k/ef;
   *   QueryError for a malformed filter; IoError `HEARTH_CLOSED`.
   */
  nearest(collection: string, field: string, vector: ArrayLike<number>, options: NearestOptions): NearestHit[] {
    this.checkOpen();
    if (this.vectors === undefined) throw this.noVectorIndex(collection, field);
    return this.vectors.nearest(collection, field, vector, options).hits;
  }

  /** {@link nearest}, and how it ran: flat or HNSW index, strategy, ef, filter selectivity, distances computed. */
  explainNearest(collection: string, field: string, vector: ArrayLike<number>, options: NearestOptions): { hits: NearestHit[]; plan: NearestPlan } {
    this.checkOpen();
    if (this.vectors === undefined) throw this.noVectorIndex(collection, field);
    return this.vectors.nearest(collection, field, vector, options);
  }

  /** Counters (see {@link DatabaseStats}). */
  stats(): DatabaseStats {
    return { ownHead: this.ownHead.seq, commits: this.commits, opsCommitted: this.opsCommitted, pending: this.queue.reduce((n, u) => n + u.ops.length, 0), feeds: this.durable.size };
  }

  /** Writes the memtable to SSTables (shortens replay on the next open). Waits for queued writes first. */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.drain();
    await this.exclusive(async () => {
      await this.lsm.flush();
      await this.vectors?.save();
    });
  }

  /**
   * Runs the LSM's compaction until no level needs it (`{ full: true }`: merges everything into one sorted run),
   * after flushing the memtable. For maintenance windows and benchmarks: it pays now the compaction debt that
   * background work would otherwise pay during later writes. Waits for queued writes first.
   * @throws IoError from the file system; IoError `HEARTH_CLOSED`.
   */
  async compact(options: { full?: boolean } = {}): Promise<void> {
    this.checkOpen();
    await this.drain();
    await this.exclusive(async () => {
      await this.lsm.flush();
      await this.lsm.compact(options);
    });
  }

  /**
   * Closes the database: waits for queued writes (they commit), then flushes the LSM (unless `flush: false`:
   * the next open replays from the log) and closes every file. Idempotent. Later calls throw `HEARTH_CLOSED`.
   */
  close(options: { flush?: boolean } = {}): Promise<void> {
    this.closePromise ??= this.doClose(options);
    return this.closePromise;
  }

  private async doClose(options: { flush?: boolean }): Promise<void> {
    this.closing = true;
    this.lives.close();
    await this.drain();
    await this.ix.close();
    await this.exclusive(async () => {
      try {
        if (this.failure === null) await this.vectors?.close();
        if (options.flush !== false && this.failure === null) await this.lsm.flush();
      } finally {
        this.closed = true;
        this.docCache.clear();
        await this.lsm.close().catch(() => undefined);
        await this.feeds.close();
      }
    });
  }

  // ------------------------------------------------------------------------------------------------ internals

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'database is closed', { path: this.dir });
  }

  private checkWritable(): void {
    if (this.closed || this.closing) throw new IoError(IoErrorCode.CLOSED, 'database is closed', { path: this.dir });
    if (this.failure !== null) throw this.failure;
    if (this.ownBehind !== null) throw this.feedBehindError();
  }

  private feedBehindError(): DbError {
    const b = this.ownBehind!;
    return new DbError(
      DbErrorCode.FEED_BEHIND,
      `this device's feed holds ${b.heldSeq} entries but the views reflect ${b.appliedSeq}: acknowledged entries were lost. ` +
        'Writing would re-use sequence numbers; restore them with ingest() from a peer, or open with another keypair',
    );
  }
}

const lenBuf = new Uint8Array(8);

/** SHA-256 over the document keys and states of a view (see {@link Database.stateHash}). */
function hashDocs(view: KvView): Uint8Array {
  const h = sha256.create();
  for (const e of view.iterate({ gte: Uint8Array.of(PREFIX_DOC), lt: Uint8Array.of(PREFIX_DOC + 1) })) {
    h.update(lenBuf.subarray(0, writeVarint(lenBuf, 0, e.key.length)));
    h.update(e.key);
    h.update(lenBuf.subarray(0, writeVarint(lenBuf, 0, e.value.length)));
    h.update(e.value);
  }
  return h.digest();
}
