/**
 * The fields of one local write, packed: field names, one byte array holding every encoded value back to back,
 * and each value's offset and length. Internal.
 *
 * A write used to carry its fields as a `Map` of one small array per value. A transaction of 10,000 documents held
 * ~10 objects per document from the call until its commit, and each young-generation GC copied them all; with one
 * packed object and one offsets array per document (documents with the same field names share one names array),
 * that garbage is a fraction of it. `PackedFields` is a `ReadonlyMap` (consumers that need a map keep working); the
 * hot consumers (the ops encoder, the fresh-state encoder) read `names`, `buf` and `spans` directly and make no
 * views.
 *
 * Invariants:
 * 1. `names` are distinct; `spans` holds 2 numbers per name: the value's offset in `buf` and its length, or
 *    (0, -1) for a removal (a `patch` setting the field to null).
 * 2. Immutable once built, the `names` array included (encoders keep it and compare it by identity; the Database
 *    and the ops decoder share one names array between writes with the same names); the value bytes are never
 *    written again. `buf` may hold other bytes too: the shared buffer the value encoder packs many documents'
 *    values into (`_encode.ts`), or the whole ops payload of an entry. Its length says nothing about this write's.
 */
export class PackedFields implements ReadonlyMap<string, Uint8Array | null> {
  private index: Map<string, number> | null = null;

  constructor(
    readonly names: readonly string[],
    readonly buf: Uint8Array,
    readonly spans: readonly number[],
  ) {}

  get size(): number {
    return this.names.length;
  }

  /** The position of `name`, or -1. */
  indexOf(name: string): number {
    const names = this.names;
    if (names.length <= 16) {
      for (let i = 0; i < names.length; i++) if (names[i] === name) return i;
      return -1;
    }
    if (this.index === null) {
      this.index = new Map();
      for (let i = 0; i < names.length; i++) this.index.set(names[i], i);
    }
    return this.index.get(name) ?? -1;
  }

  /** Value `i` as a view into `buf`, or null for a removal. */
  valueAt(i: number): Uint8Array | null {
    const len = this.spans[2 * i + 1];
    if (len < 0) return null;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.spans[2 * i], len);
  }

  get(name: string): Uint8Array | null | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  forEach(fn: (value: Uint8Array | null, key: string, map: ReadonlyMap<string, Uint8Array | null>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.names.length; i++) fn.call(thisArg, this.valueAt(i), this.names[i], this);
  }

  *entries(): MapIterator<[string, Uint8Array | null]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i], this.valueAt(i)];
  }

  *keys(): MapIterator<string> {
    yield* this.names;
  }

  *values(): MapIterator<Uint8Array | null> {
    for (let i = 0; i < this.names.length; i++) yield this.valueAt(i);
  }

  [Symbol.iterator](): MapIterator<[string, Uint8Array | null]> {
    return this.entries();
  }
}
