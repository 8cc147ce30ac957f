/**
 * `WebRtcTransport` and `WebRtcConnector` in Node over fake simple-peer instances (Node has no RTCPeerConnection;
 * the real thing runs in Chromium: `test/browser/webrtc-*.test.ts`). The fakes let these tests drive what a browser
 * cannot be made to do on demand: a full channel buffer, `bufferedamountlow`, a failing `send`, ICE
 * `disconnected`, lost or reordered signals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Transport } from '../src/index.js';
import { MemorySignalHub, WebRtcConnector, WebRtcHost, WebRtcTransport, transportFromPort, type ConnectorPeer, type PortLike, type SignalData, type Signaller } from '../src/webrtc/index.js';
import { transportComplianceCases } from './transport-compliance.js';

const later = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fake data channel: bufferedAmount set by the test, `bufferedamountlow` fired by it. */
class FakeChannel extends EventTarget {
  bufferedAmount = 0;
}

/**
 * A fake simple-peer. Pairs are linked through a registry by the offer's "sdp"; messages go to the partner on a
 * timer; the channel's bufferedAmount drains when the test says so (`autoDrain`, or by hand).
 */
class FakePeer {
  static registry = new Map<string, FakePeer>();
  static count = 0;
  readonly id = `fake${FakePeer.count++}`;
  connected = false;
  destroyed = false;
  _channel: FakeChannel | null = new FakeChannel();
  partner: FakePeer | null = null;
  sent: Uint8Array[] = [];
  autoDrain = true;
  failSend = false;
  private handlers = new Map<string, ((...a: unknown[]) => void)[]>();
  constructor(readonly options: { initiator?: boolean } = {}) {
    FakePeer.registry.set(this.id, this);
    if (options.initiator) setTimeout(() => this.emit('signal', { type: 'offer', sdp: this.id }), 0);
  }
  get bufferSize(): number {
    return this._channel?.bufferedAmount ?? 0;
  }
  on(event: string, fn: (...a: never[]) => void): this {
    const l = this.handlers.get(event) ?? [];
    l.push(fn as (...a: unknown[]) => void);
    this.handlers.set(event, l);
    return this;
  }
  emit(event: string, ...args: unknown[]): void {
    for (const fn of this.handlers.get(event) ?? []) fn(...args);
  }
  signals: string[] = [];
  signal(d: SignalData): void {
    this.signals.push(String(d.type));
    if (this.destroyed) throw new Error('cannot signal after peer is destroyed');
    if (d.type === 'offer') {
      this.partner = FakePeer.registry.get(String(d.sdp)) ?? null;
      setTimeout(() => this.emit('signal', { type: 'answer', sdp: this.id }), 0);
    } else if (d.type === 'answer') {
      this.partner = FakePeer.registry.get(String(d.sdp)) ?? null;
      const p = this.partner!;
      setTimeout(() => {
        this.open();
        p.open();
      }, 0);
    } else if (d.type !== 'candidate') throw new Error('signal() called with invalid signal data');
  }
  open(): void {
    if (this.destroyed || this.connected) return;
    this.connected = true;
    this.emit('connect');
  }
  send(m: Uint8Array): void {
    if (this.failSend) throw new Error('InvalidStateError');
    if (!this.connected) throw new Error('not connected');
    const copy = m.slice();
    this.sent.push(copy);
    this._channel!.bufferedAmount += m.length;
    const p = this.partner!;
    setTimeout(() => {
      if (this.autoDrain) this.drain(copy.length);
      if (!p.destroyed) p.emit('data', copy);
    }, 0);
  }
  drain(n: number): void {
    if (!this._channel) return;
    this._channel.bufferedAmount = Math.max(0, this._channel.bufferedAmount - n);
    if (this._channel.bufferedAmount <= 64 * 1024) this._channel.dispatchEvent(new Event('bufferedamountlow'));
  }
  destroy(err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.connected = false;
    setTimeout(() => {
      if (err) this.emit('error', err);
      this.emit('close');
      if (this.partner && !this.partner.destroyed) this.partner.destroy();
    }, 0);
  }
}

