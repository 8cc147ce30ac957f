/**
 * The index catalog file V1: the definitions of a database's secondary indexes (declared with `createIndex` or
 * proposed by the adaptive policy). It lives next to the LSM (`<name>/indexes`), not inside it, so that
 * `rebuild()` and `Database.open({ rebuild: true })`, which drop the LSM, keep the definitions and rebuild the
 * entries. Spec: `docs/formats/db-layout.md` ("Index catalog file").
 *
 * Invariants:
 * 1. The file is complete whenever it exists: written whole under `indexes.tmp`, synced, renamed into place.
 * 2. Index numbers are unique and below `next`; a number is never reused (entries of a dropped index that a crash
 *    left behind can be recognised and swept).
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { crc32c } from '@hearth/lsm';
import { INDEX_CATALOG_MAGIC, INDEX_CATALOG_V1 } from './constants.js';

/** One index definition as stored. Times in ms since the epoch. */
export interface IndexRecord {
  /** The index number: its entries live under `0x02 | number u32be`. 1..2^32-1. */
  readonly number: number;
  readonly collection: string;
  /** Paths as segment arrays. */
  readonly fields: readonly (readonly string[])[];
  readonly multiEntry: boolean;
  /** Optional name given at creation (unique). */
  readonly name?: string;
  /** Who asked for it. */
  readonly origin: 'user' | 'adaptive';
  /** Why it exists (the adaptive policy's reason, or "createIndex"). */
  readonly reason: string;
  /** When it was created (ms since the epoch). */
  readonly createdAt: number;
}

/** The catalog: the next number to assign and the definitions, ascending by number. */
export interface IndexCatalog {
  readonly next: number;
  readonly indexes: readonly IndexRecord[];
}

const HEADER = 13;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Encodes the catalog: magic (8), version (1), JSON length u32be (4), JSON (UTF-8), CRC-32C u32be of all before. */
export function encodeIndexCatalogV1(catalog: IndexCatalog): Uint8Array {
  const json = utf8.encode(
    JSON.stringify({
      next: catalog.next,
      indexes: catalog.indexes.map((r) => ({
        number: r.number,
        collection: r.collection,
        fields: r.fields,
        multiEntry: r.multiEntry,
        ...(r.name !== undefined ? { name: r.name } : {}),
        origin: r.origin,
        reason: r.reason,
        createdAt: r.createdAt,
      })),
    }),
  );
  const out = new Uint8Array(HEADER + json.length + 4);
  out.set(INDEX_CATALOG_MAGIC, 0);
  out[8] = INDEX_CATALOG_V1;
  const view = new DataView(out.buffer);
  view.setUint32(9, json.length);
  out.set(json, HEADER);
  view.setUint32(HEADER + json.length, crc32c(out.subarray(0, HEADER + json.length)));
  return out;
}

const isU32 = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;

/**
 * Decodes the catalog V1.
 * @throws CorruptionError `HEARTH_CORRUPTION` for a wrong magic, version, length or checksum, JSON that does not
 *   parse, or definitions of the wrong shape (numbers not unique or not below `next`).
 */
export function decodeIndexCatalogV1(bytes: Uint8Array, path = 'indexes'): IndexCatalog {
  const bad = (why: string): never => {
    throw new CorruptionError(`index catalog refused: ${why}. Delete the file to forget the index definitions (documents are not affected)`, { path });
  };
  if (bytes.length < HEADER + 4) bad(`${bytes.length} bytes is too short`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== INDEX_CATALOG_MAGIC[i]) bad('bad magic');
  if (bytes[8] !== INDEX_CATALOG_V1) bad(`unknown version ${bytes[8]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(9);
  if (bytes.length !== HEADER + len + 4) bad(`length ${len} does not match the file size ${bytes.length}`);
  if (view.getUint32(HEADER + len) !== crc32c(bytes.subarray(0, HEADER + len))) bad('checksum mismatch');
  let raw: unknown;
  try {
    raw = JSON.parse(utf8Strict.decode(bytes.subarray(HEADER, HEADER + len)));
  } catch (e) {
    return bad(`body is not JSON (${(e as Error).message})`);
  }
  const o = raw as { next?: unknown; indexes?: unknown };
  if (typeof o !== 'object' || o === null || !isU32(o.next) || !Array.isArray(o.indexes)) bad('body is not {next, indexes}');
  const seen = new Set<number>();
  const names = new Set<string>();
  const indexes: IndexRecord[] = [];
  for (const x of o.indexes as unknown[]) {
    const r = x as Record<string, unknown>;
    if (typeof r !== 'object' || r === null) bad('an index is not an object');
    if (!isU32(r.number) || r.number >= (o.next as number) || seen.has(r.number)) bad(`bad or repeated index number ${String(r.number)}`);
    if (typeof r.collection !== 'string' || r.collection === '') bad('bad collection');
    if (!Array.isArray(r.fields) || r.fields.length === 0 || !r.fields.every((f) => Array.isArray(f) && f.length > 0 && f.every((s) => typeof s === 'string'))) bad('bad fields');
    if (typeof r.multiEntry !== 'boolean' || (r.multiEntry && (r.fields as unknown[]).length !== 1)) bad('bad multiEntry');
    if (r.name !== undefined && (typeof r.name !== 'string' || names.has(r.name))) bad('bad or repeated name');
    if (r.origin !== 'user' && r.origin !== 'adaptive') bad('bad origin');
    if (typeof r.reason !== 'string' || typeof r.createdAt !== 'number' || !Number.isFinite(r.createdAt)) bad('bad reason or createdAt');
    seen.add(r.number as number);
    if (r.name !== undefined) names.add(r.name as string);
    indexes.push({
      number: r.number as number,
      collection: r.collection as string,
      fields: r.fields as string[][],
      multiEntry: r.multiEntry as boolean,
      ...(r.name !== undefined ? { name: r.name as string } : {}),
      origin: r.origin as 'user' | 'adaptive',
      reason: r.reason as string,
      createdAt: r.createdAt as number,
    });
  }
  indexes.sort((a, b) => a.number - b.number);
  return { next: o.next as number, indexes };
}
