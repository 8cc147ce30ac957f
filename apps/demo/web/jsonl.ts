/**
 * Import and export of notes as JSON Lines (one JSON object per line, UTF-8; https://jsonlines.org).
 *
 * One line:
 * ```json
 * {"id":"optional","title":"Text","body":"Markdown or plain text","tags":["a","b"],"vector":[0.1,-0.2],"created":1700000000000,"updated":1700000000000}
 * ```
 * - `title` or `body` is required (both strings); `tags` an array of strings; `vector` an array of 1 to 4096
 *   finite numbers (stored as float32); `id` a string of 1 to 200 characters (a note with that id is replaced);
 *   `created`/`updated` ms since the epoch. Other fields are refused, so a typo does not lose data silently.
 * - Blank lines are ignored. A line that breaks these rules is refused with its line number and reason
 *   ({@link ImportError}); the other lines are imported. Export writes exactly this format (without the stored
 *   embedding, which an import recomputes), so an export imports back to the same notes.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';
import { MAX_TITLE, newNoteId, type NoteInput, type Note } from './notes.js';

/** Error code of a refused import line (`docs/errors.md`). */
export const INVALID_IMPORT = 'HEARTH_INVALID_IMPORT';
/** Longest vector accepted on import. */
export const MAX_VECTOR_DIM = 4096;
/** Longest line accepted, in UTF-16 code units (16 MiB, the log's entry limit, is far above any note). */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;

/** A refused import line: `line` is 1-based. */
export class ImportError extends HearthError {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(INVALID_IMPORT, `line ${line}: ${message}`);
  }
}

/** A parsed line. */
export interface ImportRecord extends NoteInput {
  id: string;
  created?: number;
  updated?: number;
}

const FIELDS = new Set(['id', 'title', 'body', 'tags', 'vector', 'created', 'updated']);

/**
 * Parses one non-blank line. @throws ImportError with `line` for anything outside the format.
 */
