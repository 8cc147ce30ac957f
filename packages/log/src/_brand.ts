/**
 * Internal: the run-time half of the {@link VerifiedEntry} brand. Only `verify.ts` and `sign.ts` (entries signed by
 * this process) add objects here; the feed store refuses any entry not in the set, so a cast
 * (`x as VerifiedEntry`) cannot smuggle an unverified entry into storage.
 */
const verified = new WeakSet<object>();

/** Records `entry` as verified. Callers: verification and local signing only. */
export function markVerified<T extends object>(entry: T): T {
  verified.add(entry);
  return entry;
}

/** Whether `entry` came out of verification or local signing in this process. */
export function isMarkedVerified(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && verified.has(entry);
}
