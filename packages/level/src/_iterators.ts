/**
 * abstract-level iterators over the LSM: entries, keys and values. Internal; not exported from the package.
 *
 * Each iterator reads through a {@link Cursor} on one LSM snapshot. Without an explicit `snapshot` option the
 * iterator takes its own LSM snapshot synchronously in its constructor (so writes made after `db.iterator()`
 * returns are not seen: abstract-level's implicit snapshots) and releases it in `_close()`. With an explicit
 * snapshot it borrows that snapshot's LSM view and releases nothing.
 *
 * The LSM reads synchronously, so `_next`, `_nextv` and `_all` do their work in one go and return settled
 * promises; `signals.iterators` is therefore declared false (there is no in-flight read to abort).
 */
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import type { Snapshot } from '@hearth/lsm';
import { Cursor, rangeOf, type EncodedRange } from './_cursor.js';

/** What the database hands an iterator: its read view and whether the iterator owns (must release) it. */
export interface ViewLease {
  view: Snapshot;
  owned: boolean;
}

/** The options abstract-level passes to `_iterator`/`_keys`/`_values` (encoded range, `limit` in -1..). */
export interface PrivateIteratorOptions extends EncodedRange {
  limit: number;
  keys?: boolean;
  values?: boolean;
  keyEncoding: string;
  valueEncoding?: string;
  [other: string]: unknown;
}

// abstract-level's type declarations cover the public API only; the private constructor signature and the
// `_next`/`_nextv`/`_all`/`_seek`/`_close` hooks are documented in its README ("Private API for implementors").
type IteratorBase = new (db: unknown, options: PrivateIteratorOptions) => {
  readonly count: number;
  readonly limit: number;
};
const EntryBase = AbstractIterator as unknown as IteratorBase;
const KeyBase = AbstractKeyIterator as unknown as IteratorBase;
const ValueBase = AbstractValueIterator as unknown as IteratorBase;

/** Entries `[key, value]`; honours `keys: false` / `values: false` by yielding `undefined` in that slot. */
export class HearthIterator extends EntryBase {
  readonly #lease: ViewLease;
  readonly #cursor: Cursor;
  readonly #keys: boolean;
  readonly #values: boolean;

  constructor(db: unknown, options: PrivateIteratorOptions, lease: ViewLease) {
    super(db, options);
    this.#lease = lease;
    this.#cursor = new Cursor(lease.view, rangeOf(options));
    this.#keys = options.keys !== false;
    this.#values = options.values !== false;
  }

  async _next(): Promise<[Uint8Array | undefined, Uint8Array | undefined] | undefined> {
    const e = this.#cursor.next();
    if (e === undefined) return undefined;
    return [this.#keys ? e.key : undefined, this.#values ? e.value : undefined];
  }

  async _nextv(size: number): Promise<[Uint8Array | undefined, Uint8Array | undefined][]> {
    return this.#take(size);
  }

  async _all(): Promise<[Uint8Array | undefined, Uint8Array | undefined][]> {
    return this.#take(this.limit - this.count);
  }

  #take(size: number): [Uint8Array | undefined, Uint8Array | undefined][] {
    const out: [Uint8Array | undefined, Uint8Array | undefined][] = [];
    const keys = this.#keys;
    const values = this.#values;
    while (out.length < size) {
      const e = this.#cursor.next();
      if (e === undefined) break;
      out.push([keys ? e.key : undefined, values ? e.value : undefined]);
    }
    return out;
  }

  _seek(target: Uint8Array): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    closeLease(this.#cursor, this.#lease);
  }
}

/** Keys only: never copies values out of the LSM's entries. */
export class HearthKeyIterator extends KeyBase {
  readonly #lease: ViewLease;
  readonly #cursor: Cursor;

  constructor(db: unknown, options: PrivateIteratorOptions, lease: ViewLease) {
    super(db, options);
    this.#lease = lease;
    this.#cursor = new Cursor(lease.view, rangeOf(options));
  }

  async _next(): Promise<Uint8Array | undefined> {
    return this.#cursor.next()?.key;
  }

  async _nextv(size: number): Promise<Uint8Array[]> {
    return this.#take(size);
  }

  async _all(): Promise<Uint8Array[]> {
    return this.#take(this.limit - this.count);
  }

  #take(size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < size) {
      const e = this.#cursor.next();
      if (e === undefined) break;
      out.push(e.key);
    }
    return out;
  }

  _seek(target: Uint8Array): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    closeLease(this.#cursor, this.#lease);
  }
}

/** Values only. */
export class HearthValueIterator extends ValueBase {
  readonly #lease: ViewLease;
  readonly #cursor: Cursor;

  constructor(db: unknown, options: PrivateIteratorOptions, lease: ViewLease) {
    super(db, options);
    this.#lease = lease;
    this.#cursor = new Cursor(lease.view, rangeOf(options));
  }

  async _next(): Promise<Uint8Array | undefined> {
    return this.#cursor.next()?.value;
  }

  async _nextv(size: number): Promise<Uint8Array[]> {
    return this.#take(size);
  }

  async _all(): Promise<Uint8Array[]> {
    return this.#take(this.limit - this.count);
  }

  #take(size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < size) {
      const e = this.#cursor.next();
      if (e === undefined) break;
      out.push(e.value);
    }
    return out;
  }

  _seek(target: Uint8Array): void {
    this.#cursor.seek(target);
  }

  async _close(): Promise<void> {
    closeLease(this.#cursor, this.#lease);
  }
}

function closeLease(cursor: Cursor, lease: ViewLease): void {
  cursor.close();
  if (lease.owned) lease.view.release();
}
