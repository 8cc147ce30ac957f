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

/** A new brand: `mark(o)` stamps `o` (once), `has(o)` tests it. Each call makes a distinct private field. */
function brand(): { mark<T extends object>(o: T): T; has(o: unknown): boolean } {
  class Stamp extends Identity {
    #stamp = true;
    static has(o: object): boolean {
      return #stamp in o;
    }
  }
  const has = (o: unknown): boolean => typeof o === 'object' && o !== null && Stamp.has(o);
  return {
    mark<T extends object>(o: T): T {
      if (!Stamp.has(o)) new Stamp(o);
      return o;
    },
    has,
  };
}

const verified = brand();
const decoded = brand();

/** Records `entry` as verified. Callers: verification and local signing only. REQUIRES: not frozen yet. */
export const markVerified: <T extends object>(entry: T) => T = verified.mark;

/** Whether `entry` came out of verification or local signing in this process. */
export const isMarkedVerified: (entry: unknown) => boolean = verified.has;

/** Records `entry` as made by the entry decoder (fields are views of its bytes). REQUIRES: not frozen yet. */
export const markDecoded: <T extends object>(entry: T) => T = decoded.mark;

/** Whether `entry` was made by the entry decoder of this process (see {@link markDecoded}). */
export const isDecoded: (entry: unknown) => boolean = decoded.has;
