/**
 * {@link WebRtcHost}: the leader tab's part of WebRTC sync. RTCPeerConnection exists only on a page's main thread,
 * while the SyncNode lives in the database worker; the host makes and answers connections (a
 * {@link WebRtcConnector}) and hands each open one to the worker as a `MessagePort`
 * ({@link bridgeTransportToPort}); the worker calls `node.connect(await transportFromPort(port))`.
 *
 * Invariants:
 * 1. Every open connection, outgoing or incoming, is bridged to exactly one fresh port, given once to `toWorker`.
 * 2. `close()` stops new connections and closes every bridged connection (the worker's transports see a close);
 *    `stopSignalling()` only stops new connections (open ones go on, e.g. when the relay goes away);
 *    `disconnectAll()` only closes the open ones.
 * @packageDocumentation
 */
import { bridgeTransportToPort } from './port.js';
import { WebRtcConnector, type WebRtcConnectorOptions } from './connector.js';
import type { WebRtcTransport } from './transport.js';

/** Options of {@link WebRtcHost}: the connector's, with `onConnection` replaced by `toWorker`. */
export interface WebRtcHostOptions extends Omit<WebRtcConnectorOptions, 'onConnection'> {
  /**
   * Hands one connection's port to the worker, e.g.
   * `(port, peerId) => worker.postMessage({ type: 'sync-port', peerId }, [port])`.
   */
  toWorker: (port: MessagePort, peerId: string) => void;
  /** Answer incoming offers (default true). */
  answer?: boolean;
}

/** Hosts WebRTC connections in the leader tab for the database worker (see the file header). */
export class WebRtcHost {
  private readonly connector: WebRtcConnector;
  private readonly open = new Set<WebRtcTransport>();
  private readonly toWorker: (port: MessagePort, peerId: string) => void;

  /** @throws TypeError if `toWorker` is not a function, or as {@link WebRtcConnector}. */
  constructor(options: WebRtcHostOptions) {
    if (typeof options?.toWorker !== 'function') throw new TypeError('"toWorker" expected a function');
    this.toWorker = options.toWorker;
    const { toWorker: _t, answer, ...rest } = options;
    this.connector = new WebRtcConnector({ ...rest, ...(answer === false ? {} : { onConnection: (t, peer) => this.hand(t, peer) }) });
  }

  /** This peer's id (the signaller's). */
  get peerId(): string {
    return this.connector.peerId;
  }

  /** Open connections handed to the worker. */
  get connections(): number {
    return this.open.size;
  }

  /**
   * Connects to `peerId` and hands the connection to the worker.
   * @throws as {@link WebRtcConnector.connect} (SyncError `HEARTH_TRANSPORT_CLOSED` if it cannot be opened).
   */
  async connect(peerId: string): Promise<void> {
    this.hand(await this.connector.connect(peerId), peerId);
  }

  /** Stops making and answering connections; open ones go on (invariant 2). */
  stopSignalling(): void {
    this.connector.close();
  }

  /** Closes every open connection (signalling goes on: new ones can be made). */
  disconnectAll(reason = 'host disconnected'): void {
    for (const t of [...this.open]) t.close(reason);
  }

  /** Stops signalling and closes every open connection. Idempotent. */
  close(): void {
    this.connector.close();
    this.disconnectAll('host closed');
  }

  private hand(t: WebRtcTransport, peerId: string): void {
    this.open.add(t);
    t.onClose(() => this.open.delete(t));
    const { port1, port2 } = new MessageChannel();
    bridgeTransportToPort(t, port1);
    this.toWorker(port2, peerId);
  }
}
