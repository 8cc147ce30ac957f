/**
 * The IndexedDB file system, the storage of browsers whose workers have no OPFS sync access handles. `_host.ts`
 * loads this module with a dynamic `import()` only when it needs that backend (`backend: 'idb'`, or OPFS
 * unsupported), so a bundler puts `IdbFileSystem` in a chunk of its own that OPFS browsers never download
 * (`npm run bench -- size`).
 * @packageDocumentation
 */
export { IdbFileSystem } from '@hearth/io';
