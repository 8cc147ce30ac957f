/**
 * `db.sync`: sync of the database with other devices, run by the leader tab's database worker (`_sync.ts`) and
 * reachable from every tab. Guide: `docs/sdk.md`, "Sync".
 * @packageDocumentation
 */
import type { Connection } from './_client.js';
import type { SyncStatus } from './protocol.js';
import { Live } from './live.js';

/** Options of {@link SyncHandle.createInvite}. */
export interface InviteOptions {
  /** Role of the device the invite admits. Default `member`. */
  role?: 'member' | 'admin';
  /** Lifetime, ms. Default 24 h. */
  ttlMs?: number;
  /** Relay (and app) URL the link points to. Default: the relay in use. */
  relayUrl?: string;
}

/**
 * The sync handle of a {@link HearthDatabase} (`db.sync`). Every call goes to the leader tab's worker, which
 * holds the device keypair, the `SyncNode` and the one relay connection of this browser; a new leader's worker
 * resumes with the stored settings.
 */
export class SyncHandle {
  /** @internal */
  constructor(private readonly conn: Connection) {}

  /** The current status (see {@link SyncStatus}). */
  status(): Promise<SyncStatus> {
    return this.conn.request({ t: 'sync', op: 'status', args: [] }) as Promise<SyncStatus>;
  }

  /**
   * Calls `callback` with the status now and after each change (connection state, peers, feeds' seqs, pending);
   * from any tab, across leader changes. Returns the stop function. `onError` gets a failure to subscribe.
   */
  subscribe(callback: (status: SyncStatus) => void, onError?: (error: Error) => void): () => void {
    if (typeof callback !== 'function') throw new TypeError('"callback" expected a function');
    return this.conn.subscribe({ kind: 'sync' }, (ok, value, error) => {
      if (ok) callback(value as SyncStatus);
      else onError?.(error!);
    });
  }

  /** The status as a {@link Live} value (async iterator, store). */
  live(): Live<SyncStatus> {
    return new Live<SyncStatus>((deliver) => this.conn.subscribe({ kind: 'sync' }, deliver as (ok: boolean, v: unknown, e?: Error) => void));
  }

  /**
   * Syncs with `relay`: the stored space, or `space`, or (first time, no space) a new space whose root admin is
   * this device; the device admits the relay's key once it is an admin (`docs/relay.md`). Reconnects with backoff
   * until {@link disconnect}. The settings are stored (IndexedDB) and resumed by the next open or leader.
   * @throws TypeError for a malformed URL; RangeError for a malformed space; SyncError `HEARTH_INVALID_INVITE` if
   *   this database already syncs another space.
   */
  connect(options: { relay: string; space?: string }): Promise<SyncStatus> {
    if (typeof options !== 'object' || options === null || typeof options.relay !== 'string') throw new TypeError('"relay" expected a URL string');
    return this.conn.request({ t: 'sync', op: 'connect', args: [options] }) as Promise<SyncStatus>;
  }

  /** Stops syncing with the relay (the space stays; `connect` resumes). */
  disconnect(): Promise<SyncStatus> {
    return this.conn.request({ t: 'sync', op: 'disconnect', args: [] }) as Promise<SyncStatus>;
  }

  /**
   * An invite link (`<relayUrl>#invite=hearth-invite:...`) admitting one device. Held in the leader worker's
   * memory, usable once; the admin device must be online (connected to the relay) when it is redeemed.
   * @throws SyncError `HEARTH_NOT_ADMIN` if this device is not an admin; TypeError before `connect`.
   */
  createInvite(options: InviteOptions = {}): Promise<string> {
    return this.conn.request({ t: 'sync', op: 'createInvite', args: [options] }) as Promise<string>;
  }

  /**
   * Redeems an invite (the link or its `hearth-invite:` text): opens an admission-only connection to the invite's
   * relay, sends the admission request, and resolves once an admin approved it (a valid, unused, unexpired
   * invite is approved automatically); then syncs as a member.
   * @throws SyncError `HEARTH_INVALID_INVITE` (malformed, expired, used, refused, no admin online, another space);
   *   RelayError from the relay (e.g. `HEARTH_RELAY_LIMIT`).
   */
  join(invite: string): Promise<SyncStatus> {
    if (typeof invite !== 'string') throw new TypeError('"invite" expected a string');
    return this.conn.request({ t: 'sync', op: 'join', args: [invite] }) as Promise<SyncStatus>;
  }
}
