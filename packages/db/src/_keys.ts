/**
 * The LSM keyspace (spec: `docs/formats/db-layout.md`) and the checks on collection names, ids and field names.
 * Internal.
 *
 * Invariants:
 * 1. A document key is `0x01 | utf8(collection) | 0x00 | utf8(id)`; collection names contain no `0x00`, so the
 *    first `0x00` after the prefix ends the collection and the key decodes uniquely.
 * 2. All documents of one collection lie in `[0x01 | c | 0x00, 0x01 | c | 0x01)`, in ascending order of the UTF-8
 *    bytes of their ids (= code point order of the ids).
 */
import { KEY_SEPARATOR, MAX_COLLECTION_BYTES, MAX_ID_BYTES, PREFIX_DOC } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';
import { isWellFormed } from './values.js';
import { alloc } from './_slab.js';

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function invalidKey(message: string, collection?: string, id?: string): DbError {
  return new DbError(DbErrorCode.INVALID_KEY, message, { collection, id });
}

/**
 * Checks a collection name: a string of 1..128 UTF-8 bytes, no NUL character, no lone surrogate.
 * Returns its UTF-8 bytes.
 * @throws DbError `HEARTH_INVALID_KEY`.
 */
export function checkCollection(name: unknown): Uint8Array {
  if (typeof name !== 'string') throw invalidKey(`collection name must be a string, got ${typeof name}`);
  if (name.length === 0) throw invalidKey('collection name is empty');
  if (name.includes('\u0000')) throw invalidKey('collection name contains a NUL character');
  if (!isWellFormed(name)) throw invalidKey('collection name has a lone surrogate');
  const bytes = utf8.encode(name);
  if (bytes.length > MAX_COLLECTION_BYTES) throw invalidKey(`collection name of ${bytes.length} UTF-8 bytes exceeds ${MAX_COLLECTION_BYTES}`);
  return bytes;
}

/**
 * Checks a document id: a string of 1..1024 UTF-8 bytes without a lone surrogate (any other character,
 * NUL included, is allowed).
 * @throws DbError `HEARTH_INVALID_KEY`.
 */
export function checkId(id: unknown, collection?: string): void {
  if (typeof id !== 'string') throw invalidKey(`document id must be a string, got ${typeof id}`, collection);
  if (id.length === 0) throw invalidKey('document id is empty', collection);
  if (!isWellFormed(id)) throw invalidKey('document id has a lone surrogate', collection);
  if (id.length * 3 > MAX_ID_BYTES) {
    const n = utf8.encode(id).length;
    if (n > MAX_ID_BYTES) throw invalidKey(`document id of ${n} UTF-8 bytes exceeds ${MAX_ID_BYTES}`, collection);
  }
}

/** `0x01 | collection | 0x00`: the start of a collection's documents. */
export function collectionStart(collection: Uint8Array): Uint8Array {
  const out = new Uint8Array(collection.length + 2);
  out[0] = PREFIX_DOC;
  out.set(collection, 1);
  out[collection.length + 1] = KEY_SEPARATOR;
  return out;
}

/** `0x01 | collection | 0x01`: just past a collection's documents (exclusive upper bound). */
export function collectionEnd(collection: Uint8Array): Uint8Array {
  const out = collectionStart(collection);
  out[out.length - 1] = KEY_SEPARATOR + 1;
  return out;
}

/** The key of a document. REQUIRES: `collection` checked by {@link checkCollection}, `id` by {@link checkId}. */
export function docKey(collection: Uint8Array, id: string): Uint8Array {
  const base = collection.length + 2;
  let ascii = true;
  for (let i = 0; i < id.length; i++) {
    if (id.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const out = alloc(base + id.length); // a slab view: documents keys are made once per write and per read
    out[0] = PREFIX_DOC;
    for (let i = 0; i < collection.length; i++) out[1 + i] = collection[i];
    out[base - 1] = KEY_SEPARATOR;
    for (let i = 0; i < id.length; i++) out[base + i] = id.charCodeAt(i);
    return out;
  }
  const out = new Uint8Array(base + id.length * 3);
  out[0] = PREFIX_DOC;
  out.set(collection, 1);
  out[base - 1] = KEY_SEPARATOR;
  const { written } = utf8.encodeInto(id, out.subarray(base));
  return out.slice(0, base + written!);
}

/** Splits a document key into collection and id. Returns null if `key` is not a well-formed document key. */
export function parseDocKey(key: Uint8Array): { collection: string; id: string } | null {
  if (key.length < 4 || key[0] !== PREFIX_DOC) return null;
  const sep = key.indexOf(KEY_SEPARATOR, 1);
  if (sep < 2 || sep === key.length - 1) return null;
  try {
    return { collection: utf8Strict.decode(key.subarray(1, sep)), id: utf8Strict.decode(key.subarray(sep + 1)) };
  } catch {
    return null;
  }
}

/** The id of a document key known to belong to a collection of `collectionBytes` UTF-8 bytes. */
export function idOfKey(key: Uint8Array, collectionBytes: number): string {
  return utf8Strict.decode(key.subarray(collectionBytes + 2));
}

/** A field name is any well-formed string except `_id` (the query engine's virtual id field). */
export function fieldNameProblem(name: string): string | null {
  if (name === '_id') return 'field name "_id" is reserved (the document id is not a field)';
  if (!isWellFormed(name)) return `field name ${JSON.stringify(name)} has a lone surrogate`;
  return null;
}
