/**
 * A cache of decoded documents for the Database's reads (`get`, `getMany`, transaction reads, snapshot reads and the
 * query engine's `getDoc`), so a repeated read of a document costs a hash lookup and a copy instead of an LSM
 * lookup and a decode. Internal.
 *
 * Each entry is the visible document of one key (or its absence) together with `validFrom`, an LSM sequence number.
 * Bounded by an estimate of its memory (bytes) and by a number of entries; least recently used entries go first.
 * Admission, as in the LSM's block cache: while the cache has room, every document read enters it (caching then
 * evicts nothing, and a read-heavy workload starts hitting at once instead of after every document was read
 * twice). Once it is full, a document enters only on its second miss within a window of recent misses (TinyLFU's
 * "doorkeeper", Einziger, Friedman, Manes, ACM ToS 2017), so reads that touch a document once (random reads over a
 * collection larger than the cache, the rows of one big query) pay a hash and a bit test instead of a copy and an
 * eviction, and do not push out documents that are read again. Trade-off: the cache fills to its budget under any
 * read pattern (the budget is the memory it may hold); once full, it behaves as before.
 *
 * Invariants (what makes a hit correct):
 * 1. Validity: for an entry with `validFrom = v`, the document's visible content at every LSM sequence s with
 *    v <= s <= the current sequence equals the entry's. An entry is created only from a read at the current
 *    sequence (v = that sequence), and every write that changes a document key removes that key's entry in the same
 *    synchronous turn as the memtable update (`invalidate`, called by the Database's `install` with the batch it
 *    hands to `lsm.batch`). Batches that touch only other keys (index entries, metadata) keep entries valid.
 * 2. A read at sequence s uses an entry only if s >= validFrom (so a snapshot older than the entry bypasses it);
 *    it stores what it read only if s is the current sequence.
 * 3. The cached document (the "master") never leaves the cache: every hit, and the read that filled the entry,
 *    returns a fresh deep copy (objects, arrays, `Uint8Array`, `Float32Array` copied; strings shared, they are
 *    immutable). So callers own what they get, as before the cache, and cannot change what the next reader sees.
 *
 * @packageDocumentation
 */
import type { BatchOp } from '@hearth/lsm';
import { KEY_SEPARATOR, PREFIX_DOC } from './constants.js';
import type { DocValue, Document } from './values.js';
import { trustedUtf8 } from './_decode.js';

/** Default budget of a Database's document cache: 16 MiB (estimated) and at most 100,000 documents. */
export const DEFAULT_DOC_CACHE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_DOC_CACHE_ENTRIES = 100_000;

/** The doorkeeper: a bitmap of hashed keys missed recently, cleared after `DOOR_BITS / 4` new keys. */
const DOOR_BITS = 1 << 17;

/** FNV-1a over the UTF-16 units of collection, a separator and id. */
function keyHash(collection: string, id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < collection.length; i++) h = Math.imul(h ^ collection.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xffff, 0x01000193);
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Returned by {@link DocCache.lookup} when the cache cannot answer. */
export const MISS: unique symbol = Symbol('miss');

interface Entry {
  readonly coll: CollectionEntries;
  readonly id: string;
  /** `keyHash(collection, id)`. */
  readonly hash: number;
  /** The master document, or undefined: the document does not exist. */
  readonly doc: Document | undefined;
  /** Keys of `doc` whose values are containers (copied on a hit); null when every value is a scalar or string. */
  readonly nested: readonly string[] | null;
  readonly validFrom: number;
  readonly size: number;
  prev: Entry | null;
  next: Entry | null;
}

interface CollectionEntries {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly ids: Map<string, Entry>;
}

const ENTRY_OVERHEAD = 128;

