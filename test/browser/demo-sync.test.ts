/**
 * End to end: two devices (two Chromium profiles) syncing Hearth Notes through the relay, through the SDK's
 * `db.sync` (apps/demo's sync panel). Profile A starts a space on the relay (it becomes the root admin and admits
 * the relay's key), writes a note and creates an invite link; profile B opens the link, is admitted (A, online,
 * approves the one-time invite) and sees A's notes; notes then appear live both ways; both go offline
 * (`context.setOffline(true)`), both write (and edit one shared note, different fields), and after going back
 * online both converge on the same notes and the same per-feed sequence numbers. The two leader tabs also hold a
 * direct WebRTC connection (signalled through the relay), closed while offline and made again after. Finally A's
 * leader tab closes and A's second tab's worker resumes sync from the stored settings.
 *
 * Screenshots go to `test-output/demo/` (`sync-*.png`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createRelay, type Relay } from '@hearth/relay';
import { CHROMIUM_ARGS, CHROMIUM_PATH, freePort } from './harness.js';
import { createNote, dist, ensureDemoBuilt, listTitles, openApp, out, shot, waitForTitles } from './demo-helpers.js';

/** Generous: the test machine is loaded (2 shared cores), and a reconnect waits out a backoff of up to 30 s. */
const SYNC_WAIT_MS = 60_000;

async function field(page: Page, label: string): Promise<string> {
  return page.getByLabel(label, { exact: true }).innerText();
}

