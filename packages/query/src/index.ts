/**
 * `@hearth/query`: Hearth's query engine, independent of the database. Queries are plain data (an AST); the
 * engine plans and runs them on any {@link QueryStore} snapshot, maintains secondary indexes with pure functions
 * over an order-preserving key encoding, keeps live queries current, and proposes indexes adaptively.
 *
 * Docs: `docs/query.md` (AST, semantics, examples), `docs/formats/index-keys.md` (key encoding).
 * @packageDocumentation
 */
export type {
  Value,
  Doc,
  Path,
  CompareOp,
  Filter,
  SortKey,
  Hop,
  AggregateSpec,
  Aggregate,
  Query,
  Row,
  QueryResult,
  IndexDefinition,
  IndexInfo,
  KeyRange,
  IndexEntry,
  QueryStore,
  Change,
  Diff,
  Access,
  HopExplain,
  Explain,
  QueryShape,
} from './types.js';
export { QueryError, QueryErrorCode } from './errors.js';
export type { QueryErrorCodeValue } from './errors.js';
export { INDEX_KEY_VERSION, CURSOR_VERSION, Tag } from './constants.js';
export { cmpValues, valuesEqual, compareBytes, compareStrings, getPath, normalizePath, typeRank, Rank } from './value.js';
export { encodeValueV1, decodeValueV1, encodeKeyV1, decodeKeyV1, prefixEnd, toHex, fromHex } from './keys.js';
export { normalizeIndex, indexIdOf, indexKeys, indexDelta, IndexBuild } from './maintenance.js';
export type { NormalizedIndex } from './maintenance.js';
export { execute, explain, executeWithExplain } from './executor.js';
export type { ExecuteOptions } from './executor.js';
export { encodeCursorV1, decodeCursorV1 } from './cursor.js';
export { ExactSum } from './aggregate.js';
export { createLiveQuery, applyDiff, diffRows } from './live.js';
export type { LiveQuery, LiveQueryStats } from './live.js';
export { AdaptiveIndexPolicy, proposeIndex } from './adaptive.js';
export type { AdaptivePolicyOptions, IndexDecision, ShapeStats } from './adaptive.js';
export { MemoryQueryStore } from './memory-store.js';
export {
  eq, ne, gt, gte, lt, lte, inList, nin, contains, prefix, exists, and, or, not,
  asc, desc, hop, count, sum, avg, min, max,
} from './builders.js';
