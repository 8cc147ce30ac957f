/**
 * The manifest: which SSTables are live, and the LSM's counters (docs/formats/manifest.md).
 *
 * A manifest file is a header followed by records; each record holds one **edit**. The first edit is a snapshot
 * of the whole state; each later edit changes it (adds and deletes tables, advances the next file number, the last
 * sequence and the applied position). `CURRENT` names the manifest in use and carries a CRC-32C of that name.
 *
 * Atomicity: an edit is one `append` followed by `sync`; open replays the records. A fresh manifest (a snapshot of
 * the state) is written and synced before CURRENT is swapped to it by write-temp → sync → rename, so a crash leaves
 * CURRENT naming either the old manifest or the new one, both complete.
 *
 * Invariants:
 * 1. Records are written by single `append` calls, each followed by `sync` before the next is written. A crash can
 *    therefore damage only the last record, and (with the io durability model: unsynced writes survive as a prefix)
 *    only by cutting it short. A record cut short is a **torn tail**: open drops it and reports the bytes.
 *    Any other damage (a checksum failure in a complete record, a bad header, a record after a bad one) is
 *    corruption and open refuses with CorruptionError.
 * 2. The first record of a file is a snapshot edit and no other record is.
 * 3. An edit deletes only live tables and adds only new file numbers; every file number is below `nextFile`.
 * 4. Open appends to an existing manifest only if it ended exactly at a record boundary (no torn tail) and is
 *    below half of `manifestBytes`; it syncs the file first, so every record open read is durable before anything
 *    follows it. Otherwise it writes a new one. So a torn tail is never followed by data. (Until 2026-11-21 open
 *    always wrote a new manifest and swapped CURRENT: four file operations and two syncs, ~15-20 ms of a cold open
 *    on OPFS, where each is a round trip to the browser process.)
 *
 * Internal module: not exported from the package.
 */
import { CorruptionError, openIfExists, readFileIfExists, type FileHandle, type FileSystem } from '@hearth/io';
import { ByteSink, Reader, readU32, writeU32 } from './_bytes.js';
import { crc32cRaw } from './crc32c.js';
import {
  CURRENT,
  CURRENT_TMP,
  EDIT_VERSION,
  MANIFEST_HEADER_BYTES,
  MANIFEST_MAGIC,
  MANIFEST_PREFIX,
  MANIFEST_VERSION,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  TAG_ADD_TABLE,
  TAG_DELETE_TABLE,
  TAG_LAST_SEQUENCE,
  TAG_NEXT_FILE,
  TAG_POSITION,
  TAG_SNAPSHOT,
} from './_format.js';

