/**
 * Error codes raised by `@hearth/sync`. Listed in `docs/errors.md`; codes never change once released, messages may.
 *
 * Sync also reports the codes of the layers below for refused entries: the log's (`HEARTH_INVALID_SIGNATURE`,
 * `HEARTH_BROKEN_CHAIN`, `HEARTH_SEQUENCE_GAP`, `HEARTH_ENTRY_TOO_LARGE`, `HEARTH_MALFORMED_ENTRY`, `HEARTH_FORK`,
 * `HEARTH_FEED_FROZEN`), `HEARTH_CLOCK_DRIFT` and the db's `HEARTH_MALFORMED_OPS`.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the sync layer. Do not change released values. */
export const SyncErrorCode = {
  /** Bytes on a connection break the protocol: bad frame magic/version/checksum, a frame out of order, a message
   * that does not decode, a message in the wrong state, a peer exceeding its window. The connection is closed. */
  PROTOCOL: 'HEARTH_SYNC_PROTOCOL',
  /** The peer speaks no protocol version this implementation speaks. */
  VERSION: 'HEARTH_SYNC_VERSION',
  /** The peer's HELLO names another space. */
  SPACE_MISMATCH: 'HEARTH_SPACE_MISMATCH',
  /** The peer's AUTH signature does not verify against the feed id it claimed in HELLO. */
  AUTH: 'HEARTH_SYNC_AUTH',
  /** An entry's author is not a member of the space at the entry's HLC (never admitted, or removed before it). */
  NOT_MEMBER: 'HEARTH_NOT_MEMBER',
  /** A membership record is malformed, or written by a feed that is not an admin at the record's HLC. */
  NOT_ADMIN: 'HEARTH_NOT_ADMIN',
  /** A message exceeds the protocol's or the transport's size limit. */
  MESSAGE_TOO_LARGE: 'HEARTH_MESSAGE_TOO_LARGE',
  /** `send` on a closed transport. */
  TRANSPORT_CLOSED: 'HEARTH_TRANSPORT_CLOSED',
  /** An invite token or admission request is malformed, unknown, expired, already used or fails its proof. */
  INVALID_INVITE: 'HEARTH_INVALID_INVITE',
  /** Entries held pending (author's admission unknown) exceeded the node's budget; the oldest were dropped
   * (not stored; a later sync fetches them again). */
  PENDING_OVERFLOW: 'HEARTH_PENDING_OVERFLOW',
} as const;

export type SyncErrorCodeValue = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

/** A sync-layer failure. `feed` (hex) and `seq` name the entry when there is one. */
export class SyncError extends HearthError {
  readonly feed: string | undefined;
  readonly seq: number | undefined;
  constructor(code: SyncErrorCodeValue, message: string, options?: { feed?: string; seq?: number; cause?: unknown }) {
    const where =
      options?.feed !== undefined
        ? ` (feed: ${options.feed.slice(0, 16)}…${options.seq !== undefined ? `, seq: ${options.seq}` : ''})`
        : '';
    super(code, message + where, options);
    this.feed = options?.feed;
    this.seq = options?.seq;
  }
}
