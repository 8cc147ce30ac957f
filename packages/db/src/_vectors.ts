/**
 * Vector indexes of a Database: one `@hearth/vector` {@link AutoIndex} per declared (collection, field), kept in
 * step with the documents, searched by `Database.nearest`, saved to files under `<name>/vectors/` and reloaded on
 * open. Guide: `docs/vector.md` ("Using vectors in a Database"), `docs/db.md`; files: `docs/formats/db-layout.md`.
 * Internal to `@hearth/db`: the Database owns one {@link VectorIndexes} and calls it from its write path.
 *
 * Invariants:
 * 1. After every LSM batch of documents is written (memtable, same synchronous turn), {@link VectorIndexes.applyBatch}
 *    brings each index of the batch's collections to the documents' new states. Hence, between turns, an index
 *    holds exactly: every existing document of its collection whose field is a valid vector (of its dimension,
 *    finite, non-zero for cosine) under the document id, with that vector; and `skipped` holds every other existing
 *    document of the collection ('missing': no field or null; 'invalid': anything else). Deleted documents are in
 *    neither.
 * 2. A saved index file and the applied state vector and skipped set recorded with it in the catalog were captured
 *    in one synchronous turn (the file's bytes are encoded before the first await of `save`), so they describe one
 *    state (catalog invariant 2, `vector-catalog.ts`).
 * 3. A loaded index reflects the entries of its recorded state vector; every entry applied since (per feed, the
 *    seqs past the recorded ones up to the applied state vector) is caught up by re-reading, from the documents,
 *    each document that entry touched in the collection. If the recorded vector is not a prefix of the applied
 *    history (a feed holds another entry at the recorded seq, or fewer entries), or the file is missing or corrupt,
 *    the index is rebuilt from the documents instead.
 * 4. Saves run one at a time (a promise chain): index files first, then the catalog, then unreferenced files are
 *    removed. Nothing else writes under `vectors/`.
 * 5. An int8 index reads the f32 rows of the candidates it rescores from its own saved file (`@hearth/vector`
 *    keeps it open after `save` and `AutoIndex.open`), and switches to each new generation's file when that is
 *    saved, before the catalog stops naming the old one; so the file a live index reads is never removed. An
 *    index that is dropped, replaced by a rebuild, or discarded on open is closed (its file released) first.
 * @packageDocumentation
 */
import { CorruptionError, IoError, IoErrorCode, readFileIfExists, writeFileAtomic, type FileSystem } from '@hearth/io';
import type { Lsm, BatchOp } from '@hearth/lsm';
import { decodeStateVectorV1, encodeStateVectorV1, feedIdToHex, type FeedStore, type StateVectorEntry } from '@hearth/log';
import { decodeDocStateV1, docFields } from '@hearth/crdt';
import { AutoIndex, loadKernels, type Kernels, type MemoryReport, type SearchPlan } from '@hearth/vector';
import { execute, type Filter, type QueryStore } from '@hearth/query';
import { PREFIX_DOC } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';
import { collectionStart, collectionEnd, docKey, idOfKey, parseDocKey } from './_keys.js';
import { collectionBytes } from './_read.js';
import { decodeOpsV1 } from './ops.js';
import { decodeFieldValueV1, type DocValue, type Document } from './values.js';
import {
  decodeVectorCatalogV1, encodeVectorCatalogV1, VECTORS_DIR, VECTOR_CATALOG_FILE, type VectorCatalogIndex,
} from './vector-catalog.js';

/** Options of {@link Database.createVectorIndex}. */
export interface VectorIndexOptions {
  /** Dimension of every vector (1..65536). */
  dimension: number;
  /** Distance: `cosine` (1 − cos), `l2` (squared Euclidean), `ip` (1 − a·b). Default `cosine`. */
  metric?: 'cosine' | 'l2' | 'ip';
  /** HNSW links per node (2..128). Default 16. */
  M?: number;
  /** HNSW beam width while inserting (≥ M). Default 200. */
  efConstruction?: number;
  /** Default ef_search of `nearest` (≥ 1). Default 64. */
  efSearch?: number;
  /** `int8`: scalar quantisation (searches on int8 codes, rescored with f32; docs/vector.md). Default none. */
  quantization?: 'int8';
  /** Live vectors up to which an exact flat index answers; the HNSW graph is built above it. Default 10,000. */
  threshold?: number;
}

