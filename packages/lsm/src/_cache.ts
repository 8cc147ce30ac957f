/**
 * The block cache, bounded by bytes (each entry is charged its block's size plus a small overhead). Shared by every
 * table reader of one LSM. Blocks enter only after their CRC-32C has been checked.
 *
 * Replacement is CLOCK ("second chance", Corbató 1968), the approximation of least-recently-used that operating
 * system page caches use: a hit only sets the node's `referenced` flag; eviction takes the oldest node, and a node
 * whose flag is set gets the flag cleared and goes back to the front instead of being evicted. A hit therefore
 * writes one field of a node it already holds, instead of relinking it (which touched two other nodes at random
 * places in memory and was about 10% of an all-hits point-read profile).
 *
 * Invariants:
 * 1. `bytes` is the sum of `charge` over the nodes in the list, and `bytes <= capacity` after every call (a block
 *    larger than the whole capacity is not cached).
 * 2. A node is in its owner's `cached` slots exactly when it is in the list.
 * 3. The scratch buffer ({@link BlockCache.scratch}) is lent to one synchronous point lookup at a time; nothing
 *    that outlives the lookup (a cached block, an iterator) may keep a view of it.
 *
 * Admission (point lookups only, {@link BlockCache.admit}): while the cache has room every block is admitted.
 * Once it is full, a block missed by a point lookup is admitted only if it was missed once before "recently"
 * — a doorkeeper in the manner of TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM ToS 2017): a direct-mapped table of fingerprints, sized to about half the number of
 * blocks the cache holds. A block seen once is read into the scratch buffer, searched and forgotten, so a
 * random-read workload much larger than the cache does not allocate a block and evict another one per miss (the
 * old-generation churn that made garbage collection dominate random gets). A fingerprint collision only admits a
 * block early; it never affects correctness. Iterators choose for themselves (`fillCache`), as before.
 *
 * Internal module: not exported from the package.
 */
import type { Block } from './_block.js';

/**
 * An owner's cached blocks by key (a table reader keys them by block number). A `Map<number, CacheNode>` is one;
 * {@link BlockSlots} is a faster one for dense keys.
 */
export interface CacheSlots {
  get(key: number): CacheNode | undefined;
  has(key: number): boolean;
  set(key: number, node: CacheNode): unknown;
  delete(key: number): unknown;
  values(): Iterable<CacheNode>;
  clear(): void;
}

/**
 * {@link CacheSlots} for keys 0..n-1 (a table's block numbers): one array slot per key, so a cache hit is an array
 * load instead of a hash-table probe.
 */
export class BlockSlots implements CacheSlots {
  private readonly nodes: (CacheNode | undefined)[];
  size = 0;
  constructor(n: number) {
    this.nodes = Array.from({ length: n }, () => undefined);
  }
  get(key: number): CacheNode | undefined {
    return this.nodes[key];
  }
  has(key: number): boolean {
    return this.nodes[key] !== undefined;
  }
  set(key: number, node: CacheNode): void {
    if (!(key >= 0 && key < this.nodes.length && Number.isInteger(key))) throw new RangeError(`block slot ${key} out of range`);
    if (this.nodes[key] === undefined) this.size++;
    this.nodes[key] = node;
  }
  delete(key: number): void {
    if (this.nodes[key] === undefined) return;
    this.nodes[key] = undefined;
    this.size--;
  }
  *values(): IterableIterator<CacheNode> {
    for (const n of this.nodes) if (n !== undefined) yield n;
  }
  clear(): void {
    this.nodes.fill(undefined);
    this.size = 0;
  }
}

/** Anything that owns cached blocks (a table reader): its slots from block key to cache node. */
export interface CacheOwner {
  readonly cached: CacheSlots;
  /** A small integer unique among the owners of one cache (for the admission doorkeeper). */
  readonly cacheId: number;
}

/** Assumed block size for sizing the doorkeeper (bytes); a smaller real block size only makes it coarser. */
const DOOR_BLOCK_BYTES = 4096;

