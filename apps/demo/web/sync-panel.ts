/**
 * The sync panel: this device's id, the space, the relay connection, WebRTC peers, per-feed sequence numbers,
 * entries waiting, the invite flow, and the offline indicator (the header badge).
 *
 * What the panel reads:
 * - `db.info()` (device feed id, storage backend, leader tab) and `db.stateVector()` through the SDK (per-feed
 *   sequence numbers) — available today;
 * - the browser's `online`/`offline` events and a probe of the relay's `/health` (never answered by the service
 *   worker, which serves only app-shell files) for the connection badge;
 * - `db.sync` (the SDK's `SyncHandle`, run by the leader tab's worker): the space, this device's role, the relay
 *   session, WebRTC peers, per-feed sequence numbers and entries waiting, live through `db.sync.subscribe`; the
 *   buttons start a space on this relay, create an invite link, and join with one (`docs/demo.md`, "Sync").
 * @packageDocumentation
 */
import type { HearthDatabase, SyncStatus } from '@hearth/sdk';
import type { SyncHandle } from '@hearth/sdk';

/** The SDK's sync handle, when the database has one (`db.sync`); null otherwise (an SDK without sync). */
export function findSyncControl(db: HearthDatabase): SyncHandle | null {
  const s = (db as unknown as { sync?: unknown }).sync;
  if (typeof s === 'object' && s !== null && typeof (s as SyncHandle).subscribe === 'function') return s as SyncHandle;
  return null;
}

/** How often the relay is probed while online, ms. */
const PROBE_MS = 5000;

