/**
 * Error codes raised by `@hearth/crdt`. Listed in `docs/errors.md`; codes never change once released.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the CRDT layer. Do not change released values. */
export const CrdtErrorCode = {
  /** A remote HLC timestamp is further ahead of the local wall clock than the allowed drift. */
  CLOCK_DRIFT: 'HEARTH_CLOCK_DRIFT',
} as const;

/**
 * A remote HLC timestamp was rejected because its wall-clock part is more than `maxDriftMs` ahead of the local
 * wall clock (Kulkarni et al. 2014, section 3: HLC assumes bounded clock skew; accepting an unbounded remote
 * timestamp would drag every later local timestamp into the future).
 *
 * The clock is unchanged when this is thrown. `remoteMs` and `localMs` are wall-clock milliseconds since the epoch.
 */
export class ClockDriftError extends HearthError {
  readonly remoteMs: number;
  readonly localMs: number;
  readonly maxDriftMs: number;
  constructor(remoteMs: number, localMs: number, maxDriftMs: number) {
    super(
      CrdtErrorCode.CLOCK_DRIFT,
      `remote HLC is ${remoteMs - localMs} ms ahead of the local wall clock (max drift ${maxDriftMs} ms)`,
    );
    this.remoteMs = remoteMs;
    this.localMs = localMs;
    this.maxDriftMs = maxDriftMs;
  }
}
