/**
 * One space served by the relay: a full replica (a `Database` on the Node file system in
 * `<data dir>/<space id hex>/`, with the relay's own keypair for that space) and its `SyncNode`, which verifies
 * everything the relay accepts (membership, then ingest: chain, signatures, forks, ops) exactly as any replica
 * does (`docs/sync.md`, "Relays").
 *
 * Invariants:
 * 1. One `SpaceHost` per space directory per process (the Database is the only writer of its directory).
 * 2. After `close()` resolves, every ingest that started has finished and the Database is closed (flushed).
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { feedIdToHex } from '@hearth/log';
import { DatabaseReplica, SyncNode, type SyncEvent, type SyncNodeOptions } from '@hearth/sync';

/** Counters of one space. */
export interface SpaceCounters {
  /** Entries refused by verification or membership (rejected and fork events). */
  rejects: number;
  /** Entries stored from peers. */
  ingested: number;
  /** Protocol failures that closed a connection. */
  sessionErrors: number;
}

/** Options of {@link SpaceHost.open}. */
export interface SpaceHostOptions {
  /** The relay's data directory as a file system. */
  fs: FileSystem;
  /** Space id (32 bytes). */
  space: Uint8Array;
  /** Rebuild the views from the feeds while opening. */
  rebuild?: boolean;
  /** Sync node tuning (window, batch, entry and pending limits). */
  node?: Partial<Omit<SyncNodeOptions, 'replica' | 'keypair' | 'space'>>;
  /** Sync event listener (logging). */
  onEvent?: (event: SyncEvent, host: SpaceHost) => void;
}

/** A space the relay replicates (see the file header). */
export class SpaceHost {
  readonly counters: SpaceCounters = { rejects: 0, ingested: 0, sessionErrors: 0 };
  private closing: Promise<void> | null = null;

  private constructor(
    readonly space: Uint8Array,
    readonly db: Database,
    readonly node: SyncNode,
  ) {}

  /** Space id as 64 lowercase hex digits (also its directory name). */
  get spaceHex(): string {
    return feedIdToHex(this.space);
  }

  /** The relay's feed id in this space (an admin must admit it, `docs/relay.md`). */
  get relayKey(): Uint8Array {
    return this.db.feed;
  }

  /**
   * Opens (or creates) the replica of a space.
   * @throws as `Database.open` (I/O, corruption: reopen with `rebuild`).
   */
  static async open(options: SpaceHostOptions): Promise<SpaceHost> {
    const name = feedIdToHex(options.space);
    const db = await Database.open({ fs: options.fs, name, ...(options.rebuild ? { rebuild: true } : {}) });
    const node = new SyncNode({ ...options.node, replica: new DatabaseReplica(db), keypair: db.keypair, space: options.space });
    const host = new SpaceHost(options.space.slice(), db, node);
    db.onCommit(
      (e) => {
        if (!e.local) host.counters.ingested++;
      },
      { remoteChanges: false },
    );
    node.on((e) => {
      if (e.type === 'rejected' || e.type === 'fork') host.counters.rejects++;
      else if (e.type === 'session-error') host.counters.sessionErrors++;
      options.onEvent?.(e, host);
    });
    return host;
  }

  /** Whether `key` may read and write this space now: the root, or a current member in the relay's view. */
  isMember(key: Uint8Array): boolean {
    if (key.length === 32 && key.every((b, i) => b === this.space[i])) return true;
    return this.node.membership.isMember(key);
  }

  /** Entries held (sum of every feed's last durable seq) and feeds. */
  holdings(): { entries: number; feeds: number } {
    const sv = this.db.stateVector();
    return { entries: sv.reduce((n, e) => n + e.seq, 0), feeds: sv.length };
  }

  /**
   * Finishes in-flight ingests, closes the sync node (its sessions) and the database. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.node.sessions) s.close('relay shutting down');
      await this.node.idle();
      this.node.close();
      await this.db.close();
    })();
    return this.closing;
  }
}
