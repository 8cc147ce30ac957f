/**
 * The sync panel: this device's id, the space, the relay connection, WebRTC peers, per-feed sequence numbers,
 * entries waiting, the invite flow, and the offline indicator (the header badge).
 *
 * What the panel reads:
 * - `db.info()` (device feed id, storage backend, leader tab) and `db.stateVector()` through the SDK (per-feed
 *   sequence numbers) — available today;
 * - the browser's `online`/`offline` events and a probe of the relay's `/health` (never answered by the service
 *   worker, which serves only app-shell files) for the connection badge;
 * - a {@link SyncControl} for the space, the relay session, peers, entries waiting and invites. The SDK does not
 *   host a `SyncNode` in its worker yet, so {@link findSyncControl} finds none and the panel says so instead of
 *   pretending; see `docs/demo.md`, "Sync".
 * @packageDocumentation
 */
import type { HearthDatabase } from '@hearth/sdk';

/** Sync as the panel needs it: what the SDK's sync handle is expected to offer (`docs/demo.md`). */
export interface SyncControl {
  status(): Promise<SyncStatus>;
  /** Creates an invite link (admins only). `role` of the device it admits; `ttlMs` its lifetime. */
  createInvite(options: { role: 'member' | 'admin'; ttlMs: number; relayUrl: string }): Promise<string>;
  /** Uses an invite link: connects and requests admission. Resolves once an admin approved. */
  join(link: string): Promise<void>;
  /** Starts this device's own space (it becomes the root admin). */
  createSpace(): Promise<string>;
}

/** What {@link SyncControl.status} reports. */
export interface SyncStatus {
  /** Space id (hex), or null before this device created or joined one. */
  readonly space: string | null;
  readonly role: 'admin' | 'member' | 'pending' | 'none';
  readonly relay: 'connected' | 'connecting' | 'disconnected';
  readonly peers: readonly { readonly id: string; readonly state: string }[];
  /** Entries held pending (waiting for an admission) or not yet acknowledged by the relay. */
  readonly waiting: number;
}

/** The SDK's sync handle, when the database has one (`db.sync`); null otherwise. */
export function findSyncControl(db: HearthDatabase): SyncControl | null {
  const s = (db as unknown as { sync?: unknown }).sync;
  if (typeof s === 'object' && s !== null && typeof (s as SyncControl).status === 'function') return s as SyncControl;
  return null;
}

/** How often the panel refreshes, ms. */
const REFRESH_MS = 2000;
/** How often the relay is probed while online, ms. */
const PROBE_MS = 5000;

interface FeedRow {
  readonly feed: Uint8Array;
  readonly seq: number;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
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
  private readonly inviteOut = el('input', { id: 'invite-link', type: 'text', readonly: '' });
  private readonly inviteBtn = el('button', { type: 'button' }, 'Create invite link');
  private readonly joinInput = el('input', { id: 'join-link', type: 'text', placeholder: 'https://…#invite=…', autocomplete: 'off' });
  private readonly joinBtn = el('button', { type: 'button' }, 'Join');
  private readonly note = el('p', { class: 'small', role: 'status', 'aria-label': 'Sync status' });
  private relayReachable: boolean | null = null;
  private feed = '';
  private timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private readonly control: SyncControl | null;

  constructor(private readonly options: { db: HearthDatabase; relayUrl: string }) {
    this.control = findSyncControl(options.db);
    const dl = el('dl', { class: 'kv' });
    for (const [key, label] of [
      ['device', 'This device'],
      ['storage', 'Storage'],
      ['space', 'Space'],
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
      this.inviteBtn,
      el('label', { for: 'invite-link' }, 'Invite link'),
      this.inviteOut,
      el('label', { for: 'join-link' }, 'Invite link to join'),
      this.joinInput,
      this.joinBtn,
    );
    this.element.append(el('h2', { id: 'sync-heading' }, 'Sync'), dl, table, invite, this.note);
    if (this.control === null) {
      this.inviteBtn.disabled = true;
      this.joinBtn.disabled = true;
      this.note.textContent =
        'Sync is not available in this build: the SDK does not run a sync node in its worker yet. Notes stay on this device (and its other tabs).';
    }
    this.inviteBtn.addEventListener('click', () => void this.createInvite());
    this.joinBtn.addEventListener('click', () => void this.join(this.joinInput.value.trim()));
    addEventListener('online', this.onNetwork);
    addEventListener('offline', this.onNetwork);
    this.timers.push(setInterval(() => void this.refresh(), REFRESH_MS));
    this.timers.push(setInterval(() => void this.probe(), PROBE_MS));
    void options.db.info().then((i) => {
      this.feed = i.feed;
      this.set('device', short(i.feed), i.feed);
      this.set('storage', `${i.backend === 'opfs' ? 'OPFS' : 'IndexedDB'}${i.isLeader ? ', this tab leads' : ', another tab leads'}${i.persisted ? ', persistent' : ''}`);
    });
    const invited = /[#&]invite=([^&]+)/.exec(location.hash);
    if (invited) {
      this.joinInput.value = location.href;
      if (this.control !== null) void this.join(location.href);
      else this.note.textContent = 'This page was opened from an invite link, but this build cannot join a space: sync is not wired into the SDK yet.';
    }
    this.renderBadge();
    void this.refresh();
    void this.probe();
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

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const sv = (await this.options.db._call('stateVector', [])) as FeedRow[];
      const rows = sv.map((e) => {
        const id = hex(e.feed);
        const tr = el('tr');
        const th = el('th', { scope: 'row', title: id }, short(id) + (id === this.feed ? ' (this device)' : ''));
        tr.append(th, el('td', {}, String(e.seq)));
        return tr;
      });
      this.feedsBody.replaceChildren(...rows);
    } catch (e) {
      this.note.textContent = `Could not read the feeds: ${(e as Error).message}`;
    }
    if (this.control === null) {
      this.set('space', 'none (sync not available)');
      this.set('relay', this.relayReachable === null ? 'checking…' : this.relayReachable ? 'reachable (no sync session)' : 'unreachable');
      this.set('peers', '0');
      this.set('waiting', '—');
      return;
    }
    try {
      const s = await this.control.status();
      this.set('space', s.space === null ? 'none' : short(s.space), s.space ?? '');
      this.set('relay', s.relay);
      this.set('peers', s.peers.length === 0 ? '0' : s.peers.map((p) => `${short(p.id)} (${p.state})`).join(', '));
      this.set('waiting', String(s.waiting));
      this.inviteBtn.disabled = s.role !== 'admin';
    } catch (e) {
      this.note.textContent = `Sync status failed: ${(e as Error).message}`;
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
      history.replaceState(null, '', location.pathname);
    } catch (e) {
      this.note.textContent = `Not admitted: ${(e as Error).message}`;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    removeEventListener('online', this.onNetwork);
    removeEventListener('offline', this.onNetwork);
  }
}
