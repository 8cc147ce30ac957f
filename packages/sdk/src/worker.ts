/**
 * The database worker's entry point: starts serving on load. The SDK starts it with
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`, a form Vite, webpack 5, Parcel and
 * Rollup plugins recognise and bundle with no configuration. It must stay next to `index.js` in the built output.
 *
 * To run the worker with options (e.g. a wrapped file system), write your own entry that calls `startWorker`
 * from `@hearth/sdk/host`, and pass `worker: () => new Worker(...)` to `openDatabase`.
 * @packageDocumentation
 */
import { startWorker } from './host.js';

startWorker();