/** One live SSTable as the manifest records it. Keys are user keys. */
export interface TableMeta {
  file: number;
  /** Sorted run the table belongs to; runs order by this number, newest (largest) first. */
  run: number;
  /** UCS level of the run when the table was written (informational; recomputed from sizes). */
  level: number;
  bytes: number;
  entries: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

/** One manifest edit. */
export interface Edit {
  snapshot: boolean;
  position?: Uint8Array;
  nextFile?: number;
  lastSequence?: number;
  deleted: number[];
  added: TableMeta[];
}

/** The state a manifest describes. */
export interface ManifestState {
  tables: Map<number, TableMeta>;
  nextFile: number;
  lastSequence: number;
  position: Uint8Array | undefined;
}

export function emptyState(): ManifestState {
  return { tables: new Map(), nextFile: 1, lastSequence: 0, position: undefined };
}

/** Encodes an edit payload (docs/formats/manifest.md, "Edit"). */
export function encodeEditV1(e: Edit): Uint8Array {
  const s = new ByteSink(64);
  s.u8(EDIT_VERSION);
  if (e.snapshot) s.u8(TAG_SNAPSHOT);
  if (e.position !== undefined) {
    s.u8(TAG_POSITION);
    s.lengthPrefixed(e.position);
  }
  if (e.nextFile !== undefined) {
    s.u8(TAG_NEXT_FILE);
    s.varint(e.nextFile);
  }
  if (e.lastSequence !== undefined) {
    s.u8(TAG_LAST_SEQUENCE);
    s.varint(e.lastSequence);
  }
  for (const f of e.deleted) {
    s.u8(TAG_DELETE_TABLE);
    s.varint(f);
  }
  for (const t of e.added) {
    s.u8(TAG_ADD_TABLE);
    s.varint(t.file);
    s.varint(t.run);
    s.varint(t.level);
    s.varint(t.bytes);
    s.varint(t.entries);
    s.lengthPrefixed(t.smallest);
    s.lengthPrefixed(t.largest);
  }
  return s.toBytes();
}

/**
 * Decodes an edit payload `buf[start, end)`; `base` is its absolute file offset (for errors).
 * @throws CorruptionError on an unknown version or tag, or a field that runs past the end.
 */
export function decodeEditV1(buf: Uint8Array, path: string, base = 0, start = 0, end = buf.length): Edit {
  const r = new Reader(buf, start, end, path, base - start);
  const version = r.u8();
  if (version !== EDIT_VERSION) r.fail(`unsupported manifest edit version ${version}`);
  const e: Edit = { snapshot: false, deleted: [], added: [] };
  let lastTag = 0;
  while (r.pos < end) {
    const tag = r.u8();
    // Fields appear in tag order (a canonical encoding: one byte string per edit).
    if (tag < lastTag || (tag === lastTag && tag !== TAG_DELETE_TABLE && tag !== TAG_ADD_TABLE)) {
      r.fail(`manifest edit field ${tag} out of order`);
    }
    lastTag = tag;
    switch (tag) {
      case TAG_SNAPSHOT:
        e.snapshot = true;
        break;
      case TAG_POSITION:
        e.position = r.lengthPrefixed();
        break;
      case TAG_NEXT_FILE:
        e.nextFile = r.varint();
        break;
      case TAG_LAST_SEQUENCE:
        e.lastSequence = r.varint();
        break;
      case TAG_DELETE_TABLE:
        e.deleted.push(r.varint());
        break;
      case TAG_ADD_TABLE:
        e.added.push({
          file: r.varint(),
          run: r.varint(),
          level: r.varint(),
          bytes: r.varint(),
          entries: r.varint(),
          smallest: r.lengthPrefixed(),
          largest: r.lengthPrefixed(),
        });
        break;
      default:
        r.pos--;
        r.fail(`unknown manifest edit field ${tag}`);
    }
  }
  return e;
}

/** Applies `e` to `state` in place, checking invariant 3. `at` locates the record for errors. */
export function applyEdit(state: ManifestState, e: Edit, path: string, at: number): void {
  const bad = (what: string): never => {
    throw new CorruptionError(`manifest edit ${what}`, { path, offset: at });
  };
  if (e.snapshot) {
    state.tables.clear();
  }
  if (e.position !== undefined) state.position = e.position;
  if (e.nextFile !== undefined) {
    if (e.nextFile < state.nextFile) bad(`moves the next file number back (${state.nextFile} -> ${e.nextFile})`);
    state.nextFile = e.nextFile;
  }
  if (e.lastSequence !== undefined) {
    if (e.lastSequence < state.lastSequence) bad('moves the last sequence back');
    state.lastSequence = e.lastSequence;
  }
  for (const f of e.deleted) {
    if (!state.tables.delete(f)) bad(`deletes table ${f}, which is not live`);
  }
  for (const t of e.added) {
    if (state.tables.has(t.file)) bad(`adds table ${t.file} twice`);
    if (t.file >= state.nextFile) bad(`adds table ${t.file} at or past the next file number ${state.nextFile}`);
    state.tables.set(t.file, t);
  }
}

/** A snapshot edit describing `state` whole. */
export function snapshotEdit(state: ManifestState): Edit {
  return {
    snapshot: true,
    position: state.position,
    nextFile: state.nextFile,
    lastSequence: state.lastSequence,
    deleted: [],
    added: [...state.tables.values()].sort((a, b) => a.file - b.file),
  };
}

/** Frames an edit payload as a record: length, CRC-32C of the length, CRC-32C of the payload, payload. */
export function encodeRecordV1(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  writeU32(out, 0, payload.length);
  writeU32(out, 4, crc32cRaw(out, 0, 4, 0));
  writeU32(out, 8, crc32cRaw(payload, 0, payload.length, 0));
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

export function encodeManifestHeaderV1(): Uint8Array {
  const h = new Uint8Array(MANIFEST_HEADER_BYTES);
  h.set(MANIFEST_MAGIC, 0);
  writeU32(h, 8, MANIFEST_VERSION);
  writeU32(h, 12, crc32cRaw(h, 0, 12, 0));
  return h;
}

/** Result of reading a manifest file. */
export interface ManifestRead {
  state: ManifestState;
  edits: number;
  /** Bytes of a torn last record that were dropped (invariant 1); 0 if none. */
  tornBytes: number;
  /** Offset where the valid records end. */
  validBytes: number;
}

/**
 * Parses a whole manifest file and replays its edits.
 * @throws CorruptionError (with the offset) on a bad header or any damage other than a torn tail (invariant 1).
 */
export function readManifestV1(bytes: Uint8Array, path: string): ManifestRead {
  if (bytes.length < MANIFEST_HEADER_BYTES) throw new CorruptionError('manifest shorter than its header', { path, offset: 0 });
  if (crc32cRaw(bytes, 0, 12, 0) !== readU32(bytes, 12)) throw new CorruptionError('manifest header checksum mismatch', { path, offset: 0 });
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== MANIFEST_MAGIC[i]) throw new CorruptionError('bad manifest magic', { path, offset: 0 });
  }
  const version = readU32(bytes, 8);
  if (version !== MANIFEST_VERSION) throw new CorruptionError(`unsupported manifest version ${version}`, { path, offset: 8 });
  const state = emptyState();
  let pos = MANIFEST_HEADER_BYTES;
  let edits = 0;
  let torn = 0;
  while (pos < bytes.length) {
    const remaining = bytes.length - pos;
    if (remaining < RECORD_HEADER_BYTES) {
      torn = remaining; // a record header cut short
      break;
    }
    const len = readU32(bytes, pos);
    if (crc32cRaw(bytes, pos, pos + 4, 0) !== readU32(bytes, pos + 4)) {
      throw new CorruptionError('manifest record length checksum mismatch', { path, offset: pos });
    }
    if (len > MAX_RECORD_BYTES) throw new CorruptionError(`manifest record too large (${len} bytes)`, { path, offset: pos });
    const start = pos + RECORD_HEADER_BYTES;
    if (start + len > bytes.length) {
      torn = remaining; // a record cut short
      break;
    }
    if (crc32cRaw(bytes, start, start + len, 0) !== readU32(bytes, pos + 8)) {
      throw new CorruptionError('manifest record checksum mismatch', { path, offset: pos });
    }
    const e = decodeEditV1(bytes, path, start, start, start + len);
    if (e.snapshot !== (edits === 0)) {
      throw new CorruptionError(edits === 0 ? 'manifest does not start with a snapshot' : 'snapshot edit after the first record', {
        path,
        offset: pos,
      });
    }
    applyEdit(state, e, path, pos);
    edits++;
    pos = start + len;
  }
  if (edits === 0) throw new CorruptionError('manifest holds no complete snapshot record', { path, offset: MANIFEST_HEADER_BYTES });
  return { state, edits, tornBytes: torn, validBytes: pos };
}

