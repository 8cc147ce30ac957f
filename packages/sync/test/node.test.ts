/** SyncNode and DatabaseReplica at their public edge: argument checks, admin-only operations, byte-bounded reads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeypair } from '@hearth/log';
import { DatabaseReplica, SyncNode, createMemoryTransportPair } from '../src/index.js';
import { openPeer } from './_helpers.js';

test('SyncNode checks its options (TypeError / RangeError with the option named)', async () => {
  const p = await openPeer('p', null);
  const replica = new DatabaseReplica(p.db);
  assert.throws(() => new SyncNode({ replica, keypair: generateKeypair(), space: p.keypair.publicKey }), /not the replica's feed key/);
  assert.throws(() => new SyncNode({ replica, keypair: p.keypair, space: new Uint8Array(31) }), TypeError);
  assert.throws(() => new SyncNode({ replica, keypair: p.keypair, space: p.keypair.publicKey, windowBytes: 10 }), /"windowBytes"/);
  assert.throws(() => new SyncNode({ replica, keypair: p.keypair, space: p.keypair.publicKey, batchBytes: 0 }), /"batchBytes"/);
  await assert.rejects(p.node.admit(new Uint8Array(3)), TypeError);
  await assert.rejects(p.node.remove(p.keypair.publicKey), RangeError);
  assert.throws(() => p.node.on(null as never), TypeError);
});

test('only an admin admits, removes or invites (HEARTH_NOT_ADMIN); a closed node refuses connections', async () => {
  const root = await openPeer('root', null);
  const member = await openPeer('member', root.keypair.publicKey);
  await assert.rejects(member.node.admit(generateKeypair().publicKey), { code: 'HEARTH_NOT_ADMIN' });
  await assert.rejects(member.node.remove(generateKeypair().publicKey), { code: 'HEARTH_NOT_ADMIN' });
  assert.throws(() => member.node.createInvite(), { code: 'HEARTH_NOT_ADMIN' });
  const other = generateKeypair();
  await root.node.admit(other.publicKey, 'admin');
  assert.ok(root.node.membership.isAdmin(other.publicKey));
  await root.node.remove(other.publicKey);
  assert.equal(root.node.membership.isMember(other.publicKey), false);
  root.node.close();
  const [a] = createMemoryTransportPair();
  assert.throws(() => root.node.connect(a), { code: 'HEARTH_TRANSPORT_CLOSED' });
});

test('DatabaseReplica.readEntries: consecutive from a seq, bounded by bytes, at least one entry', async () => {
  const p = await openPeer('p', null);
  for (let i = 0; i < 50; i++) await p.db.put('notes', `n${i}`, { text: 'z'.repeat(100) });
  const r = new DatabaseReplica(p.db, { readChunk: 7 });
  const all = await r.readEntries(p.keypair.publicKey, 1, Infinity);
  assert.equal(all.length, 50);
  const some = await r.readEntries(p.keypair.publicKey, 10, 1000);
  const size = some.reduce((n, e) => n + e.length, 0);
  assert.ok(some.length >= 1 && size <= 1000 && size + all[9 + some.length].length > 1000);
  assert.deepEqual(some.map((e) => Buffer.from(e).toString('hex')), all.slice(9, 9 + some.length).map((e) => Buffer.from(e).toString('hex')));
  assert.equal((await r.readEntries(p.keypair.publicKey, 50, 1)).length, 1, 'one entry even over the budget');
  assert.deepEqual(await r.readEntries(p.keypair.publicKey, 51, 1000), []);
  assert.deepEqual(await r.readEntries(generateKeypair().publicKey, 1, 1000), []);
});
