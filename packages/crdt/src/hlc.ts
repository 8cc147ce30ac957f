/**
 * Hybrid logical clocks (HLC): Kulkarni, Demirbas, Madappa, Avva, Leone, "Logical Physical Clocks and Consistent
 * Snapshots in Globally Distributed Databases" (OPODIS 2014), algorithm of Figure 5.
 *
 * An HLC timestamp is a `bigint` packing 64 bits (spec: `docs/formats/hlc.md`):
 *
 * ```
 *  bit 63                            16 15             0
 * +-----------------------------------+----------------+
 * | l: wall-clock ms since Unix epoch | c: counter     |
 * |    (48 bits, unsigned)            |   (16 bits)    |
 * +-----------------------------------+----------------+
 * ```
 *
 * Encoded as 8 bytes big-endian, so comparing encodings byte by byte orders them exactly as the timestamps.
 * Timestamps from different devices are totally ordered by `(hlc, feed)` (see {@link compareStamps}).
 *
 * Counter overflow: the paper's `c + 1` is the packed value plus one, so a counter past 0xFFFF **carries into the
 * millisecond field** (l advances by 1 ms, c restarts at 0). The clock never waits and never throws on overflow;
 * the cost is that l may run ahead of the physical clock by 1 ms per 65,536 timestamps issued within one
 * millisecond, a bound the drift check below also caps for remote timestamps.
 *
 * Invariants of {@link HybridClock}:
 * 1. Every timestamp returned by `now()` or `receive()` is strictly greater than every timestamp it returned
 *    before (the clock is strictly monotonic).
 * 2. `receive(r)` returns a timestamp strictly greater than `r`, so a causally later event sorts later.
 * 3. l never moves backwards, whatever the wall clock does; when the wall clock is ahead of l, l jumps to it and
 *    c restarts at 0.
 * 4. A remote timestamp whose l is more than `maxDriftMs` ahead of the local wall clock is rejected with
 *    {@link ClockDriftError} and leaves the clock unchanged.
 *
 * @packageDocumentation
 */
import { ClockDriftError } from './errors.js';

/** A hybrid logical clock timestamp: `(ms << 16n) | counter`, in `[0, 2^64)`. */
export type Hlc = bigint;

/** Bits of the counter (low) part. Do not change: part of the on-disk format. */
export const HLC_COUNTER_BITS = 16;
/** Largest counter value, 0xFFFF. */
export const HLC_MAX_COUNTER = 0xffff;
/** Largest wall-clock value, 2^48 - 1 ms (the year 10889). */
export const HLC_MAX_MS = 2 ** 48 - 1;
/** Largest HLC value, 2^64 - 1. */
export const HLC_MAX: Hlc = (1n << 64n) - 1n;
/** Size of an encoded HLC, in bytes. */
export const HLC_BYTES = 8;
/** Default maximum drift of a remote timestamp ahead of the local wall clock: 5 minutes, in ms. */
export const DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000;

const COUNTER_MASK = 0xffffn;
const SHIFT = 16n;

/**
 * Packs a wall-clock millisecond value and a counter into an {@link Hlc}.
 * @throws RangeError if `ms` is not an integer in `[0, 2^48)` or `counter` not an integer in `[0, 0xFFFF]`.
 */
export function packHlc(ms: number, counter: number): Hlc {
  checkMs(ms, 'ms');
  if (!Number.isInteger(counter) || counter < 0 || counter > HLC_MAX_COUNTER) {
    throw new RangeError(`"counter" expected integer in [0, 65535], got ${counter}`);
  }
  return (BigInt(ms) << SHIFT) | BigInt(counter);
}

/** The wall-clock part of `h`, in ms since the Unix epoch. */
export function hlcMs(h: Hlc): number {
  return Number(h >> SHIFT);
}

/** The counter part of `h`. */
export function hlcCounter(h: Hlc): number {
  return Number(h & COUNTER_MASK);
}

/**
 * Checks that `h` is a valid HLC (a bigint in `[0, 2^64)`).
 * @throws TypeError if `h` is not a bigint; RangeError if it is out of range.
 */
export function assertHlc(h: unknown, label = 'hlc'): asserts h is Hlc {
  if (typeof h !== 'bigint') throw new TypeError(`"${label}" expected bigint HLC, got ${typeof h}`);
  if (h < 0n || h > HLC_MAX) throw new RangeError(`"${label}" expected HLC in [0, 2^64), got ${h}`);
}

/**
 * Writes `h` as 8 bytes big-endian into `out` at `offset` (spec: `docs/formats/hlc.md`).
 * @throws RangeError if `out` has fewer than 8 bytes past `offset`.
 */
export function writeHlc(h: Hlc, out: Uint8Array, offset: number): void {
  if (offset < 0 || offset + HLC_BYTES > out.length) throw new RangeError(`"offset" ${offset} leaves no room for an HLC`);
  const hi = Number(h >> 32n);
  const lo = Number(h & 0xffffffffn);
  out[offset] = hi >>> 24;
  out[offset + 1] = (hi >>> 16) & 0xff;
  out[offset + 2] = (hi >>> 8) & 0xff;
  out[offset + 3] = hi & 0xff;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = (lo >>> 16) & 0xff;
  out[offset + 6] = (lo >>> 8) & 0xff;
  out[offset + 7] = lo & 0xff;
}

/**
 * Reads an HLC written by {@link writeHlc} from `bytes` at `offset`. Every 8-byte value is a valid HLC.
 * @throws RangeError if fewer than 8 bytes remain past `offset`.
 */
