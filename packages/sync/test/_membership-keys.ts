/** Shared by the membership tests: made-up feed keys, HLC stamps by millisecond, and membership records. */
import { packHlc } from '@hearth/crdt';
import type { MembershipRecord } from '../src/index.js';

/** A made-up 32-byte feed key: `n` repeated. */
export const key = (n: number): Uint8Array => new Uint8Array(32).fill(n);
/** The HLC of wall-clock time 1,000,000 + `ms` milliseconds, counter 0. */
export const t = (ms: number): bigint => packHlc(1_000_000 + ms, 0);
export const ROOT = key(1);
export const A = key(2);
export const B = key(3);
export const C = key(4);
/** A membership record by `author` about `subject` at `t(ms)`. */
export const rec = (author: Uint8Array, subject: Uint8Array, ms: number, action: 'admit' | 'remove' = 'admit', role: 'admin' | 'member' = 'member'): MembershipRecord => ({
  author,
  subject,
  at: t(ms),
  action,
  role,
});
