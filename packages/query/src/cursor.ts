/**
 * Pagination cursors: an opaque string naming a position in a query's order (the sort key values and the id of
 * the last row returned). A page asks for rows strictly after that position, so rows inserted or deleted
 * elsewhere between pages neither repeat nor skip the rows that stayed (it is a position, not an offset).
 *
 * Encoding (version 1, see `docs/query.md`): base64url (no padding) of
 * `[CURSOR_VERSION] ++ encodeKeyV1([fingerprint, v1, ..., vk, id])`, where `fingerprint` is the FNV-1a 32-bit
 * hash of the target collection and the normalized sort keys, so that a cursor from a query with another order
 * is refused instead of silently mispositioning.
 *
 * @packageDocumentation
 */
import { CURSOR_VERSION } from './constants.js';
import { QueryError, QueryErrorCode } from './errors.js';
import { decodeKeyV1, encodeKeyV1 } from './keys.js';
import type { NSort } from './_query.js';
import type { Value } from './types.js';

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The fingerprint a cursor carries for a (collection, sort) pair. */
export function orderFingerprint(collection: string, sort: readonly NSort[]): number {
  return fnv1a(JSON.stringify([collection, sort.map((s) => [s.path, s.dir])]));
}

function toBase64Url(b: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < b.length; i++) bin += String.fromCharCode(b[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes a position (sort key values, then the id) of a query's order as a cursor. */
export function encodeCursorV1(collection: string, sort: readonly NSort[], position: readonly (Value | undefined)[]): string {
  const body = encodeKeyV1([orderFingerprint(collection, sort), ...position]);
  const out = new Uint8Array(body.length + 1);
  out[0] = CURSOR_VERSION;
  out.set(body, 1);
  return toBase64Url(out);
}

/**
 * Decodes a cursor for a query with this collection and sort.
 * @returns the position: one value per sort key, then the id.
 * @throws QueryError `HEARTH_INVALID_CURSOR` if it is malformed, of another version, or from another order.
 */
export function decodeCursorV1(cursor: string, collection: string, sort: readonly NSort[]): (Value | undefined)[] {
  const bad = (why: string, cause?: unknown): never => {
    throw new QueryError(QueryErrorCode.INVALID_CURSOR, `cursor refused: ${why}`, { cause });
  };
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(cursor);
  } catch (e) {
    return bad('not base64url', e);
  }
  if (bytes.length === 0 || bytes[0] !== CURSOR_VERSION) bad(`unknown version ${bytes[0]}`);
  let values: (Value | undefined)[];
  try {
    values = decodeKeyV1(bytes.subarray(1));
  } catch (e) {
    return bad('malformed body', e);
  }
  if (values.length !== sort.length + 2) bad(`expected ${sort.length + 2} values, got ${values.length}`);
  if (values[0] !== orderFingerprint(collection, sort)) bad('it belongs to a query with another collection or sort');
  if (typeof values[values.length - 1] !== 'string') bad('the last value is not a document id');
  return values.slice(1);
}
