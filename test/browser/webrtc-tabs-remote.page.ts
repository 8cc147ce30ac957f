/**
 * The other page of `webrtc-tabs.page.ts`: answers WebRTC offers signalled over a BroadcastChannel, and hands its
 * end of each connection to its opener through a MessagePort (`bridgeTransportToPort`).
 */
import { BroadcastChannelSignaller, WebRtcConnector, bridgeTransportToPort } from '@hearth/sync/webrtc';

declare const __SPACE__: string;

const signaller = new BroadcastChannelSignaller(__SPACE__, 'remote');
new WebRtcConnector({
  signaller,
  onConnection: (t) => {
    const ch = new MessageChannel();
    bridgeTransportToPort(t, ch.port1);
    window.opener.postMessage({ kind: 'webrtc-end' }, location.origin, [ch.port2]);
  },
});
window.opener.postMessage({ kind: 'remote-ready' }, location.origin);