/** A deep copy of a model value (strings and scalars shared). */
function copyValue(v: DocValue): DocValue {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const out: DocValue[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      out[i] = typeof e === 'object' && e !== null ? copyValue(e) : e;
    }
    return out;
  }
  if (v instanceof Uint8Array) return v.slice();
  if (v instanceof Float32Array) return v.slice();
  const out: { [key: string]: DocValue | undefined } = { ...v };
  for (const k in out) {
    const e = out[k];
    if (typeof e === 'object' && e !== null) setOwn(out, k, copyValue(e));
  }
  return out;
}

function setOwn(o: { [key: string]: DocValue | undefined }, k: string, v: DocValue): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function nestedKeys(doc: Document): string[] | null {
  let out: string[] | null = null;
  for (const k of Object.keys(doc)) {
    const v = doc[k];
    if (typeof v === 'object' && v !== null) (out ??= []).push(k);
  }
  return out;
}

function copyDoc(doc: Document, nested: readonly string[] | null): Document {
  const out: Document = { ...doc }; // spread defines own data properties (a "__proto__" key stays a key)
  if (nested !== null) for (let i = 0; i < nested.length; i++) setOwn(out, nested[i], copyValue(doc[nested[i]]!));
  return out;
}

/** See the file header. Synchronous; one per Database. */
export class DocCache {
  private readonly collections = new Map<string, CollectionEntries>();
  /** Most recently used end of the LRU list, and the least recently used end. */
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private bytes = 0;
  private entries = 0;
  private readonly door = new Uint32Array(DOOR_BITS / 32);
  private doorKeys = 0;
  /**
   * How many entries hash to each slot (`keyHash & presentMask`), saturating at 255 (a saturated slot is never
   * decremented): 0 proves a key is not cached, so most misses cost a hash and one byte instead of two `Map`
   * lookups (~0.4 us in a Chromium worker with 24,000 entries). Invariant: a slot is >= 1 while an entry hashes
   * to it (below 255 the count is exact).
   */
  private readonly present: Uint8Array;
  private readonly presentMask: number;
  /** Counters for tests and diagnostics. */
  hits = 0;
  misses = 0;

  /**
   * @param sequence the LSM's current sequence number.
   * @param maxBytes budget of the estimated memory of the entries, bytes (0 disables the cache).
   * @param maxEntries most entries held.
   */
  constructor(
    private readonly sequence: () => number,
    private readonly maxBytes = DEFAULT_DOC_CACHE_BYTES,
    private readonly maxEntries = DEFAULT_DOC_CACHE_ENTRIES,
  ) {
    if (!(maxBytes >= 0) || !(maxEntries >= 0)) throw new RangeError(`DocCache: budgets must be >= 0, got ${maxBytes} bytes, ${maxEntries} entries`);
    let slots = 1024;
    while (slots < 2 * maxEntries && slots < 1 << 18) slots *= 2;
    this.present = new Uint8Array(slots);
    this.presentMask = slots - 1;
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries;
  }

  /**
   * The document `collection/id` as read at sequence `at` (undefined: at the current sequence): a fresh copy, or
   * undefined if it does not exist; {@link MISS} if the cache cannot answer (invariant 2).
   */
  lookup(collection: string, id: string, at: number | undefined): Document | undefined | typeof MISS {
    if (this.entries === 0 || this.present[keyHash(collection, id) & this.presentMask] === 0) {
      this.misses++;
      return MISS;
    }
    const coll = this.collections.get(collection);
    const e = coll?.ids.get(id);
    if (e === undefined || (at !== undefined && at < e.validFrom)) {
      this.misses++;
      return MISS;
    }
    this.hits++;
    if (e !== this.head) {
      this.unlink(e);
      this.pushHead(e);
    }
    return e.doc === undefined ? undefined : copyDoc(e.doc, e.nested);
  }

