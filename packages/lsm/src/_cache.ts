/**
 * The block cache: least-recently-used, bounded by bytes (each entry is charged its block's size plus a small
 * overhead). Shared by every table reader of one LSM. Blocks enter only after their CRC-32C has been checked.
 *
 * Invariants:
 * 1. `bytes` is the sum of `charge` over the nodes in the list, and `bytes <= capacity` after every call (a block
 *    larger than the whole capacity is not cached).
 * 2. A node is in its owner's `cached` map exactly when it is in the list.
 *
 * Internal module: not exported from the package.
 */
import type { Block } from './_block.js';

/** Anything that owns cached blocks (a table reader): its map from block offset to cache node. */
export interface CacheOwner {
  readonly cached: Map<number, CacheNode>;
}

export class CacheNode {
  prev: CacheNode | null = null;
  next: CacheNode | null = null;
  constructor(
    readonly owner: CacheOwner,
    readonly offset: number,
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

  constructor(readonly capacity: number) {}

  get(owner: CacheOwner, offset: number): Block | undefined {
    const node = owner.cached.get(offset);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (node !== this.head) {
      this.unlink(node);
      this.pushFront(node);
    }
    return node.block;
  }

  insert(owner: CacheOwner, offset: number, block: Block): void {
    if (block.charge > this.capacity || owner.cached.has(offset)) return;
    const node = new CacheNode(owner, offset, block);
    owner.cached.set(offset, node);
    this.pushFront(node);
    this.bytes += block.charge;
    while (this.bytes > this.capacity && this.tail !== null) this.evict(this.tail);
  }

  /** Drops every block of `owner` (its table is closing). */
  drop(owner: CacheOwner): void {
    for (const node of owner.cached.values()) {
      this.unlink(node);
      this.bytes -= node.block.charge;
    }
    owner.cached.clear();
  }

  private evict(node: CacheNode): void {
    this.unlink(node);
    node.owner.cached.delete(node.offset);
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
