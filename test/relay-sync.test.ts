/**
 * Two devices sync through a live relay over loopback (SSE down, POST up): the relay is an admitted replica that
 * stores every feed on disk, so a device that is offline while the other writes catches up later from the relay
 * alone, and the relay serves everything again after a restart from its data directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayConnection, RelayError, authenticateRelay, openRelayTransport } from '@hearth/sync';
import { ES, closeDevice, connect, disconnect, held, hex, openDevice, sameState, startRelay, until } from './relay-helpers.js';

test('two devices never online together sync through the relay (and through a relay restart)', async () => {
  const r = await startRelay();
  const a = await openDevice('A', null); // A is the root: space id = A's key
  const space = a.keypair.publicKey;
  const b = await openDevice('B', space);
  try {
    // A opens the space on the relay, admits the relay (role member) and B.
    const { relayKey } = await connect(a, r.relay);
    assert.ok(r.relay.spaces.has(hex(space)), 'the root opened the space on the relay');
    assert.equal(hex(relayKey), hex(r.relay.spaces.get(hex(space))!.relayKey));
    await a.node.admit(relayKey);
    await a.node.admit(b.keypair.publicKey);
    for (let i = 0; i < 20; i++) await a.db.put('notes', `a${i}`, { text: `from A ${i}`, n: i });
    const host = r.relay.spaces.get(hex(space))!;
    await until(() => sameState(host.db, a.db), 'the relay to hold everything A wrote');
    await disconnect(a);

    // B was never online with A: it gets A's writes from the relay alone.
    await connect(b, r.relay);
    await until(() => sameState(b.db, a.db), 'B to catch up from the relay');
    assert.deepEqual(b.db.get('notes', 'a7'), { text: 'from A 7', n: 7 });
    for (let i = 0; i < 5; i++) await b.db.put('notes', `b${i}`, { text: `from B ${i}` });
    await until(() => held(host.db) === held(b.db), 'the relay to hold B\'s writes');
    await disconnect(b);

    // Restart the relay from its directory: it still serves everything.
    await r.relay.close();
    const r2 = await startRelay({}, r.dir);
    try {
      assert.ok(r2.relay.spaces.has(hex(space)), 'the space was reopened from disk');
      await connect(a, r2.relay);
      await until(() => sameState(a.db, b.db), 'A to catch up with B from the restarted relay');
      assert.deepEqual(a.db.get('notes', 'b3'), { text: 'from B 3' });
      assert.equal(a.events.filter((e) => e.type === 'rejected').length, 0);
      assert.equal(b.events.filter((e) => e.type === 'rejected').length, 0);
      const m = r2.relay.metrics();
      assert.match(m, new RegExp(`hearth_relay_entries ${held(a.db)}\\n`));
      assert.match(m, /hearth_relay_connections 1\n/);
      assert.match(m, /hearth_relay_spaces 1\n/);
    } finally {
      await closeDevice(a);
      await r2.relay.close();
    }
  } finally {
    await closeDevice(a).catch(() => undefined);
    await closeDevice(b).catch(() => undefined);
    await r.dispose();
  }
});

test('live updates flow both ways while both are connected; RelayConnection reconnects and resumes after a relay restart', async () => {
  const r = await startRelay();
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  const b = await openDevice('B', space);
  let r2: Awaited<ReturnType<typeof startRelay>> | null = null;
  const port = Number(new URL(r.relay.url).port);
  const conn = new RelayConnection({ node: b.node, url: r.relay.url, EventSource: ES, minBackoffMs: 50, maxBackoffMs: 200 });
  try {
    const { relayKey } = await connect(a, r.relay);
    await a.node.admit(relayKey);
    await a.node.admit(b.keypair.publicKey);
    await until(() => r.relay.spaces.get(hex(space))!.isMember(b.keypair.publicKey), 'the relay to learn B is a member');
    conn.start();
    await until(() => conn.connected, 'B connected');
    await a.db.put('chat', 'm1', { text: 'hello' });
    await until(() => b.db.get('chat', 'm1') !== undefined, 'A → relay → B live');
    await b.db.put('chat', 'm2', { text: 'hi back' });
    await until(() => a.db.get('chat', 'm2') !== undefined, 'B → relay → A live');

    // restart the relay on the same port: B's RelayConnection reconnects by itself and resumes from state vectors
    await disconnect(a);
    await r.relay.close();
    await until(() => !conn.connected, 'B notices the relay went away');
    await b.db.put('chat', 'm3', { text: 'written while the relay was down' });
    r2 = await startRelay({ port }, r.dir);
    await until(() => conn.connected && conn.connects >= 2, 'B reconnected');
    await until(() => held(r2!.relay.spaces.get(hex(space))!.db) === held(b.db), 'the relay got m3 after the reconnect');
    await connect(a, r2.relay);
    await until(() => sameState(a.db, b.db), 'A and B converge');
    assert.deepEqual(a.db.get('chat', 'm3'), { text: 'written while the relay was down' });
  } finally {
    conn.stop();
    await closeDevice(a).catch(() => undefined);
    await closeDevice(b).catch(() => undefined);
    if (r2) await r2.relay.close();
    await r.dispose();
  }
});

test('a member key the relay does not know yet, and a stranger, are refused access with HEARTH_NOT_MEMBER', async () => {
  const r = await startRelay();
  const a = await openDevice('A', null);
  const stranger = await openDevice('S', a.keypair.publicKey);
  try {
    // the space does not exist on the relay: only its root can open it
    await assert.rejects(authenticateRelay({ url: r.relay.url, space: a.keypair.publicKey, keypair: stranger.keypair }), (e: unknown) => e instanceof RelayError && e.code === 'HEARTH_NOT_MEMBER' && e.status === 403);
    assert.equal(r.relay.spaces.size, 0);
    await connect(a, r.relay);
    await assert.rejects(authenticateRelay({ url: r.relay.url, space: a.keypair.publicKey, keypair: stranger.keypair }), (e: unknown) => e instanceof RelayError && e.code === 'HEARTH_NOT_MEMBER');
  } finally {
    await closeDevice(a);
    await closeDevice(stranger);
    await r.dispose();
  }
});

test('shutdown while entries stream in loses nothing stored: the reopened replica verifies and the device converges', async () => {
  const r = await startRelay();
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  try {
    const { relayKey } = await connect(a, r.relay);
    await a.node.admit(relayKey);
    const host = r.relay.spaces.get(hex(space))!;
    // a burst of writes; close the relay while they are being ingested
    const writes = [
      (async () => {
        for (let i = 0; i < 200; i++) await a.db.put('burst', `d${i}`, { i, pad: 'x'.repeat(500) }); // one entry each
      })(),
    ];
    await until(() => held(host.db) >= 20, 'the relay to have started ingesting');
    await r.relay.close();
    await Promise.all(writes);
    const { verifySpace } = await import('@hearth/relay');
    const report = await verifySpace(r.dir, hex(space));
    assert.deepEqual(report.problems, []);
    assert.ok(report.entries >= 20, `only ${report.entries} entries survived`);
    const r2 = await startRelay({}, r.dir);
    try {
      await connect(a, r2.relay);
      await until(() => sameState(r2.relay.spaces.get(hex(space))!.db, a.db), 'the reopened relay to converge with A');
    } finally {
      await disconnect(a);
      await r2.relay.close();
    }
  } finally {
    await closeDevice(a);
    await r.dispose();
  }
});

test('a new device redeems an invite through the relay on an admission-only connection, then syncs on it', async () => {
  const r = await startRelay({ maxAdmissionConnections: 1 });
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  const d = await openDevice('D', space);
  try {
    const { relayKey } = await connect(a, r.relay);
    await a.node.admit(relayKey);
    for (let i = 0; i < 5; i++) await a.db.put('notes', `n${i}`, { i });
    const invite = a.node.createInvite({ relayUrl: r.relay.url });
    const host = r.relay.spaces.get(hex(space))!;
    await until(() => host.isMember(relayKey), 'the relay to learn its own admission');

    // not a member: a member token is refused; an admission token opens a sync connection and nothing else
    await assert.rejects(authenticateRelay({ url: r.relay.url, space, keypair: d.keypair }), (e: unknown) => e instanceof RelayError && e.code === 'HEARTH_NOT_MEMBER');
    const { transport, grant } = await openRelayTransport({ url: r.relay.url, space, keypair: d.keypair, purpose: 'admission', EventSource: ES });
    assert.equal(grant.scope, 'admission');
    const q = await fetch(`${r.relay.url}/v1/spaces/${hex(space)}/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${grant.token}` }, body: '{"query":{"collection":"notes"}}' });
    assert.equal(q.status, 403);
    // one admission connection per space at once (maxAdmissionConnections: 1)
    const other = await openDevice('E', space);
    const g2 = await authenticateRelay({ url: r.relay.url, space, keypair: other.keypair, purpose: 'admission' });
    assert.equal((await fetch(`${r.relay.url}/v1/spaces/${hex(space)}/events?token=${g2.token}`)).status, 429);
    await closeDevice(other);

    // D's data writes before admission are held, never stored
    await d.db.put('notes', 'from-d', { early: true });
    const session = d.node.connect(transport);
    d.transport = transport;
    await d.node.requestAdmission(session, invite);
    await until(() => d.events.some((e) => e.type === 'notice' && e.notice.kind === 'admission'), 'the admission answer routed back by the relay');
    const answer = d.events.find((e) => e.type === 'notice' && e.notice.kind === 'admission') as { notice: { code: string } };
    assert.equal(answer.notice.code, 'OK');
    // the relay now serves D on the same connection, and D's early write reaches A
    await until(() => sameState(d.db, a.db), 'D and A to converge through the relay');
    assert.deepEqual(a.db.get('notes', 'from-d'), { early: true });
  } finally {
    await closeDevice(a);
    await closeDevice(d);
    await r.dispose();
  }
});
