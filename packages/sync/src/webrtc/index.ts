/**
 * `@hearth/sync/webrtc`: the WebRTC transport of Hearth sync (simple-peer data channels), its signalling
 * (in-memory, BroadcastChannel, the relay), and the bridge that carries a transport between the page that owns the
 * connection and the worker that runs the SyncNode. A separate entry point so that `@hearth/sync` does not pull
 * simple-peer into bundles that do not use WebRTC. Guide: `docs/sync.md` (WebRTC).
 *
 * ```ts
 * // leader tab (main thread)
 * const signaller = await RelaySignaller.open({ url, space, keypair });
 * const host = new WebRtcHost({ signaller, toWorker: (port, peerId) => worker.postMessage({ type: 'sync-port', peerId }, [port]) });
 * for (const peer of await signaller.peers()) host.connect(peer).catch(console.warn);
 * // database worker
 * node.connect(await transportFromPort(port));
 * ```
 * @packageDocumentation
 */
export { WebRtcTransport, WEBRTC_MAX_MESSAGE_BYTES } from './transport.js';
export type { WebRtcTransportOptions, PeerLike } from './transport.js';
export { WebRtcConnector } from './connector.js';
export type { WebRtcConnectorOptions, ConnectorPeer } from './connector.js';
export { MemorySignalHub, BroadcastChannelSignaller, parseSignalEnvelope } from './signaller.js';
export type { Signaller, SignalEnvelope, SignalData } from './signaller.js';
export { bridgeTransportToPort, transportFromPort } from './port.js';
export type { PortLike } from './port.js';
export { RelaySignaller, peerIdOf } from './relay-signaller.js';
export type { RelaySignallerOptions } from './relay-signaller.js';
export { WebRtcHost } from './host.js';
export type { WebRtcHostOptions } from './host.js';