/** A vector index as {@link Database.vectorIndexes} reports it. */
export interface VectorIndexInfo {
  readonly collection: string;
  readonly field: string;
  readonly dimension: number;
  readonly metric: 'cosine' | 'l2' | 'ip';
  readonly M: number;
  readonly efConstruction: number;
  readonly efSearch: number;
  readonly quantization: 'int8' | undefined;
  readonly threshold: number;
  /** Which index answers now: exact flat (size ≤ threshold) or HNSW. */
  readonly kind: 'flat' | 'hnsw';
  /** Documents in the index. */
  readonly size: number;
  /** Existing documents left out: the field is missing (or null), or is not a valid vector of `dimension`. */
  readonly skipped: { readonly missing: number; readonly invalid: number };
  /** Up to 20 ids of documents skipped as invalid (for diagnosis). */
  readonly invalidIds: readonly string[];
  /** Document changes applied since the index was last saved. */
  readonly unsaved: number;
  /**
   * What the index holds in memory, in bytes (`@hearth/vector`'s `memory()`): with int8, `vectors` counts only the
   * f32 rows written since the last save (the others are read from the index file on demand: `onStorage`).
   */
  readonly memory: MemoryReport;
  /** Why the last periodic save failed, if it did (the next save retries; the index stays correct in memory). */
  readonly saveError?: string;
}

/** Options of {@link Database.nearest}. */
export interface NearestOptions {
  /** Number of neighbours (1..1,048,576). */
  k: number;
  /** A `@hearth/query` filter on the collection's documents: only matching documents are returned. */
  filter?: Filter;
  /** ef_search (HNSW beam width; raised to k). Default: the index's `efSearch`. */
  ef?: number;
  /**
   * How a filtered HNSW search runs (`@hearth/vector`'s `filterStrategy`): `auto` (default) picks from the
   * filter's selectivity; `graph` forces the filtered graph search, `flat` the exact scan of the matches.
   */
  filterStrategy?: 'auto' | 'graph' | 'flat';
}

/** One result of {@link Database.nearest}. */
export interface NearestHit {
  readonly id: string;
  readonly doc: Document;
  /** Distance under the index's metric (smaller is nearer; exact f32 distance also with int8). */
  readonly distance: number;
}

/** How a {@link Database.explainNearest} search ran: the vector package's plan plus the filter's evaluation. */
export interface NearestPlan extends SearchPlan {
  readonly collection: string;
  readonly field: string;
  /**
   * With a filter, how it was evaluated (by `@hearth/query`): `set`, the matching ids computed at once by a query
   * that a secondary index (or the id) serves; `per-document`, each document the search asks about, read and
   * tested (memoised), so a filtered graph search reads only the documents it visits.
   */
  readonly filterMode?: 'set' | 'per-document';
  /** `set`: documents of the collection that match. */
  readonly filterMatches?: number;
  /** `per-document`: documents read and tested. */
  readonly filterEvaluations?: number;
}

/** What open did with one vector index. */
export interface VectorIndexRecovery {
  readonly collection: string;
  readonly field: string;
  /** `loaded`: read from its file (and caught up); `rebuilt`: built from the documents. */
  readonly action: 'loaded' | 'rebuilt';
  /** Log entries whose changes were caught up after loading (0 when rebuilt). */
  readonly caughtUp: number;
  /** Why it was rebuilt (no saved file, corrupt file, stale, `rebuild: true`). */
  readonly reason?: string;
}

/** What open found about the vector indexes (`db.recovery.vectors`). */
export interface VectorRecovery {
  /** `absent`: no catalog (no index declared yet); `corrupt`: refused, definitions dropped (see `catalogError`). */
  readonly catalog: 'absent' | 'loaded' | 'corrupt';
  readonly catalogError?: string;
  readonly indexes: readonly VectorIndexRecovery[];
}

/** What the vector indexes read from the Database. */
export interface VectorHost {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly feeds: FeedStore;
  /** The current LSM (replaced by `rebuild`). */
  lsm(): Lsm;
  /** The applied state vector (what the documents reflect). */
  applied(): StateVectorEntry[];
  /** A read view that is a `@hearth/query` QueryStore (the Database's snapshot); released by the caller. */
  snapshot(): { getDoc(collection: string, id: string): Document | undefined; release(): void };
}