export function parseImportLine(text: string, line: number): ImportRecord {
  if (text.length > MAX_LINE_CHARS) throw new ImportError(line, `longer than ${MAX_LINE_CHARS} characters`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ImportError(line, `not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ImportError(line, 'expected a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new ImportError(line, `unknown field ${JSON.stringify(k)}`);
  const str = (k: string): string | undefined => {
    const x = o[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'string') throw new ImportError(line, `"${k}" expected a string, got ${typeof x}`);
    return x;
  };
  const title = str('title');
  const body = str('body');
  if (title === undefined && body === undefined) throw new ImportError(line, 'needs a "title" or a "body"');
  const id = str('id');
  if (id !== undefined && (id.length < 1 || id.length > 200)) throw new ImportError(line, '"id" expected 1 to 200 characters');
  let tags: string[] = [];
  if (o.tags !== undefined && o.tags !== null) {
    if (!Array.isArray(o.tags) || !o.tags.every((t) => typeof t === 'string')) throw new ImportError(line, '"tags" expected an array of strings');
    tags = o.tags as string[];
  }
  let vector: Float32Array | undefined;
  if (o.vector !== undefined && o.vector !== null) {
    const a = o.vector;
    if (!Array.isArray(a) || a.length < 1 || a.length > MAX_VECTOR_DIM) throw new ImportError(line, `"vector" expected an array of 1 to ${MAX_VECTOR_DIM} numbers`);
    vector = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new ImportError(line, `"vector"[${i}] is not a finite number`);
      vector[i] = x;
    }
  }
  const time = (k: string): number | undefined => {
    const x = o[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new ImportError(line, `"${k}" expected ms since the epoch`);
    return x;
  };
  const bodyText = body ?? '';
  const titleText = (title ?? bodyText.split('\n', 1)[0]).slice(0, MAX_TITLE);
  const rec: ImportRecord = { id: id ?? newNoteId(), title: titleText, body: bodyText, tags };
  if (vector !== undefined) rec.vector = vector;
  const created = time('created');
  const updated = time('updated');
  if (created !== undefined) rec.created = created;
  if (updated !== undefined) rec.updated = updated;
  return rec;
}

/** Progress of {@link importJsonl}. */
export interface ImportProgress {
  /** Bytes of the file whose lines have been parsed (a line's bytes count once its batch is written or it is refused). */
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly imported: number;
  readonly refused: readonly ImportError[];
}

/** Options of {@link importJsonl}. */
export interface ImportOptions {
  /** Writes a batch of records (the app commits each batch as one transaction: one log entry). */
  write(batch: ImportRecord[]): Promise<void>;
  /** Called after each batch is written, and once at the end. */
  onProgress?(p: ImportProgress): void;
  /** Records per batch (default 64). */
  batchSize?: number;
  /** Stop early (the batches written so far stay). */
  signal?: AbortSignal;
}

/**
 * Streams `file` (any Blob) line by line, parses each line, and writes the good ones in batches. Memory stays at
 * one batch plus one chunk of the file, whatever its size.
 * @returns the final progress (imported count and the refused lines with their reasons).
 * @throws what `write` throws (the import stops there; earlier batches are committed); DOMException `AbortError`.
 */
export async function importJsonl(file: Blob, options: ImportOptions): Promise<ImportProgress> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`"batchSize" expected a positive integer, got ${batchSize}`);
  const reader = file.stream().getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const refused: ImportError[] = [];
  let imported = 0;
  let bytesRead = 0;
  let lineNo = 0;
  let pending = '';
  let batch: ImportRecord[] = [];
  const progress = (): ImportProgress => ({ bytesRead, totalBytes: file.size, imported, refused });
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await options.write(b);
    imported += b.length;
    options.onProgress?.(progress());
  };
  const takeLine = async (text: string, newline: boolean): Promise<void> => {
    lineNo++;
    bytesRead += utf8Length(text) + (newline ? 1 : 0);
    const t = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (t.trim() === '') return;
    try {
      batch.push(parseImportLine(t, lineNo));
    } catch (e) {
      if (!(e instanceof ImportError)) throw e;
      refused.push(e);
    }
    if (batch.length >= batchSize) await flush();
  };
  for (;;) {
    options.signal?.throwIfAborted();
    const { done, value } = await reader.read();
    if (done) break;
    let text: string;
    try {
      text = decoder.decode(value, { stream: true });
    } catch {
      throw new ImportError(lineNo + 1, 'the file is not UTF-8');
    }
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const lineText = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      await takeLine(lineText, true);
    }
    if (pending.length > MAX_LINE_CHARS) throw new ImportError(lineNo + 1, `longer than ${MAX_LINE_CHARS} characters`);
  }
  pending += decoder.decode();
  if (pending.length > 0) await takeLine(pending, false);
  await flush();
  bytesRead = file.size; // a byte-order mark, which the decoder drops, is read too
  const p = progress();
  options.onProgress?.(p);
  return p;
}

/**
 * The shortest decimal text (at most 9 significant digits) that reads back to the float32 `x`; `-0` keeps its
 * sign (JSON.stringify would write `0`). So an exported vector imports bit for bit.
 */
export function f32Text(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  for (let p = 1; p <= 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

/** One exported line for note `id` (the format of {@link parseImportLine}); vectors keep every bit. */
export function exportLine(id: string, note: Note): string {
  const o: Record<string, unknown> = { id, title: note.title, body: note.body, tags: note.tags, created: note.created, updated: note.updated };
  const json = JSON.stringify(o);
  if (!(note.vector instanceof Float32Array)) return json;
  const parts: string[] = new Array(note.vector.length);
  for (let i = 0; i < note.vector.length; i++) parts[i] = f32Text(note.vector[i]);
  return `${json.slice(0, -1)},"vector":[${parts.join(',')}]}`;
}

/** Length of `s` in UTF-8 bytes (lone surrogates count 3, as TextEncoder writes U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