async function waitField(page: Page, label: string, want: RegExp, what: string, timeoutMs = SYNC_WAIT_MS): Promise<string> {
  const t0 = Date.now();
  let v = '';
  while (Date.now() - t0 < timeoutMs) {
    v = await field(page, label).catch(() => '');
    if (want.test(v)) return v;
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}: "${label}" shows ${JSON.stringify(v)}`);
}

/** The per-feed seqs the panel shows, as `feed-prefix=seq` sorted. */
async function feeds(page: Page): Promise<string[]> {
  const rows = await page.getByRole('table', { name: 'Feeds' }).locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => `${tr.querySelector('th')?.getAttribute('title') ?? ''}=${tr.querySelector('td')?.textContent ?? ''}`),
  );
  return rows.sort();
}

async function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], viewport: { width: 1280, height: 900 } });
}

test('demo e2e sync: a second profile joins by invite, notes sync live both ways, offline edits converge', { timeout: 480_000 }, async () => {
  assert.ok(existsSync(CHROMIUM_PATH), `Chromium is required at ${CHROMIUM_PATH}`);
  mkdirSync(out, { recursive: true });
  await ensureDemoBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-demo-sync-relay-'));
  const profiles = [mkdtempSync(join(tmpdir(), 'hearth-demo-sync-a-')), mkdtempSync(join(tmpdir(), 'hearth-demo-sync-b-'))];
  const port = await freePort();
  const relay: Relay = await createRelay({ dataDir, port, staticDir: dist });
  const url = relay.url + '/';
  const ctxA = await launch(profiles[0]);
  let ctxB: BrowserContext | null = null;
  const log: string[] = [];
  try {
    const a = ctxA.pages()[0] ?? (await ctxA.newPage());
    a.on('pageerror', (e) => log.push(`A pageerror: ${e.message}`));
    await openApp(a, url);
    await waitField(a, 'Space', /^none$/, 'A has no space before it starts one');
    assert.ok(await a.getByRole('button', { name: 'Create invite link', exact: true }).isDisabled());

    // ---- A starts a space on this relay: root admin, the relay admitted, connected ----------------------------
    await a.getByRole('button', { name: 'Sync with this relay', exact: true }).click();
    await waitField(a, 'Role', /^admin$/, 'A is the root admin of its new space');
    await waitField(a, 'Relay', /^connected$/, 'A connects to the relay');
    const deviceA = await a.getByLabel('This device', { exact: true }).getAttribute('title');
    const spaceA = await a.getByLabel('Space', { exact: true }).getAttribute('title');
    assert.equal(spaceA, deviceA, 'the space id is the root admin\'s key');
    await createNote(a, 'Shared shopping list', 'Milk, eggs, rye bread.', 'home');
    const host = relay.spaces.get(spaceA!);
    assert.ok(host !== undefined, 'the relay holds a replica of the space');
    const t0 = Date.now();
    while ([...host.db.iterate('notes')].length < 1 && Date.now() - t0 < SYNC_WAIT_MS) await new Promise((r) => setTimeout(r, 100));
    assert.equal([...host.db.iterate('notes')].length, 1, 'the relay stored A\'s note (A admitted the relay\'s key)');

    await a.getByRole('button', { name: 'Create invite link', exact: true }).click();
    const inviteField = a.getByLabel('Invite link', { exact: true });
    const t1 = Date.now();
    while ((await inviteField.inputValue()) === '' && Date.now() - t1 < 15_000) await a.waitForTimeout(100);
    const link = await inviteField.inputValue();
    assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/?#invite=hearth-invite%3A/);
    await shot(a, 'sync-01-admin-invite');

    // ---- B opens the link: admitted through the relay's admission-only connection, sees A's notes ------------
    ctxB = await launch(profiles[1]);
    const b = ctxB.pages()[0] ?? (await ctxB.newPage());
    b.on('pageerror', (e) => log.push(`B pageerror: ${e.message}`));
    await openApp(b, link);
    await b.getByRole('status', { name: 'Sync status' }).filter({ hasText: /Admitted: this device is now a member/ }).waitFor({ timeout: SYNC_WAIT_MS });
    await waitField(b, 'Role', /^member$/, 'B is a member');
    assert.equal(await b.getByLabel('Space', { exact: true }).getAttribute('title'), spaceA);
    await waitTitles(b, (t) => t.includes('Shared shopping list'), 'A\'s note reaches B');
    await waitField(b, 'Relay', /^connected$/, 'B holds a member connection to the relay');
    await shot(b, 'sync-02-joined');
    // The leader tabs meet through the relay's signalling and hold a direct WebRTC connection (lower id dials).
    const deviceB = await b.getByLabel('This device', { exact: true }).getAttribute('title');
    await waitField(a, 'WebRTC peers', new RegExp(`^${deviceB!.slice(0, 8)}.*\\(connected\\)`), 'A lists B as a WebRTC peer');
    await waitField(b, 'WebRTC peers', new RegExp(`^${deviceA!.slice(0, 8)}.*\\(connected\\)`), 'B lists A as a WebRTC peer');

    // ---- live both ways -------------------------------------------------------------------------------------
    await createNote(a, 'Written on A', 'Appears on B without a reload.', 'live');
    await waitTitles(b, (t) => t.includes('Written on A'), 'a note written on A appears live on B');
    await createNote(b, 'Written on B', 'Appears on A without a reload.', 'live');
    await waitTitles(a, (t) => t.includes('Written on B'), 'a note written on B appears live on A');
    await shot(a, 'sync-03-live-a');

    // ---- both offline: each writes; one shared note edited on both (different fields) -------------------------
    await ctxA.setOffline(true);
    await ctxB.setOffline(true);
    await waitField(a, 'Relay', /^offline/, 'A notices it is offline');
    await waitField(b, 'Relay', /^offline/, 'B notices it is offline');
    await waitField(a, 'WebRTC peers', /^0$/, 'A closed its WebRTC connection while offline');
    await createNote(a, 'Offline on A', 'Written with no network.', 'offline');
    await createNote(b, 'Offline on B', 'Written with no network.', 'offline');
    await a.getByRole('list', { name: 'Note list' }).getByRole('button', { name: /^Shared shopping list/ }).click();
    await a.getByLabel('Title').fill('Shared shopping list (A)');
    await a.getByRole('button', { name: 'Save', exact: true }).click();
    await waitTitles(a, (t) => t.includes('Shared shopping list (A)'), 'A\'s offline edit');
    await b.getByRole('list', { name: 'Note list' }).getByRole('button', { name: /^Shared shopping list/ }).click();
    await b.getByLabel('Body').fill('Milk, eggs, rye bread, and apples (B).');
    await b.getByRole('button', { name: 'Save', exact: true }).click();
    await b.waitForTimeout(300);
    assert.ok(!(await listTitles(a)).includes('Offline on B'), 'nothing travels while offline');
    assert.ok(!(await listTitles(b)).includes('Offline on A'), 'nothing travels while offline');
    await shot(b, 'sync-04-offline-b');

    // ---- back online: both converge ---------------------------------------------------------------------------
    await ctxA.setOffline(false);
    await ctxB.setOffline(false);
    const all = ['Offline on A', 'Offline on B', 'Shared shopping list (A)', 'Written on A', 'Written on B'];
    await waitTitles(a, (t) => all.every((x) => t.includes(x)), 'A has every note after reconnecting');
    await waitTitles(b, (t) => all.every((x) => t.includes(x)), 'B has every note after reconnecting');
    assert.deepEqual((await listTitles(a)).sort(), (await listTitles(b)).sort());
    // Per-field LWW: A's title and B's body both survive on both devices.
    await a.getByRole('list', { name: 'Note list' }).getByRole('button', { name: /^Shared shopping list \(A\)/ }).click();
    await waitInput(a, 'Body', 'Milk, eggs, rye bread, and apples (B).', 'B\'s body edit reaches A next to A\'s title');
    await b.getByRole('list', { name: 'Note list' }).getByRole('button', { name: /^Shared shopping list \(A\)/ }).click();
    await waitInput(b, 'Body', 'Milk, eggs, rye bread, and apples (B).', 'B keeps its body edit and has A\'s title');
    // Same feeds and seqs on both (the relay's own feed included once it writes; devices write only their own).
    const t2 = Date.now();
    let fa: string[] = [];
    let fb: string[] = [];
    while (Date.now() - t2 < SYNC_WAIT_MS) {
      fa = await feeds(a);
      fb = await feeds(b);
      if (fa.length >= 2 && JSON.stringify(fa) === JSON.stringify(fb)) break;
      await a.waitForTimeout(200);
    }
    assert.deepEqual(fa, fb, 'both devices hold the same feeds at the same seqs');
    assert.ok(fa.length >= 2, `both devices' feeds are held: ${fa.join(', ')}`);
    await waitField(a, 'Relay', /^connected$/, 'A reconnected');
    await waitField(b, 'Relay', /^connected$/, 'B reconnected');
    await waitField(a, 'WebRTC peers', /\(connected\)/, 'A and B meet over WebRTC again');
    await shot(a, 'sync-05-converged-a');
    await shot(b, 'sync-05-converged-b');
    // ---- leader hand-over: A's leader tab closes; A's second tab's worker takes over and syncs again -------------
    const a2 = await ctxA.newPage();
    a2.on('pageerror', (e) => log.push(`A2 pageerror: ${e.message}`));
    await openApp(a2, url);
    await a.close();
    await waitField(a2, 'Storage', /this tab leads/, 'the second tab of A leads');
    await waitField(a2, 'Relay', /^connected$/, 'the new leader\'s worker reconnects to the relay from the stored settings');
    await waitField(a2, 'Role', /^admin$/, 'still the admin of the space');
    await createNote(a2, 'After the hand-over', 'Written by the new leader tab.', 'handover');
    await waitTitles(b, (t) => t.includes('After the hand-over'), 'a note written after the hand-over reaches B');
    await waitField(a2, 'Entries waiting', /^0 pending$/, 'everything A sent is acknowledged');
    await waitField(b, 'Entries waiting', /^0 pending$/, 'everything B sent is acknowledged');
    await shot(a2, 'sync-06-handover');
    assert.deepEqual(log.filter((l) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|network/i.test(l)), []);
  } finally {
    await ctxB?.close().catch(() => undefined);
    await ctxA.close().catch(() => undefined);
    await relay.close().catch(() => undefined);
    for (const d of [dataDir, ...profiles]) rmSync(d, { recursive: true, force: true });
  }
});

function waitTitles(page: Page, want: (t: string[]) => boolean, what: string): Promise<string[]> {
  return waitForTitles(page, want, what, SYNC_WAIT_MS);
}

async function waitInput(page: Page, label: string, want: string, what: string): Promise<void> {
  const t0 = Date.now();
  let v = '';
  while (Date.now() - t0 < SYNC_WAIT_MS) {
    v = await page.getByLabel(label, { exact: true }).inputValue();
    if (v === want) return;
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}: "${label}" is ${JSON.stringify(v)}`);
}