export function readHlc(bytes: Uint8Array, offset: number): Hlc {
  if (offset < 0 || offset + HLC_BYTES > bytes.length) throw new RangeError(`"offset" ${offset} leaves no room for an HLC`);
  const hi = ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
  const lo =
    ((bytes[offset + 4] << 24) | (bytes[offset + 5] << 16) | (bytes[offset + 6] << 8) | bytes[offset + 7]) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** `encodeHlcV1(h)`: the 8-byte big-endian encoding of `h` as a new array. */
export function encodeHlcV1(h: Hlc): Uint8Array {
  assertHlc(h, 'h');
  const out = new Uint8Array(HLC_BYTES);
  writeHlc(h, out, 0);
  return out;
}

/**
 * Decodes an 8-byte HLC encoding.
 * @throws RangeError if `bytes` is not exactly 8 bytes long.
 */
export function decodeHlcV1(bytes: Uint8Array): Hlc {
  if (!(bytes instanceof Uint8Array) || bytes.length !== HLC_BYTES) {
    throw new RangeError(`"bytes" expected Uint8Array of length 8, got length=${(bytes as Uint8Array)?.length}`);
  }
  return readHlc(bytes, 0);
}

/** Compares two byte strings lexicographically by unsigned byte (shorter prefix first). Returns -1, 0 or 1. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The total order of writes: by HLC, then by feed id (unsigned bytes). Returns -1, 0 or 1.
 * Two writes from different feeds never compare equal; a feed issues each HLC at most once (invariant 1).
 */
export function compareStamps(aHlc: Hlc, aFeed: Uint8Array, bHlc: Hlc, bFeed: Uint8Array): number {
  if (aHlc !== bHlc) return aHlc < bHlc ? -1 : 1;
  return compareBytes(aFeed, bFeed);
}

/** Options for {@link HybridClock}. */
export interface HybridClockOptions {
  /** Physical clock in integer ms since the Unix epoch. Default `Date.now`. Inject a fake one in tests. */
  wallClock?: () => number;
  /**
   * Largest amount, in ms, that a remote timestamp's wall-clock part may be ahead of the local wall clock before
   * `receive` rejects it. Default {@link DEFAULT_MAX_DRIFT_MS} (5 minutes). `Infinity` disables the check.
   */
  maxDriftMs?: number;
  /** Start from this timestamp (e.g. the newest HLC found in the local feed after a restart). Default 0. */
  last?: Hlc;
}

/**
 * A hybrid logical clock (see the file header for the algorithm, the layout and the invariants).
 *
 * @example
 * ```ts
 * const clock = new HybridClock();
 * const t1 = clock.now();            // stamp a local write
 * const t2 = clock.receive(remote);  // observe a remote entry's HLC; t2 > remote and t2 > t1
 * ```
 */
export class HybridClock {
  private readonly wallClock: () => number;
  readonly maxDriftMs: number;
  private lastValue: Hlc;

  constructor(options: HybridClockOptions = {}) {
    this.wallClock = options.wallClock ?? Date.now;
    if (typeof this.wallClock !== 'function') throw new TypeError('"wallClock" expected a function');
    const drift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    if (typeof drift !== 'number' || Number.isNaN(drift) || drift < 0) {
      throw new RangeError(`"maxDriftMs" expected a number >= 0, got ${drift}`);
    }
    this.maxDriftMs = drift;
    const last = options.last ?? 0n;
    assertHlc(last, 'last');
    this.lastValue = last;
  }

  /** The newest timestamp this clock has issued or been started from. */
  get last(): Hlc {
    return this.lastValue;
  }

  /**
   * Issues a timestamp for a local event (send or local write): `l' = max(l, pt)`; `c' = c + 1` if l did not
   * change, else 0 (the packed value plus one, carrying into l on counter overflow).
   * @throws RangeError if the wall clock returns a value outside `[0, 2^48)` ms, or the clock is exhausted.
   */
  now(): Hlc {
    const pt = this.readWall();
    const last = this.lastValue;
    const next = pt > hlcMs(last) ? BigInt(pt) << SHIFT : last + 1n;
    return this.advance(next);
  }

  /**
   * Merges a remote timestamp (on receiving an entry) and issues a timestamp for the receive event:
   * `l' = max(l, l_m, pt)`, and `c'` per Figure 5 of the paper (which equals `max(last, remote) + 1` whenever l'
   * is not the physical clock).
   * @throws ClockDriftError `HEARTH_CLOCK_DRIFT` if `remote`'s ms part exceeds the wall clock by more than
   *   `maxDriftMs`; the clock is unchanged.
   * @throws TypeError / RangeError if `remote` is not a valid HLC.
   */
  receive(remote: Hlc): Hlc {
    assertHlc(remote, 'remote');
    const pt = this.readWall();
    const remoteMs = hlcMs(remote);
    if (remoteMs - pt > this.maxDriftMs) throw new ClockDriftError(remoteMs, pt, this.maxDriftMs);
    const m = remote > this.lastValue ? remote : this.lastValue;
    const next = pt > hlcMs(m) ? BigInt(pt) << SHIFT : m + 1n;
    return this.advance(next);
  }

  private advance(next: Hlc): Hlc {
    if (next > HLC_MAX) throw new RangeError('HLC exhausted: wall-clock field would pass 2^48 - 1 ms');
    this.lastValue = next;
    return next;
  }

  private readWall(): number {
    const pt = this.wallClock();
    checkMs(pt, 'wallClock()');
    return pt;
  }
}

function checkMs(ms: number, label: string): void {
  if (!Number.isInteger(ms) || ms < 0 || ms > HLC_MAX_MS) {
    throw new RangeError(`"${label}" expected integer ms in [0, 2^48), got ${ms}`);
  }
}