const createPeer = (o: { initiator?: boolean }): ConnectorPeer => new FakePeer(o) as unknown as ConnectorPeer;

async function fakePair(hub: MemorySignalHub, n: number): Promise<[WebRtcTransport, WebRtcTransport]> {
  let incoming: WebRtcTransport | null = null;
  const y = new WebRtcConnector({ signaller: hub.signaller(`y${n}`), onConnection: (t) => (incoming = t), createPeer });
  const x = new WebRtcConnector({ signaller: hub.signaller(`x${n}`), createPeer });
  const a = await x.connect(`y${n}`);
  while (incoming === null) await later(1);
  x.close();
  y.close();
  return [a, incoming];
}

{
  const hub = new MemorySignalHub();
  let n = 0;
  for (const c of transportComplianceCases({ pair: () => fakePair(hub, n++), settle: () => later(1) })) {
    test(`WebRtcTransport over fake peers: ${c.name}`, () => c.run());
  }
}

test('WebRtcTransport: sends before the channel opens wait, then go in order', async () => {
  const p = new FakePeer();
  const partner = new FakePeer();
  p.partner = partner;
  const t = new WebRtcTransport(p as unknown as ConnectorPeer);
  for (let i = 0; i < 5; i++) t.send(new Uint8Array([i]));
  assert.equal(p.sent.length, 0);
  assert.equal(t.bufferedAmount, 5);
  p.open();
  assert.deepEqual(p.sent.map((m) => m[0]), [0, 1, 2, 3, 4]);
  t.close();
});

test('WebRtcTransport: never lets the channel buffer pass highWaterBytes; drains on bufferedamountlow, in order', async () => {
  const p = new FakePeer();
  p.partner = new FakePeer();
  p.autoDrain = false;
  p.open();
  const t = new WebRtcTransport(p as unknown as ConnectorPeer, { highWaterBytes: 64 * 1024 });
  for (let i = 0; i < 40; i++) t.send(new Uint8Array(16 * 1024).fill(i));
  assert.equal(p.sent.length, 4, 'exactly high-water / message size went to the channel');
  assert.equal(p.bufferSize, 64 * 1024);
  assert.equal(t.bufferedAmount, 40 * 16 * 1024);
  let max = 0;
  while (p.sent.length < 40) {
    p.drain(32 * 1024);
    await later(0);
    max = Math.max(max, p.bufferSize);
  }
  assert.ok(max <= 64 * 1024, `channel buffer reached ${max}`);
  assert.deepEqual(p.sent.map((m) => m[0]), Array.from({ length: 40 }, (_, i) => i));
  t.close();
});

test('WebRtcTransport: without bufferedamountlow (no channel object), a poll drains the queue', async () => {
  const p = new FakePeer();
  p.partner = new FakePeer();
  p.autoDrain = false;
  p.open();
  const t = new WebRtcTransport(p as unknown as ConnectorPeer, { highWaterBytes: 16 * 1024 });
  for (let i = 0; i < 3; i++) t.send(new Uint8Array(16 * 1024).fill(i));
  assert.equal(p.sent.length, 1);
  const ch = p._channel!;
  ch.bufferedAmount = 0; // drained without an event
  await later(60);
  assert.equal(p.sent.length, 2);
  ch.bufferedAmount = 0;
  await later(60);
  assert.equal(p.sent.length, 3);
  t.close();
});

