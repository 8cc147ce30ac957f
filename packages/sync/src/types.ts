/**
 * What the sync protocol needs of a replica: {@link SyncReplica}. `DatabaseReplica` (`db-replica.ts`) implements it
 * over a `@hearth/db` `Database`; the relay's disk replica is a `Database` too.
 * @packageDocumentation
 */
import type { HearthError } from '@hearth/io';
import type { StateVectorEntry, UnverifiedEntry } from '@hearth/log';
import type { MembershipRecord, Role } from './membership.js';

/** Result of {@link SyncReplica.ingest} for one feed. */
export interface ReplicaFeedResult {
  readonly feed: Uint8Array;
  /** Entries stored. */
  readonly appended: number;
  /** Entries already held, skipped. */
  readonly duplicates: number;
  /** The feed's head after the call. */
  readonly head: number;
  /** Why the feed's remaining entries were refused (a typed error from the log, crdt or db layer). */
  readonly error?: HearthError;
}

/** A committed entry (local write or ingested), as announced by {@link SyncReplica.onCommit}. */
export interface CommitNotice {
  readonly feed: Uint8Array;
  readonly seq: number;
  /** Whether this replica wrote it. */
  readonly local: boolean;
  /** Whether it wrote membership records (the membership view must be recomputed). */
  readonly membership: boolean;
}

/**
 * A replica as the sync layer sees it.
 *
 * Contract:
 * 1. `stateVector()` and `readEntries()` expose only durable entries (a peer must never learn of an entry a crash
 *    could take back).
 * 2. `ingest()` verifies before it stores: framing, size limits, sequence continuity, hash chain, signature, HLC
 *    drift, ops payload. Per feed, an error stops that feed at the refused entry and is returned, not thrown; what
 *    was stored before is untouched; identical duplicates are skipped. It throws only for failures of the replica
 *    itself (I/O, closed).
 * 3. `onCommit` listeners run after an entry is durable and applied, for local and ingested entries.
 * 4. `membershipRecords()` returns the records of every entry stored (the sync layer judges their validity).
 */
export interface SyncReplica {
  /** This replica's feed id (its device public key). */
  readonly feed: Uint8Array;
  /** Per feed held: last durable seq and its hash, ascending by feed. */
  stateVector(): StateVectorEntry[];
  /**
   * Encoded entries of `feed` from `fromSeq` on, consecutive, in seq order: as many as fit in `maxBytes`, but at
   * least one if the replica holds `fromSeq`; `[]` if it does not.
   */
  readEntries(feed: Uint8Array, fromSeq: number, maxBytes: number): Promise<Uint8Array[]>;
  /**
   * Verifies and stores entries (see the contract): encoded entries, or entry objects decoded by `decodeEntryV1`
   * (which a Database uses without decoding their bytes again).
   */
  ingest(entries: readonly (Uint8Array | UnverifiedEntry)[]): Promise<readonly ReplicaFeedResult[]>;
  /** Subscribes to committed entries; returns the unsubscribe function. */
  onCommit(listener: (commit: CommitNotice) => void): () => void;
  /** Every membership record held. */
  membershipRecords(): MembershipRecord[];
  /**
   * The membership records an entry would add, checked for form and authorship (author = the entry's feed, `at`
   * within its bounds). Entries whose ops do not decode return `[]` (ingest refuses them).
   * @throws SyncError `HEARTH_NOT_ADMIN` if the entry writes the membership collection other than with
   *   well-formed records of its own.
   */
  recordsIn(entry: UnverifiedEntry): MembershipRecord[];
  /** Writes a membership record authored by this replica (durable when it resolves). */
  writeMembershipRecord(subject: Uint8Array, action: 'admit' | 'remove', role: Role): Promise<void>;
  /**
   * Optional: leave out of the replica's views the entries in these ranges (`Membership.excludedRanges`: a removed
   * device's entries after its removal), replacing the previous ranges; they stay stored. Resolves true if views
   * were rebuilt. Replicas without views (tests, relays that only store) may omit it.
   */
  setExcludedRanges?(ranges: readonly { feed: Uint8Array; after: bigint | null; upTo: bigint | null }[]): Promise<boolean>;
}
