/**
 * The memtable: a skiplist (Pugh, "Skip lists: a probabilistic alternative to balanced trees", CACM 1990) of
 * internal entries (user key, sequence, kind, value), kept in typed arrays so that an insert allocates nothing but
 * occasional array growth. Keys and values are copied into one byte arena.
 *
 * Order: user key ascending (unsigned bytes), then sequence descending, so the first entry at or after
 * (key, S) is the newest version of `key` visible at sequence S.
 *
 * Invariants:
 * 1. Node 0 is the head sentinel; it has MAX_HEIGHT links and no key.
 * 2. For every level h, following `links[base + h]` (`base` of each node's record) from the head visits nodes in
 *    strictly increasing internal order and ends at NIL (-1). Level 0 links every node.
 * 3. `prev` of node n is its level-0 predecessor (0 = the head for the first node), so reverse iteration is O(1) per
 *    step; `tail` is the last node at level 0 (0 when empty).
 * 4. No two nodes have the same (user key, sequence): a second write at the same pair (a batch that touches a key
 *    twice) replaces the node's kind and value in place.
 * 5. Nodes are never removed and node ids never change, so an iterator's node id stays valid while writes go on;
 *    the arena may be reallocated, so readers reach bytes through `this.arena` after every call that may insert.
 * 6. Entries newer than a reader's sequence are skipped by the reader, never hidden by the memtable.
 * 7. Every user key inserted has its bits set in `bloom` (2 probes of a 32-bit FNV-1a hash, at least 8 bits per
 *    key: the filter is rebuilt 4x larger from the nodes when the memtable outgrows it), so `get` of a key never
 *    inserted returns at once in about 99% of cases, without a skiplist search. A database's write of a new document
 *    first looks its key up (it is absent), so that lookup no longer costs a search.
 * 8. The hash index maps the user key of every node below `indexed` to its newest such node (the largest sequence):
 *    for each key exactly one slot holds (FNV-1a hash of the key, node id), found by linear probing from
 *    `hash & indexMask` before any empty slot (node id 0, the head, marks an empty slot); at most half the slots are
 *    used. It is brought up to date (`indexed = nodes`) by the first lookup after writes, not by the writes
 *    themselves, so a bulk load pays nothing for it and a read pays once for the nodes written since the last read
 *    (about 30 ns a node: one probe, the key's hash being stored with its node). Older versions of the key
 *    follow its newest node at level 0 (the internal order puts them next, sequence descending), so a point lookup
 *    is a hash probe plus, for a read at an older sequence, a walk along that key's versions: no skiplist search,
 *    whose ~log n node visits each land on random memory.
 * 9. `lastAt[h]` is the last node at level h (0, the head, when the level is empty), for every h < MAX_HEIGHT. An
 *    insert after the tail (keys written in ascending order: a bulk load, ids that grow) takes these as its splice
 *    instead of searching: one comparison with the tail instead of ~log n.
 * 10. The finger (Pugh, "A skip list cookbook", 1990, section 3.4 "search fingers"): when `fingerNode` is not 0,
 *    `finger[h]` is, for every h < `height`, the last node at level h whose internal key is <= `fingerNode`'s
 *    (`fingerNode` itself for the levels it has). Every insert sets it to the inserted node (or, for an in-place
 *    replacement, to its level-0 predecessor, whose `splice` has the same property). An insert after the finger's
 *    key starts from it: it climbs while the successor at a level is still before the new key, then descends from
 *    there, so a key just after the previous one (keys written in nearly ascending order that do not all follow
 *    the tail: `n9`, `n10`, `n11`, ... or several ascending streams) costs O(log d) comparisons for a distance of d
 *    nodes instead of ~log n, most of which land on cold memory.
 *
 * Internal module: not exported from the package.
 */
import { compareRange } from './_bytes.js';

const MAX_HEIGHT = 12;
/** Levels a finger search climbs before it gives up for a search from the top (invariant 10). */
const FINGER_LEVELS = 3;
const NIL = -1;

/** Node record layout (int32 index within a record; the sequence is float64 index `n * FSTRIDE + 4`). */
const STRIDE = 10;
const FSTRIDE = STRIDE / 2;
const K_OFF = 0;
const K_LEN = 1;
const V_OFF = 2;
const V_LEN = 3;
const KIND = 4;
const BASE = 5;
const PREV = 6;
const HASH = 7;

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number): T {
  const C = a.constructor as new (n: number) => T;
  const b = new C(n);
  b.set(a as never);
  return b;
}

