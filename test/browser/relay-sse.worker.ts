/**
 * In Chromium (a dedicated worker): the SSE transport runs the transport compliance suite (two client ends bridged
 * by a loopback SSE server in Node) with each event-stream client, the default `FetchEventSource` (over the
 * browser's fetch) and the browser's own `EventSource`; then a browser device syncs with a live relay (default
 * client): it receives what a Node device wrote and sends a write of its own. Driven by `relay-sse.test.ts`.
 */
import { main, runCase, emit } from './worker-kit.js';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { keypairFromSecretKey } from '@hearth/log';
import { DatabaseReplica, SseClientTransport, SyncNode, openRelayTransport, type Transport } from '@hearth/sync';

declare const BRIDGE_URL: string;
declare const RELAY_URL: string;
declare const DEVICE_SECRET: string;
declare const SPACE_HEX: string;

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

main(async () => {
  let n = 0;
  for (const [label, EventSource] of [
    ['FetchEventSource', undefined],
    ['EventSource', globalThis.EventSource],
  ] as const) {
    const pair = async (): Promise<[Transport, Transport]> => {
      const key = `p${n++}`;
      const url = `${BRIDGE_URL}/events?pair=${key}`;
      return Promise.all([SseClientTransport.open({ url, EventSource }), SseClientTransport.open({ url, EventSource })]);
    };
    for (const c of transportComplianceCases({ pair, settle: () => sleep(10), manyMessages: 100 })) {
      await runCase(`compliance (${label}): ${c.name}`, () => c.run());
    }
  }

  await runCase('a browser device syncs with a live relay', async () => {
    const keypair = keypairFromSecretKey(fromHex(DEVICE_SECRET));
    const space = fromHex(SPACE_HEX);
    const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair });
    const node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space });
    const { transport } = await openRelayTransport({ url: RELAY_URL, space, keypair });
    node.connect(transport);
    await until(() => [...db.iterate('notes')].length === 10, 'the ten notes from the Node device');
    emit({ got: db.get('notes', 'n7') });
    await db.put('notes', 'from-browser', { text: 'written in Chromium' });
    await until(() => transport.closed === false && node.busyCount === 0, 'the write to be sent');
    await sleep(500);
    transport.close();
    node.close();
    await db.close();
  });
});
