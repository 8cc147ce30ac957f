/**
 * Runs in a Chromium page (main thread, where RTCPeerConnection exists), bundled by `webrtc-transport.test.ts`:
 * the transport compliance suite over real WebRTC data channels (two simple-peer peers in this page, signalled by
 * a MemorySignalHub), over the same through the MessagePort bridge, and the failure paths (ICE that cannot
 * connect, a dead signaller, the far page's connection torn down).
 */
import { MemorySignalHub, WebRtcConnector, bridgeTransportToPort, transportFromPort, type WebRtcTransport, type Signaller } from '@hearth/sync/webrtc';
import type { Transport } from '@hearth/sync';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';
import { main, runCase } from './worker-kit.js';
import { WEBRTC_PAIR_CASES, checkThat, settleReal, webrtcPairs } from './webrtc-shared.js';

main(async () => {
  const hub = new MemorySignalHub();
  const pairs = webrtcPairs(hub);

  for (const c of transportComplianceCases({ pair: pairs.direct, settle: settleReal, manyMessages: 300 })) {
    await runCase(`webrtc: ${c.name}`, () => c.run());
  }
  for (const c of transportComplianceCases({ pair: pairs.bridged, settle: settleReal, manyMessages: 300 })) {
    await runCase(`webrtc via port bridge: ${c.name}`, () => c.run());
  }

  const cases: Record<string, () => Promise<void>> = {
    'webrtc: a message of 16 KiB + 1 is a RangeError; maxMessageBytes is 16 KiB': async () => {
      const [a] = await pairs.direct();
      checkThat(a.maxMessageBytes === 16384, `maxMessageBytes ${a.maxMessageBytes}`);
      let err: unknown;
      try {
        a.send(new Uint8Array(16385));
      } catch (e) {
        err = e;
      }
      checkThat(err instanceof RangeError, 'not a RangeError');
      a.close();
    },
    'webrtc: 16 MiB sent at once arrives whole and in order; bufferedAmount rises, then drains to 0': async () => {
      const [a, b] = (await pairs.direct()) as [WebRtcTransport, WebRtcTransport];
      const n = 1024;
      let got = 0;
      let bad = -1;
      b.onMessage((m) => {
        if (m.length !== 16384 || new DataView(m.buffer, m.byteOffset).getUint32(0) !== got || m[16383] !== (got & 0xff)) bad = got;
        got++;
      });
      const m = new Uint8Array(16384);
      let peak = 0;
      for (let i = 0; i < n; i++) {
        new DataView(m.buffer).setUint32(0, i);
        m[16383] = i & 0xff;
        a.send(m);
        peak = Math.max(peak, a.bufferedAmount);
      }
      checkThat(peak >= 8 * 1024 * 1024, `bufferedAmount peaked at ${peak}, expected the local queue to hold most of 16 MiB`);
      const deadline = performance.now() + 30_000;
      while (got < n && performance.now() < deadline) await settleReal();
      checkThat(got === n, `got ${got} of ${n}`);
      checkThat(bad === -1, `message ${bad} damaged or out of order`);
      checkThat(a.bufferedAmount === 0, `bufferedAmount ${a.bufferedAmount} after draining`);
      checkThat(a.peer.bufferSize <= 1024 * 1024 + 16384, 'channel buffer above the high-water mark');
      a.close();
    },
    'webrtc: ICE with no usable candidates: connect() rejects with HEARTH_TRANSPORT_CLOSED, nothing is left tracked': async () => {
      // The answerer is told no candidates (the signaller strips them): ICE has nothing to try, connect times out.
      const h2 = new MemorySignalHub();
      const strip = (s: Signaller): Signaller => ({
        peerId: s.peerId,
        send: (to, c, d) => s.send(to, c, typeof d.sdp === 'string' ? { ...d, sdp: d.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate')).join('\r\n') } : d),
        onSignal: (l) => s.onSignal(l),
        close: () => s.close(),
      });
      const x = new WebRtcConnector({ signaller: strip(h2.signaller('x')), connectTimeoutMs: 3000 });
      let incoming = 0;
      const y = new WebRtcConnector({ signaller: strip(h2.signaller('y')), onConnection: () => incoming++, connectTimeoutMs: 3000 });
      let err: unknown;
      try {
        await x.connect('y');
      } catch (e) {
        err = e;
      }
      checkThat((err as { code?: string })?.code === 'HEARTH_TRANSPORT_CLOSED', `connect() gave ${String(err)}`);
      checkThat(incoming === 0, 'the answering side reported a connection');
      checkThat(x.connectionCount === 0, 'the failed connection is still tracked');
      x.close();
      y.close();
    },
    'webrtc: connect() to a peer nobody answers for rejects after connectTimeoutMs': async () => {
      const h2 = new MemorySignalHub();
      const x = new WebRtcConnector({ signaller: h2.signaller('lonely'), connectTimeoutMs: 500 });
      let err: unknown;
      try {
        await x.connect('nobody');
      } catch (e) {
        err = e;
      }
      checkThat((err as { code?: string })?.code === 'HEARTH_TRANSPORT_CLOSED' && /within 500 ms/.test((err as Error).message), `connect() gave ${String(err)}`);
      x.close();
    },
    'webrtc: an open connection survives closing both connectors and signallers': async () => {
      const h2 = new MemorySignalHub();
      const sx = h2.signaller('sx');
      const sy = h2.signaller('sy');
      let b!: Transport;
      const y = new WebRtcConnector({ signaller: sy, onConnection: (t) => (b = t) });
      const x = new WebRtcConnector({ signaller: sx });
      const a = await x.connect('sy');
      while (!b) await settleReal();
      x.close();
      y.close();
      sx.close();
      sy.close();
      const got: number[] = [];
      b.onMessage((m) => got.push(m[0]));
      a.send(new Uint8Array([42]));
      while (got.length === 0) await settleReal();
      checkThat(got[0] === 42 && !a.closed && !b.closed, 'the connection did not survive its signalling');
      a.close();
    },
    'webrtc: the far end torn down under its transport (RTCPeerConnection.close) closes the near end': async () => {
      const [a, b] = (await pairs.direct()) as [WebRtcTransport, WebRtcTransport];
      const seen: string[] = [];
      a.onClose((i) => seen.push(`${i.remote}:${i.reason}`));
      (b.peer as unknown as { _pc: RTCPeerConnection })._pc.close();
      const deadline = performance.now() + 20_000;
      while (seen.length < 1 && performance.now() < deadline) await settleReal();
      checkThat(seen.length === 1 && seen[0].startsWith('true:'), `near end saw ${JSON.stringify(seen)}`);
      let err: unknown;
      try {
        a.send(new Uint8Array(1));
      } catch (e) {
        err = e;
      }
      checkThat((err as { code?: string })?.code === 'HEARTH_TRANSPORT_CLOSED', 'send after the failure did not throw');
      b.close();
    },
    'port bridge: a worker-side close reaches the WebRTC peer; malformed port messages close both': async () => {
      const [a, b] = (await pairs.direct()) as [WebRtcTransport, WebRtcTransport];
      const ch = new MessageChannel();
      bridgeTransportToPort(b, ch.port1);
      const far = await transportFromPort(ch.port2);
      let aClosed = '';
      a.onClose((i) => (aClosed = i.reason));
      far.close('worker done');
      while (!aClosed) await settleReal();
      checkThat(b.closed, 'the bridged transport is still open');
      const [c, d] = (await pairs.direct()) as [WebRtcTransport, WebRtcTransport];
      const ch2 = new MessageChannel();
      bridgeTransportToPort(d, ch2.port1);
      let cClosed = false;
      c.onClose(() => (cClosed = true));
      ch2.port2.postMessage({ t: 'nonsense' });
      while (!cClosed) await settleReal();
      checkThat(d.closed, 'a malformed port message left the transport open');
      ch2.port2.close();
    },
  };
  for (const name of WEBRTC_PAIR_CASES) await runCase(name, cases[name]);
});
