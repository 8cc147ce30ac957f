/**
 * `@hearth/db`: the `Database`, the one object that owns a replica: the write path with group commit, reads and
 * snapshots, transactions, ingest of other feeds, recovery and rebuild from the log, and the change stream.
 * Guide: `docs/db.md`. Formats: `docs/formats/ops.md` (ops payload, field values), `docs/formats/db-layout.md`
 * (directory, keypair file, LSM keyspace).
 * @packageDocumentation
 */
export { Database } from './database.js';
export type {
  DatabaseOptions,
  RecoveryInfo,
  Change,
  CommitEvent,
  OnCommitOptions,
  IngestFeedResult,
  IngestResult,
  DatabaseStats,
  DbSnapshot,
  Transaction,
  Collection,
} from './database.js';
export type { IterateOptions } from './_read.js';
export { DbError, DbErrorCode } from './errors.js';
export type { DbErrorCodeValue } from './errors.js';
export { encodeFieldValueV1, decodeFieldValueV1, compareCodePoints } from './values.js';
export type { DocValue, Document } from './values.js';
export { encodeOpsV1, decodeOpsV1 } from './ops.js';
export type { Op, DecodeOpsOptions } from './ops.js';
export { encodeKeypairFileV1, decodeKeypairFileV1 } from './keypair-file.js';
export * as dbConstants from './constants.js';
export type {
  VectorIndexOptions, VectorIndexInfo, NearestOptions, NearestHit, NearestPlan, VectorRecovery, VectorIndexRecovery,
} from './_vectors.js';
export { encodeVectorCatalogV1, decodeVectorCatalogV1 } from './vector-catalog.js';
export type { VectorCatalogV1, VectorCatalogIndex } from './vector-catalog.js';
export type { CreateIndexOptions, IndexStatus } from './_indexes.js';
export type { LiveHandle, LiveUpdate } from './_live.js';
export { encodeIndexCatalogV1, decodeIndexCatalogV1 } from './index-catalog.js';
export type { IndexCatalog, IndexRecord } from './index-catalog.js';
export { encodeExcludedFileV1, decodeExcludedFileV1, normalizeRanges } from './exclusions.js';
export type { ExcludedRange } from './exclusions.js';