  /**
   * Offers what a read at sequence `at` (undefined: current) found; keeps it only if `at` is the current sequence
   * (invariant 2). Returns what the reader must hand out: a copy of `doc` when the cache keeps `doc` itself.
   * @param collectionBytes the collection's UTF-8 bytes (for invalidation by key).
   * @param size the stored state's size in bytes (the basis of the memory estimate).
   */
  store(collection: string, collectionBytes: Uint8Array, id: string, doc: Document | undefined, at: number | undefined, size: number): Document | undefined {
    if (this.maxBytes === 0 || this.maxEntries === 0) return doc;
    const seq = this.sequence();
    if (at !== undefined && at !== seq) return doc;
    const charge = ENTRY_OVERHEAD + id.length * 2 + size * 2;
    if (charge > this.maxBytes) return doc;
    const h = keyHash(collection, id);
    if (this.bytes + charge > this.maxBytes || this.entries >= this.maxEntries) {
      // Full: the doorkeeper. The first miss of a key only marks it.
      const word = (h >>> 5) & (DOOR_BITS / 32 - 1);
      const bit = 1 << (h & 31);
      if ((this.door[word] & bit) === 0) {
        this.door[word] |= bit;
        if (++this.doorKeys >= DOOR_BITS / 4) {
          this.door.fill(0);
          this.doorKeys = 0;
        }
        return doc;
      }
    }
    let coll = this.collections.get(collection);
    if (coll === undefined) this.collections.set(collection, (coll = { name: collection, bytes: collectionBytes, ids: new Map() }));
    const old = coll.ids.get(id);
    if (old !== undefined) this.remove(old);
    const nested = doc === undefined ? null : nestedKeys(doc);
    const e: Entry = { coll, id, hash: h, doc, nested, validFrom: seq, size: charge, prev: null, next: null };
    coll.ids.set(id, e);
    const slot = h & this.presentMask;
    if (this.present[slot] !== 255) this.present[slot]++;
    this.pushHead(e);
    this.entries++;
    this.bytes += e.size;
    while ((this.bytes > this.maxBytes || this.entries > this.maxEntries) && this.tail !== null) this.remove(this.tail);
    return doc === undefined ? undefined : copyDoc(doc, nested);
  }

  /**
   * Removes the entries of every document key in `ops` (invariant 1). Call in the same synchronous turn as the
   * `lsm.batch(ops)` that installs them.
   */
  invalidate(ops: readonly BatchOp[]): void {
    if (this.entries === 0) return;
    for (let i = 0; i < ops.length; i++) {
      const key = ops[i].key;
      if (key[0] !== PREFIX_DOC) continue;
      this.invalidateKey(key);
      if (this.entries === 0) return;
    }
  }

  /** Removes the entry of one document key (`0x01 | collection | 0x00 | id`), if any. */
  invalidateKey(key: Uint8Array): void {
    for (const coll of this.collections.values()) {
      const c = coll.bytes;
      const n = c.length;
      if (key.length < n + 2 || key[n + 1] !== KEY_SEPARATOR) continue;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (key[1 + i] !== c[i]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      const e = coll.ids.get(idOf(key, n + 2));
      if (e !== undefined) this.remove(e);
      return; // collection names hold no NUL: at most one collection matches (`_keys.ts` invariant 1)
    }
  }

  /** Drops every entry (and the doorkeeper's marks). */
  clear(): void {
    this.door.fill(0);
    this.present.fill(0);
    this.doorKeys = 0;
    this.collections.clear();
    this.head = this.tail = null;
    this.bytes = 0;
    this.entries = 0;
  }

  private remove(e: Entry): void {
    const slot = e.hash & this.presentMask;
    if (this.present[slot] !== 255) this.present[slot]--;
    this.unlink(e);
    e.coll.ids.delete(e.id);
    if (e.coll.ids.size === 0) this.collections.delete(e.coll.name);
    this.entries--;
    this.bytes -= e.size;
  }

  private unlink(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }

  private pushHead(e: Entry): void {
    e.next = this.head;
    e.prev = null;
    if (this.head !== null) this.head.prev = e;
    this.head = e;
    if (this.tail === null) this.tail = e;
  }
}

/** The id of a document key whose id starts at `at` (valid UTF-8: the key was built from a checked id). */
function idOf(key: Uint8Array, at: number): string {
  return trustedUtf8(key, at, key.length);
}