/**
 * Entries a loaded index may catch up before a rebuild from the documents is preferred. Reading an entry and
 * re-reading the documents it touched costs far less than inserting every vector again, so the bound is high.
 */
const CATCHUP_MAX_ENTRIES = 100_000;
/** Seed of every index's level generator: the same operations give the same graph on every open. */
const SEED = 0x5eed;
/** Periodic save: once this many document changes (or a tenth of the index, if larger) are unsaved. */
const SAVE_EVERY_MIN = 1000;

const DEFAULTS = { metric: 'cosine', M: 16, efConstruction: 200, efSearch: 64, threshold: 10_000 } as const;

interface Def {
  number: number;
  collection: string;
  field: string;
  dimension: number;
  metric: 'cosine' | 'l2' | 'ip';
  quantization: 'none' | 'int8';
  M: number;
  efConstruction: number;
  efSearch: number;
  threshold: number;
}

interface Saved {
  generation: number;
  state: Uint8Array;
  skipped: { id: string; reason: 'missing' | 'invalid' }[];
}

/** One live vector index. */
class Live {
  unsaved = 0;
  saved: Saved | null = null;
  saveError: string | undefined;
  constructor(
    readonly def: Def,
    readonly index: AutoIndex,
    readonly skipped: Map<string, 'missing' | 'invalid'>,
  ) {}
}

function checkInt(v: unknown, label: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`"${label}" expected an integer, got ${String(v)}`);
  if (v < lo || v > hi) throw new RangeError(`"${label}" expected ${lo}..${hi}, got ${v}`);
  return v;
}

/** The vector held by a field value, or null if it is not a valid vector for the index (invariant 1). */
function vectorOf(v: DocValue | undefined, def: Def): ArrayLike<number> | null {
  if (!(v instanceof Float32Array) && !Array.isArray(v)) return null;
  if (v.length !== def.dimension) return null;
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return null;
    norm += x * x;
  }
  if (def.metric === 'cosine' && !(norm > 0)) return null;
  return v as ArrayLike<number>;
}

/** Whether `stored` (as the index returns it: unit length for cosine) is the row `v` would be stored as. */
function sameRow(stored: Float32Array, v: ArrayLike<number>, cosine: boolean): boolean {
  let scale = 1;
  if (cosine) {
    let n = 0;
    for (let d = 0; d < v.length; d++) n += v[d] * v[d];
    scale = n > 0 ? 1 / Math.sqrt(n) : 1;
  }
  for (let d = 0; d < v.length; d++) if (Math.fround(v[d] * scale) !== stored[d]) return false;
  return true;
}

/** Paths a secondary index could serve in a filter: those of comparisons at the top level or under a top-level `and`. */
function servablePaths(f: Filter, out: Set<string>): Set<string> {
  if (f.op === 'and') for (const g of f.filters) servablePaths(g, out);
  else if (f.op === 'eq' || f.op === 'in' || f.op === 'gt' || f.op === 'gte' || f.op === 'lt' || f.op === 'lte' || f.op === 'prefix' || f.op === 'contains') {
    out.add(typeof f.path === 'string' ? f.path : f.path.join('.'));
  }
  return out;
}

/** Whether the query planner can probably find a filter's matches without a scan (an index on a servable path). */
function indexMayServe(store: QueryStore, collection: string, f: Filter): boolean {
  const paths = servablePaths(f, new Set());
  if (paths.has('_id')) return true;
  return store.indexes(collection).some((ix) => ix.fields.length > 0 && paths.has(ix.fields[0].join('.')));
}

/**
 * A QueryStore of one document, to test a filter on it with the query engine's own semantics (`execute`), so that
 * `nearest`'s filters mean exactly what they mean in `query`.
 */