/** CURRENT's content: the manifest's name, a newline, the CRC-32C of the name as 8 lowercase hex digits, newline. */
export function encodeCurrentV1(manifestName: string): Uint8Array {
  const name = new TextEncoder().encode(manifestName);
  const crc = crc32cRaw(name, 0, name.length, 0).toString(16).padStart(8, '0');
  return new TextEncoder().encode(`${manifestName}\n${crc}\n`);
}

/** @throws CorruptionError unless `bytes` is a well-formed CURRENT naming a manifest. */
export function decodeCurrentV1(bytes: Uint8Array, path: string): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const m = /^(MANIFEST-[0-9]{6,})\n([0-9a-f]{8})\n$/.exec(text);
  if (!m) throw new CorruptionError('CURRENT is malformed', { path, offset: 0 });
  const name = new TextEncoder().encode(m[1]);
  if (crc32cRaw(name, 0, name.length, 0).toString(16).padStart(8, '0') !== m[2]) {
    throw new CorruptionError('CURRENT checksum mismatch', { path, offset: 0 });
  }
  return m[1];
}

export function fileName(n: number, kind: 'manifest' | 'table'): string {
  const d = String(n).padStart(6, '0');
  return kind === 'manifest' ? `${MANIFEST_PREFIX}${d}` : `${d}.sst`;
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Appends edits to one manifest file (invariant 1). */
export class ManifestWriter {
  edits = 0;
  bytes = 0;
  private constructor(
    readonly name: string,
    private handle: FileHandle,
  ) {}

  /**
   * Writes a new manifest holding a snapshot of `state`, syncs it, then points CURRENT at it
   * (write CURRENT.tmp, sync, rename). Returns the writer for further edits.
   */
  static async create(fs: FileSystem, dir: string, fileNumber: number, state: ManifestState): Promise<ManifestWriter> {
    const name = fileName(fileNumber, 'manifest');
    const handle = await fs.open(join(dir, name), { exclusive: true });
    const w = new ManifestWriter(name, handle);
    try {
      const header = encodeManifestHeaderV1();
      const rec = encodeRecordV1(encodeEditV1(snapshotEdit(state)));
      const first = new Uint8Array(header.length + rec.length);
      first.set(header);
      first.set(rec, header.length);
      handle.append(first);
      await handle.sync();
      w.edits = 1;
      w.bytes = first.length;
      const tmp = await fs.open(join(dir, CURRENT_TMP), { create: true, truncate: true });
      try {
        tmp.append(encodeCurrentV1(name));
        await tmp.sync();
      } finally {
        await tmp.close();
      }
      await fs.rename(join(dir, CURRENT_TMP), join(dir, CURRENT));
    } catch (e) {
      await handle.close().catch(() => {});
      throw e;
    }
    return w;
  }

  /**
   * Continues the manifest that {@link readCurrentManifest} read whole through `handle` and found to end at a
   * record boundary (`validBytes` = its size, invariant 4): syncs it (the records open replayed become durable
   * before any record follows them) and returns a writer appending after them, which owns `handle`.
   */
  static async reopen(name: string, handle: FileHandle, validBytes: number, edits: number): Promise<ManifestWriter> {
    await handle.sync();
    const w = new ManifestWriter(name, handle);
    w.edits = edits;
    w.bytes = validBytes;
    return w;
  }

  /** Appends one edit and syncs it. The edit is durable when this resolves. */
  async append(e: Edit): Promise<void> {
    const rec = encodeRecordV1(encodeEditV1(e));
    this.handle.append(rec);
    await this.handle.sync();
    this.edits++;
    this.bytes += rec.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Reads CURRENT and the manifest it names.
 * @returns undefined if CURRENT does not exist; else the manifest's name, what it holds, and its handle, still
 *   open: the caller continues the manifest with it ({@link ManifestWriter.reopen}) or closes it.
 */
export async function readCurrentManifest(
  fs: FileSystem,
  dir: string,
): Promise<{ name: string; read: ManifestRead; handle: FileHandle } | undefined> {
  const cpath = join(dir, CURRENT);
  const current = await readFileIfExists(fs, cpath);
  if (current === undefined) return undefined;
  const name = decodeCurrentV1(current, cpath);
  const mpath = join(dir, name);
  const handle = await openIfExists(fs, mpath);
  if (handle === undefined) throw new CorruptionError(`CURRENT names ${name}, which is missing`, { path: cpath });
  try {
    return { name, read: readManifestV1(handle.read(0, handle.size()), mpath), handle };
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
}

