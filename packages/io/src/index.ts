/**
 * `@hearth/io`: the file-system interface and its backends. The only package that touches the platform's storage.
 *
 * Entry points: this one (interface, errors, memory, OPFS, IndexedDB and fault-injecting backends: nothing
 * Node-only) and `@hearth/io/node` (`NodeFileSystem`, which imports `node:fs`).
 * @packageDocumentation
 */
export type { FileSystem, FileHandle, OpenOptions, FileSystemSupports } from './types.js';
export { HearthError, IoError, CorruptionError, InjectedCrashError, IoErrorCode } from './errors.js';
export type { IoErrorCodeValue } from './errors.js';
export { writeFileAtomic, readFileIfExists, openIfExists } from './files.js';
export { countHandles, type HandleCount } from './counting.js';
export { MemoryFileSystem } from './memory.js';
export { FaultFileSystem, FAULT_OP_KINDS } from './fault.js';
export type { FaultOp, FaultOpKind, FaultOptions, CrashPlan, UnsyncedMode } from './fault.js';
export { OpfsFileSystem, OPFS_RENAME_JOURNAL } from './opfs.js';
export type { OpfsOptions, OpfsRenameStrategy } from './opfs.js';
export { IdbFileSystem, IDB_SCHEMA_VERSION, IDB_FORMAT_MAGIC, IDB_DEFAULT_CHUNK_SIZE } from './idb.js';
export type { IdbOptions, IdbFormatRecord } from './idb.js';
