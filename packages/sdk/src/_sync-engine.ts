/**
 * The parts of `@hearth/sync` the database worker runs only while it syncs: the SyncNode over the Database, the
 * relay's SSE transport and authentication, invites, the MessagePort bridge of WebRTC connections, and the
 * `SyncImpl` (`_sync-impl.ts`) that drives them.
 * `_sync.ts` and `_host.ts` load this module with a dynamic `import()` the first time a database syncs, so a
 * bundler (Vite, Rollup, esbuild with splitting) puts it in a chunk of its own and a worker whose database never
 * syncs neither downloads nor parses it (`npm run bench -- size`, `docs/benchmarks.md`).
 * @packageDocumentation
 */
export { transportFromPort } from '@hearth/sync/webrtc';
export { SyncImpl } from './_sync-impl.js';
