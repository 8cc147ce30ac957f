/**
 * `db.sync` through the SDK in Chromium, against a live relay (another origin: CORS), with a Node device as the
 * other party: argument and state errors keep their class and code across the worker boundary; a browser device
 * starts a space, admits the relay, issues an invite that a Node device redeems through the relay's admission-only
 * connection (then a second redemption of the same invite is refused); data flows both ways; a follower tab reads
 * the status, subscribes and creates an invite through the leader's worker; the relay stops and
 * the status says so, a write made meanwhile reaches the relay once it is back on the same port (reconnect with
 * backoff); `disconnect` stops syncing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRelay, type Relay } from '@hearth/relay';
import { inviteFromText, openRelayTransport, FetchEventSource } from '@hearth/sync';
import { freePort, withBrowser } from './harness.js';
import { run, sdkPage, setupSdk } from './sdk-helpers.js';
import { closeDevice, hex, openDevice, until } from '../relay-helpers.js';

interface Status {
  deviceId: string;
  space: string | null;
  role: string;
  relay: string;
  error: string | null;
  feeds: { feed: string; seq: number }[];
  pending: number;
  unackedBytes: number;
}

test('sdk sync: db.sync against a live relay (space, relay admitted, invite redeemed by a Node device, relay restart, errors)', { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-sdk-sync-'));
  const port = await freePort();
  let relay: Relay | null = await createRelay({ dataDir, port, heartbeatMs: 0, corsOrigins: ['*'] });
  const url = relay.url;
  const devices: Awaited<ReturnType<typeof openDevice>>[] = [];
  try {
    await withBrowser(async (b) => {
      await setupSdk(b);
      const page = await sdkPage(b);
      const status = (): Promise<Status> => run<Status>(page, 'return await globalThis.db.sync.status();');
      const waitStatus = async (want: (s: Status) => boolean, what: string, ms = 60_000): Promise<Status> => {
        const t0 = Date.now();
        let s = await status();
        while (!want(s)) {
          if (Date.now() - t0 > ms) assert.fail(`${what}: status ${JSON.stringify(s)}`);
          await new Promise((r) => setTimeout(r, 200));
          s = await status();
        }
        return s;
      };

      // ---- before any space: errors typed across the worker ----------------------------------------------------
      const before = await run<{ s: Status; inv: string; join: string; url: string; subs: number }>(
        page,
        `const db = await T.openDatabase('sync1');
         globalThis.db = db;
         globalThis.seen = [];
         db.sync.subscribe((s) => globalThis.seen.push(s));
         const name = async (p) => { try { await p; return 'resolved'; } catch (e) { return e.name + ':' + (e.code ?? '') ; } };
         return {
           s: await db.sync.status(),
           inv: await name(db.sync.createInvite()),
           join: await name(db.sync.join('hearth-invite:AAAA')),
           url: await name(db.sync.connect({ relay: 'not a url' })),
           subs: globalThis.seen.length,
         };`,
      );
      assert.equal(before.s.space, null);
      assert.equal(before.s.role, 'none');
      assert.equal(before.s.relay, 'disabled');
      assert.equal(before.inv, 'TypeError:');
      assert.equal(before.join, 'SyncError:HEARTH_INVALID_INVITE');
      assert.equal(before.url, 'TypeError:');
      assert.ok(before.subs >= 1, 'subscribe delivers the current status');

      // ---- a space of this device; the relay admitted and storing ----------------------------------------------
      const s1 = await run<Status>(page, `return await globalThis.db.sync.connect({ relay: ${JSON.stringify(url)} });`);
      assert.equal(s1.space, s1.deviceId, 'the space id is the root admin\'s key');
      assert.equal(s1.role, 'admin');
      await waitStatus((s) => s.relay === 'connected', 'connected to the relay');
      await run(page, `await globalThis.db.collection('notes').put('b1', { from: 'browser' });`);
      const space = s1.space!;
      await until(() => relay!.spaces.get(space)?.db.get('notes', 'b1') !== undefined, 'the relay to store the browser\'s note (it was admitted)', 60_000);

      // ---- an invite from the browser, redeemed by a Node device through the relay ------------------------------
      const link = await run<string>(page, `return await globalThis.db.sync.createInvite({ role: 'member', ttlMs: 60_000 });`);
      const invite = inviteFromText(link);
      assert.equal(hex(invite.space), space);
      assert.equal(invite.relayUrl, url);
      const d = await openDevice('node', invite.space);
      devices.push(d);
      const { transport } = await openRelayTransport({ url, space: invite.space, keypair: d.keypair, purpose: 'admission', EventSource: FetchEventSource as never });
      const session = d.node.connect(transport);
      d.transport = transport;
      await d.node.requestAdmission(session, invite);
      await until(() => d.events.some((e) => e.type === 'notice' && e.notice.kind === 'admission'), 'the browser (admin) to answer through the relay', 60_000);
      const answer = d.events.find((e) => e.type === 'notice' && e.notice.kind === 'admission') as { notice: { code: string } };
      assert.equal(answer.notice.code, 'OK');
      await until(() => d.db.get('notes', 'b1') !== undefined, 'the browser\'s note to reach the admitted Node device', 60_000);
      await d.db.put('notes', 'n1', { from: 'node' });
      await waitStatus((s) => s.feeds.some((f) => f.feed === hex(d.keypair.publicKey) && f.seq >= 1), 'the Node device\'s feed in the browser');
      assert.deepEqual(await run(page, `return await globalThis.db.collection('notes').get('n1');`), { from: 'node' });

      // the invite is single-use
      const e2 = await openDevice('node2', invite.space);
      devices.push(e2);
      const t2 = await openRelayTransport({ url, space: invite.space, keypair: e2.keypair, purpose: 'admission', EventSource: FetchEventSource as never });
      e2.transport = t2.transport;
      await e2.node.requestAdmission(e2.node.connect(t2.transport), invite);
      await until(() => e2.events.some((e) => e.type === 'notice' && e.notice.kind === 'admission'), 'the answer to a reused invite', 60_000);
      const again = e2.events.find((e) => e.type === 'notice' && e.notice.kind === 'admission') as { notice: { code: string } };
      assert.equal(again.notice.code, 'HEARTH_INVALID_INVITE');

      // ---- another tab (a follower) reaches the leader's sync through the BroadcastChannel ----------------------
      const tab2 = await sdkPage(b);
      const follower = await run<{ leader: boolean; s: Status; live: Status; link: string }>(
        tab2,
        `const db = await T.openDatabase('sync1');
         const live = await new Promise((resolve) => { const stop = db.sync.subscribe((s) => { stop(); resolve(s); }); });
         return { leader: db.isLeader, s: await db.sync.status(), live, link: await db.sync.createInvite({ ttlMs: 1000 }) };`,
      );
      assert.equal(follower.leader, false);
      assert.equal(follower.s.space, space);
      assert.equal(follower.s.relay, 'connected');
      assert.equal(follower.live.space, space);
      assert.equal(hex(inviteFromText(follower.link).space), space, 'a follower\'s invite is issued by the leader\'s worker');
      await tab2.close();

      // ---- the relay goes away and comes back on the same port -------------------------------------------------
      await relay!.close();
      relay = null;
      await waitStatus((s) => s.relay === 'error' || s.relay === 'connecting', 'the status to report the lost relay');
      await run(page, `await globalThis.db.collection('notes').put('b2', { while: 'relay down' });`);
      relay = await createRelay({ dataDir, port, heartbeatMs: 0, corsOrigins: ['*'] });
      await waitStatus((s) => s.relay === 'connected', 'reconnected after the relay came back (backoff)', 90_000);
      await until(() => relay!.spaces.get(space)?.db.get('notes', 'b2') !== undefined, 'the write made while the relay was down to reach it', 60_000);
      const seen = await run<string[]>(page, `return globalThis.seen.map((s) => s.relay);`);
      for (const st of ['connected', 'connecting']) assert.ok(seen.includes(st), `subscribers saw "${st}": ${[...new Set(seen)].join(', ')}`);

      // ---- disconnect: no relay connection; the space stays --------------------------------------------------
      const off = await run<Status>(page, `return await globalThis.db.sync.disconnect();`);
      assert.equal(off.relay, 'disabled');
      assert.equal(off.space, space);
      const other = await run<string>(page, `try { await globalThis.db.sync.connect({ relay: ${JSON.stringify(url)}, space: 'ab'.repeat(32) }); return 'resolved'; } catch (e) { return e.code; }`);
      assert.equal(other, 'HEARTH_INVALID_INVITE', 'one database belongs to one space');
      await run(page, `await globalThis.db.close();`);
    });
  } finally {
    for (const d of devices) await closeDevice(d).catch(() => undefined);
    await relay?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