/** Largest arena a capacity hint pre-sizes (bytes); past it the arena grows by doubling. */
const MAX_ARENA_HINT = 64 * 1024 * 1024;

export class Memtable {
  arena: Uint8Array;
  private arenaLen = 0;

  /**
   * Node records, one per node id, `STRIDE` int32s each (40 bytes): key offset and length in the arena, value offset
   * and length, kind, `base` (the node's first slot in `links`), `prev` (invariant 3), the FNV-1a hash of the key
   * (so that growing the filter or the index does not re-read the arena), then the sequence as a float64 (`recF`,
   * a view of the same memory). One record instead of one array per field: a lookup reads one or two cache lines
   * per node instead of one per field.
   */
  private rec = new Int32Array(STRIDE * 1024);
  private recF = new Float64Array(this.rec.buffer);
  private links = new Int32Array(4096);
  private linksLen = 0;
  /** Number of nodes including the head. */
  private nodes = 0;
  private height = 1;
  tail = 0;
  private rng = 0x2545f491;

  /** Entries (not counting the head). */
  count = 0;
  /** Largest sequence inserted (0 when empty). */
  maxSeq = 0;
  /** Position of the newest write applied here (see WriteOptions.position). */
  lastPosition: Uint8Array | undefined = undefined;
  /** Set when a write (even an empty batch) carried a position. */
  positionPending = false;

  private readonly splice = new Int32Array(MAX_HEIGHT);
  /** Invariant 9: the last node at each level (0 = the head: the level is empty). */
  private readonly lastAt = new Int32Array(MAX_HEIGHT);
  /** Invariant 10: the search finger (0 = none) and its node at each level. */
  private fingerNode = 0;
  private readonly finger = new Int32Array(MAX_HEIGHT);
  private bloom = new Int32Array(256); // 8,192 bits
  private bloomMask = 8192 - 1;
  /** Hash index (invariant 8): slot i is `index[2i]` (the key's hash) and `index[2i + 1]` (its newest node, 0 = empty); doubled at half load (16-32 bytes a distinct key). */
  private index = new Int32Array(2 * 1024);
  private indexMask = 1024 - 1;
  /** Used slots of `index` (distinct user keys). */
  private indexUsed = 0;
  /** Nodes `[1, indexed)` are in the index (invariant 8). */
  private indexed = 1;

  /**
   * @param capacityHint bytes the memtable is expected to reach before it is flushed (the LSM's `memtableBytes`):
   *   the arena is allocated at about that size (at most 64 MiB) instead of 64 KiB, so filling it never copies it.
   *   Growing by doubling copied the whole arena each time, a pause of 10-30 ms inside one write once it held
   *   several MiB. The unused part costs address space, not memory: large buffers are zero pages until written.
   */
  constructor(capacityHint = 0) {
    this.arena = new Uint8Array(Math.max(64 * 1024, Math.min(MAX_ARENA_HINT, Math.floor(capacityHint))));
    this.newNode(MAX_HEIGHT);
    this.rec[PREV] = NIL;
  }

  /** Approximate memory use in bytes (arena plus node arrays), compared with `memtableBytes`. */
  get bytes(): number {
    // Not counted: the filter (1-4 bytes a key) and the hash index (16-32 bytes a distinct key, once read), so
    // that adding them did not change when memtables flush.
    return this.arenaLen + this.count * 48 + this.linksLen * 4;
  }

  private newNode(h: number): number {
    const n = this.nodes;
    if (n * STRIDE === this.rec.length) {
      this.rec = grown(this.rec, this.rec.length * 2);
      this.recF = new Float64Array(this.rec.buffer);
    }
    if (this.linksLen + MAX_HEIGHT > this.links.length) this.links = grown(this.links, this.links.length * 2);
    this.rec[n * STRIDE + BASE] = this.linksLen;
    this.links.fill(NIL, this.linksLen, this.linksLen + h);
    this.linksLen += h;
    this.nodes = n + 1;
    return n;
  }

