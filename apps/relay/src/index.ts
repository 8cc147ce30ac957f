/**
 * `@hearth/relay`: Hearth's home hub, a relay that is a full replica of the spaces it serves.
 * Guide: `docs/relay.md`. CLI: `hearth-relay serve|export|import|verify|rebuild` (`cli.ts`).
 * @packageDocumentation
 */
export { createRelay, nearestExact } from './relay.js';
export type { Relay, RelayOptions, RelayCounters, NearestHit } from './relay.js';
export { SpaceHost } from './space.js';
export type { SpaceHostOptions, SpaceCounters } from './space.js';
export { RelayAuth, parseKeyHex } from './auth.js';
export type { Grant } from './auth.js';
export { toJsonValue, fromJsonValue } from './json.js';
export { exportSpace, importSpace, verifySpace, rebuildSpace } from './tools.js';
export type { VerifyReport, ImportReport } from './tools.js';
