/** Signallers (`src/webrtc/signaller.ts`): the in-memory hub, BroadcastChannel (Node has it), envelope checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BroadcastChannelSignaller, MemorySignalHub, parseSignalEnvelope, type SignalEnvelope, type Signaller } from '../src/webrtc/index.js';

const later = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect(s: Signaller, n: number, ms = 2000): Promise<SignalEnvelope[]> {
  const got: SignalEnvelope[] = [];
  s.onSignal((e) => got.push(e));
  const deadline = Date.now() + ms;
  while (got.length < n && Date.now() < deadline) await later(5);
  return got;
}

test('MemorySignalHub: addressed, ordered, asynchronous, as a copy', async () => {
  const hub = new MemorySignalHub();
  const a = hub.signaller('a');
  const b = hub.signaller('b');
  const c = hub.signaller('c');
  let atC = 0;
  c.onSignal(() => atC++);
  const data = { type: 'offer', sdp: 'v=0' };
  const got = collect(b, 20);
  let sync = false;
  b.onSignal(() => (sync = inside));
  let inside = true;
  for (let i = 0; i < 20; i++) await a.send('b', `conn${i}`, i === 0 ? data : { type: 'candidate', n: i });
  inside = false;
  data.sdp = 'changed';
  const list = await got;
  assert.equal(sync, false, 'delivered inside send');
  assert.deepEqual(list.map((e) => e.connection), Array.from({ length: 20 }, (_, i) => `conn${i}`));
  assert.equal(list[0].from, 'a');
  assert.deepEqual(list[0].data, { type: 'offer', sdp: 'v=0' });
  assert.equal(atC, 0);
  a.close();
  b.close();
  c.close();
});

test('MemorySignalHub: closed signallers refuse to send and receive nothing; ids are checked', async () => {
  const hub = new MemorySignalHub();
  const a = hub.signaller('a');
  const b = hub.signaller('b');
  assert.throws(() => hub.signaller('a'), RangeError);
  assert.throws(() => hub.signaller(''), TypeError);
  assert.throws(() => hub.signaller('has space'), TypeError);
  await assert.rejects(a.send('b', 'bad id', {}), TypeError);
  let n = 0;
  b.onSignal(() => n++);
  await a.send('b', 'x', {});
  b.close();
  await later();
  assert.equal(n, 0);
  a.close();
  await assert.rejects(a.send('b', 'x', {}), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  const a2 = hub.signaller('a'); // the id is free again
  a2.close();
});

test('BroadcastChannelSignaller: reaches the addressed peer of the same space only; counts malformed messages', async () => {
  const a = new BroadcastChannelSignaller('space-1', 'a');
  const b = new BroadcastChannelSignaller('space-1', 'b');
  const c = new BroadcastChannelSignaller('space-1', 'c');
  const other = new BroadcastChannelSignaller('space-2', 'b');
  let atC = 0;
  let atOther = 0;
  c.onSignal(() => atC++);
  other.onSignal(() => atOther++);
  const got = collect(b, 3);
  await a.send('b', 'k1', { type: 'offer', sdp: 's' });
  await a.send('b', 'k1', { type: 'candidate', candidate: { c: 1 } });
  await a.send('b', 'k2', { type: 'answer' });
  const list = await got;
  assert.deepEqual(list.map((e) => [e.from, e.connection, e.data.type]), [['a', 'k1', 'offer'], ['a', 'k1', 'candidate'], ['a', 'k2', 'answer']]);
  assert.equal(atC, 0);
  assert.equal(atOther, 0);
  // someone else on the channel posts junk
  const raw = new BroadcastChannel('hearth-webrtc:space-1');
  raw.postMessage('junk');
  raw.postMessage({ to: 'b', from: 'x', connection: 'k', data: 'not an object' });
  await later(50);
  assert.equal(b.malformed, 2);
  assert.equal(c.malformed, 1, 'c sees the unaddressed junk, not the one for b');
  raw.close();
  for (const s of [a, b, c, other]) s.close();
  await assert.rejects(a.send('b', 'k', {}), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  assert.throws(() => new BroadcastChannelSignaller('', 'a'), TypeError);
});

test('parseSignalEnvelope accepts exactly well-formed envelopes (property, seeded)', () => {
  const id = fc.stringMatching(/^[\x21-\x7e]{1,128}$/);
  fc.assert(
    fc.property(id, id, fc.dictionary(fc.string(), fc.jsonValue()), (from, connection, data) => {
      const e = parseSignalEnvelope(JSON.parse(JSON.stringify({ from, connection, data })));
      return e !== null && e.from === from && e.connection === connection;
    }),
    { seed: 20261121, numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => {
      const e = parseSignalEnvelope(v);
      return e === null || (typeof e.from === 'string' && typeof e.connection === 'string' && typeof e.data === 'object' && e.data !== null);
    }),
    { seed: 7, numRuns: 300 },
  );
  for (const bad of [null, 1, 'x', [], { from: 'a', connection: 'b' }, { from: '', connection: 'b', data: {} }, { from: 'a', connection: 'b'.repeat(129), data: {} }, { from: 'a', connection: 'b', data: [] }]) {
    assert.equal(parseSignalEnvelope(bad), null, JSON.stringify(bad));
  }
});
