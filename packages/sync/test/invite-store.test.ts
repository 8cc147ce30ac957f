/** Invites kept across an admin's restart (`invite-store.ts`, `docs/formats/invites.md`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { MemoryFileSystem } from '@hearth/io';
import { createMemoryTransportPair, decodeInvitesFileV1, encodeInvitesFileV1, fileInviteStore, type StoredInvite, type SyncEvent } from '../src/index.js';
import { openPeer, quiet } from './_helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const notices = (events: readonly SyncEvent[]): string[] => events.flatMap((e) => (e.type === 'notice' ? [`${e.notice.kind}:${e.notice.code}`] : []));

test('an invite issued before the admin restarts still admits a device after it, once', async () => {
  const fs = new MemoryFileSystem();
  const store = fileInviteStore(fs, 'admin-invites');
  let root = await openPeer('root', null, { fs, node: { inviteStore: store } });
  const keypair = root.keypair;
  await root.db.put('notes', 'hello', { v: 1 });
  const invite = root.node.createInvite({ relayUrl: 'https://relay.example', role: 'member' });
  const unused = root.node.createInvite({ role: 'admin' });
  await root.node.idle(); // the background save
  root.node.close();
  await root.db.close();

  root = await openPeer('root', null, { fs, keypair, node: { inviteStore: store } });
  const dev = await openPeer('dev', keypair.publicKey);
  const [a, b] = createMemoryTransportPair();
  root.node.connect(a);
  await dev.node.requestAdmission(dev.node.connect(b), invite);
  await quiet([root, dev]);
  assert.ok(notices(dev.events).includes('admission:OK'), JSON.stringify(notices(dev.events)));
  assert.deepEqual(dev.db.get('notes', 'hello'), { v: 1 });

  // Used is stored too: after another restart the same invite is refused, the unused one still works.
  root.node.close();
  await root.db.close();
  root = await openPeer('root', null, { fs, keypair, node: { inviteStore: store } });
  const stored = await store.load();
  assert.deepEqual(stored.map((x) => x.used).sort(), [false, true]);
  const again = await openPeer('again', keypair.publicKey);
  const [c, d] = createMemoryTransportPair();
  root.node.connect(c);
  await again.node.requestAdmission(again.node.connect(d), invite);
  await quiet([root, again]);
  assert.ok(notices(again.events).includes('admission:HEARTH_INVALID_INVITE'));
  const third = await openPeer('third', keypair.publicKey);
  const [e, f] = createMemoryTransportPair();
  root.node.connect(e);
  await third.node.requestAdmission(third.node.connect(f), unused);
  await quiet([root, third]);
  assert.ok(notices(third.events).includes('admission:OK'));
  assert.ok(root.node.membership.isAdmin(third.keypair.publicKey));
  for (const p of [root, dev, again, third]) {
    p.node.close();
    await p.db.close();
  }
});

test('invites file V1: round trip (property), fixture, damage refused', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const stored: fc.Arbitrary<StoredInvite> = fc.record({
    invite: fc.record({ inviteId: bytes(16), secret: bytes(32), space: bytes(32), role: fc.constantFrom('admin' as const, 'member' as const), expiresAt: fc.integer({ min: 0, max: 2 ** 50 }), relayUrl: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
    used: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(stored, { maxLength: 6 }), (list) => {
      assert.deepEqual(decodeInvitesFileV1(encodeInvitesFileV1(list)), list.map((x) => ({ invite: { ...x.invite }, used: x.used })));
    }),
    { seed: SEED, numRuns: 200 },
  );
  const fixture = new Uint8Array(readFileSync(new URL('./fixtures/invites-v1.bin', import.meta.url)));
  const list = decodeInvitesFileV1(fixture);
  assert.equal(list.length, 1);
  assert.equal(Buffer.from(list[0].invite.inviteId).toString('hex'), '11'.repeat(16));
  assert.equal(list[0].invite.relayUrl, 'https://relay.example');
  assert.equal(list[0].invite.role, 'member');
  assert.equal(list[0].used, false);
  assert.equal(list[0].invite.expiresAt, 1763700000000);
  assert.equal(Buffer.from(encodeInvitesFileV1(list)).toString('hex'), Buffer.from(fixture).toString('hex'));
  for (const at of [0, 8, 20, 13 + 80, 13 + 81, fixture.length - 1]) {
    const b = fixture.slice();
    b[at] ^= 0x04;
    assert.throws(() => decodeInvitesFileV1(b), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION', `byte ${at}`);
  }
});
