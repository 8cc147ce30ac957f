/**
 * Shared by the WebRTC browser tests (pages and Node side): case names, a real-time `settle`, pair makers.
 * Imports only browser-safe modules.
 */
import { WebRtcConnector, bridgeTransportToPort, transportFromPort, type WebRtcTransport, type MemorySignalHub } from '@hearth/sync/webrtc';
import type { Transport } from '@hearth/sync';

/** The named (non-compliance) cases of `webrtc-pair.page.ts`, in order. */
export const WEBRTC_PAIR_CASES = [
  'webrtc: a message of 16 KiB + 1 is a RangeError; maxMessageBytes is 16 KiB',
  'webrtc: 16 MiB sent at once arrives whole and in order; bufferedAmount rises, then drains to 0',
  'webrtc: ICE with no usable candidates: connect() rejects with HEARTH_TRANSPORT_CLOSED, nothing is left tracked',
  'webrtc: connect() to a peer nobody answers for rejects after connectTimeoutMs',
  'webrtc: an open connection survives closing both connectors and signallers',
  'webrtc: the far end torn down under its transport (RTCPeerConnection.close) closes the near end',
  'port bridge: a worker-side close reaches the WebRTC peer; malformed port messages close both',
] as const;

/** Throws `check failed: <what>` unless `cond` holds. */
export function checkThat(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/** Lets real network deliveries happen: one 25 ms timer turn (the suite waits up to 200 turns: 5 s under load). */
export const settleReal = (): Promise<void> => new Promise((r) => setTimeout(r, 25));

/**
 * Pair makers over one hub: `direct` = two WebRTC transports in this page; `bridged` = the same, each end carried
 * through a MessageChannel (`bridgeTransportToPort` / `transportFromPort`), as the leader tab does for its worker.
 */
export function webrtcPairs(hub: MemorySignalHub): { direct: () => Promise<[Transport, Transport]>; bridged: () => Promise<[Transport, Transport]> } {
  let n = 0;
  const direct = async (): Promise<[WebRtcTransport, WebRtcTransport]> => {
    n++;
    let incoming: WebRtcTransport | null = null;
    const answerer = new WebRtcConnector({ signaller: hub.signaller(`b${n}`), onConnection: (t) => (incoming = t) });
    const caller = new WebRtcConnector({ signaller: hub.signaller(`a${n}`) });
    const a = await caller.connect(`b${n}`);
    while (incoming === null) await settleReal();
    caller.close();
    answerer.close();
    return [a, incoming];
  };
  const bridged = async (): Promise<[Transport, Transport]> => {
    const [a, b] = await direct();
    const ends: Transport[] = [];
    for (const t of [a, b]) {
      const ch = new MessageChannel();
      bridgeTransportToPort(t, ch.port1);
      ends.push(await transportFromPort(ch.port2));
    }
    return [ends[0], ends[1]];
  };
  return { direct, bridged };
}
