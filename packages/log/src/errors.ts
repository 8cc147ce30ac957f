/**
 * Error codes raised by `@hearth/log`. Listed in `docs/errors.md`; codes never change once released, messages may.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the log layer. Do not change released values. */
export const LogErrorCode = {
  /** An entry's ed25519 signature does not verify against its feed's public key and its hash. */
  INVALID_SIGNATURE: 'HEARTH_INVALID_SIGNATURE',
  /** An entry's `prev` is not the hash of the entry before it in the same range (the hash chain is broken). */
  BROKEN_CHAIN: 'HEARTH_BROKEN_CHAIN',
  /** Entries are not consecutive: a sequence number is missing, repeated or out of order. */
  SEQUENCE_GAP: 'HEARTH_SEQUENCE_GAP',
  /** An entry (or its ops payload) exceeds the size limit. */
  ENTRY_TOO_LARGE: 'HEARTH_ENTRY_TOO_LARGE',
  /** Bytes do not decode as an entry: wrong version, truncated, trailing bytes, bad field values. */
  MALFORMED_ENTRY: 'HEARTH_MALFORMED_ENTRY',
  /** Two different entries exist at one `(feed, seq)`: the feed's owner signed two histories. */
  FORK: 'HEARTH_FORK',
  /** The feed is frozen after a fork; it accepts no more entries until an operator resolves it. */
  FEED_FROZEN: 'HEARTH_FEED_FROZEN',
  /** Bytes do not decode as a canonical state vector (`docs/formats/state-vector.md`). */
  MALFORMED_STATE_VECTOR: 'HEARTH_MALFORMED_STATE_VECTOR',
} as const;

export type LogErrorCodeValue = (typeof LogErrorCode)[keyof typeof LogErrorCode];

/**
 * An entry or a run of entries was refused. `feed` (hex) and `seq` name the entry when known.
 */
export class LogError extends HearthError {
  readonly feed: string | undefined;
  readonly seq: number | undefined;
  constructor(code: LogErrorCodeValue, message: string, options?: { feed?: string; seq?: number; cause?: unknown }) {
    const where =
      options?.feed !== undefined
        ? ` (feed: ${options.feed.slice(0, 16)}…${options.seq !== undefined ? `, seq: ${options.seq}` : ''})`
        : options?.seq !== undefined
          ? ` (seq: ${options.seq})`
          : '';
    super(code, message + where, options);
    this.feed = options?.feed;
    this.seq = options?.seq;
  }
}

/**
 * Two different entries at one `(feed, seq)`. Both are persisted as evidence (the store's `.fork` file) and the
 * feed is frozen. `existingHash` is the hash of the entry the store already held at `seq`, or, when the conflict
 * was detected through a newer entry's `prev`, the hash that entry claims for `seq` is `conflictingHash`.
 */
export class ForkError extends LogError {
  readonly existingHash: string;
  readonly conflictingHash: string;
  constructor(feed: string, seq: number, existingHash: string, conflictingHash: string) {
    super(
      LogErrorCode.FORK,
      `fork: two entries at one sequence (held ${existingHash.slice(0, 16)}…, received ${conflictingHash.slice(0, 16)}…); feed frozen, evidence kept`,
      { feed, seq },
    );
    this.existingHash = existingHash;
    this.conflictingHash = conflictingHash;
  }
}

/** The feed is frozen after a fork and refuses new entries. */
export class FeedFrozenError extends LogError {
  constructor(feed: string) {
    super(LogErrorCode.FEED_FROZEN, 'feed is frozen after a fork; no entries are accepted', { feed });
  }
}
