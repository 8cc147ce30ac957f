/**
 * Internal: run-time brands of entry objects, as private class fields stamped onto plain objects (the base class's
 * constructor returns the object it is given, so the derived class's private field lands on that object).
 *
 * - verified: the run-time half of the {@link VerifiedEntry} brand. Only `verify.ts` and `entry.ts` (entries signed
 *   by this process) stamp it; the feed store refuses any entry without it, so a cast (`x as VerifiedEntry`)
 *   cannot smuggle an unverified entry into storage. A private field cannot be read, copied or forged from outside
 *   this module (unlike a property or a symbol), and the check is one `#field in o` test.
 * - decoded: an entry object made by `decodeEntryV1`, frozen, whose fields are views of its own `bytes` (so
 *   verification may reuse those views instead of re-deriving them from the bytes).
 *
 * Why not a WeakSet (the first version): one WeakSet entry per ingested entry, which the garbage collector has to
 * process as an ephemeron at every collection; the stamps cost nothing after the object dies.
 *
 * Invariant: objects are stamped before they are frozen (a stamp is added once per object and brand).
 */

/** A base class whose constructor returns its argument: `new Stamp(o)` adds the subclass's private field to `o`. */
class Identity {
  constructor(o: object) {
    return o;
  }
}

class VerifiedStamp extends Identity {
  #verified = true;
  static has(o: object): boolean {
    return #verified in o;
  }
}

class DecodedStamp extends Identity {
  #decoded = true;
  static has(o: object): boolean {
    return #decoded in o;
  }
}

/** Records `entry` as verified. Callers: verification and local signing only. REQUIRES: not frozen yet. */
export function markVerified<T extends object>(entry: T): T {
  if (!VerifiedStamp.has(entry)) new VerifiedStamp(entry);
  return entry;
}

/** Whether `entry` came out of verification or local signing in this process. */
export function isMarkedVerified(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && VerifiedStamp.has(entry);
}

/** Records `entry` as made by the entry decoder (fields are views of its bytes). REQUIRES: not frozen yet. */
export function markDecoded<T extends object>(entry: T): T {
  if (!DecodedStamp.has(entry)) new DecodedStamp(entry);
  return entry;
}

/** Whether `entry` was made by the entry decoder of this process (see {@link markDecoded}). */
export function isDecoded(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && DecodedStamp.has(entry);
}
