/**
 * `@hearth/sdk/host`: the database worker's host, for custom worker entries (`startWorker(options)`). The default
 * entry is `@hearth/sdk/worker` (`worker.ts`), which the SDK starts by itself.
 * @packageDocumentation
 */
export { startWorker } from './_host.js';
export type { WorkerHostOptions } from './_host.js';
