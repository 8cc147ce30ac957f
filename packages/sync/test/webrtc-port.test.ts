/**
 * The MessagePort bridge (`src/webrtc/port.ts`) in Node (worker_threads MessageChannel): the transport compliance
 * suite through it, its failure paths, bufferedAmount accounting, and two Databases syncing through bridged ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { createMemoryTransportPair, type Transport } from '../src/index.js';
import { bridgeTransportToPort, transportFromPort, type PortLike } from '../src/webrtc/index.js';
import { transportComplianceCases } from './transport-compliance.js';
import { openPeer, quiet } from './_helpers.js';

const macrotask = (): Promise<void> => new Promise((r) => setImmediate(r));

async function bridged(t: Transport): Promise<Transport> {
  const ch = new MessageChannel();
  bridgeTransportToPort(t, ch.port1 as unknown as PortLike);
  return transportFromPort(ch.port2 as unknown as PortLike);
}

async function bridgedPair(max = 16 * 1024): Promise<[Transport, Transport]> {
  const [a, b] = createMemoryTransportPair({ maxMessageBytes: max });
  return [await bridged(a), await bridged(b)];
}

for (const c of transportComplianceCases({ pair: () => bridgedPair(), settle: macrotask })) {
  test(`port bridge over memory transports: ${c.name}`, () => c.run());
}

test('port bridge: maxMessageBytes comes from the bridged transport (Infinity too)', async () => {
  const [a, b] = await bridgedPair(Infinity);
  assert.equal(a.maxMessageBytes, Infinity);
  const got: Uint8Array[] = [];
  b.onMessage((m) => got.push(m));
  a.send(new Uint8Array(3 * 1024 * 1024).fill(7));
  while (got.length === 0) await macrotask();
  assert.equal(got[0].length, 3 * 1024 * 1024);
  a.close();
});

test('port bridge: bufferedAmount counts bytes not yet handed over and returns to 0', async () => {
  const [a, b] = await bridgedPair();
  let n = 0;
  b.onMessage(() => n++);
  for (let i = 0; i < 10; i++) a.send(new Uint8Array(1000));
  assert.equal(a.bufferedAmount, 10_000);
  while (n < 10) await macrotask();
  const buffered = (): number | undefined => a.bufferedAmount;
  for (let i = 0; i < 5 && buffered() !== 0; i++) await macrotask();
  assert.equal(buffered(), 0);
  a.close();
});

test('transportFromPort: a first message that is not "open" rejects with HEARTH_SYNC_PROTOCOL; close before open with HEARTH_TRANSPORT_CLOSED', async () => {
  const ch = new MessageChannel();
  const p = transportFromPort(ch.port2 as unknown as PortLike);
  ch.port1.postMessage({ t: 'm', d: new Uint8Array(1) });
  await assert.rejects(p, (e: { code?: string }) => e.code === 'HEARTH_SYNC_PROTOCOL');
  ch.port1.close();
  const ch2 = new MessageChannel();
  const p2 = transportFromPort(ch2.port2 as unknown as PortLike);
  ch2.port1.postMessage({ t: 'c', reason: 'gone' });
  await assert.rejects(p2, (e: { code?: string; message: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED' && /gone/.test(e.message));
  ch2.port1.close();
});

test('port bridge: a malformed message on either side closes both ends', async () => {
  // towards the bridge
  const [a, b] = createMemoryTransportPair();
  const ch = new MessageChannel();
  bridgeTransportToPort(b, ch.port1 as unknown as PortLike);
  let aReason = '';
  a.onClose((i) => (aReason = i.reason));
  ch.port2.postMessage({ t: 'm', d: 'not bytes' });
  while (!aReason) await macrotask();
  assert.equal(aReason, 'malformed port message');
  ch.port2.close();
  // towards the port side
  const ch2 = new MessageChannel();
  const far = transportFromPort(ch2.port2 as unknown as PortLike);
  ch2.port1.postMessage({ t: 'open', max: 2000 });
  const t = await far;
  let reason = '';
  t.onClose((i) => (reason = i.reason));
  ch2.port1.postMessage({ t: 'open', max: 2000 });
  while (!reason) await macrotask();
  assert.equal(reason, 'duplicate open');
  ch2.port1.close();
});

test('port bridge: argument checks', () => {
  assert.throws(() => bridgeTransportToPort(null as unknown as Transport, {} as PortLike), TypeError);
  assert.throws(() => transportFromPort(null as unknown as PortLike), TypeError);
});

test('two Databases sync through bridged ends (entries larger than a frame included)', async () => {
  const a = await openPeer('a', null);
  const b = await openPeer('b', a.keypair.publicKey);
  await a.node.admit(b.keypair.publicKey);
  const [ta, tb] = await bridgedPair();
  a.node.connect(ta);
  b.node.connect(tb);
  await a.db.put('notes', 'big', { text: 'y'.repeat(100_000) });
  await b.db.put('notes', 'small', { n: 1 });
  const deadline = Date.now() + 20_000;
  while ((b.db.get('notes', 'big') === undefined || a.db.get('notes', 'small') === undefined) && Date.now() < deadline) await quiet([a, b]);
  assert.equal((b.db.get('notes', 'big') as { text: string }).text.length, 100_000);
  assert.deepEqual(a.db.get('notes', 'small'), { n: 1 });
  assert.deepEqual([...a.events, ...b.events].filter((e) => e.type === 'rejected' || e.type === 'session-error'), []);
  ta.close();
  a.node.close();
  b.node.close();
  await a.db.close();
  await b.db.close();
});
