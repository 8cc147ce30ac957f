/**
 * Error codes raised by `@hearth/db`. Listed in `docs/errors.md`; codes never change once released, messages may.
 *
 * The database also passes through the codes of the layers below: `HEARTH_CLOSED` (`IoError`), the log's
 * ingest codes (`LogError`, `ForkError`, `FeedFrozenError`), `HEARTH_CLOCK_DRIFT` (`ClockDriftError`) and
 * `HEARTH_CORRUPTION` (`CorruptionError`).
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the db layer. Do not change released values. */
export const DbErrorCode = {
  /**
   * A document holds a value outside the document model (a function, symbol, bigint, `Date`, `Map`, `Set`, a
   * typed array other than `Uint8Array`/`Float32Array`, a class instance, `undefined` inside an array, a string
   * with a lone surrogate, a cycle or nesting deeper than 64). Same code as the query engine's.
   */
  UNSUPPORTED_VALUE: 'HEARTH_UNSUPPORTED_VALUE',
  /** A document's encoded fields exceed the size limit (`maxDocumentBytes`, default 1 MiB). */
  DOCUMENT_TOO_LARGE: 'HEARTH_DOCUMENT_TOO_LARGE',
  /** A collection name or document id is not acceptable (empty, too long, NUL in a collection, lone surrogate). */
  INVALID_KEY: 'HEARTH_INVALID_KEY',
  /** A (validly signed) entry's ops payload does not decode as ops V1 (`docs/formats/ops.md`). */
  MALFORMED_OPS: 'HEARTH_MALFORMED_OPS',
  /**
   * This device's own feed holds fewer entries than the views reflect: acknowledged entries were lost. Local
   * writes are refused (writing would re-use sequence numbers and fork the feed) until the entries are restored by
   * `ingest` from a peer, or the database is opened with another keypair.
   */
  FEED_BEHIND: 'HEARTH_FEED_BEHIND',
  /**
   * An earlier commit failed after its entry reached the feed file (a failed `sync`, or a failed apply): the
   * outcome of those writes is unknown until reopen, so the database refuses further writes. Close and reopen.
   */
  FAILED: 'HEARTH_DB_FAILED',
  /** `nearest` / `explainNearest` named a collection and field with no vector index declared. */
  NO_VECTOR_INDEX: 'HEARTH_NO_VECTOR_INDEX',
  /** `createVectorIndex` on a collection and field that already has a vector index with another definition. */
  VECTOR_INDEX_CONFLICT: 'HEARTH_VECTOR_INDEX_CONFLICT',
} as const;

export type DbErrorCodeValue = (typeof DbErrorCode)[keyof typeof DbErrorCode];

/** A database operation was refused. `collection` and `id` name the document when known. */
export class DbError extends HearthError {
  readonly collection: string | undefined;
  readonly id: string | undefined;
  constructor(code: DbErrorCodeValue, message: string, options?: { collection?: string; id?: string; cause?: unknown }) {
    const where =
      options?.collection !== undefined
        ? ` (${options.collection}${options.id !== undefined ? `/${options.id.length > 64 ? options.id.slice(0, 64) + '…' : options.id}` : ''})`
        : '';
    super(code, message + where, options);
    this.collection = options?.collection;
    this.id = options?.id;
  }
}