  private randomHeight(): number {
    let h = 1;
    // xorshift32; branching factor 4.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    while (h < MAX_HEIGHT && (x & 3) === 0) {
      h++;
      x >>>= 2;
    }
    return h;
  }

  private append(src: Uint8Array): number {
    const n = src.length;
    if (this.arenaLen + n > this.arena.length) {
      const next = new Uint8Array(Math.max(this.arenaLen + n, this.arena.length * 2));
      next.set(this.arena.subarray(0, this.arenaLen));
      this.arena = next;
    }
    const at = this.arenaLen;
    if (n < 32) {
      const a = this.arena;
      for (let i = 0; i < n; i++) a[at + i] = src[i];
    } else this.arena.set(src, at);
    this.arenaLen += n;
    return at;
  }

  /** Compares node n's internal key with (t, tseq). Negative if the node sorts first. */
  private cmpNode(n: number, t: Uint8Array, tseq: number): number {
    const r = this.rec;
    const c = compareRange(this.arena, r[n * STRIDE + K_OFF], r[n * STRIDE + K_LEN], t, 0, t.length);
    if (c !== 0) return c;
    const s = this.recF[n * FSTRIDE + 4];
    return s > tseq ? -1 : s < tseq ? 1 : 0;
  }

  /**
   * First node >= (t, tseq) (or > with `strict`), filling `splice` with the last node < it at every level.
   * Returns NIL if none.
   */
  private findGE(t: Uint8Array, tseq: number, strict: boolean, fill: boolean): number {
    const links = this.links;
    const r = this.rec;
    let x = 0;
    let level = this.height - 1;
    for (;;) {
      const nx = links[r[x * STRIDE + BASE] + level];
      let ahead = false;
      if (nx !== NIL) {
        const c = this.cmpNode(nx, t, tseq);
        ahead = c < 0 || (strict && c === 0);
      }
      if (ahead) x = nx;
      else {
        if (fill) this.splice[level] = x;
        if (level === 0) return nx;
        level--;
      }
    }
  }

  /**
   * {@link findGE} (not strict, filling `splice`) for a key after the finger's (invariant 10).
   * REQUIRES: `fingerNode` is not 0 and sorts before (t, tseq).
   */
  private findFromFinger(t: Uint8Array, tseq: number): number {
    const links = this.links;
    const r = this.rec;
    const f = this.finger;
    // Climb while the finger's successor at this level is still before the key: that level must move, and so may
    // the one above. Levels above the first that need not move need not either (a successor at level h + 1 is at
    // level h too, and not before the first node after the finger at level h).
    let level = 0;
    while (level + 1 < this.height) {
      const nx = links[r[f[level] * STRIDE + BASE] + level];
      if (nx === NIL || this.cmpNode(nx, t, tseq) >= 0) break;
      // Far from the finger (more than ~4^FINGER_LEVELS nodes, as for random keys): a search from the top is as
      // short, and bounding the climb keeps the finger's cost for such keys to a few comparisons.
      if (++level === FINGER_LEVELS) return this.findGE(t, tseq, false, true);
    }
    for (let l = this.height - 1; l > level; l--) this.splice[l] = f[l];
    // Descend. A level starts from the node the level above reached when that one moved past its finger (then it is
    // after every finger below), else from its own finger.
    let x = f[level];
    let moved = false;
    for (;;) {
      const nx = links[r[x * STRIDE + BASE] + level];
      if (nx !== NIL && this.cmpNode(nx, t, tseq) < 0) {
        x = nx;
        moved = true;
        continue;
      }
      this.splice[level] = x;
      if (level === 0) return nx;
      level--;
      if (!moved) x = f[level];
    }
  }

  /** 32-bit FNV-1a of `bytes[off, off + len)`. */
  private static hash(bytes: Uint8Array, off: number, len: number): number {
    let h = 0x811c9dc5;
    for (let i = off; i < off + len; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    return h | 0; // an int32, as the index stores it (the empty key's hash is the offset basis, above 2^31)
  }

  private bloomAdd(h: number): void {
    const d = ((h >>> 17) | (h << 15)) | 1;
    const b1 = h & this.bloomMask;
    const b2 = (h + d) & this.bloomMask;
    this.bloom[b1 >>> 5] |= 1 << (b1 & 31);
    this.bloom[b2 >>> 5] |= 1 << (b2 & 31);
  }

  private bloomHas(h: number): boolean {
    const d = ((h >>> 17) | (h << 15)) | 1;
    const b1 = h & this.bloomMask;
    const b2 = (h + d) & this.bloomMask;
    return (this.bloom[b1 >>> 5] & (1 << (b1 & 31))) !== 0 && (this.bloom[b2 >>> 5] & (1 << (b2 & 31))) !== 0;
  }

  /** The newest node of `key` (whose hash is `h`), or NIL (invariant 8). */
  private indexGet(key: Uint8Array, h: number): number {
    const ix = this.index;
    const mask = this.indexMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const n = ix[2 * i + 1];
      if (n === 0) return NIL;
      if (ix[2 * i] === h && compareRange(this.arena, this.rec[n * STRIDE + K_OFF], this.rec[n * STRIDE + K_LEN], key, 0, key.length) === 0) return n;
    }
  }

  /** Records node `n` (hash `h`) in the index if it is its key's newest node (invariant 8). */
  private indexPut(n: number, h: number): void {
    const ix = this.index;
    const mask = this.indexMask;
    const arena = this.arena;
    const r = this.rec;
    const ko = r[n * STRIDE + K_OFF];
    const kl = r[n * STRIDE + K_LEN];
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const m = ix[2 * i + 1];
      if (m === 0) {
        ix[2 * i] = h;
        ix[2 * i + 1] = n;
        if (++this.indexUsed * 2 > mask + 1) this.growIndex();
        return;
      }
      if (ix[2 * i] === h && compareRange(arena, r[m * STRIDE + K_OFF], r[m * STRIDE + K_LEN], arena, ko, kl) === 0) {
        if (this.recF[n * FSTRIDE + 4] > this.recF[m * FSTRIDE + 4]) ix[2 * i + 1] = n;
        return;
      }
    }
  }

  /** Rebuilds the index with twice the slots from the indexed nodes (invariant 8). */
  private growIndex(): void {
    const slots = (this.indexMask + 1) * 2;
    this.index = new Int32Array(2 * slots);
    this.indexMask = slots - 1;
    this.indexUsed = 0;
    for (let n = 1; n < this.indexed; n++) this.indexPut(n, this.rec[n * STRIDE + HASH]);
  }

  /** Adds the nodes written since the last lookup to the index (invariant 8). */
  private catchUp(): void {
    for (let n = this.indexed; n < this.nodes; n++) {
      this.indexed = n + 1; // before the put: a growth inside it re-adds nodes [1, indexed), n included
      this.indexPut(n, this.rec[n * STRIDE + HASH]);
    }
  }

  /** Rebuilds the filter 4x larger from every node's key (invariant 7). */
  private growBloom(): void {
    const bits = (this.bloomMask + 1) * 4;
    this.bloom = new Int32Array(bits >>> 5);
    this.bloomMask = bits - 1;
    for (let n = 1; n < this.nodes; n++) this.bloomAdd(this.rec[n * STRIDE + HASH]);
  }

  /**
   * Inserts (key, seq, kind, value); copies both arrays. Replaces the node with the same (key, seq) (invariant 4).
   * REQUIRES: seq >= 1.
   */
  add(key: Uint8Array, seq: number, kind: number, value: Uint8Array): void {
    let found = NIL;
    if (this.tail !== 0 && this.cmpNode(this.tail, key, seq) < 0) {
      // After every node (invariant 9): the splice is the last node of each level, and nothing is >= the key.
      for (let l = 0; l < this.height; l++) this.splice[l] = this.lastAt[l];
    } else if (this.fingerNode !== 0 && this.cmpNode(this.fingerNode, key, seq) < 0) found = this.findFromFinger(key, seq);
    else found = this.findGE(key, seq, false, true);
    if (found !== NIL && this.cmpNode(found, key, seq) === 0) {
      const voff = this.append(value);
      this.rec[found * STRIDE + KIND] = kind;
      this.rec[found * STRIDE + V_LEN] = value.length;
      this.rec[found * STRIDE + V_OFF] = voff;
      // Invariant 10: the splice holds, per level, the last node before `found`, all <= splice[0].
      this.fingerNode = this.splice[0];
      for (let l = 0; l < this.height; l++) this.finger[l] = this.splice[l];
      return;
    }
    const h = this.randomHeight();
    if (h > this.height) {
      for (let l = this.height; l < h; l++) this.splice[l] = 0;
      this.height = h;
    }
    const n = this.newNode(h);
    const koff = this.append(key);
    const voff = this.append(value);
    const r = this.rec;
    const at = n * STRIDE;
    r[at + K_OFF] = koff;
    r[at + K_LEN] = key.length;
    r[at + V_OFF] = voff;
    r[at + V_LEN] = value.length;
    r[at + KIND] = kind;
    this.recF[n * FSTRIDE + 4] = seq;
    const links = this.links;
    const nb = r[at + BASE];
    for (let l = 0; l < h; l++) {
      const p = this.splice[l];
      const pb = r[p * STRIDE + BASE];
      const next = links[pb + l];
      links[nb + l] = next;
      links[pb + l] = n;
      if (next === NIL) this.lastAt[l] = n; // invariant 9
    }
    // Invariant 10: the new node at its own levels, its predecessors above.
    this.fingerNode = n;
    for (let l = 0; l < this.height; l++) this.finger[l] = l < h ? n : this.splice[l];
    const succ = links[nb];
    r[at + PREV] = this.splice[0];
    if (succ !== NIL) r[succ * STRIDE + PREV] = n;
    else this.tail = n;
    this.count++;
    if (seq > this.maxSeq) this.maxSeq = seq;
    const kh = Memtable.hash(key, 0, key.length);
    this.rec[n * STRIDE + HASH] = kh;
    if (this.count * 8 > this.bloomMask + 1) this.growBloom();
    else this.bloomAdd(kh);
  }

  /**
   * Looks up the newest version of `key` with sequence <= `seq`.
   * @returns the node id, or NIL if the memtable has no such version (check `kind(n)` for a tombstone).
   */
  get(key: Uint8Array, seq: number): number {
    const h = Memtable.hash(key, 0, key.length);
    if (!this.bloomHas(h)) return NIL; // never inserted (invariant 7)
    if (this.indexed < this.nodes) this.catchUp();
    let n = this.indexGet(key, h); // the newest version (invariant 8)
    if (n === NIL) return NIL;
    // Older versions follow at level 0; the first with a sequence <= seq is the one visible.
    const links = this.links;
    const r = this.rec;
    while (this.recF[n * FSTRIDE + 4] > seq) {
      n = links[r[n * STRIDE + BASE]];
      if (n === NIL || compareRange(this.arena, r[n * STRIDE + K_OFF], r[n * STRIDE + K_LEN], key, 0, key.length) !== 0) return NIL;
    }
    return n;
  }

  /** Node n's key: `arena[keyOff(n), keyOff(n) + keyLen(n))`. */
  keyOff(n: number): number {
    return this.rec[n * STRIDE + K_OFF];
  }
  keyLen(n: number): number {
    return this.rec[n * STRIDE + K_LEN];
  }
  /** Node n's value: `arena[valOff(n), valOff(n) + valLen(n))` (empty for a tombstone). */
  valOff(n: number): number {
    return this.rec[n * STRIDE + V_OFF];
  }
  valLen(n: number): number {
    return this.rec[n * STRIDE + V_LEN];
  }
  seq(n: number): number {
    return this.recF[n * FSTRIDE + 4];
  }
  kind(n: number): number {
    return this.rec[n * STRIDE + KIND];
  }

  /** First node (level 0) or NIL. */
  first(): number {
    return this.links[this.rec[BASE]];
  }

  /** Level-0 successor or NIL. */
  next(n: number): number {
    return this.links[this.rec[n * STRIDE + BASE]];
  }

  /** First node >= (t, tseq); NIL if none. */
  seekGE(t: Uint8Array, tseq: number): number {
    return this.findGE(t, tseq, false, false);
  }

  /** Last node <= (t, tseq); NIL if none. */
  seekLE(t: Uint8Array, tseq: number): number {
    const n = this.findGE(t, tseq, true, false);
    const p = n === NIL ? this.tail : this.rec[n * STRIDE + PREV];
    return p === 0 ? NIL : p;
  }

  /** Last node or NIL. */
  last(): number {
    return this.tail === 0 ? NIL : this.tail;
  }

  /** Level-0 predecessor or NIL. */
  before(n: number): number {
    const p = this.rec[n * STRIDE + PREV];
    return p <= 0 ? NIL : p;
  }
}

export { NIL };