export class CacheNode {
  prev: CacheNode | null = null;
  next: CacheNode | null = null;
  /** Set by a hit since the node was inserted or last passed by the clock hand (CLOCK's reference bit). */
  referenced = false;
  constructor(
    readonly owner: CacheOwner,
    /** The block's key among its owner's blocks (a table's block number). */
    readonly key: number,
    readonly block: Block,
  ) {}
}

export class BlockCache {
  bytes = 0;
  hits = 0;
  misses = 0;
  /** Most recently used. */
  private head: CacheNode | null = null;
  private tail: CacheNode | null = null;

  /** Doorkeeper: fingerprints of blocks recently missed but not admitted (0 = empty slot). */
  private readonly door: Int32Array;
  private readonly doorMask: number;
  private scratchBuf = new Uint8Array(8192);
  /** Point-lookup misses not admitted (served from the scratch buffer). */
  bypassed = 0;
  /** Most recently inserted (or given a second chance) at `head`; the clock hand works from `tail`. */

  constructor(readonly capacity: number) {
    let slots = 64;
    while (slots < capacity / (2 * DOOR_BLOCK_BYTES) && slots < 1 << 22) slots *= 2;
    this.door = new Int32Array(slots);
    this.doorMask = slots - 1;
  }

  /**
   * A buffer of at least `bytes` bytes, reused across calls (invariant 3: valid until the next call; the caller
   * must not keep a view of it).
   */
  scratch(bytes: number): Uint8Array {
    if (this.scratchBuf.length < bytes) this.scratchBuf = new Uint8Array(Math.max(bytes, this.scratchBuf.length * 2));
    return this.scratchBuf;
  }

  /**
   * Whether a point lookup that missed block (`owner`, `key`) of `charge` bytes should insert it: yes while
   * the cache has room, or if the doorkeeper saw the same block missed before (then the fingerprint is cleared);
   * otherwise records the fingerprint and says no.
   */
  admit(owner: CacheOwner, key: number, charge: number): boolean {
    if (charge > this.capacity) return false;
    if (this.bytes + charge <= this.capacity) return true;
    // Two independent 32-bit mixes of (id, key): one picks the slot, the other is the fingerprint.
    const lo = key >>> 0;
    const hi = (key / 0x100000000) >>> 0;
    let h = Math.imul(lo ^ Math.imul(owner.cacheId, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b), 0xcc9e2d51);
    h ^= h >>> 15;
    h = Math.imul(h, 0x1b873593);
    h ^= h >>> 13;
    let f = Math.imul(h ^ 0x27d4eb2f, 0x165667b1);
    f ^= f >>> 16;
    f |= 1; // never 0 (the empty slot)
    const slot = (h >>> 16 ^ h) & this.doorMask;
    if (this.door[slot] === f) {
      this.door[slot] = 0;
      return true;
    }
    this.door[slot] = f;
    this.bypassed++;
    return false;
  }

  get(owner: CacheOwner, key: number): Block | undefined {
    const node = owner.cached.get(key);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    node.referenced = true;
    return node.block;
  }

  insert(owner: CacheOwner, key: number, block: Block): void {
    if (block.charge > this.capacity || owner.cached.has(key)) return;
    // Make room first, so that the clock hand never reaches the block being inserted.
    while (this.bytes + block.charge > this.capacity && this.tail !== null) {
      const t = this.tail;
      if (t.referenced) {
        // Second chance: terminates, since every node passed over loses its flag.
        t.referenced = false;
        this.unlink(t);
        this.pushFront(t);
      } else this.evict(t);
    }
    const node = new CacheNode(owner, key, block);
    owner.cached.set(key, node);
    this.pushFront(node);
    this.bytes += block.charge;
  }

  /** Drops every block of `owner` (its table is closing). */
  drop(owner: CacheOwner): void {
    for (const node of [...owner.cached.values()]) {
      this.unlink(node);
      this.bytes -= node.block.charge;
    }
    owner.cached.clear();
  }

  private evict(node: CacheNode): void {
    this.unlink(node);
    node.owner.cached.delete(node.key);
    this.bytes -= node.block.charge;
  }

  private unlink(n: CacheNode): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = null;
  }

  private pushFront(n: CacheNode): void {
    n.next = this.head;
    n.prev = null;
    if (this.head) this.head.prev = n;
    this.head = n;
    if (!this.tail) this.tail = n;
  }
}
