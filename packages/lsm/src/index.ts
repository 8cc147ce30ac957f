/**
 * `@hearth/lsm`: Hearth's log-structured merge tree over `@hearth/io` (memtable, SSTables with bloom filters and a
 * block cache, manifest, Unified Compaction Strategy, snapshots). Contract: `types.ts`. Formats:
 * `docs/formats/sstable.md`, `docs/formats/manifest.md`.
 * @packageDocumentation
 */
export type {
  BatchOp,
  Entry,
  Lsm,
  LsmOptions,
  LsmStats,
  RangeOptions,
  Snapshot,
  WriteOptions,
} from './types.js';
export { openLsm, ucsParameters, yieldNow } from './lsm.js';
export { crc32c } from './crc32c.js';
export { CorruptionError } from '@hearth/io';
