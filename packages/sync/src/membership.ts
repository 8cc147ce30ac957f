/**
 * Membership of a space: which device keys may write entries that replicas store and serve. Rules: `docs/sync.md`,
 * "Membership". This module is pure: it computes a {@link Membership} view from the set of membership records a
 * replica holds; where the records come from (documents of the `_members` collection) is `db-replica.ts`.
 *
 * A record is written by an admin into its own feed: `(subject, author, at, action, role)`, `at` being the record's
 * HLC (its effective time). Definitions (also in `docs/sync.md`):
 * - The **root** is the space id (the creator's public key). It is an admin at every time; records about it are
 *   refused.
 * - Records are ordered by `(at, author, subject, action)` (bytes ascending, `admit` before `remove`).
 * - A record is **valid** iff its author is the root, or the latest valid record about the author with
 *   `at' < at` admits it with role `admin`. (Well-founded: validity of a record depends only on strictly earlier
 *   records, so it is computed in one pass in order; records with equal `at` are judged against the state before
 *   all of them.)
 * - An entry of feed `D` with HLC `h` is **accepted** iff `D` is the root, or, among the valid records about `D`,
 *   the latest one with `at < h` is an admission, or there is none with `at < h` and the earliest is an
 *   admission (entries a device wrote before it was admitted are covered by the admission). It is **pending** iff
 *   there is no valid record about `D` (its admission may not have arrived yet), and **removed** otherwise.
 *
 * Invariants:
 * 1. The view is a function of the set of records (not of their order of arrival): equal sets give equal answers.
 * 2. Adding a record never changes the verdict of an entry older than every record added (hlc <= their `at`)
 *    from accepted to removed, except through an admission's earliest-record grace (documented in docs/sync.md).
 *
 * @packageDocumentation
 */
import { feedIdToHex } from '@hearth/log';

/** Role of an admitted device. Admins may write membership records; members may not. */
export type Role = 'admin' | 'member';

/** One membership record, as authenticated at ingest (author = the entry's feed, `at` within the entry's stamp). */
export interface MembershipRecord {
  /** The device the record is about (its feed id). */
  readonly subject: Uint8Array;
  /** The admin that wrote it (its feed id). */
  readonly author: Uint8Array;
  /** Effective time: an HLC (`docs/formats/hlc.md`). */
  readonly at: bigint;
  readonly action: 'admit' | 'remove';
  /** The role an admission grants (`member` for removals). */
  readonly role: Role;
}

/** Verdict on an entry of a feed at an HLC. */
export type EntryVerdict = 'accept' | 'pending' | 'removed';

/** Whether a feed is an admin at an HLC: yes, no, or unknown (no valid record about it yet). */
export type AdminVerdict = 'yes' | 'no' | 'unknown';

/** Current standing of one device. */
export interface MemberInfo {
  readonly feed: Uint8Array;
  /** `admin` or `member` while admitted; the role of the last admission if removed. */
  readonly role: Role;
  /** Whether the latest valid record about it is a removal. */
  readonly removed: boolean;
  /** `at` of the latest valid record about it (0 for the root). */
  readonly since: bigint;
}

interface Judged {
  readonly rec: MembershipRecord;
  readonly author: string;
  readonly subject: string;
}

function compareRecords(a: Judged, b: Judged): number {
  if (a.rec.at !== b.rec.at) return a.rec.at < b.rec.at ? -1 : 1;
  if (a.author !== b.author) return a.author < b.author ? -1 : 1;
  if (a.subject !== b.subject) return a.subject < b.subject ? -1 : 1;
  if (a.rec.action !== b.rec.action) return a.rec.action === 'admit' ? -1 : 1;
  if (a.rec.role !== b.rec.role) return a.rec.role === 'admin' ? -1 : 1;
  return 0;
}

/** A membership view (see the file header for the rules). Immutable. */
export class Membership {
  /** The root admin (= the space id), hex. */
  readonly rootHex: string;
  /** Valid records per subject hex, ascending by `at` (then author). */
  private readonly valid = new Map<string, MembershipRecord[]>();
  /** Number of records given, and of those found valid. */
  readonly recordCount: number;
  readonly validCount: number;
  private fp: string | null = null;

  /**
   * @param root the space id (root admin's feed id), 32 bytes.
   * @param records every membership record held, in any order, duplicates allowed.
   * @throws TypeError if `root` is not 32 bytes.
   */
  constructor(
    readonly root: Uint8Array,
    records: readonly MembershipRecord[],
  ) {
    if (!(root instanceof Uint8Array) || root.length !== 32) throw new TypeError('"root" expected Uint8Array of length 32');
    this.rootHex = feedIdToHex(root);
    const judged: Judged[] = records
      .map((rec) => ({ rec, author: feedIdToHex(rec.author), subject: feedIdToHex(rec.subject) }))
      .filter((j) => j.subject !== this.rootHex)
      .sort(compareRecords);
    let n = 0;
    let i = 0;
    while (i < judged.length) {
      let j = i;
      while (j < judged.length && judged[j].rec.at === judged[i].rec.at) j++;
      // Judge the group against the state before it, then add its valid records.
      const accepted = judged.slice(i, j).filter((x, k, group) => {
        if (k > 0 && compareRecords(group[k - 1], x) === 0) return false; // exact duplicate
        return x.author === this.rootHex || this.adminBefore(x.author, x.rec.at) === 'yes';
      });
      for (const x of accepted) {
        let list = this.valid.get(x.subject);
        if (list === undefined) this.valid.set(x.subject, (list = []));
        list.push(x.rec);
        n++;
      }
      i = j;
    }
    this.recordCount = records.length;
    this.validCount = n;
  }

