/**
 * Secondary indexes of the Database: the catalog of definitions, maintenance inside the write path, online builds,
 * the read side of the query engine's `QueryStore` (`indexes`, `scanIndex`, estimates), queries with the adaptive
 * index policy. Internal. Guide: `docs/db.md` ("Queries and indexes"); layout: `docs/formats/db-layout.md`.
 *
 * An index entry is `0x02 | index number u32be | index key V1` (`docs/formats/index-keys.md`) → UTF-8 of the
 * document id. An index is *complete* in an LSM state when its completion record `0x00 | "index/" | number u32be`
 * → `INDEX_KEY_VERSION` is present in that state.
 *
 * Invariants:
 * 1. A `ready` index's entries equal `indexKeys` of the collection's documents in every LSM state from its
 *    completion record on: every document batch (local commit, ingest, replay, rebuild) carries the index delta in
 *    the same `lsm.batch` (`maintain`, called by the Database's `prepare`).
 * 2. A `building` index has an `IndexBuild` registered at the sequence S of its scan snapshot, inside the
 *    Database's `exclusive` (so no commit is between its prepare and its install); every later document batch
 *    carries `build.write` (all keys of the new version); the scan puts `build.scanned`. When the scan ends, the
 *    completion record is written and the index turns `ready` in the same turn.
 * 3. A `pending` index (incomplete after a crash, or of another key version) is not maintained; `resume` clears
 *    its entries and builds it. Nothing reads an index that is not `ready`.
 * 4. A snapshot's read view lists the indexes that were `ready` when the snapshot was taken (the flip to `ready`
 *    happens in the same turn as the completion record's batch, so the snapshot holds every entry).
 * 5. Index numbers are never reused; entries under a number the catalog does not list are garbage and are swept
 *    at open.
 * @packageDocumentation
 */
import { IoError, IoErrorCode, readFileIfExists, writeFileAtomic, type FileSystem } from '@hearth/io';
import type { BatchOp, Lsm, RangeOptions } from '@hearth/lsm';
import { yieldNow } from '@hearth/lsm';
import {
  AdaptiveIndexPolicy,
  INDEX_KEY_VERSION,
  IndexBuild,
  QueryError,
  QueryErrorCode,
  executeWithExplain,
  explain as explainQuery,
  indexDelta,
  indexIdOf,
  normalizeIndex,
  type Access,
  type AdaptivePolicyOptions,
  type Doc,
  type Explain,
  type IndexDecision,
  type IndexEntry,
  type IndexInfo,
  type KeyRange,
  type NormalizedIndex,
  type Path,
  type Query,
  type QueryResult,
  type QueryStore,
} from '@hearth/query';
import { INDEX_CATALOG_FILE, META_INDEX_STATE, PREFIX_INDEX, PREFIX_META } from './constants.js';
import { decodeIndexCatalogV1, encodeIndexCatalogV1, type IndexRecord } from './index-catalog.js';
import { collectionBytes, type KvView } from './_read.js';
import { decodeVisibleDoc, trustedUtf8 } from './_decode.js';
import { collectionEnd, collectionStart, idOfKey } from './_keys.js';
import { decodeDocStateV1, docFields } from '@hearth/crdt';
import { decodeFieldValueV1 } from './values.js';

/** Options of `Database.createIndex`. */
export interface CreateIndexOptions {
  /** One entry per distinct element of an array value (one field only); serves `contains`. Default false. */
  multiEntry?: boolean;
  /** A unique name, accepted by `dropIndex` in place of the id. */
  name?: string;
}

/** One index as `Database.indexes()` lists it. Times in ms since the epoch. */
export interface IndexStatus {
  /** The id the planner and `explain` use (`collection|<json of fields>[|multi]`). */
  readonly id: string;
  readonly name?: string;
  readonly collection: string;
  readonly fields: readonly (readonly string[])[];
  readonly multiEntry: boolean;
  /** `user` (createIndex) or `adaptive` (proposed by the adaptive policy). */
  readonly origin: 'user' | 'adaptive';
  /** Why it exists: `createIndex`, or the adaptive policy's reason. */
  readonly reason: string;
  readonly createdAt: number;
  /** `ready`: complete and used by the planner; `building`: being built in the background. */
  readonly state: 'ready' | 'building';
  /** Queries (and traversal hops) it served in this process. */
  readonly uses: number;
  readonly lastUsedAt?: number;
  /** The LSM index number its entries live under. */
  readonly number: number;
}

