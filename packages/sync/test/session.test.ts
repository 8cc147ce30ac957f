/** Sessions between real Databases over the in-memory transport: catch-up, live, resume, flow control, membership, invites. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryTransportPair } from '../src/index.js';
import { hex, kinds, openPeer, quiet } from './_helpers.js';

test('two replicas catch up, then stream live commits; state hashes match', async () => {
  const root = await openPeer('root', null);
  const dev = await openPeer('dev', root.keypair.publicKey);
  await root.node.admit(dev.keypair.publicKey);
  for (let i = 0; i < 20; i++) await root.db.put('notes', `r${i}`, { n: i });
  for (let i = 0; i < 5; i++) await dev.db.put('notes', `d${i}`, { n: i });
  const [a, b] = createMemoryTransportPair({ maxMessageBytes: 16 * 1024 });
  root.node.connect(a);
  dev.node.connect(b);
  await quiet([root, dev]);
  assert.equal(hex(root.db.stateHash()), hex(dev.db.stateHash()));
  assert.equal(dev.db.get('notes', 'r19')?.n, 19);
  assert.equal(root.db.get('notes', 'd4')?.n, 4);
  // live
  await dev.db.put('notes', 'live', { x: 'y' });
  await quiet([root, dev]);
  assert.deepEqual(root.db.get('notes', 'live'), { x: 'y' });
  assert.equal(hex(root.db.stateHash()), hex(dev.db.stateHash()));
  assert.deepEqual(kinds(root.events).filter((k) => k.startsWith('rejected')), []);
  assert.deepEqual(kinds(dev.events).filter((k) => k.startsWith('rejected')), []);
});

test('a large entry is chunked into 16 KiB frames; the window bounds what is unacknowledged', async () => {
  const root = await openPeer('root', null, { node: { windowBytes: 64 * 1024, batchBytes: 8 * 1024 } });
  const dev = await openPeer('dev', root.keypair.publicKey, { node: { windowBytes: 64 * 1024, batchBytes: 8 * 1024 } });
  await root.node.admit(dev.keypair.publicKey);
  await root.db.put('blobs', 'big', { data: new Uint8Array(300 * 1024).fill(7) });
  for (let i = 0; i < 200; i++) await root.db.put('notes', `n${i}`, { text: 'x'.repeat(500) });
  const [a, b] = createMemoryTransportPair({ maxMessageBytes: 16 * 1024 });
  const s = root.node.connect(a);
  const frameSizes: number[] = [];
  const over: string[] = [];
  const orig = a.send.bind(a);
  let lastSent = 0;
  let ackedAtLastSend = 0;
  a.send = (m: Uint8Array) => {
    assert.ok(m.length <= 16 * 1024);
    frameSizes.push(m.length);
    orig(m);
    if (s.stats.bytesSent !== lastSent) {
      // an ENTRIES message was just accounted: before it, unacknowledged bytes were 0 or it fit the window
      const before = lastSent - ackedAtLastSend;
      const size = s.stats.bytesSent - lastSent;
      if (before > 0 && before + size > 64 * 1024) over.push(`${before}+${size}`);
      lastSent = s.stats.bytesSent;
    }
    ackedAtLastSend = s.stats.bytesAcked;
  };
  dev.node.connect(b);
  await quiet([root, dev]);
  assert.equal(hex(root.db.stateHash()), hex(dev.db.stateHash()));
  assert.equal((dev.db.get('blobs', 'big')?.data as Uint8Array).length, 300 * 1024);
  assert.deepEqual(over, [], 'the window was exceeded');
  assert.ok(frameSizes.filter((n) => n === 16 * 1024).length >= 18, 'the big entry was not chunked into full frames');
  assert.ok(s.stats.entriesSent >= 201);
});

test('an interrupted sync resumes from the state vectors; duplicates are harmless', async () => {
  const root = await openPeer('root', null, { node: { batchBytes: 2048 } });
  const dev = await openPeer('dev', root.keypair.publicKey, { node: { batchBytes: 2048 } });
  await root.node.admit(dev.keypair.publicKey);
  for (let i = 0; i < 100; i++) await root.db.put('notes', `r${i}`, { text: 'y'.repeat(200) });
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  dev.node.connect(b);
  // cut the connection part way
  for (let i = 0; i < 30 && dev.db.stateVector().find((x) => hex(x.feed) === hex(root.keypair.publicKey)) === undefined; i++) {
    await new Promise((r) => setImmediate(r));
  }
  a.close('cut');
  await quiet([root, dev]);
  const partial = dev.db.stateVector().find((x) => hex(x.feed) === hex(root.keypair.publicKey))?.seq ?? 0;
  assert.ok(partial < 101, `expected a partial sync, got ${partial}`);
  const [c, d] = createMemoryTransportPair();
  root.node.connect(c);
  dev.node.connect(d);
  await quiet([root, dev]);
  assert.equal(hex(root.db.stateHash()), hex(dev.db.stateHash()));
  assert.deepEqual(kinds(dev.events).filter((k) => k.startsWith('rejected')), []);
});

test('a non-member is served nothing until admitted; a third replica converges through a non-root peer', async () => {
  const root = await openPeer('root', null);
  const dev = await openPeer('dev', root.keypair.publicKey);
  const other = await openPeer('other', root.keypair.publicKey);
  await root.db.put('notes', 'secret', { s: 1 });
  await dev.db.put('notes', 'early', { by: 'dev' });
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  dev.node.connect(b);
  await quiet([root, dev]);
  assert.equal(dev.db.get('notes', 'secret'), undefined, 'a non-member received data');
  assert.ok(kinds(dev.events).includes('notice:not-member:HEARTH_NOT_MEMBER'));
  // admission: root serves dev now; dev learns it is a member and serves its early entry
  await root.node.admit(dev.keypair.publicKey);
  await quiet([root, dev]);
  assert.deepEqual(dev.db.get('notes', 'secret'), { s: 1 });
  assert.deepEqual(root.db.get('notes', 'early'), { by: 'dev' });
  // a third replica gets dev's entries from dev before root's admission record: held pending, stored later
  await root.node.admit(other.keypair.publicKey);
  const [e, f] = createMemoryTransportPair();
  dev.node.connect(e);
  other.node.connect(f);
  await quiet([dev, other]);
  // other is not yet known as a member to dev? dev learnt it from root's feed: check
  assert.equal(hex(dev.db.stateHash()), hex(other.db.stateHash()));
  assert.equal(hex(root.db.stateHash()), hex(other.db.stateHash()));
});

test('admins\' feeds are served first: a replica learns an admission before the admitted device\'s entries (nothing held pending)', async () => {
  const { generateKeypair } = await import('@hearth/log');
  const root = await openPeer('root', null);
  // dev's feed id sorts before root's: by feed id alone, dev's entries would reach the relay before root's records
  let devKey = generateKeypair();
  while (hex(devKey.publicKey) > hex(root.keypair.publicKey)) devKey = generateKeypair();
  const dev = await openPeer('dev', root.keypair.publicKey, { keypair: devKey });
  const relay = await openPeer('relay', root.keypair.publicKey);
  await root.node.admit(dev.keypair.publicKey);
  await root.node.admit(relay.keypair.publicKey);
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  dev.node.connect(b);
  await quiet([root, dev]);
  a.close();
  await dev.db.put('notes', 'd', { v: 1 });
  const [c, d] = createMemoryTransportPair();
  dev.node.connect(c);
  relay.node.connect(d);
  await quiet([dev, relay]);
  assert.deepEqual(relay.events.filter((e) => e.type === 'pending'), [], 'entries were held pending: admins\' feeds did not go first');
  assert.equal(relay.node.pendingCount, 0);
  assert.deepEqual(relay.db.get('notes', 'd'), { v: 1 });
  assert.equal(hex(relay.db.stateHash()), hex(dev.db.stateHash()));
  assert.deepEqual(kinds(relay.events).filter((k) => k.startsWith('rejected')), []);
});

test('a fork seen in the state vectors (a cloned device key) is reported on both sides; the feed is frozen', async () => {
  const root = await openPeer('root', null);
  const { generateKeypair } = await import('@hearth/log');
  const twin = generateKeypair();
  const a1 = await openPeer('a1', root.keypair.publicKey, { keypair: twin });
  const a2 = await openPeer('a2', root.keypair.publicKey, { keypair: twin });
  await root.node.admit(twin.publicKey);
  // give both twins root's feed (the admission) so they serve each other
  for (const t of [a1, a2]) {
    const [x, y] = createMemoryTransportPair();
    root.node.connect(x);
    t.node.connect(y);
  }
  await quiet([root, a1, a2]);
  for (const s of [...root.node.sessions]) s.close();
  await quiet([root, a1, a2]);
  await a1.db.put('notes', 'n', { v: 'one' });
  await a2.db.put('notes', 'n', { v: 'two' });
  const [x, y] = createMemoryTransportPair();
  root.node.connect(x);
  a1.node.connect(y);
  await quiet([root, a1]);
  const [p, q] = createMemoryTransportPair();
  root.node.connect(p);
  a2.node.connect(q);
  await quiet([root, a1, a2]);
  const forks = [...root.events, ...a2.events].filter((e) => e.type === 'fork');
  assert.ok(forks.length >= 1, 'no fork reported');
  assert.ok(forks.every((e) => hex((e as { feed: Uint8Array }).feed) === hex(twin.publicKey)));
  assert.ok(root.events.some((e) => e.type === 'fork' && e.error?.code === 'HEARTH_FORK'), 'the root kept no evidence');
  assert.deepEqual(root.db.get('notes', 'n'), { v: 'one' }, 'the first history stays');
});

test('a feed with an entry over the peer\'s limit is not served to that peer (reported locally); other feeds are', async () => {
  const root = await openPeer('root', null);
  const dev = await openPeer('dev', root.keypair.publicKey, { node: { maxEntryBytes: 8 * 1024 } });
  await root.node.admit(dev.keypair.publicKey);
  const [a0, b0] = createMemoryTransportPair();
  root.node.connect(a0);
  dev.node.connect(b0);
  await quiet([root, dev]);
  a0.close();
  await dev.db.put('notes', 'small', { v: 1 });
  await root.db.put('blobs', 'big', { data: new Uint8Array(20 * 1024) });
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  dev.node.connect(b);
  await quiet([root, dev]);
  assert.ok(root.events.some((e) => e.type === 'rejected' && e.error.code === 'HEARTH_MESSAGE_TOO_LARGE'));
  assert.equal(dev.db.get('blobs', 'big'), undefined);
  assert.deepEqual(root.db.get('notes', 'small'), { v: 1 });
});

test('invite flow: a device with an invite asks for admission, the admin admits it, data flows', async () => {
  const root = await openPeer('root', null);
  const dev = await openPeer('dev', root.keypair.publicKey);
  await root.db.put('notes', 'hello', { v: 1 });
  const invite = root.node.createInvite({ relayUrl: 'https://relay.example', role: 'member' });
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  const s = dev.node.connect(b);
  await dev.node.requestAdmission(s, invite);
  await quiet([root, dev]);
  assert.ok(root.events.some((e) => e.type === 'admitted'));
  assert.ok(kinds(dev.events).includes('notice:admission:OK'));
  assert.deepEqual(dev.db.get('notes', 'hello'), { v: 1 });
  assert.ok(dev.node.membership.isMember(dev.keypair.publicKey));
  // the invite is one-time
  const other = await openPeer('other', root.keypair.publicKey);
  const [c, d] = createMemoryTransportPair();
  root.node.connect(c);
  const s2 = other.node.connect(d);
  await other.node.requestAdmission(s2, invite);
  await quiet([root, other]);
  assert.ok(kinds(other.events).includes('notice:admission:HEARTH_INVALID_INVITE'));
  assert.equal(root.node.membership.isMember(other.keypair.publicKey), false);
});

test('invite through a relay: a non-admin node forwards the request to an admin and routes the answer back', async () => {
  const root = await openPeer('root', null);
  const relay = await openPeer('relay', root.keypair.publicKey);
  const dev = await openPeer('dev', root.keypair.publicKey);
  await root.node.admit(relay.keypair.publicKey);
  await root.db.put('notes', 'hello', { v: 1 });
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  relay.node.connect(b);
  await quiet([root, relay]);
  const invite = root.node.createInvite({ relayUrl: 'https://relay.example' });
  const [c, d] = createMemoryTransportPair();
  relay.node.connect(c);
  const s = dev.node.connect(d);
  await dev.node.requestAdmission(s, invite);
  await quiet([root, relay, dev]);
  assert.ok(kinds(dev.events).includes('notice:admission:OK'), kinds(dev.events).join());
  assert.ok(relay.node.membership.isMember(dev.keypair.publicKey));
  assert.deepEqual(dev.db.get('notes', 'hello'), { v: 1 }, 'the relay serves the new device');
  // without an admin behind it, the relay answers itself
  a.close();
  await quiet([root, relay, dev]);
  const other = await openPeer('other', root.keypair.publicKey);
  const [e, f] = createMemoryTransportPair();
  relay.node.connect(e);
  const s2 = other.node.connect(f);
  await other.node.requestAdmission(s2, root.node.createInvite());
  await quiet([relay, other]);
  assert.ok(kinds(other.events).includes('notice:admission:HEARTH_INVALID_INVITE'));
});

test('a peer of another space is refused with HEARTH_SPACE_MISMATCH', async () => {
  const root = await openPeer('root', null);
  const stranger = await openPeer('stranger', null);
  const [a, b] = createMemoryTransportPair();
  const s = root.node.connect(a);
  stranger.node.connect(b);
  await quiet([root, stranger]);
  assert.ok(s.closed);
  assert.ok(root.events.some((e) => e.type === 'session-error' && (e.error as { code?: string }).code === 'HEARTH_SPACE_MISMATCH'));
});
