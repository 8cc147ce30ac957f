/** Names shared by `io-idb.worker.ts` (which runs the cases) and `io-idb.test.ts` (which expects them). */
import { casesFor } from '../../packages/io/test/compliance.js';

/**
 * Chunk sizes the compliance suite runs with in the worker: the default, and a tiny one so that every case
 * crosses chunk boundaries.
 */
export const IDB_COMPLIANCE_CHUNKS = [
  { label: 'idb(64KiB)', chunkSize: 1 << 16 },
  { label: 'idb(16B)', chunkSize: 16 },
] as const;

/** IndexedDB-specific cases run in the dedicated worker (MODE "suite"), beyond the compliance suite. */
export const IDB_EXTRA_CASES = [
  'idb: a second open of an open file is HEARTH_LOCKED, also through a second instance; a refused truncate-open truncates nothing',
  'idb: renaming or removing an open file (or a directory holding one) is HEARTH_LOCKED and changes nothing',
  'idb: unsynced writes never reach IndexedDB; sync stores content and size in the documented layout',
  "idb: each sync is one readwrite transaction with durability 'strict'; close uses 'relaxed'; namespace calls 'strict'",
  'idb: seeded random writes/truncates/syncs across 8-byte chunks match a reference model, in memory and in IndexedDB',
  'idb: rename moves one record and drops the replaced target\'s chunks; remove drops chunks; recursive remove is whole',
  'idb: the committed v1 fixture opens, and the same workload writes exactly the fixture\'s records',
  'idb: stored records that break the layout are HEARTH_CORRUPTION; a newer schema is HEARTH_UNSUPPORTED',
  'idb: bad arguments to open are TypeError/RangeError; chunk size is fixed at creation',
  'idb: FileSystem.close flushes and releases handles, then calls are HEARTH_CLOSED',
  'idb: destroy from another connection closes this one; later calls are HEARTH_CLOSED',
] as const;

/** Cases run on the main thread (MODE "page"). */
export const IDB_PAGE_EXTRA_CASES = ['idb(page): available on the main thread'] as const;

/** Every case name the worker reports in MODE "suite", in order. */
export function expectedIdbWorkerCases(): string[] {
  const names = casesFor({ supports: { persistent: true, atomicRename: true } }).map((c) => c.name);
  return [...IDB_COMPLIANCE_CHUNKS.flatMap(({ label }) => names.map((n) => `${label}: ${n}`)), ...IDB_EXTRA_CASES];
}

/** Every case name the page reports in MODE "page", in order. */
export function expectedIdbPageCases(): string[] {
  const names = casesFor({ supports: { persistent: true, atomicRename: true } }).map((c) => c.name);
  return [...IDB_PAGE_EXTRA_CASES, ...names.map((n) => `idb(page): ${n}`)];
}
