/**
 * Internal iterators: one shape for the memtable, SSTable runs and their merge (LevelDB's `Iterator`, narrowed to
 * one direction per instance). The current entry is exposed as fields, so moving allocates nothing:
 * user key `kbuf[koff, koff+ulen)`, `seq`, `kind`, value `vbuf[voff, voff+vlen)`.
 *
 * Direction: a forward iterator visits internal keys ascending (user key ascending, sequence descending); a reverse
 * iterator visits them exactly backwards (user key descending, sequence ascending).
 *
 * Views stay valid after the iterator moves on: `vbuf` is an immutable block, or a memtable arena whose bytes are
 * never overwritten (a grown arena is a new array; the old one keeps its bytes).
 *
 * Internal module: not exported from the package.
 */
import { compareRange } from './_bytes.js';
import { NIL, type Memtable } from './_memtable.js';

export interface InternalIter {
  valid: boolean;
  kbuf: Uint8Array;
  koff: number;
  ulen: number;
  seq: number;
  kind: number;
  vbuf: Uint8Array;
  voff: number;
  vlen: number;
  readonly reverse: boolean;
  /** Forward: first entry; reverse: last entry. */
  first(): void;
  /** Forward only: first entry >= (t, tseq) in internal order. */
  seekGE(t: Uint8Array, tseq: number): void;
  /** Reverse only: last entry <= (t, tseq) in internal order. */
  seekLE(t: Uint8Array, tseq: number): void;
  /** One step in the iterator's direction. REQUIRES: valid. */
  next(): void;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** Iterates a memtable (which may keep receiving writes: new nodes are newer than the reader and get skipped). */
export class MemIter implements InternalIter {
  valid = false;
  kbuf = EMPTY;
  koff = 0;
  ulen = 0;
  seq = 0;
  kind = 0;
  vbuf = EMPTY;
  voff = 0;
  vlen = 0;
  private node = NIL;

  constructor(
    private readonly mem: Memtable,
    readonly reverse: boolean,
  ) {}

  private expose(n: number): void {
    this.node = n;
    if (n === NIL) {
      this.valid = false;
      return;
    }
    const m = this.mem;
    this.valid = true;
    this.kbuf = m.arena;
    this.vbuf = m.arena;
    this.koff = m.keyOff(n);
    this.ulen = m.keyLen(n);
    this.voff = m.valOff(n);
    this.vlen = m.valLen(n);
    this.seq = m.seq(n);
    this.kind = m.kind(n);
  }

  first(): void {
    this.expose(this.reverse ? this.mem.last() : this.mem.first());
  }
  seekGE(t: Uint8Array, tseq: number): void {
    this.expose(this.mem.seekGE(t, tseq));
  }
  seekLE(t: Uint8Array, tseq: number): void {
    this.expose(this.mem.seekLE(t, tseq));
  }
  next(): void {
    this.expose(this.reverse ? this.mem.before(this.node) : this.mem.next(this.node));
  }
}

/**
 * Forward order of two internal entries: user key ascending, then sequence descending.
 * Sequences are unique per user key across all sources of one read (memtables and runs cover disjoint ranges).
 */
function compareEntries(a: InternalIter, b: InternalIter): number {
  const c = compareRange(a.kbuf, a.koff, a.ulen, b.kbuf, b.koff, b.ulen);
  if (c !== 0) return c;
  return b.seq - a.seq;
}

/** K-way merge of internal iterators of one direction, through a binary min-heap of child indices. */
export class MergeIter implements InternalIter {
  valid = false;
  kbuf = EMPTY;
  koff = 0;
  ulen = 0;
  seq = 0;
  kind = 0;
  vbuf = EMPTY;
  voff = 0;
  vlen = 0;
  private readonly heap: Int32Array;
  private size = 0;
  private readonly sign: number;

  constructor(
    private readonly children: InternalIter[],
    readonly reverse: boolean,
  ) {
    this.heap = new Int32Array(children.length);
    this.sign = reverse ? -1 : 1;
  }

  private less(i: number, j: number): boolean {
    return this.sign * compareEntries(this.children[i], this.children[j]) < 0;
  }

  private siftDown(pos: number): void {
    const h = this.heap;
    const n = this.size;
    const item = h[pos];
    for (;;) {
      let c = 2 * pos + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], item)) break;
      h[pos] = h[c];
      pos = c;
    }
    h[pos] = item;
  }

  private rebuild(): void {
    this.size = 0;
    for (let i = 0; i < this.children.length; i++) if (this.children[i].valid) this.heap[this.size++] = i;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
    this.expose();
  }

  private expose(): void {
    if (this.size === 0) {
      this.valid = false;
      return;
    }
    const c = this.children[this.heap[0]];
    this.valid = true;
    this.kbuf = c.kbuf;
    this.koff = c.koff;
    this.ulen = c.ulen;
    this.seq = c.seq;
    this.kind = c.kind;
    this.vbuf = c.vbuf;
    this.voff = c.voff;
    this.vlen = c.vlen;
  }

  first(): void {
    for (const c of this.children) c.first();
    this.rebuild();
  }
  seekGE(t: Uint8Array, tseq: number): void {
    for (const c of this.children) c.seekGE(t, tseq);
    this.rebuild();
  }
  seekLE(t: Uint8Array, tseq: number): void {
    for (const c of this.children) c.seekLE(t, tseq);
    this.rebuild();
  }
  next(): void {
    const top = this.children[this.heap[0]];
    top.next();
    if (!top.valid) {
      this.heap[0] = this.heap[--this.size];
    }
    if (this.size > 0) this.siftDown(0);
    this.expose();
  }
}