const short = (s: string): string => (s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The panel and the header badge. */
export class SyncPanel {
  /** The header's connection badge (`role="status"`, name "Connection"). */
  readonly badge = el('p', { class: 'badge', role: 'status', 'aria-label': 'Connection' });
  /** The panel (a region named "Sync"). */
  readonly element = el('section', { 'aria-labelledby': 'sync-heading', class: 'sync' });
  private readonly fields = new Map<string, HTMLElement>();
  private readonly feedsBody = el('tbody');
  private readonly startBtn = el('button', { type: 'button' }, 'Sync with this relay');
  private readonly inviteOut = el('input', { id: 'invite-link', type: 'text', readonly: '' });
  private readonly inviteBtn = el('button', { type: 'button' }, 'Create invite link');
  private readonly joinInput = el('input', { id: 'join-link', type: 'text', placeholder: 'https://…#invite=…', autocomplete: 'off' });
  private readonly joinBtn = el('button', { type: 'button' }, 'Join');
  private readonly note = el('p', { class: 'small', role: 'status', 'aria-label': 'Sync status' });
  private relayReachable: boolean | null = null;
  private feed = '';
  private status: SyncStatus | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private stopSync: (() => void) | null = null;
  private readonly control: SyncHandle | null;

  constructor(private readonly options: { db: HearthDatabase; relayUrl: string }) {
    this.control = findSyncControl(options.db);
    const dl = el('dl', { class: 'kv' });
    for (const [key, label] of [
      ['device', 'This device'],
      ['storage', 'Storage'],
      ['space', 'Space'],
      ['role', 'Role'],
      ['relay', 'Relay'],
      ['peers', 'WebRTC peers'],
      ['waiting', 'Entries waiting'],
    ] as const) {
      const dd = el('dd', { 'aria-label': label });
      dl.append(el('dt', {}, label), dd);
      this.fields.set(key, dd);
    }
    const table = el('table', { 'aria-label': 'Feeds' });
    const head = el('tr');
    head.append(el('th', { scope: 'col' }, 'Feed'), el('th', { scope: 'col' }, 'Sequence'));
    table.append(el('thead'), this.feedsBody);
    table.tHead!.append(head);
    const invite = el('div', { class: 'invite' });
    invite.append(
      el('h3', {}, 'Add a device'),
      this.startBtn,
      this.inviteBtn,
      el('label', { for: 'invite-link' }, 'Invite link'),
      this.inviteOut,
      el('label', { for: 'join-link' }, 'Invite link to join'),
      this.joinInput,
      this.joinBtn,
    );
    this.element.append(el('h2', { id: 'sync-heading' }, 'Sync'), dl, table, invite, this.note);
    this.inviteBtn.disabled = true;
    if (this.control === null) {
      this.startBtn.disabled = true;
      this.joinBtn.disabled = true;
      this.note.textContent = 'Sync is not available in this build (the SDK has no db.sync). Notes stay on this device (and its other tabs).';
    } else {
      this.stopSync = this.control.subscribe(
        (s) => this.render(s),
        (e) => (this.note.textContent = `Sync status failed: ${e.message}`),
      );
    }
    this.startBtn.addEventListener('click', () => void this.start());
    this.inviteBtn.addEventListener('click', () => void this.createInvite());
    this.joinBtn.addEventListener('click', () => void this.join(this.joinInput.value.trim()));
    addEventListener('online', this.onNetwork);
    addEventListener('offline', this.onNetwork);
    this.timers.push(setInterval(() => void this.probe(), PROBE_MS));
    void options.db.info().then((i) => {
      this.feed = i.feed;
      this.backend = `${i.backend === 'opfs' ? 'OPFS' : 'IndexedDB'}`;
      this.persisted = i.persisted === true;
      this.set('device', short(i.feed), i.feed);
      this.renderStorage();
    });
    const invited = /[#&]invite=([^&]+)/.exec(location.hash);
    if (invited) {
      this.joinInput.value = location.href;
      if (this.control !== null) void this.join(location.href);
      else this.note.textContent = 'This page was opened from an invite link, but this build cannot join a space (the SDK has no db.sync).';
    }
    this.renderBadge();
    void this.probe();
  }

  private backend = '';
  private persisted = false;

  /** Storage and leadership (`db.isLeader` is local: it changes when this tab takes over as leader). */
  private renderStorage(): void {
    if (this.backend === '') return;
    this.set('storage', `${this.backend}${this.options.db.isLeader ? ', this tab leads' : ', another tab leads'}${this.persisted ? ', persistent' : ''}`);
  }

  private readonly onNetwork = (): void => {
    this.renderBadge();
    void this.probe();
  };

  private set(key: string, text: string, title?: string): void {
    const dd = this.fields.get(key)!;
    dd.textContent = text;
    if (title !== undefined) dd.title = title;
  }

  private renderBadge(): void {
    const online = navigator.onLine;
    const relayDown = online && this.relayReachable === false;
    this.badge.textContent = !online ? 'Offline' : relayDown ? 'Relay unreachable' : 'Online';
    this.badge.dataset.state = !online ? 'offline' : relayDown ? 'degraded' : 'online';
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.relayReachable = false;
    } else {
      try {
        const r = await fetch(new URL('health', this.options.relayUrl.endsWith('/') ? this.options.relayUrl : this.options.relayUrl + '/'), { cache: 'no-store' });
        this.relayReachable = r.ok;
      } catch {
        this.relayReachable = false;
      }
    }
    this.renderBadge();
  }

  /** Draws a status from `db.sync` (the worker re-sends it after every change). */
  private render(s: SyncStatus): void {
    if (this.stopped) return;
    this.status = s;
    this.feed = s.deviceId;
    this.renderStorage();
    this.set('device', short(s.deviceId), s.deviceId);
    this.set('space', s.space === null ? 'none' : short(s.space), s.space ?? '');
    this.set('role', s.role);
    this.set('relay', s.relay + (s.relay !== 'connected' && s.error !== null ? ` (${s.error})` : ''), s.relayUrl ?? '');
    this.set('peers', s.peers.length === 0 ? '0' : s.peers.map((p) => `${short(p.id)} (${p.state})`).join(', '));
    this.set('waiting', `${s.pending} pending${s.unackedBytes > 0 ? `, ${s.unackedBytes} bytes unacknowledged` : ''}`);
    this.feedsBody.replaceChildren(
      ...s.feeds.map((e) => {
        const tr = el('tr');
        tr.append(el('th', { scope: 'row', title: e.feed }, short(e.feed) + (e.feed === this.feed ? ' (this device)' : '')), el('td', {}, String(e.seq)));
        return tr;
      }),
    );
    this.inviteBtn.disabled = s.role !== 'admin' || s.relay === 'disabled';
    this.startBtn.disabled = s.space !== null && s.relay !== 'disabled';
  }

  private async start(): Promise<void> {
    if (this.control === null) return;
    try {
      const s = await this.control.connect({ relay: this.options.relayUrl });
      this.note.textContent = s.role === 'admin' ? 'Syncing with this relay. Create an invite link to add a device.' : 'Syncing with this relay.';
    } catch (e) {
      this.note.textContent = `Could not start sync: ${(e as Error).message}`;
    }
  }

  private async createInvite(): Promise<void> {
    if (this.control === null) return;
    try {
      const link = await this.control.createInvite({ role: 'member', ttlMs: 24 * 3600_000, relayUrl: this.options.relayUrl });
      this.inviteOut.value = link;
      this.note.textContent = 'Open this link on the other device. This device approves its request while it is online.';
    } catch (e) {
      this.note.textContent = `No invite: ${(e as Error).message}`;
    }
  }

  private async join(link: string): Promise<void> {
    if (this.control === null || link === '') return;
    this.note.textContent = 'Asking an admin device to admit this one…';
    try {
      await this.control.join(link);
      this.note.textContent = 'Admitted: this device is now a member of the space.';
      this.joinInput.value = '';
      history.replaceState(null, '', location.pathname);
    } catch (e) {
      this.note.textContent = `Not admitted: ${(e as Error).message}`;
    }
  }

  stop(): void {
    this.stopped = true;
    this.stopSync?.();
    for (const t of this.timers) clearInterval(t);
    removeEventListener('online', this.onNetwork);
    removeEventListener('offline', this.onNetwork);
  }
}
