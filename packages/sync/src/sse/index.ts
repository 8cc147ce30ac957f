/**
 * The SSE binding of the sync protocol (EventSource down, HTTP POST up): the client transport and relay
 * helpers, the framework-independent server end, the binding's encodings and errors.
 * Spec: `docs/formats/sync-protocol.md` ("SSE binding"); guide: `docs/relay.md`.
 * @packageDocumentation
 */
export { SseClientTransport, authenticateRelay, openRelayTransport, RelayConnection, relayErrorFromResponse } from './client.js';
export type { SseClientOptions, EventSourceLike, EventSourceConstructor, RelayAuthOptions, RelayGrant, OpenRelayOptions, RelayConnectionOptions } from './client.js';
export { SseHub, SseServerTransport } from './server.js';
export { FetchEventSource } from './fetch-event-source.js';
export type { FetchEventSourceInit } from './fetch-event-source.js';
export type { SseSink, SseHubOptions, SsePostResult } from './server.js';
export { RelayError, RelayErrorCode, RELAY_ERROR_STATUS } from './errors.js';
export type { RelayErrorCodeValue } from './errors.js';
export * from './binding.js';
export { toBase64url, fromBase64url } from './base64url.js';
