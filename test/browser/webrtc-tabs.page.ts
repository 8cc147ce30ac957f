/**
 * Runs in a Chromium page (bundled by `webrtc-tabs.test.ts`): the transport compliance suite over WebRTC between
 * two pages of one browser profile, signalled over a BroadcastChannel. This page opens the other
 * (`webrtc-tabs-remote.page.ts`, via `window.open`), which answers every offer and hands its end of each connection
 * back here through a MessagePort bridge, so both ends are visible to the suite; the data itself crosses pages
 * over the data channel. Last, closing the other page closes this page's end.
 */
import { BroadcastChannelSignaller, WebRtcConnector, transportFromPort } from '@hearth/sync/webrtc';
import type { Transport } from '@hearth/sync';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';
import { main, runCase } from './worker-kit.js';
import { checkThat, settleReal } from './webrtc-shared.js';

declare const __SPACE__: string;

main(async () => {
  const ports: MessagePort[] = [];
  window.addEventListener('message', (e) => {
    if (e.origin === location.origin && e.data?.kind === 'webrtc-end' && e.ports[0]) ports.push(e.ports[0]);
  });
  const ready = new Promise<void>((r) => window.addEventListener('message', (e) => e.data?.kind === 'remote-ready' && r()));
  const remote = window.open(`/webrtc-tabs-remote.html`, 'remote');
  checkThat(remote !== null, 'window.open was blocked');
  await ready;

  const signaller = new BroadcastChannelSignaller(__SPACE__, 'opener');
  const connector = new WebRtcConnector({ signaller });
  const pair = async (): Promise<[Transport, Transport]> => {
    const a = await connector.connect('remote');
    const deadline = performance.now() + 10_000;
    while (ports.length === 0 && performance.now() < deadline) await settleReal();
    checkThat(ports.length > 0, "the other page's end did not arrive");
    return [a, await transportFromPort(ports.shift()!)];
  };
  for (const c of transportComplianceCases({ pair, settle: settleReal, manyMessages: 300 })) {
    await runCase(`webrtc across pages: ${c.name}`, () => c.run());
  }
  await runCase('webrtc across pages: closing the other page closes this end as remote', async () => {
    const [a] = await pair();
    let info: { remote: boolean; reason: string } | null = null;
    a.onClose((i) => (info = i));
    remote!.close();
    const deadline = performance.now() + 20_000;
    while (info === null && performance.now() < deadline) await settleReal();
    checkThat(info !== null, 'this end stayed open after the other page closed');
    checkThat((info as { remote: boolean }).remote, 'close not reported as remote');
  });
  checkThat(signaller.malformed === 0, `${signaller.malformed} malformed signals on the channel`);
  connector.close();
  signaller.close();
});