  /** The latest valid record about `hex` with `at < h`, or undefined; `none` if there is no valid record at all. */
  private latestBefore(hex: string, h: bigint): MembershipRecord | undefined | 'none' {
    const list = this.valid.get(hex);
    if (list === undefined || list.length === 0) return 'none';
    let found: MembershipRecord | undefined;
    for (const r of list) {
      if (r.at < h) found = r;
      else break;
    }
    return found;
  }

  private adminBefore(hex: string, at: bigint): AdminVerdict {
    if (hex === this.rootHex) return 'yes';
    const r = this.latestBefore(hex, at);
    if (r === 'none') return 'unknown';
    return r !== undefined && r.action === 'admit' && r.role === 'admin' ? 'yes' : 'no';
  }

  /** Whether `feed` is an admin at HLC `at` (records strictly before `at` decide; the root always is). */
  adminAt(feed: Uint8Array, at: bigint): AdminVerdict {
    return this.adminBefore(feedIdToHex(feed), at);
  }

  /** The verdict on an entry of `feed` with HLC `hlc` (see the file header). */
  entryVerdict(feed: Uint8Array, hlc: bigint): EntryVerdict {
    return this.entryVerdictOfHex(feedIdToHex(feed), hlc);
  }

  /** {@link Membership.entryVerdict} for a feed given as its lowercase hex id (loops over one feed's entries). */
  entryVerdictOfHex(hex: string, hlc: bigint): EntryVerdict {
    if (hex === this.rootHex) return 'accept';
    const r = this.latestBefore(hex, hlc);
    if (r === 'none') return 'pending';
    if (r === undefined) return this.valid.get(hex)![0].action === 'admit' ? 'accept' : 'removed';
    return r.action === 'admit' ? 'accept' : 'removed';
  }

  /** Current standing of `feed` (its latest valid record), or null if no valid record names it (and it is not the root). */
  info(feed: Uint8Array): MemberInfo | null {
    const hex = feedIdToHex(feed);
    if (hex === this.rootHex) return { feed: this.root, role: 'admin', removed: false, since: 0n };
    const list = this.valid.get(hex);
    if (list === undefined) return null;
    const last = list[list.length - 1];
    let role: Role = last.role;
    if (last.action === 'remove') {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].action === 'admit') {
          role = list[i].role;
          break;
        }
      }
    }
    return { feed: last.subject, role, removed: last.action === 'remove', since: last.at };
  }

  /** Whether `feed` is currently admitted (the root, or its latest valid record is an admission). */
  isMember(feed: Uint8Array): boolean {
    const i = this.info(feed);
    return i !== null && !i.removed;
  }

  /** Whether `feed` is currently an admin. */
  isAdmin(feed: Uint8Array): boolean {
    const i = this.info(feed);
    return i !== null && !i.removed && i.role === 'admin';
  }

  /** Every device with a valid record (root first, then ascending by feed hex), with its current standing. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [this.info(this.root)!];
    for (const hex of [...this.valid.keys()].sort()) out.push(this.info(this.valid.get(hex)![0].subject)!);
    return out;
  }

  /**
   * The HLC ranges in which each device's entries are refused as removed (`entryVerdict` = `removed`), for
   * `Database.setExcludedRanges`: an entry of `feed` with HLC h is refused iff some range of that feed has
   * (`after` null or `after < h`) and (`upTo` null or `h <= upTo`). Ascending by feed hex, then by time; the root
   * has none. Ranges may touch (the Database merges them).
   */
  excludedRanges(): { feed: Uint8Array; after: bigint | null; upTo: bigint | null }[] {
    const out: { feed: Uint8Array; after: bigint | null; upTo: bigint | null }[] = [];
    for (const hex of [...this.valid.keys()].sort()) {
      const list = this.valid.get(hex)!;
      const feed = list[0].subject;
      // Before or at the first record's time the first record decides (grace); after a time, the last record at it.
      if (list[0].action === 'remove') out.push({ feed, after: null, upTo: list[0].at });
      for (let i = 0; i < list.length; i++) {
        if (i + 1 < list.length && list[i + 1].at === list[i].at) continue; // not the last at this time
        if (list[i].action !== 'remove') continue;
        let next: bigint | null = null;
        for (let j = i + 1; j < list.length; j++) {
          if (list[j].at !== list[i].at) {
            next = list[j].at;
            break;
          }
        }
        out.push({ feed, after: list[i].at, upTo: next });
      }
    }
    return out;
  }

  /** A string that is equal for equal views (valid records, in order): for change detection. */
  fingerprint(): string {
    if (this.fp !== null) return this.fp;
    const parts: string[] = [];
    for (const hex of [...this.valid.keys()].sort()) {
      for (const r of this.valid.get(hex)!) parts.push(`${hex}:${feedIdToHex(r.author)}:${r.at}:${r.action}:${r.role}`);
    }
    this.fp = parts.join('|');
    return this.fp;
  }
}