/** What the index manager needs from the Database. */
export interface IndexHost {
  lsm(): Lsm;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  readonly fs: FileSystem;
  readonly dir: string;
  now(): number;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface LiveIndex {
  rec: IndexRecord;
  norm: NormalizedIndex;
  info: IndexInfo;
  prefix: Uint8Array;
  end: Uint8Array;
  state: 'ready' | 'building' | 'pending';
  build: IndexBuild | null;
  ready: Deferred;
  uses: number;
  lastUsedAt?: number;
}

const utf8 = new TextEncoder();
/** Documents per batch of an online build's scan; the build yields to other work between batches. */
const BUILD_CHUNK = 512;
/** Queries between two reviews of the indexes by the adaptive policy. */
const REVIEW_EVERY = 64;

function numberPrefix(n: number): Uint8Array {
  const p = new Uint8Array(5);
  p[0] = PREFIX_INDEX;
  new DataView(p.buffer).setUint32(1, n);
  return p;
}

function numberEnd(n: number): Uint8Array {
  if (n === 0xffffffff) return Uint8Array.of(PREFIX_INDEX + 1);
  return numberPrefix(n + 1);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** `0x00 | "index/" | n u32be`: the completion record of index `n`. */
export function indexStateKey(n: number): Uint8Array {
  const name = utf8.encode(META_INDEX_STATE);
  const k = new Uint8Array(1 + name.length + 4);
  k[0] = PREFIX_META;
  k.set(name, 1);
  new DataView(k.buffer).setUint32(1 + name.length, n);
  return k;
}

/** The document restricted to the top-level fields in `names` (what an index reads), decoded. */
function decodeSome(fields: ReadonlyMap<string, Uint8Array>, names: ReadonlySet<string>): Doc {
  const doc: Doc = {};
  for (const n of names) {
    const v = fields.get(n);
    if (v === undefined) continue;
    Object.defineProperty(doc, n, { value: decodeFieldValueV1(v, false), enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** A short string form of key bytes (a cache key). */
function latin1(b: Uint8Array | undefined): string {
  if (b === undefined) return '';
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

const yieldTurn = (): Promise<void> => yieldNow(); // not setTimeout(0): browsers clamp it to 4 ms when nested

/** Index numbers served by an access path (union branches included). */
function accessIndexIds(a: Access, out: string[]): void {
  if (a.type === 'index') out.push(a.indexId);
  else if (a.type === 'union') for (const b of a.branches) accessIndexIds(b, out);
}

/** The Database's secondary indexes and query entry points. See the file header. */
export class IndexManager {
  private next = 1;
  private readonly byId = new Map<string, LiveIndex>();
  private readonly byCollection = new Map<string, LiveIndex[]>();
  /** Bumped to cancel running builds (close, rebuild). */
  private generation = 0;
  /** Running scans of online builds (what `cancelBuilds` waits for). */
  private readonly builds = new Set<Promise<void>>();
  /** `create` calls in flight (what `settle` also waits for). */
  private readonly creates = new Set<Promise<void>>();
  readonly policy: AdaptiveIndexPolicy;
  private queries = 0;
  private closed = false;
  private readonly counts = new Map<string, { n: number; writes: number }>();
  /** Document writes per collection since open (ages cached range estimates). */
  private readonly writesTo = new Map<string, number>();
  /** Range estimates by index number and bounds: the count and the collection's write counter when counted. */
  private readonly estimates = new Map<string, { n: number; at: number }>();

  constructor(private readonly host: IndexHost, adaptive: false | AdaptivePolicyOptions | undefined) {
    this.policy = new AdaptiveIndexPolicy(adaptive === false ? { enabled: false } : (adaptive ?? {}));
  }

  // ---------------------------------------------------------------------------------------------- catalog

  private get catalogPath(): string {
    return `${this.host.dir}/${INDEX_CATALOG_FILE}`;
  }

  /**
   * Loads the catalog file and each index's completion record from the LSM (before replay). On an empty LSM
   * (new, or dropped for a rebuild) every index is marked complete: the replay from the feeds fills it.
   * @throws CorruptionError for a damaged catalog file.
   */
  async load(): Promise<void> {
    const { fs } = this.host;
    const bytes = await readFileIfExists(fs, this.catalogPath);
    if (bytes !== undefined) {
      const cat = decodeIndexCatalogV1(bytes, this.catalogPath);
      this.next = cat.next;
      for (const rec of cat.indexes) this.register(rec, 'pending');
    }
    const lsm = this.host.lsm();
    const empty = lsm.iterate({ limit: 1 }).next().done === true;
    await this.markStates(empty);
  }

  /** Sets each index `ready` if its completion record (of this key version) is present, else `pending`. */
  private async markStates(emptyLsm: boolean): Promise<void> {
    const lsm = this.host.lsm();
    const puts: BatchOp[] = [];
    for (const li of this.byId.values()) {
      if (emptyLsm) {
        puts.push({ type: 'put', key: indexStateKey(li.rec.number), value: Uint8Array.of(INDEX_KEY_VERSION) });
        this.setReady(li);
        continue;
      }
      const v = lsm.get(indexStateKey(li.rec.number));
      if (v !== undefined && v.length === 1 && v[0] === INDEX_KEY_VERSION) this.setReady(li);
      else li.state = 'pending';
    }
    if (puts.length > 0) await lsm.batch(puts);
  }

  private setReady(li: LiveIndex): void {
    li.state = 'ready';
    li.build = null;
    li.ready.resolve();
  }

  private register(rec: IndexRecord, state: LiveIndex['state']): LiveIndex {
    const norm = normalizeIndex({ collection: rec.collection, fields: rec.fields, multiEntry: rec.multiEntry });
    const id = indexIdOf(norm);
    const li: LiveIndex = {
      rec,
      norm,
      info: { id, collection: norm.collection, fields: norm.fields, multiEntry: norm.multiEntry, origin: rec.origin },
      prefix: numberPrefix(rec.number),
      end: numberEnd(rec.number),
      state,
      build: null,
      ready: deferred(),
      uses: 0,
    };
    this.byId.set(id, li);
    let list = this.byCollection.get(rec.collection);
    if (list === undefined) this.byCollection.set(rec.collection, (list = []));
    list.push(li);
    return li;
  }

  private unregister(li: LiveIndex): void {
    this.byId.delete(li.info.id);
    const list = this.byCollection.get(li.rec.collection)!.filter((x) => x !== li);
    if (list.length === 0) this.byCollection.delete(li.rec.collection);
    else this.byCollection.set(li.rec.collection, list);
  }

  /** Writes the catalog file durably (tmp, sync, rename). */
  private async saveCatalog(): Promise<void> {
    const { fs, dir } = this.host;
    const recs = [...this.byId.values()].map((li) => li.rec).sort((a, b) => a.number - b.number);
    // via INDEX_CATALOG_TMP_FILE (= the catalog's path + '.tmp')
    await writeFileAtomic(fs, this.catalogPath, encodeIndexCatalogV1({ next: this.next, indexes: recs }));
  }

  /**
   * After recovery: sweeps entries of numbers the catalog does not list (a drop interrupted by a crash), then
   * clears and builds every `pending` index in the background.
   */
  async resume(): Promise<void> {
    const lsm = this.host.lsm();
    const known = new Set([...this.byId.values()].map((li) => li.rec.number));
    let from: Uint8Array = Uint8Array.of(PREFIX_INDEX);
    for (;;) {
      const first = lsm.iterate({ gte: from, lt: Uint8Array.of(PREFIX_INDEX + 1), limit: 1 }).next();
      if (first.done === true) break;
      const k = first.value.key;
      if (k.length < 5) break;
      const n = new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(1);
      if (!known.has(n)) await this.clearEntries(n, true);
      if (n === 0xffffffff) break;
      from = numberPrefix(n + 1);
    }
    for (const li of this.byId.values()) {
      if (li.state === 'pending') void this.startBuild(li, true);
    }
  }

  /** Deletes every entry of index number `n` (and its completion record with `record`), in chunks. */
  private async clearEntries(n: number, record: boolean): Promise<void> {
    const gen = this.generation;
    const prefix = numberPrefix(n);
    const end = numberEnd(n);
    if (record) await this.host.lsm().batch([{ type: 'del', key: indexStateKey(n) }]);
    for (;;) {
      if (gen !== this.generation) return;
      const lsm = this.host.lsm();
      const ops: BatchOp[] = [];
      for (const e of lsm.iterate({ gte: prefix, lt: end, limit: 4096 })) ops.push({ type: 'del', key: e.key });
      if (ops.length === 0) return;
      await lsm.batch(ops);
      await yieldTurn();
    }
  }

  // ---------------------------------------------------------------------------------------------- maintenance

  /** Whether writes to `collection` need the documents' before/after versions (it has a maintained index). */
  has(collection: string): boolean {
    const list = this.byCollection.get(collection);
    return list !== undefined && list.some((li) => li.state !== 'pending');
  }

  /** Notes `n` document writes to `collection` (keeps {@link IndexManager.countDocs} roughly current). */
  noteWrite(collection: string, n = 1): void {
    const c = this.counts.get(collection);
    if (c !== undefined) c.writes += n;
    this.writesTo.set(collection, (this.writesTo.get(collection) ?? 0) + n);
  }

  /**
   * Approximate number of documents of a collection (tombstones included): the keys counted by a scan of the
   * collection's key range, recounted after writes amounting to a quarter of it. Steers the planner only.
   */
  countDocs(view: KvView, collection: string): number {
    let c = this.counts.get(collection);
    if (c === undefined || c.writes > Math.max(64, c.n / 4)) {
      let bytes: Uint8Array;
      try {
        bytes = collectionBytes(collection);
      } catch {
        return 0;
      }
      let n = 0;
      for (const _ of view.iterate({ gte: collectionStart(bytes), lt: collectionEnd(bytes) })) n++;
      c = { n, writes: 0 };
      this.counts.set(collection, c);
    }
    return c.n;
  }

  /** {@link IndexManager.maintain} on the fields of two document states (null: no document). */
  maintainFields(collection: string, id: string, before: ReadonlyMap<string, Uint8Array> | null, after: ReadonlyMap<string, Uint8Array> | null, batch: BatchOp[]): void {
    const names = this.fieldsOf(collection);
    this.maintain(collection, id, before === null ? undefined : decodeSome(before, names), after === null ? undefined : decodeSome(after, names), batch);
  }

  /**
   * The top-level field names the indexes of a collection read (the first segment of each path; `_id` is not a
   * field). Only those are decoded for maintenance and builds: `indexKeys` reads nothing else.
   */
  private fieldsOf(collection: string): Set<string> {
    const list = this.byCollection.get(collection) ?? [];
    const names = new Set<string>();
    for (const li of list) for (const f of li.norm.fields) if (!(f.length === 1 && f[0] === '_id')) names.add(f[0]);
    return names;
  }

  /**
   * Appends to `batch` the index changes of one document write (invariants 1, 2). `before`/`after` undefined
   * mean the document did not exist.
   */
  maintain(collection: string, id: string, before: Doc | undefined, after: Doc | undefined, batch: BatchOp[]): void {
    const list = this.byCollection.get(collection);
    if (list === undefined) return;
    let value: Uint8Array | undefined;
    for (const li of list) {
      let d: { del: Uint8Array[]; add: Uint8Array[] };
      if (li.state === 'ready') d = indexDelta(li.norm, id, before, after);
      else if (li.state === 'building' && li.build !== null) d = li.build.write(id, before, after);
      else continue;
      for (const k of d.del) batch.push({ type: 'del', key: concat(li.prefix, k) });
      if (d.add.length > 0) {
        value ??= utf8.encode(id);
        for (const k of d.add) batch.push({ type: 'put', key: concat(li.prefix, k), value });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- builds

  /**
   * Starts building `li` (inside `exclusive`: registers the `IndexBuild` and takes the scan snapshot S in one
   * turn, invariant 2), then scans S in chunks outside it. Resolves `li.ready` when complete.
   */
  private startBuild(li: LiveIndex, clear: boolean): Promise<void> {
    const gen = this.generation;
    const p = (async () => {
      if (clear) await this.clearEntries(li.rec.number, true);
      const snap = await this.host.exclusive(async () => {
        if (gen !== this.generation || this.byId.get(li.info.id) !== li) return null;
        li.build = new IndexBuild(li.norm);
        li.state = 'building';
        return this.host.lsm().snapshot();
      });
      if (snap === null) return;
      try {
        const build = li.build!;
        let ops: BatchOp[] = [];
        let n = 0;
        const cb = collectionBytes(li.rec.collection);
        const names = new Set<string>();
        for (const f of li.norm.fields) if (!(f.length === 1 && f[0] === '_id')) names.add(f[0]);
        for (const e of snap.iterate({ gte: collectionStart(cb), lt: collectionEnd(cb) })) {
          const doc = decodeVisibleDoc(e.value, names); // only the indexed fields (`_decode.ts`)
          if (doc === undefined) continue; // deleted
          const id = trustedUtf8(e.key, cb.length + 2, e.key.length);
          const keys = build.scanned(id, doc);
          if (keys.length > 0) {
            const value = utf8.encode(id);
            for (const k of keys) ops.push({ type: 'put', key: concat(li.prefix, k), value });
          }
          if (++n % BUILD_CHUNK === 0) {
            if (gen !== this.generation || this.byId.get(li.info.id) !== li) return;
            await this.host.lsm().batch(ops);
            ops = [];
            await yieldTurn();
            if (gen !== this.generation || this.byId.get(li.info.id) !== li) return;
          }
        }
        if (gen !== this.generation || this.byId.get(li.info.id) !== li) return;
        ops.push({ type: 'put', key: indexStateKey(li.rec.number), value: Uint8Array.of(INDEX_KEY_VERSION) });
        const done = this.host.lsm().batch(ops);
        this.setReady(li); // same turn as the batch (invariant 4)
        await done;
        // Make the completion durable now (else a crash before the next flush would rebuild the index).
        await this.host.exclusive(async () => {
          if (gen === this.generation) await this.host.lsm().flush();
        });
        if (li.rec.origin === 'adaptive') this.policy.indexBuilt(li.info, this.host.now());
      } finally {
        snap.release();
      }
    })();
    const tracked = p.catch((e) => {
      li.ready.reject(e);
      if (li.rec.origin === 'adaptive') this.policy.abandon(li.rec.collection, li.norm.fields, li.norm.multiEntry);
    });
    this.builds.add(tracked);
    void tracked.finally(() => this.builds.delete(tracked));
    return p;
  }

  /**
   * Declares an index and builds it online; resolves with its info when it is complete (queries use it from then
   * on). An equal definition that exists already is returned (after it is complete).
   * @throws QueryError `HEARTH_INVALID_QUERY` for a bad definition or a name in use; DbError `HEARTH_INVALID_KEY`
   *   for a bad collection name.
   */
  async create(collection: string, fields: readonly Path[], options: CreateIndexOptions, origin: 'user' | 'adaptive', reason: string): Promise<IndexInfo> {
    collectionBytes(collection);
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
    const norm = normalizeIndex({ collection, fields, multiEntry: options.multiEntry === true });
    const name = options.name;
    if (name !== undefined && (typeof name !== 'string' || name === '')) throw new TypeError('"options.name" expected a non-empty string');
    const id = indexIdOf(norm);
    const p = this.createById(id, norm, name, origin, reason);
    const tracked = p.then(() => undefined, () => undefined);
    this.creates.add(tracked);
    void tracked.finally(() => this.creates.delete(tracked));
    return p;
  }

  private async createById(id: string, norm: NormalizedIndex, name: string | undefined, origin: 'user' | 'adaptive', reason: string): Promise<IndexInfo> {
    let li = this.byId.get(id);
    if (li === undefined) {
      if (name !== undefined && this.findByName(name) !== undefined) {
        throw new QueryError(QueryErrorCode.INVALID_QUERY, `an index named ${JSON.stringify(name)} exists already`);
      }
      let fresh = false;
      li = await this.host.exclusive(async () => {
        this.checkOpen();
        const again = this.byId.get(id);
        if (again !== undefined) return again;
        if (this.next > 0xffffffff) throw new RangeError('index numbers exhausted');
        const rec: IndexRecord = {
          number: this.next++,
          collection: norm.collection,
          fields: norm.fields,
          multiEntry: norm.multiEntry,
          ...(name !== undefined ? { name } : {}),
          origin,
          reason,
          createdAt: this.host.now(),
        };
        const made = this.register(rec, 'pending');
        try {
          await this.saveCatalog();
        } catch (e) {
          this.unregister(made);
          throw e;
        }
        fresh = true;
        return made;
      });
      if (fresh) void this.startBuild(li, false);
    }
    await li.ready.promise;
    return li.info;
  }

  private findByName(name: string): LiveIndex | undefined {
    for (const li of this.byId.values()) if (li.rec.name === name) return li;
    return undefined;
  }

  /**
   * Drops an index by id or name: removes it from the catalog (durably), then deletes its entries.
   * @throws QueryError `HEARTH_INVALID_QUERY` if there is no such index.
   */
  async drop(idOrName: string): Promise<void> {
    if (typeof idOrName !== 'string') throw new TypeError('"index" expected an index id or name');
    const li = this.byId.get(idOrName) ?? this.findByName(idOrName);
    if (li === undefined) throw new QueryError(QueryErrorCode.INVALID_QUERY, `no index ${JSON.stringify(idOrName)}`);
    const removed = await this.host.exclusive(async () => {
      this.checkOpen();
      if (this.byId.get(li.info.id) !== li) return false;
      this.unregister(li);
      try {
        await this.saveCatalog();
      } catch (e) {
        this.register(li.rec, li.state);
        throw e;
      }
      li.ready.reject(new QueryError(QueryErrorCode.INVALID_QUERY, `index ${li.info.id} was dropped`));
      return true;
    });
    if (removed) await this.clearEntries(li.rec.number, true);
  }

  /** Every index with its origin, reason, state and use counts, ascending by number. */
  list(collection?: string): IndexStatus[] {
    const out: IndexStatus[] = [];
    for (const li of this.byId.values()) {
      if (collection !== undefined && li.rec.collection !== collection) continue;
      out.push({
        id: li.info.id,
        ...(li.rec.name !== undefined ? { name: li.rec.name } : {}),
        collection: li.rec.collection,
        fields: li.norm.fields,
        multiEntry: li.norm.multiEntry,
        origin: li.rec.origin,
        reason: li.rec.reason,
        createdAt: li.rec.createdAt,
        state: li.state === 'ready' ? 'ready' : 'building',
        uses: li.uses,
        ...(li.lastUsedAt !== undefined ? { lastUsedAt: li.lastUsedAt } : {}),
        number: li.rec.number,
      });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  /** Resolves when every index is complete (or failed), e.g. before a benchmark or test reads `explain`. */
  async settle(): Promise<void> {
    while (this.builds.size > 0 || this.creates.size > 0) await Promise.all([...this.builds, ...this.creates]);
  }

  // ---------------------------------------------------------------------------------------------- rebuild, close

  /** Before the LSM is dropped for a rebuild: cancels running builds and waits for them. */
  async cancelBuilds(): Promise<void> {
    this.generation++;
    await Promise.all([...this.builds]);
  }

  /** After the LSM was recreated empty (rebuild): every index complete; the replay fills them. */
  async afterRebuildOpen(): Promise<void> {
    await this.markStates(true);
  }

  /** Cancels builds; pending `createIndex` calls reject with `HEARTH_CLOSED`. */
  async close(): Promise<void> {
    this.closed = true;
    await this.cancelBuilds();
    for (const li of this.byId.values()) if (li.state !== 'ready') li.ready.reject(new IoError(IoErrorCode.CLOSED, 'database is closed'));
  }

  private checkOpen(): void {
    if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'database is closed');
  }

  // ---------------------------------------------------------------------------------------------- reads

  /**
   * The index part of a snapshot's `QueryStore`: the indexes `ready` now (invariant 4), scanned in `view`.
   */
  view(view: KvView): {
    indexes(collection: string): readonly IndexInfo[];
    scanIndex(indexId: string, range: KeyRange): Iterable<IndexEntry>;
    countDocs(collection: string): number;
    estimateRange(indexId: string, range: KeyRange): number;
  } {
    const ready = new Map<string, LiveIndex>();
    for (const li of this.byId.values()) if (li.state === 'ready') ready.set(li.info.id, li);
    const get = (indexId: string): LiveIndex => {
      const li = ready.get(indexId);
      if (li === undefined) throw new QueryError(QueryErrorCode.INVALID_QUERY, `no index ${JSON.stringify(indexId)} in this snapshot`);
      return li;
    };
    const lsmRange = (li: LiveIndex, range: KeyRange): Omit<RangeOptions, 'snapshot'> => {
      const r: Omit<RangeOptions, 'snapshot'> = { reverse: range.reverse === true };
      if (range.gt !== undefined) r.gt = concat(li.prefix, range.gt);
      if (range.gte !== undefined) r.gte = concat(li.prefix, range.gte);
      if (r.gt === undefined && r.gte === undefined) r.gte = li.prefix;
      if (range.lte !== undefined) r.lte = concat(li.prefix, range.lte);
      r.lt = range.lt !== undefined ? concat(li.prefix, range.lt) : li.end;
      return r;
    };
    return {
      indexes: (collection: string): readonly IndexInfo[] => {
        const out: IndexInfo[] = [];
        for (const li of ready.values()) if (li.rec.collection === collection) out.push(li.info);
        return out;
      },
      scanIndex: function* (indexId: string, range: KeyRange): Iterable<IndexEntry> {
        const li = get(indexId);
        for (const e of view.iterate(lsmRange(li, range))) yield { key: e.key.subarray(5), id: trustedUtf8(e.value, 0, e.value.length) };
      },
      countDocs: (collection: string): number => this.countDocs(view, collection),
      /**
       * Counts entries up to 64; past that, guesses the larger of 65 and 5% of the collection. Cached per range
       * until the collection has seen writes amounting to an eighth of the count (at least 16).
       */
      estimateRange: (indexId: string, range: KeyRange): number => {
        const li = ready.get(indexId);
        if (li === undefined) return 0;
        const key = `${li.rec.number}:${latin1(range.gte)}:${latin1(range.gt)}:${latin1(range.lte)}:${latin1(range.lt)}`;
        const writes = this.writesTo.get(li.rec.collection) ?? 0;
        const hit = this.estimates.get(key);
        if (hit !== undefined && writes - hit.at < Math.max(16, hit.n / 8)) return hit.n;
        let n = 0;
        for (const _ of view.iterate({ ...lsmRange(li, range), limit: 65 })) n++;
        if (n > 64) n = Math.max(65, Math.round(this.countDocs(view, li.rec.collection) * 0.05));
        if (this.estimates.size >= 4096) this.estimates.clear();
        this.estimates.set(key, { n, at: writes });
        return n;
      },
    };
  }

  // ---------------------------------------------------------------------------------------------- queries

  /** Runs a query on `store`, records index use, feeds the adaptive policy. */
  query(store: QueryStore, query: Query): QueryResult {
    const { result, explain } = executeWithExplain(store, query);
    this.observe(explain);
    return result;
  }

  /** `explain` on `store` (also fed to the adaptive policy). */
  explain(store: QueryStore, query: Query): Explain {
    const e = explainQuery(store, query);
    this.observe(e);
    return e;
  }

  private observe(e: Explain): void {
    const now = this.host.now();
    const ids: string[] = [];
    accessIndexIds(e.access, ids);
    for (const h of e.hops) if (h.indexId !== undefined) ids.push(h.indexId);
    for (const id of ids) {
      const li = this.byId.get(id);
      if (li !== undefined) {
        li.uses++;
        li.lastUsedAt = now;
      }
    }
    if (!this.policy.enabled || this.closed) return;
    const decisions: IndexDecision[] = this.policy.observe(e, now);
    if (++this.queries % REVIEW_EVERY === 0) {
      decisions.push(...this.policy.review([...this.byId.values()].filter((li) => li.state === 'ready').map((li) => li.info), now));
    }
    for (const d of decisions) this.carryOut(d);
  }

  /** Carries out an adaptive decision in the background; failures are reported, never thrown at the query. */
  private carryOut(d: IndexDecision): void {
    const run =
      d.kind === 'build'
        ? this.create(d.collection, d.fields, { multiEntry: d.multiEntry }, 'adaptive', d.reason)
        : this.drop(d.indexId);
    run.catch((e: unknown) => {
      if (d.kind === 'build') this.policy.abandon(d.collection, d.fields, d.multiEntry);
      if (this.closed || (e instanceof IoError && e.code === IoErrorCode.CLOSED)) return;
      const g = globalThis as { reportError?: (e: unknown) => void };
      if (typeof g.reportError === 'function') g.reportError(e);
    });
  }
}
