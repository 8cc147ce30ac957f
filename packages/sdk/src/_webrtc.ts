/**
 * The leader tab's WebRTC host for sync: RTCPeerConnection exists only on a page's main thread, the SyncNode lives
 * in the database worker. Loaded on demand (dynamic import) by the leader tab, so pages that never sync over
 * WebRTC do not load simple-peer.
 *
 * Invariants:
 * 1. Runs only in the leader tab, only while its worker reports a space with this device a member and the relay
 *    connected; the signalling token comes from the worker (`signalGrant`), the keypair never leaves it.
 * 2. One connection per peer: the peer with the lower id (device key hex) initiates; the other only answers
 *    (`docs/sync.md`, "Signalling"). A peer with a connection open or being opened is not dialled again.
 * 3. Every open connection is bridged to a fresh MessagePort and given to the worker once (`WebRtcHost`), which
 *    lists it in `status().peers` until it closes.
 * 4. While the worker reports `offline` (the browser is offline) there is no signalling and no connection.
 *    Otherwise a signalling stream that breaks (relay gone) stops new connections only; open ones go on. The host
 *    re-opens signalling at the next status in which the relay is connected.
 * @packageDocumentation
 */
import { RelaySignaller, WebRtcHost } from '@hearth/sync/webrtc';
import type { SyncStatus } from './protocol.js';

/** What the host needs of the leader's worker. */
export interface WebRtcWorkerLink {
  /** A member token for the relay's signalling routes, or null (not a member, no relay). */
  signalGrant(): Promise<{ relay: string; space: string; token: string; deviceId: string } | null>;
  /** Hands a bridged connection to the worker. */
  toWorker(port: MessagePort, peerId: string): void;
}

/** How often the relay's peer list is polled for peers to dial, ms. */
const POLL_MS = 3_000;

/** The leader tab's WebRTC host (see the file header). */
export class LeaderWebRtc {
  private host: WebRtcHost | null = null;
  /** Every host made (an old one's open connections go on after its signalling stopped). */
  private readonly hosts: WebRtcHost[] = [];
  private signaller: RelaySignaller | null = null;
  private opening = false;
  private closed = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly busy = new Set<string>();
  private space: string | null = null;

  constructor(private readonly link: WebRtcWorkerLink) {}

  /** Feeds a status from the worker (invariants 1 and 4). */
  update(s: SyncStatus): void {
    if (this.closed) return;
    if (s.relay === 'offline') {
      // The browser is offline (the worker closed its side of every peer too): no signalling, no connections.
      this.stopSignalling();
      for (const h of this.hosts) h.disconnectAll('the browser is offline');
      this.busy.clear();
      return;
    }
    for (const p of this.busy) if (!s.peers.some((x) => x.id === p) && !this.dialling.has(p)) this.busy.delete(p);
    for (const p of s.peers) this.busy.add(p.id);
    const ready = s.space !== null && (s.role === 'admin' || s.role === 'member') && s.relay === 'connected';
    if (ready && (this.signaller === null || this.space !== s.space) && !this.opening) void this.open(s.space!);
  }

  private readonly dialling = new Set<string>();

  private async open(space: string): Promise<void> {
    this.opening = true;
    try {
      this.stopSignalling();
      const grant = await this.link.signalGrant();
      if (grant === null || this.closed) return;
      const signaller = await RelaySignaller.open({ url: grant.relay, space: Uint8Array.from(grant.space.match(/../g)!.map((h) => parseInt(h, 16))), token: grant.token });
      if (this.closed) {
        signaller.close();
        return;
      }
      this.signaller = signaller;
      this.space = space;
      const host = new WebRtcHost({
        signaller,
        toWorker: (port, peerId) => {
          this.busy.add(peerId);
          this.link.toWorker(port, peerId);
        },
        accept: (peerId) => !this.busy.has(peerId) || this.dialling.has(peerId),
      });
      this.host = host;
      this.hosts.push(host);
      signaller.onClose(() => {
        if (this.signaller !== signaller) return;
        this.stopSignalling(); // invariant 4
      });
      const me = grant.deviceId;
      const poll = async (): Promise<void> => {
        if (this.signaller !== signaller) return;
        let peers: string[];
        try {
          peers = await signaller.peers();
        } catch {
          return;
        }
        for (const p of peers) {
          if (p === me || !(me < p) || this.busy.has(p)) continue; // invariant 2
          this.busy.add(p);
          this.dialling.add(p);
          host.connect(p).then(
            () => this.dialling.delete(p),
            () => {
              this.dialling.delete(p);
              this.busy.delete(p);
            },
          );
        }
      };
      void poll();
      this.timer = setInterval(() => void poll(), POLL_MS);
    } catch {
      // the next status with the relay connected tries again
      this.stopSignalling();
    } finally {
      this.opening = false;
    }
  }

  private stopSignalling(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.host?.stopSignalling();
    this.signaller?.close();
    this.signaller = null;
    this.space = null;
  }

  /** Stops signalling and closes every connection. */
  close(): void {
    this.closed = true;
    this.stopSignalling();
    for (const h of this.hosts) h.close();
    this.hosts.length = 0;
    this.host = null;
  }
}