class OneDocStore implements QueryStore {
  private id = '';
  private doc: Document | undefined;
  constructor(private readonly collection: string) {}
  getDoc(c: string, id: string): Document | undefined {
    return c === this.collection && id === this.id ? this.doc : undefined;
  }
  scan(c: string): Iterable<readonly [string, Document]> {
    return c === this.collection && this.doc !== undefined ? [[this.id, this.doc]] : [];
  }
  indexes(): readonly never[] {
    return [];
  }
  scanIndex(): Iterable<never> {
    return [];
  }
  countDocs(): number {
    return 1;
  }
  /** @throws QueryError for a malformed filter. */
  check(where: Filter): void {
    this.doc = undefined;
    execute(this, { collection: this.collection, where, limit: 1 });
  }
  matches(where: Filter, id: string, doc: Document): boolean {
    this.id = id;
    this.doc = doc;
    try {
      return execute(this, { collection: this.collection, where, limit: 1 }).rows.length === 1;
    } finally {
      this.doc = undefined;
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The vector indexes of one Database (see the file header). */
export class VectorIndexes {
  private readonly live = new Map<string, Live>();
  private readonly byCollection = new Map<string, Live[]>();
  private nextNumber = 1;
  /** Last generation used per index number (file names are never reused). */
  private readonly generations = new Map<number, number>();
  private chain: Promise<void> = Promise.resolve();
  private paused = false;

  private constructor(
    private readonly host: VectorHost,
    private readonly kernels: Kernels,
  ) {}

  private get vdir(): string {
    return `${this.host.dir}/${VECTORS_DIR}`;
  }

  private fileOf(def: Def, generation: number): string {
    return `${this.vdir}/${def.number}-${generation}.hnsw`;
  }

  /**
   * Reads the catalog and loads every index (catching it up), or rebuilds it from the documents (invariant 3).
   * REQUIRES: the documents are recovered (replayed to the feeds' heads). Rebuilt indexes are saved before this
   * returns, so the next open loads them.
   */
  static async open(host: VectorHost, options: { rebuild: boolean }): Promise<{ vectors: VectorIndexes; recovery: VectorRecovery }> {
    const v = new VectorIndexes(host, await loadKernels('auto'));
    const path = `${v.vdir}/${VECTOR_CATALOG_FILE}`;
    const bytes = await readFileIfExists(host.fs, path);
    if (bytes === undefined) return { vectors: v, recovery: { catalog: 'absent', indexes: [] } };
    let defs: readonly VectorCatalogIndex[];
    try {
      const cat = decodeVectorCatalogV1(bytes, path);
      v.nextNumber = cat.nextNumber;
      defs = cat.indexes;
      for (const d of defs) v.generations.set(d.number, d.generation);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      // The definitions are local configuration, not derived from the log: they cannot be rebuilt. Report it and
      // start empty; `createVectorIndex` (idempotent) declares them again.
      await host.fs.remove(v.vdir, { recursive: true });
      return { vectors: v, recovery: { catalog: 'corrupt', catalogError: e.message, indexes: [] } };
    }
    const reports: VectorIndexRecovery[] = [];
    let rebuiltAny = false;
    for (const d of defs) {
      const def: Def = {
        number: d.number, collection: d.collection, field: d.field, dimension: d.dimension, metric: d.metric,
        quantization: d.quantization, M: d.M, efConstruction: d.efConstruction, efSearch: d.efSearch, threshold: d.threshold,
      };
      let reason: string | undefined = options.rebuild ? 'rebuild requested' : d.generation === 0 ? 'no saved index file' : undefined;
      let caughtUp = 0;
      let lv: Live | undefined;
      if (reason === undefined) {
        try {
          const index = await AutoIndex.open(host.fs, v.fileOf(def, d.generation), v.autoOptions(def));
          if (index.metric !== def.metric) throw new CorruptionError(`saved index has metric ${index.metric}, the catalog ${def.metric}`);
          lv = new Live(def, index, new Map(d.skipped.map((s) => [s.id, s.reason])));
          lv.saved = { generation: d.generation, state: d.state, skipped: [...d.skipped] };
          const r = await v.catchUp(lv, d.state);
          if (typeof r === 'string') {
            reason = r;
            await lv.index.close(); // invariant 5
            lv = undefined;
          } else caughtUp = r;
        } catch (e) {
          if (lv !== undefined) await lv.index.close().catch(() => undefined);
          if (e instanceof CorruptionError || (e instanceof IoError && e.code === IoErrorCode.NOT_FOUND) || e instanceof RangeError) {
            reason = `saved index unusable: ${(e as Error).message}`;
            lv = undefined;
          } else throw e;
        }
      }
      if (lv === undefined) {
        lv = v.build(def);
        rebuiltAny = true;
      }
      v.register(lv);
      reports.push({ collection: def.collection, field: def.field, action: reason === undefined ? 'loaded' : 'rebuilt', caughtUp, ...(reason !== undefined ? { reason } : {}) });
    }
    if (rebuiltAny) await v.save();
    return { vectors: v, recovery: { catalog: 'loaded', indexes: reports } };
  }

  private autoOptions(def: Def) {
    return {
      dim: def.dimension,
      metric: def.metric,
      M: def.M,
      efConstruction: def.efConstruction,
      efSearch: def.efSearch,
      threshold: def.threshold,
      seed: SEED,
      kernels: this.kernels,
      ...(def.quantization === 'int8' ? { quantization: { type: 'int8' as const } } : {}),
    };
  }

  private register(lv: Live): void {
    this.live.set(lv.def.collection + '\u0000' + lv.def.field, lv);
    const list = this.byCollection.get(lv.def.collection) ?? [];
    list.push(lv);
    this.byCollection.set(lv.def.collection, list);
  }

  private unregister(lv: Live): void {
    this.live.delete(lv.def.collection + '\u0000' + lv.def.field);
    const list = (this.byCollection.get(lv.def.collection) ?? []).filter((x) => x !== lv);
    if (list.length === 0) this.byCollection.delete(lv.def.collection);
    else this.byCollection.set(lv.def.collection, list);
  }

  /** Builds an index from the current documents (synchronously: no write can interleave). */
  private build(def: Def): Live {
    const lv = new Live(def, new AutoIndex(this.autoOptions(def)), new Map());
    const lsm = this.host.lsm();
    const c = collectionBytes(def.collection);
    for (const e of lsm.iterate({ gte: collectionStart(c), lt: collectionEnd(c) })) {
      const fields = docFields(decodeDocStateV1(e.value));
      if (fields === null) continue;
      this.set(lv, idOfKey(e.key, c.length), fields);
    }
    lv.unsaved = lv.index.size + lv.skipped.size;
    return lv;
  }

  /** Brings one document of `lv`'s collection into the index (invariant 1). `fields` null: it does not exist. */
  private set(lv: Live, id: string, fields: ReadonlyMap<string, Uint8Array> | null): void {
    lv.unsaved++;
    if (fields === null) {
      lv.index.remove(id);
      lv.skipped.delete(id);
      return;
    }
    const bytes = fields.get(lv.def.field);
    const value = bytes === undefined ? undefined : decodeFieldValueV1(bytes, false);
    if (value === undefined || value === null) {
      lv.index.remove(id);
      lv.skipped.set(id, 'missing');
      return;
    }
    const vec = vectorOf(value, lv.def);
    if (vec === null) {
      lv.index.remove(id);
      lv.skipped.set(id, 'invalid');
      return;
    }
    lv.skipped.delete(id);
    const stored = lv.index.get(id);
    // A patch of another field leaves the vector as it was: re-inserting it would cost a graph update.
    if (stored !== undefined && sameRow(stored, vec, lv.def.metric === 'cosine')) return;
    lv.index.set(id, vec);
  }

  /**
   * Catches a loaded index up from its recorded state vector to the applied one (invariant 3). Returns the
   * number of entries read, or why the index must be rebuilt instead.
   */
  private async catchUp(lv: Live, stateBytes: Uint8Array): Promise<number | string> {
    let saved: StateVectorEntry[];
    try {
      saved = decodeStateVectorV1(stateBytes);
    } catch (e) {
      return `recorded state vector does not decode: ${(e as Error).message}`;
    }
    const applied = new Map(this.host.applied().map((a) => [feedIdToHex(a.feed), a]));
    const from = new Map<string, number>();
    for (const s of saved) {
      const hex = feedIdToHex(s.feed);
      const a = applied.get(hex);
      if (a === undefined || a.seq < s.seq) return `stale: the documents reflect fewer entries of feed ${hex.slice(0, 16)}… than the saved index (${a?.seq ?? 0} < ${s.seq})`;
      const [e] = await this.host.feeds.read(s.feed, s.seq, s.seq);
      if (!equalBytes(e.hash, s.hash)) return `stale: feed ${hex.slice(0, 16)}… holds another entry at seq ${s.seq} than the saved index reflects`;
      from.set(hex, s.seq);
    }
    let total = 0;
    for (const [hex, a] of applied) total += a.seq - (from.get(hex) ?? 0);
    if (total > CATCHUP_MAX_ENTRIES) return `stale: ${total} entries behind (more than ${CATCHUP_MAX_ENTRIES})`;
    const touched = new Set<string>();
    const c = lv.def.collection;
    for (const [hex, a] of applied) {
      const start = (from.get(hex) ?? 0) + 1;
      for (let s = start; s <= a.seq; s += 256) {
        for (const e of await this.host.feeds.read(a.feed, s, Math.min(a.seq, s + 255))) {
          for (const op of decodeOpsV1(e.ops, { checkValues: false })) if (op.collection === c) touched.add(op.id);
        }
      }
    }
    const lsm = this.host.lsm();
    const cb = collectionBytes(c);
    for (const id of touched) {
      const v = lsm.get(docKey(cb, id));
      this.set(lv, id, v === undefined ? null : docFields(decodeDocStateV1(v)));
    }
    return total;
  }

  /**
   * Applies a batch of document states just written to the LSM (invariant 1). Called by the Database right after
   * each `lsm.batch`, in the same turn. Schedules a periodic save when enough changes are unsaved.
   */
  applyBatch(batch: readonly BatchOp[]): void {
    if (this.byCollection.size === 0 || this.paused) return;
    let due = false;
    for (const op of batch) {
      if (op.key[0] !== PREFIX_DOC || op.type !== 'put') continue;
      const k = parseDocKey(op.key);
      if (k === null) continue;
      const list = this.byCollection.get(k.collection);
      if (list === undefined) continue;
      const fields = docFields(decodeDocStateV1(op.value));
      for (const lv of list) {
        this.set(lv, k.id, fields);
        if (lv.unsaved >= Math.max(SAVE_EVERY_MIN, lv.index.size / 10) && lv.saveError === undefined) due = true;
      }
    }
    if (due) this.scheduleSave();
  }

  private saveScheduled = false;
  private scheduleSave(): void {
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    this.save().catch(() => undefined); // the error is kept per index (`saveError`) and reported by `info`
  }

  /** Stops index maintenance (while the Database replays into a fresh LSM); {@link rebuildAll} resumes it. */
  pause(): void {
    this.paused = true;
  }

  /** Rebuilds every index from the documents and saves them. */
  async rebuildAll(): Promise<void> {
    this.paused = false;
    for (const lv of [...this.live.values()]) {
      this.unregister(lv);
      this.register(this.build(lv.def));
      await lv.index.close(); // invariant 5
    }
    await this.save();
  }

  /**
   * Saves every index with unsaved changes (or never saved) to a new generation file, then the catalog, then
   * removes files the catalog no longer names (invariant 4). @throws IoError from the file system.
   */
  save(): Promise<void> {
    const run = this.chain.then(() => this.doSave());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doSave(): Promise<void> {
    this.saveScheduled = false;
    await this.host.fs.mkdir(this.vdir);
    const lives = [...this.live.values()];
    let error: unknown;
    for (const lv of lives) {
      if (lv.saved !== null && lv.unsaved === 0) continue;
      // A fresh name per save, even for an index rebuilt since (never overwrite the file the catalog names).
      const generation = (this.generations.get(lv.def.number) ?? 0) + 1;
      this.generations.set(lv.def.number, generation);
      // Invariant 2: the file's bytes, the state vector and the skipped set are taken in this one turn (no await
      // between here and the synchronous encoding inside `save`).
      const state = encodeStateVectorV1(this.host.applied());
      const skipped = [...lv.skipped].map(([id, reason]) => ({ id, reason }));
      const unsaved = lv.unsaved;
      const writing = lv.index.save(this.host.fs, this.fileOf(lv.def, generation));
      lv.unsaved -= unsaved;
      try {
        await writing;
        lv.saved = { generation, state, skipped };
        lv.saveError = undefined;
      } catch (e) {
        lv.unsaved += unsaved;
        lv.saveError = (e as Error).message;
        error ??= e;
      }
    }
    await this.writeCatalog();
    if (error !== undefined) throw error;
  }

  private async writeCatalog(): Promise<void> {
    const fs = this.host.fs;
    const lives = [...this.live.values()].sort((a, b) => a.def.number - b.def.number);
    const bytes = encodeVectorCatalogV1({
      nextNumber: this.nextNumber,
      indexes: lives.map((lv) => ({
        ...lv.def,
        generation: lv.saved?.generation ?? 0,
        state: lv.saved?.state ?? new Uint8Array(0),
        skipped: lv.saved?.skipped ?? [],
      })),
    });
    await fs.mkdir(this.vdir);
    await writeFileAtomic(fs, `${this.vdir}/${VECTOR_CATALOG_FILE}`, bytes); // via VECTOR_CATALOG_TMP_FILE
    // Remove index files the catalog does not name (older generations, dropped indexes, leftovers of a crash).
    const keep = new Set(lives.filter((lv) => lv.saved !== null).map((lv) => `${lv.def.number}-${lv.saved!.generation}.hnsw`));
    for (const name of await fs.list(this.vdir)) {
      if (name === VECTOR_CATALOG_FILE || keep.has(name)) continue;
      await fs.remove(`${this.vdir}/${name}`);
    }
  }

  /** Waits for saves in flight, then saves what is unsaved, then releases the files int8 indexes read (close). */
  async close(): Promise<void> {
    if (this.live.size > 0) await this.save();
    else await this.chain;
    for (const lv of this.live.values()) await lv.index.close();
  }

  private defFrom(collection: string, field: string, o: VectorIndexOptions, number: number): Def {
    collectionBytes(collection);
    if (typeof field !== 'string' || field === '' || field === '_id') throw new TypeError(`"field" expected a top-level field name, got ${JSON.stringify(field)}`);
    if (o === null || typeof o !== 'object') throw new TypeError('"options" expected an object { dimension, metric?, M?, efConstruction?, efSearch?, quantization?, threshold? }');
    const metric = o.metric ?? DEFAULTS.metric;
    if (metric !== 'cosine' && metric !== 'l2' && metric !== 'ip') throw new RangeError(`"metric" expected 'cosine' | 'l2' | 'ip', got ${String(metric)}`);
    if (o.quantization !== undefined && o.quantization !== 'int8') throw new RangeError(`"quantization" expected 'int8' or undefined, got ${String(o.quantization)}`);
    const M = checkInt(o.M ?? DEFAULTS.M, 'M', 2, 128);
    return {
      number,
      collection,
      field,
      dimension: checkInt(o.dimension, 'dimension', 1, 65536),
      metric,
      quantization: o.quantization ?? 'none',
      M,
      efConstruction: checkInt(o.efConstruction ?? DEFAULTS.efConstruction, 'efConstruction', M, 1 << 20),
      efSearch: checkInt(o.efSearch ?? DEFAULTS.efSearch, 'efSearch', 1, 1 << 20),
      threshold: checkInt(o.threshold ?? DEFAULTS.threshold, 'threshold', 0, 2 ** 31 - 1),
    };
  }

  /**
   * Declares an index and builds it from the documents, then saves it. Idempotent for an identical definition.
   * REQUIRES: no write reaches the LSM meanwhile (the Database runs it exclusively).
   */
  async create(collection: string, field: string, options: VectorIndexOptions): Promise<VectorIndexInfo> {
    const def = this.defFrom(collection, field, options, this.nextNumber);
    const existing = this.live.get(collection + '\u0000' + field);
    if (existing !== undefined) {
      const a = { ...existing.def, number: 0 };
      const b = { ...def, number: 0 };
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new DbError(DbErrorCode.VECTOR_INDEX_CONFLICT, `a vector index on ${collection}.${field} exists with another definition (${JSON.stringify(a)}); drop it first`, { collection });
      }
      return this.info(existing);
    }
    this.nextNumber++;
    const lv = this.build(def);
    this.register(lv);
    await this.save();
    return this.info(lv);
  }

  /** Removes an index and its files. Returns whether it existed. */
  async drop(collection: string, field: string): Promise<boolean> {
    const lv = this.live.get(collection + '\u0000' + field);
    if (lv === undefined) return false;
    this.unregister(lv);
    await this.chain; // a save in flight may still be writing it
    await lv.index.close(); // invariant 5: release its file before it is removed
    await this.save(); // rewrites the catalog without it, then removes its files
    return true;
  }

  private info(lv: Live): VectorIndexInfo {
    let missing = 0;
    const invalidIds: string[] = [];
    let invalid = 0;
    for (const [id, r] of lv.skipped) {
      if (r === 'missing') missing++;
      else {
        invalid++;
        if (invalidIds.length < 20) invalidIds.push(id);
      }
    }
    const d = lv.def;
    return {
      collection: d.collection, field: d.field, dimension: d.dimension, metric: d.metric, M: d.M, efConstruction: d.efConstruction,
      efSearch: d.efSearch, quantization: d.quantization === 'int8' ? 'int8' : undefined, threshold: d.threshold,
      kind: lv.index.kind, size: lv.index.size, skipped: { missing, invalid }, invalidIds, unsaved: lv.unsaved, memory: lv.index.memory(),
      ...(lv.saveError !== undefined ? { saveError: lv.saveError } : {}),
    };
  }

  /** Every index, ordered by collection then field. */
  list(): VectorIndexInfo[] {
    return [...this.live.values()]
      .sort((a, b) => (a.def.collection < b.def.collection ? -1 : a.def.collection > b.def.collection ? 1 : a.def.field < b.def.field ? -1 : a.def.field > b.def.field ? 1 : 0))
      .map((lv) => this.info(lv));
  }

  /**
   * The k nearest documents (see {@link Database.nearest}). Synchronous: the index, the filter's evaluation and
   * the documents are read in one turn, so they agree.
   */
  nearest(collection: string, field: string, vector: ArrayLike<number>, options: NearestOptions): { hits: NearestHit[]; plan: NearestPlan } {
    const lv = this.live.get(collection + '\u0000' + field);
    if (lv === undefined) {
      throw new DbError(DbErrorCode.NO_VECTOR_INDEX, `no vector index on ${collection}.${field}: declare one with createVectorIndex`, { collection });
    }
    if (options === null || typeof options !== 'object') throw new TypeError('"options" expected an object { k, filter?, ef? }');
    checkInt(options.k, 'k', 1, 1 << 20);
    if (options.ef !== undefined) checkInt(options.ef, 'ef', 1, 1 << 20);
    if (vector === null || typeof vector !== 'object' || typeof (vector as { length?: unknown }).length !== 'number') {
      throw new TypeError('"vector" expected an array-like of numbers');
    }
    if (vector.length !== lv.def.dimension) throw new RangeError(`"vector" expected length ${lv.def.dimension}, got length=${vector.length}`);
    let filter: ((id: string | number) => boolean) | undefined;
    let filterInfo: { filterMode: 'set' | 'per-document'; filterMatches?: number; filterEvaluations?: number } | undefined;
    let memo: Map<string, boolean> | undefined;
    const snap = this.host.snapshot();
    try {
      const where = options.filter;
      if (where !== undefined) {
        const store = snap as unknown as QueryStore;
        if (indexMayServe(store, collection, where)) {
          // A secondary index (or the id) can find the matches without reading the collection: take the set.
          const ids = new Set<string>();
          for (const row of execute(store, { collection, where }).rows) ids.add(row.id);
          filterInfo = { filterMode: 'set', filterMatches: ids.size };
          filter = (id) => ids.has(id as string);
        } else {
          // Evaluate per document, only where the search asks (memoised: the filter must be pure during it).
          // A filtered graph search then reads the documents it visits, not the whole collection.
          const one = new OneDocStore(collection);
          one.check(where); // a malformed filter throws QueryError here, even if no document is evaluated
          const m = (memo = new Map<string, boolean>());
          filter = (id) => {
            let r = m.get(id as string);
            if (r === undefined) {
              const doc = snap.getDoc(collection, id as string);
              r = doc !== undefined && one.matches(where, id as string, doc);
              m.set(id as string, r);
            }
            return r;
          };
        }
      }
      const { hits, plan } = lv.index.explain(vector, { k: options.k, ...(options.ef !== undefined ? { ef: options.ef } : {}), ...(filter !== undefined ? { filter } : {}), ...(options.filterStrategy !== undefined ? { filterStrategy: options.filterStrategy } : {}) });
      const out = hits.map((h): NearestHit | null => {
        const doc = snap.getDoc(collection, h.id as string);
        if (doc === undefined && this.paused) return null; // a rebuild is replaying the documents: not there yet
        if (doc === undefined) {
          throw new CorruptionError(`vector index ${collection}.${field} names document ${JSON.stringify(h.id)}, which does not exist; rebuild() the database's views`);
        }
        return { id: h.id as string, doc: doc as Document, distance: h.distance };
      });
      if (memo !== undefined) filterInfo = { filterMode: 'per-document', filterEvaluations: memo.size };
      return { hits: out.filter((h): h is NearestHit => h !== null), plan: { ...plan, collection, field, ...filterInfo } };
    } finally {
      snap.release();
    }
  }
}