test('WebRtcTransport: a failing channel send, a peer error or ICE staying disconnected close it as remote', async () => {
  const reasons: string[] = [];
  const mk = (): [FakePeer, WebRtcTransport] => {
    const p = new FakePeer();
    p.partner = new FakePeer();
    p.open();
    const t = new WebRtcTransport(p as unknown as ConnectorPeer, { disconnectedTimeoutMs: 30 });
    t.onClose((i) => reasons.push(`${i.remote}:${i.reason}`));
    return [p, t];
  };
  const [p1, t1] = mk();
  p1.failSend = true;
  t1.send(new Uint8Array(1));
  const [p2] = mk();
  p2.emit('error', Object.assign(new Error('Ice connection failed.'), { code: 'ERR_ICE_CONNECTION_FAILURE' }));
  const [p3, t3] = mk();
  p3.emit('iceStateChange', 'disconnected', 'complete');
  const [p4, t4] = mk();
  p4.emit('iceStateChange', 'disconnected', 'complete');
  p4.emit('iceStateChange', 'connected', 'complete'); // recovered: no close
  await later(80);
  assert.deepEqual(reasons.sort(), [
    'true:ERR_ICE_CONNECTION_FAILURE: Ice connection failed.',
    'true:ICE disconnected for 30 ms',
    'true:send failed: InvalidStateError',
  ]);
  assert.ok(p1.destroyed && p2.destroyed && p3.destroyed && !p4.destroyed);
  assert.ok(t3.closed && !t4.closed);
  assert.throws(() => t1.send(new Uint8Array(1)), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  t4.close();
});

test('WebRtcTransport: option checks', () => {
  const p = new FakePeer() as unknown as ConnectorPeer;
  assert.throws(() => new WebRtcTransport(p, { maxMessageBytes: 16385 }), RangeError);
  assert.throws(() => new WebRtcTransport(p, { maxMessageBytes: 1000 }), RangeError);
  assert.throws(() => new WebRtcTransport(p, { highWaterBytes: 100 }), RangeError);
  assert.throws(() => new WebRtcTransport(p, { disconnectedTimeoutMs: 0 }), RangeError);
});

test('WebRtcConnector: refuses offers it is not meant to answer; lost answers time out; retries use a new connection id', async () => {
  const hub = new MemorySignalHub();
  const refusing = new WebRtcConnector({ signaller: hub.signaller('r'), accept: (p) => p !== 'x', onConnection: () => assert.fail('accepted'), createPeer });
  const silent = new WebRtcConnector({ signaller: hub.signaller('s'), createPeer }); // no onConnection: answers nothing
  const seen: string[] = [];
  const base = hub.signaller('x');
  const spy: Signaller = {
    peerId: base.peerId,
    send: (to, c, d) => (seen.push(c), base.send(to, c, d)),
    onSignal: (l) => base.onSignal(l),
    close: () => base.close(),
  };
  const x = new WebRtcConnector({ signaller: spy, connectTimeoutMs: 100, createPeer });
  for (const target of ['r', 's', 'r']) {
    await assert.rejects(x.connect(target), (e: { code?: string; message: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED' && /within 100 ms/.test(e.message));
  }
  assert.equal(new Set(seen).size, 3, 'each attempt has its own connection id');
  assert.equal(x.connectionCount + refusing.connectionCount + silent.connectionCount, 0);
  x.close();
  refusing.close();
  silent.close();
  await assert.rejects(x.connect('r'), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  assert.throws(() => x.connect('bad id'), TypeError);
});

test('WebRtcConnector: a signaller that cannot send fails connect(); a bad signal fails the connection, not the connector', async () => {
  const hub = new MemorySignalHub();
  const dead: Signaller = { peerId: 'd', send: async () => { throw new Error('relay down'); }, onSignal: () => () => {}, close: () => {} };
  const x = new WebRtcConnector({ signaller: dead, createPeer });
  await assert.rejects(x.connect('anyone'), (e: { code?: string; message: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED' && /relay down/.test(e.message));
  x.close();

  const errors: string[] = [];
  const y = new WebRtcConnector({ signaller: hub.signaller('y'), onConnection: () => {}, onError: (e, p) => errors.push(`${p}:${e.code}`), createPeer });
  const raw = hub.signaller('evil');
  // an offer followed by garbage for the same connection: that connection fails; the connector still answers others
  await raw.send('y', 'c1', { type: 'offer', sdp: 'nobody' });
  await raw.send('y', 'c1', { type: 'garbage' });
  await later(20);
  assert.deepEqual(errors, ['evil:HEARTH_TRANSPORT_CLOSED']);
  const z = new WebRtcConnector({ signaller: hub.signaller('z'), createPeer });
  const t = await z.connect('y');
  assert.equal(t.closed, false);
  t.close();
  y.close();
  z.close();
  raw.close();
});

test('WebRtcConnector: trickled signals that overtake their offer are held and replayed (reordering signaller)', async () => {
  const hub = new MemorySignalHub();
  let incoming: Transport | null = null;
  const answerers: FakePeer[] = [];
  const y = new WebRtcConnector({
    signaller: hub.signaller('y'),
    onConnection: (t) => (incoming = t),
    createPeer: (o) => {
      const p = new FakePeer(o);
      answerers.push(p);
      return p as unknown as ConnectorPeer;
    },
  });
  const raw = hub.signaller('x');
  const order: string[] = [];
  const x = new WebRtcConnector({
    signaller: { peerId: 'x', send: (to, c, d) => (order.push(String(d.type)), raw.send(to, c, d)), onSignal: (l) => raw.onSignal(l), close: () => raw.close() },
    createPeer: (o) => {
      const p = new FakePeer(o);
      // the initiator emits a candidate before its offer reaches the answerer
      if (o.initiator) queueMicrotask(() => p.emit('signal', { type: 'candidate', candidate: { x: 1 } }));
      return p as unknown as ConnectorPeer;
    },
  });
  const a = await x.connect('y');
  while (incoming === null) await later(1);
  assert.equal(a.closed, false);
  assert.deepEqual(order, ['candidate', 'offer'], 'the candidate was sent first');
  assert.deepEqual(answerers[0].signals, ['offer', 'candidate'], 'the held candidate reached the peer after its offer');
  a.close();
  x.close();
  y.close();
});

test('WebRtcConnector: close() rejects connections still being set up and leaves open ones open', async () => {
  const hub = new MemorySignalHub();
  let incoming: Transport | null = null;
  const y = new WebRtcConnector({ signaller: hub.signaller('y'), onConnection: (t) => (incoming = t), createPeer });
  const x = new WebRtcConnector({ signaller: hub.signaller('x'), createPeer });
  const open = await x.connect('y');
  while (incoming === null) await later(1);
  const pending = x.connect('nobody');
  x.close();
  await assert.rejects(pending, (e: { code?: string; message: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED' && /connector closed/.test(e.message));
  y.close();
  assert.equal(open.closed, false);
  assert.equal((incoming as Transport).closed, false);
  open.close();
});

test('WebRtcHost: hands each connection (both directions) to the worker as a port; stopSignalling keeps them, disconnectAll closes them', async () => {
  const hub = new MemorySignalHub();
  const ports: { port: MessagePort; peer: string; side: string }[] = [];
  const hx = new WebRtcHost({ signaller: hub.signaller('x'), toWorker: (port, peer) => ports.push({ port, peer, side: 'x' }), createPeer });
  const hy = new WebRtcHost({ signaller: hub.signaller('y'), toWorker: (port, peer) => ports.push({ port, peer, side: 'y' }), createPeer });
  await hx.connect('y');
  while (ports.length < 2) await later(1);
  assert.deepEqual(ports.map((p) => `${p.side}->${p.peer}`).sort(), ['x->y', 'y->x']);
  const [tx, ty] = await Promise.all(['x', 'y'].map((side) => transportFromPort(ports.find((p) => p.side === side)!.port as unknown as PortLike)));
  const got: number[] = [];
  ty.onMessage((m) => got.push(m[0]));
  hx.stopSignalling();
  hy.stopSignalling();
  tx.send(new Uint8Array([9]));
  while (got.length === 0) await later(1);
  assert.deepEqual(got, [9]);
  assert.equal(hx.connections, 1);
  let closed = 0;
  tx.onClose(() => closed++);
  ty.onClose(() => closed++);
  hx.disconnectAll();
  while (closed < 2) await later(1);
  while (hx.connections + hy.connections > 0) await later(1);
  await assert.rejects(hx.connect('y'), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  assert.throws(() => new WebRtcHost({ signaller: hub.signaller('z') } as never), TypeError);
  hx.close();
  hy.close();
});
