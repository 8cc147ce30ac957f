/**
 * `@hearth/io`: the file-system interface and its backends. The only package that touches the platform's storage.
 * @packageDocumentation
 */
export type { FileSystem, FileHandle, OpenOptions, FileSystemSupports } from './types.js';
export { HearthError, IoError, CorruptionError, InjectedCrashError, IoErrorCode } from './errors.js';
export type { IoErrorCodeValue } from './errors.js';
export { MemoryFileSystem } from './memory.js';
