/**
 * A seekable cursor over one LSM read view: the engine behind the adapter's entry, key and value iterators and
 * behind `clear()`. Internal; not exported from the package.
 *
 * The LSM's iterator (`Snapshot.iterate(range)`) is a synchronous generator over a fixed range with no seek of its
 * own. abstract-level's `seek(target)` is built here on top of it: a seek discards the current generator and opens
 * a new one on the same read view whose lower bound (upper bound, in reverse) is the target, keeping the original
 * opposite bound. Opening a generator costs one descent per level (a binary search of the memtable and of each
 * SSTable's index), so a seek costs what a fresh iterator costs, which is what LevelDB's `Seek` costs too.
 *
 * Invariants:
 * 1. Every generator a cursor opens reads from the same `Snapshot`, so entries before and after a seek come from
 *    one consistent state of the database (abstract-level's implicit snapshot guarantee).
 * 2. The cursor never yields a key outside the range it was created with: a seek target outside that range ends
 *    the cursor (abstract-level's documented behaviour, as memory-level and classic-level do), and a target inside
 *    it only narrows the bound on the seek side.
 * 3. After `close()` the generator has been returned (its `finally` blocks have run) and `next()` yields nothing.
 * 4. Generators are opened lazily, at the first `next()` after construction or a seek: constructing a cursor
 *    never touches the view, so creating an iterator on a closed snapshot fails on the first read (with
 *    abstract-level's `LEVEL_SNAPSHOT_NOT_OPEN`), not at construction, and consecutive seeks open nothing.
 */
import type { Entry, RangeOptions, Snapshot } from '@hearth/lsm';
import { compareBytes } from './_bytes.js';

/** The range part of the options abstract-level hands to `_iterator`, `_keys`, `_values` and `_clear`. */
export interface EncodedRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse: boolean;
}

type Range = Omit<RangeOptions, 'snapshot' | 'limit'>;

/**
 * Reads the bounds abstract-level passes to the private API. abstract-level copies a range option only when the
 * caller set it, and `gte`/`lte` take precedence over `gt`/`lt` (abstract-level README, "iterator").
 */
export function rangeOf(options: EncodedRange): Range {
  const range: Range = { reverse: options.reverse === true };
  if ('gte' in options && options.gte !== undefined) range.gte = asBytes(options.gte);
  else if ('gt' in options && options.gt !== undefined) range.gt = asBytes(options.gt);
  if ('lte' in options && options.lte !== undefined) range.lte = asBytes(options.lte);
  else if ('lt' in options && options.lt !== undefined) range.lt = asBytes(options.lt);
  return range;
}

/**
 * abstract-level's `view` transcoders pass any `ArrayBufferView` through unchanged; the LSM takes `Uint8Array`
 * only, so other views (a `DataView`, an `Int16Array`) are re-wrapped over the same bytes.
 */
export function asBytes(data: ArrayBufferView): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether `key` lies inside `range` (ignoring direction). */
export function inRange(range: Range, key: Uint8Array): boolean {
  if (range.gte !== undefined && compareBytes(key, range.gte) < 0) return false;
  if (range.gt !== undefined && compareBytes(key, range.gt) <= 0) return false;
  if (range.lte !== undefined && compareBytes(key, range.lte) > 0) return false;
  if (range.lt !== undefined && compareBytes(key, range.lt) >= 0) return false;
  return true;
}

/** A forward or reverse cursor with seek over one snapshot. See the file header for its invariants. */
export class Cursor {
  readonly #view: Snapshot;
  readonly #range: Range;
  #it: Iterator<Entry> | undefined;
  /** A range to open a generator on at the next `next()`: generators open lazily (invariant 4). */
  #pending: Range | undefined;

  /**
   * @param view The read view; the cursor does not release it (its owner does).
   * @param range Bounds and direction, already normalised by {@link rangeOf}.
   */
  constructor(view: Snapshot, range: Range) {
    this.#view = view;
    this.#range = range;
    this.#pending = range;
  }

  /** The next entry in the cursor's direction, or `undefined` at the end of the range. */
  next(): Entry | undefined {
    if (this.#pending !== undefined) {
      this.#it = this.#view.iterate(this.#pending);
      this.#pending = undefined;
    }
    const it = this.#it;
    if (it === undefined) return undefined;
    const r = it.next();
    if (r.done === true) {
      this.#it = undefined;
      return undefined;
    }
    return r.value;
  }

  /**
   * Repositions the cursor at the first key `>= target` (forward) or `<= target` (reverse). A target outside the
   * cursor's range ends it (invariant 2).
   */
  seek(target: Uint8Array): void {
    this.#it?.return?.();
    this.#it = undefined;
    this.#pending = undefined;
    if (!inRange(this.#range, target)) return;
    const r = this.#range;
    this.#pending = r.reverse
      ? { reverse: true, lte: target, ...(r.gte !== undefined ? { gte: r.gte } : r.gt !== undefined ? { gt: r.gt } : {}) }
      : { reverse: false, gte: target, ...(r.lte !== undefined ? { lte: r.lte } : r.lt !== undefined ? { lt: r.lt } : {}) };
  }

  /** Ends the cursor and lets the LSM's generator run its cleanup. Idempotent. */
  close(): void {
    this.#it?.return?.();
    this.#it = undefined;
    this.#pending = undefined;
  }
}
