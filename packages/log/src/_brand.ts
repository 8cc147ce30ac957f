/**
 * Internal: the classes of the entry objects this process makes, whose private fields are their run-time brands.
 *
 * - decoded ({@link DecodedEntry}): an entry object made by `decodeEntryV1` (or by verification, which extends it),
 *   frozen, whose fields are views of its own `bytes` (so verification may reuse those views instead of re-deriving
 *   them from the bytes, and ingest may skip decoding it again).
 * - verified ({@link HashedEntry}): the run-time half of the `VerifiedEntry` brand. Only `verify.ts` and `entry.ts`
 *   (entries signed by this process) make one; the feed store refuses any entry without it, so a cast
 *   (`x as VerifiedEntry`) cannot smuggle an unverified entry into storage. A private field cannot be read, copied
 *   or forged from outside this module (unlike a property or a symbol), and the check is one `#field in o` test.
 *
 * Why classes: the brand is an in-object field laid down by the constructor. The previous version stamped private
 * fields onto object literals afterwards (a base class whose constructor returns its argument), which grew each
 * object's property storage: ~130 bytes per entry and brand, measured in a catch-up's heap profile. Why not a
 * WeakSet (the first version): one WeakSet entry per ingested entry, which the garbage collector has to process as
 * an ephemeron at every collection.
 *
 * Both classes are frozen by their makers (`entry.ts`) after construction. Their own enumerable properties are the
 * entry's fields, in the order of the interfaces, so copies (`structuredClone`, spread, `postMessage`) are plain
 * objects with those fields and no brand.
 */

/** An entry object whose fields are views of its own `bytes` (see the file header). Module-internal to `@hearth/log`. */
export class DecodedEntry {
  readonly #decoded = true;
  constructor(
    readonly feed: Uint8Array,
    readonly seq: number,
    readonly prev: Uint8Array,
    readonly hlc: bigint,
    readonly ops: Uint8Array,
    readonly signature: Uint8Array,
    readonly bytes: Uint8Array,
  ) {}
  /** Whether `o` is a {@link DecodedEntry} (or a {@link HashedEntry}). Never throws. */
  static is(o: unknown): o is DecodedEntry {
    return typeof o === 'object' && o !== null && #decoded in o;
  }
}

/** A decoded entry with its hashes, made only by verification or signing: a run-time `VerifiedEntry`. */
export class HashedEntry extends DecodedEntry {
  readonly #verified = true;
  constructor(
    d: DecodedEntry,
    readonly signingHash: Uint8Array,
    readonly hash: Uint8Array,
  ) {
    super(d.feed, d.seq, d.prev, d.hlc, d.ops, d.signature, d.bytes);
  }
  /** Whether `o` is a {@link HashedEntry}. Never throws. */
  static override is(o: unknown): o is HashedEntry {
    return typeof o === 'object' && o !== null && #verified in o;
  }
}

/** Whether `entry` carries the verified brand (a {@link HashedEntry}). */
export const isMarkedVerified = (entry: unknown): boolean => HashedEntry.is(entry);

/** Whether `entry` carries the decoded brand (a {@link DecodedEntry}, which every {@link HashedEntry} is). */
export const isDecoded = (entry: unknown): boolean => DecodedEntry.is(entry);
