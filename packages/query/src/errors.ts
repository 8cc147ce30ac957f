/**
 * Error classes of `@hearth/query` and their stable codes (listed in `docs/errors.md`).
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the query engine. Do not change released values. */
export const QueryErrorCode = {
  /** A query AST is malformed: unknown operator, bad path, negative limit, conflicting clauses. */
  INVALID_QUERY: 'HEARTH_INVALID_QUERY',
  /** A pagination cursor is malformed, of another version, or from a query with another sort. */
  INVALID_CURSOR: 'HEARTH_INVALID_CURSOR',
  /** A value outside the document model (Date, Map, bigint, other typed arrays, lone surrogate...) had to be ordered or encoded. */
  UNSUPPORTED_VALUE: 'HEARTH_UNSUPPORTED_VALUE',
} as const;

export type QueryErrorCodeValue = (typeof QueryErrorCode)[keyof typeof QueryErrorCode];

/** A query, cursor or value was refused. `path` names the offending field or AST location when known. */
export class QueryError extends HearthError {
  readonly where: string | undefined;
  constructor(code: QueryErrorCodeValue, message: string, options?: { where?: string; cause?: unknown }) {
    super(code, options?.where !== undefined ? `${message} (at ${options.where})` : message, options);
    this.where = options?.where;
  }
}
