/**
 * The ops payload of a log entry, version 1 (spec: `docs/formats/ops.md`): the document operations one entry
 * carries. The log treats the payload as opaque bytes; this module gives it meaning.
 *
 * Invariants of a valid payload (checked by {@link decodeOpsV1}):
 * 1. At least one op; op stamps strictly ascend in payload order (every op has its own HLC, unique in its feed).
 * 2. Every string of the string table is distinct, valid UTF-8; collection names and ids pass the same checks as
 *    the local API (`_keys.ts`); field names are unique within an op and are not `_id`.
 * 3. Nothing follows the last op.
 * 4. (With `checkValues`) every field value is the canonical encoding of a model value (`values.ts`).
 *
 * The db writes `entry.hlc` = the last op's stamp; ingest checks every op's stamp is at most `entry.hlc`, so the
 * entry's HLC (the one the drift check sees) bounds the stamps inside it.
 *
 * @packageDocumentation
 */
import { readHlc, writeHlc } from '@hearth/crdt';
import { MAX_COLLECTION_BYTES, MAX_ID_BYTES, OP_DELETE, OP_PATCH, OP_PUT, OPS_V1, PATCH_FIELD_REMOVE, PATCH_FIELD_VALUE } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';
import { fieldNameProblem } from './_keys.js';
import { canonicalRangeProblem } from './_validate.js';
import { PackedFields } from './_packed.js';
import { copyAscii } from './_encode.js';
import { asciiString } from './_decode.js';
import { readVarint, writeVarint } from '@hearth/crdt';

/** One document operation with its HLC stamp. Field values are encoded field values (`values.ts`). */
export type Op =
  | { readonly kind: 'put'; readonly collection: string; readonly id: string; readonly hlc: bigint; readonly fields: ReadonlyMap<string, Uint8Array> }
  | {
      readonly kind: 'patch';
      readonly collection: string;
      readonly id: string;
      readonly hlc: bigint;
      readonly fields: ReadonlyMap<string, Uint8Array | null>;
    }
  | { readonly kind: 'delete'; readonly collection: string; readonly id: string; readonly hlc: bigint };

/** Options of {@link decodeOpsV1}. */
export interface DecodeOpsOptions {
  /** Check that every field value is a canonical model value (default true). Costs a decode per value. */
  checkValues?: boolean;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const U64_MAX = (1n << 64n) - 1n;

/** A growable output buffer. */
class Writer {
  buf: Uint8Array;
  pos = 0;
  constructor(initial: number) {
    this.buf = new Uint8Array(Math.max(64, initial));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.pos + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    this.ensure(8);
    if (n < 0x80) this.buf[this.pos++] = n; // most: indices, lengths, stamp deltas
    else this.pos = writeVarint(this.buf, this.pos, n);
  }
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    if (n <= 32) {
      // a loop beats the `set` call for small arrays
      const buf = this.buf;
      const at = this.pos;
      for (let i = 0; i < n; i++) buf[at + i] = b[i];
    } else this.buf.set(b, this.pos);
    this.pos += n;
  }
  /** `n` bytes of `b` from `at`. */
  range(b: Uint8Array, at: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    const o = this.pos;
    if (n <= 32) for (let i = 0; i < n; i++) buf[o + i] = b[at + i];
    else buf.set(new Uint8Array(b.buffer, b.byteOffset + at, n), o);
    this.pos += n;
  }
  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    const len = s.length;
    if (len < 0x80) {
      // ASCII: one byte per unit and a one-byte length; anything else takes the encoder below
      this.ensure(1 + len);
      const buf = this.buf;
      const at = this.pos + 1;
      if (copyAscii(s, buf, at)) {
        buf[at - 1] = len;
        this.pos = at + len;
        return;
      }
    }
    if (s.length <= 42) {
      // at most 126 UTF-8 bytes: the length varint is one byte
      this.ensure(1 + s.length * 3);
      const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos + 1));
      this.buf[this.pos] = written!;
      this.pos += 1 + written!;
    } else {
      const b = utf8.encode(s);
      this.varint(b.length);
      this.bytes(b);
    }
  }
}

const EMPTY_WRITER = new Writer(0);

const kindByte = (op: Op): number => (op.kind === 'put' ? OP_PUT : op.kind === 'patch' ? OP_PATCH : OP_DELETE);

/** Bytes {@link encodeOpsV1} needs at most for the values of `op` plus a generous per-op overhead estimate. */
function estimate(op: Op): number {
  let n = 16 + op.id.length * 3;
  if (op.kind === 'delete') return n;
  if (op.fields instanceof PackedFields) {
    // `buf` may hold other documents' values too (`_packed.ts` invariant 2): count this op's own
    const spans = op.fields.spans;
    for (let i = 1; i < spans.length; i += 2) n += 8 + (spans[i] > 0 ? spans[i] : 0);
    return n;
  }
  for (const v of (op.fields as ReadonlyMap<string, Uint8Array | null>).values()) n += 8 + (v === null ? 0 : v.length);
  return n;
}

/**
 * Encodes ops as a payload V1. REQUIRES: at least one op, stamps strictly ascending, names and ids checked (the
 * Database checks them at its API). The result is a view of a new buffer (possibly longer than the view).
 * @throws RangeError if `ops` is empty or stamps do not ascend (a caller bug).
 */
export function encodeOpsV1(ops: readonly Op[]): Uint8Array {
  if (ops.length === 0) throw new RangeError('"ops" must not be empty');
  const e = new OpsEncoder();
  let size = 16;
  for (let i = 0; i < ops.length; i++) size += e.intern(ops[i]);
  const w = e.begin(size, ops.length, ops[0]);
  for (let i = 1; i < ops.length; i++) e.op(ops[i], ops[i - 1].hlc, i);
  return w.buf.subarray(0, w.pos);
}

/**
 * One run of {@link encodeOpsV1}. The per-op work is in methods (called once per op, they are optimized early;
 * the loops calling them run once per payload). Ops of one write usually share their collection and names array
 * (`_packed.ts`: the Database reuses a names array for documents with the same field names): those are looked
 * up once per run of equal ones, not once per op.
 */
class OpsEncoder {
  private readonly strings = new Map<string, number>();
  private readonly table: string[] = [];
  private w: Writer = EMPTY_WRITER;
  private lastCollection: string | null = null;
  private collectionIndex = -1;
  private lastNames: readonly string[] | null = null;
  private nameIndices: number[] = [];
  /** The previous op's stamp as two 32-bit halves (no BigInt arithmetic per op). */
  private prevHi = 0;
  private prevLo = 0;

  private add(s: string): void {
    if (!this.strings.has(s)) {
      this.strings.set(s, this.table.length);
      this.table.push(s);
    }
  }

  /** Adds the strings of `op` to the table; returns an upper bound of its bytes in the payload. */
  intern(op: Op): number {
    if (op.collection !== this.lastCollection) this.add((this.lastCollection = op.collection));
    if (op.kind !== 'delete') {
      if (op.fields instanceof PackedFields) {
        if (op.fields.names !== this.lastNames) for (const name of (this.lastNames = op.fields.names)) this.add(name);
      } else for (const name of op.fields.keys()) this.add(name);
    }
    return estimate(op);
  }

  /** Writes the header, the string table and op 0 (after every op was interned); returns the writer. */
  begin(size: number, count: number, first: Op): Writer {
    const table = this.table;
    const w = (this.w = new Writer(size + table.length * 8));
    w.byte(OPS_V1);
    w.varint(count);
    w.varint(table.length);
    for (let i = 0; i < table.length; i++) w.string(table[i]);
    w.ensure(8);
    writeHlc(first.hlc, w.buf, w.pos);
    w.pos += 8;
    stamp[0] = first.hlc;
    this.prevHi = stampHalves[HI];
    this.prevLo = stampHalves[LO];
    this.lastCollection = null;
    this.lastNames = null;
    w.byte(kindByte(first));
    this.body(first);
    return w;
  }

  /** Writes op `i` > 0; `prevHlc` is op `i - 1`'s stamp. */
  op(op: Op, prevHlc: bigint, i: number): void {
    const w = this.w;
    w.byte(kindByte(op));
    stamp[0] = op.hlc;
    const hi = stampHalves[HI];
    const lo = stampHalves[LO];
    const d = (hi - this.prevHi) * 0x1_0000_0000 + (lo - this.prevLo);
    if (!(d >= 1)) throw new RangeError(`op stamps must strictly ascend (op ${i})`);
    if (d > Number.MAX_SAFE_INTEGER) w.varint(Number(op.hlc - prevHlc)); // not reached by real HLCs
    else w.varint(d);
    this.prevHi = hi;
    this.prevLo = lo;
    this.body(op);
  }

  /** An op's collection, id and fields. */
  private body(op: Op): void {
    const w = this.w;
    if (op.collection !== this.lastCollection) this.collectionIndex = this.strings.get((this.lastCollection = op.collection))!;
    const id = op.id;
    w.ensure(16 + id.length);
    const out = w.buf;
    let p = w.pos;
    const ci = this.collectionIndex;
    if (ci < 0x80) out[p++] = ci;
    else p = writeVarint(out, p, ci);
    if (id.length < 0x80 && copyAscii(id, out, p + 1)) {
      // ASCII: one byte per unit and a one-byte length
      out[p] = id.length;
      w.pos = p + 1 + id.length;
    } else {
      w.pos = p;
      w.string(id);
    }
    if (op.kind === 'delete') return;
    w.varint(op.fields.size);
    const patch = op.kind === 'patch';
    const fields = op.fields as ReadonlyMap<string, Uint8Array | null>;
    if (fields instanceof PackedFields) {
      // the local write path: copy each value straight from the packed bytes
      const { names, buf, spans } = fields;
      if (names !== this.lastNames) {
        this.lastNames = names;
        const indices = (this.nameIndices = new Array<number>(names.length));
        for (let f = 0; f < names.length; f++) indices[f] = this.strings.get(names[f])!;
      }
      const indices = this.nameIndices;
      const n = names.length;
      // Room for every field first (a name index and a length varint of at most 8 and 5 bytes, a patch byte, the
      // value), then written with a local cursor.
      let need = 0;
      for (let f = 0; f < n; f++) {
        const len = spans[2 * f + 1];
        need += 16 + (len > 0 ? len : 0);
      }
      w.ensure(need);
      const out = w.buf;
      let p = w.pos;
      for (let f = 0; f < n; f++) {
        const ni = indices[f];
        if (ni < 0x80) out[p++] = ni;
        else p = writeVarint(out, p, ni);
        const len = spans[2 * f + 1];
        if (patch) {
          if (len < 0) {
            out[p++] = PATCH_FIELD_REMOVE;
            continue;
          }
          out[p++] = PATCH_FIELD_VALUE;
        }
        if (len < 0x80) out[p++] = len;
        else p = writeVarint(out, p, len);
        const from = spans[2 * f];
        if (len <= 32) for (let c = 0; c < len; c++) out[p + c] = buf[from + c];
        else out.set(new Uint8Array(buf.buffer, buf.byteOffset + from, len), p);
        p += len;
      }
      w.pos = p;
      return;
    }
    for (const name of fields.keys()) {
      const value = fields.get(name)!;
      w.varint(this.strings.get(name)!);
      if (patch) {
        if (value === null) {
          w.byte(PATCH_FIELD_REMOVE);
          continue;
        }
        w.byte(PATCH_FIELD_VALUE);
      }
      w.varint(value!.length);
      w.bytes(value!);
    }
  }
}

// Scratch of `encodeOpsV1`: a stamp as one 64-bit value and as its two 32-bit halves (host byte order).
const stamp = new BigUint64Array(1);
const stampHalves = new Uint32Array(stamp.buffer);
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = HOST_LITTLE_ENDIAN ? 1 : 0;
const LO = HOST_LITTLE_ENDIAN ? 0 : 1;

function malformed(message: string, cause?: unknown): DbError {
  return new DbError(DbErrorCode.MALFORMED_OPS, `malformed ops payload: ${message}`, cause !== undefined ? { cause } : undefined);
}

/**
 * Decodes a payload V1 (checks: the invariants in the file header). Field values are subarrays of `bytes` (no
 * copies): they stay valid while `bytes` is not mutated.
 * @throws DbError `HEARTH_MALFORMED_OPS` for anything that is not a valid payload V1.
 */
export function decodeOpsV1(bytes: Uint8Array, options: DecodeOpsOptions = {}): Op[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  d = bytes;
  at = 0;
  try {
    return decodeOps(options.checkValues ?? true);
  } finally {
    d = EMPTY;
  }
}

// The decoder's cursor (module state: decoding is synchronous and not re-entrant; no closures per call).
const EMPTY = new Uint8Array(0);
let d: Uint8Array = EMPTY;
let at = 0;
const varintPos = { offset: 0 };
/** The UTF-8 length of the string `text` read last. */
let lastTextBytes = 0;

function varint(what: string): number {
  varintPos.offset = at;
  const n = readVarint(d, varintPos);
  if (n < 0) throw malformed(`bad varint for ${what} at offset ${at}`);
  at = varintPos.offset;
  return n;
}

function take(n: number, what: string): Uint8Array {
  if (n > d.length - at) throw malformed(`truncated ${what}`);
  const out = new Uint8Array(d.buffer, d.byteOffset + at, n); // a view (cheaper than subarray)
  at += n;
  return out;
}

/** A length-prefixed UTF-8 string of at most `maxBytes` bytes: short ASCII by a loop, the rest strictly decoded. */
function text(what: string, maxBytes: number): string {
  const n = varint(`${what} length`);
  lastTextBytes = n;
  if (n > maxBytes) throw malformed(`${what} of ${n} bytes exceeds ${maxBytes}`);
  if (n > d.length - at) throw malformed(`truncated ${what}`);
  const ascii = asciiString(d, at, at + n);
  if (ascii !== null) {
    at += n;
    return ascii;
  }
  try {
    return utf8Strict.decode(take(n, what));
  } catch (e) {
    if (e instanceof DbError) throw e;
    throw malformed(`${what} is not valid UTF-8`);
  }
}

// Scratch of `decodeOps` for string tables of up to 64 strings (larger ones get arrays of their own), reused
// across calls: the ops keep the strings, not these arrays.
const SCRATCH = 64;
const scratchTable: string[] = [];
const scratchBytes: number[] = [];
const scratchChecked = new Uint8Array(SCRATCH);
const scratchUsed = new Float64Array(SCRATCH);
const scratchNames: string[] = [];
/** The names array of the last put or patch: shared by the next op with the same names (read-only). */
let lastNames: readonly string[] = [];

function decodeOps(checkValues: boolean): Op[] {
  const bytes = d;
  if (bytes.length < 1) throw malformed('empty');
  if (bytes[0] !== OPS_V1) throw malformed(`unknown version ${bytes[0]}`);
  at = 1;
  const count = varint('op count');
  if (count === 0) throw malformed('no ops');
  if (count > bytes.length) throw malformed('op count exceeds the payload');
  const tableSize = varint('string count');
  if (tableSize > bytes.length) throw malformed('string count exceeds the payload');
  const small = tableSize <= SCRATCH;
  const table = small ? scratchTable : new Array<string>(tableSize);
  /** Per string: its UTF-8 length in bytes. */
  const tableBytes = small ? scratchBytes : new Array<number>(tableSize);
  /** Per string: 0 unchecked, 1 checked as a collection name, 2 as a field name, 3 both. */
  const checked = small ? scratchChecked.fill(0) : new Uint8Array(tableSize);
  /** Per string: 1 + the index of the last op that used it as a field name (repeated names within an op). */
  const usedIn = small ? scratchUsed.fill(0) : new Float64Array(tableSize);
  let seen: Set<string> | null = tableSize > 8 ? new Set() : null;
  for (let i = 0; i < tableSize; i++) {
    const s = text('string', bytes.length);
    let repeated = false;
    if (seen !== null) {
      repeated = seen.has(s);
      seen.add(s);
    } else for (let k = 0; k < i; k++) if (table[k] === s) repeated = true;
    if (repeated) throw malformed(`string table repeats ${JSON.stringify(s.slice(0, 32))}`);
    table[i] = s;
    tableBytes[i] = lastTextBytes;
  }
  seen = null;
  if (bytes.length - at < 8) throw malformed('truncated first hlc');
  let hlc = readHlc(bytes, at);
  at += 8;

  // Arrays of their exact size (a pushed-to empty array reserves 17 slots): ops and spans are kept by the caller.
  // Counts are not trusted yet: at most 1,024 slots up front, the rest appended (index = length).
  const ops: Op[] = new Array(Math.min(count, 1024));
  for (let i = 0; i < count; i++) {
    if (at >= bytes.length) throw malformed(`truncated op ${i}`);
    const kind = bytes[at++];
    if (kind !== OP_PUT && kind !== OP_PATCH && kind !== OP_DELETE) throw malformed(`unknown op kind ${kind}`);
    if (i > 0) {
      const dl = varint('hlc delta');
      if (dl === 0) throw malformed(`op ${i} does not have a later stamp than op ${i - 1}`);
      hlc += BigInt(dl);
      if (hlc > U64_MAX) throw malformed('hlc overflows 64 bits');
    }
    const ci = varint('collection index');
    if (ci >= tableSize) throw malformed(`collection index ${ci} out of range`);
    const collection = table[ci];
    if ((checked[ci] & 1) === 0) {
      if (collection.length === 0 || tableBytes[ci] > MAX_COLLECTION_BYTES || collection.includes('\u0000')) {
        throw malformed(`invalid collection name in op ${i}`);
      }
      checked[ci] |= 1;
    }
    const id = text('id', MAX_ID_BYTES);
    if (id.length === 0) throw malformed(`empty id in op ${i}`);
    if (kind === OP_DELETE) {
      ops[i] = { kind: 'delete', collection, id, hlc };
      continue;
    }
    const nFields = varint('field count');
    if (nFields > bytes.length) throw malformed('field count exceeds the payload');
    // The fields stay in the payload: names (table strings) and each value's offset and length (`_packed.ts`).
    const op = i + 1;
    const spans: number[] = new Array(2 * Math.min(nFields, 1024));
    let sameNames = lastNames.length === nFields;
    for (let f = 0; f < nFields; f++) {
      const ni = varint('field name index');
      if (ni >= tableSize) throw malformed(`field name index ${ni} out of range`);
      const name = table[ni];
      if ((checked[ni] & 2) === 0) {
        const problem = fieldNameProblem(name);
        if (problem !== null) throw malformed(`${problem} in op ${i}`);
        checked[ni] |= 2;
      }
      // Table strings are distinct: a name repeated in an op is an index repeated.
      if (usedIn[ni] === op) throw malformed(`field ${JSON.stringify(name)} repeated in op ${i}`);
      usedIn[ni] = op;
      scratchNames[f] = name;
      if (sameNames && lastNames[f] !== name) sameNames = false;
      if (kind === OP_PATCH) {
        if (at >= bytes.length) throw malformed('truncated patch field kind');
        const fk = bytes[at++];
        if (fk === PATCH_FIELD_REMOVE) {
          spans[2 * f] = 0;
          spans[2 * f + 1] = -1;
          continue;
        }
        if (fk !== PATCH_FIELD_VALUE) throw malformed(`unknown patch field kind ${fk}`);
      }
      const len = varint('value length');
      if (len > bytes.length - at) throw malformed('truncated value');
      if (checkValues) {
        const problem = canonicalRangeProblem(bytes, at, at + len);
        if (problem !== null) throw malformed(`field ${JSON.stringify(name)} of op ${i}: not a canonical field value (${problem})`);
      }
      spans[2 * f] = at;
      spans[2 * f + 1] = len;
      at += len;
    }
    if (!sameNames) {
      lastNames = scratchNames.slice(0, nFields);
      if (nFields > SCRATCH) scratchNames.length = 0; // keep no large scratch
    }
    const fields = new PackedFields(lastNames, bytes, spans);
    if (kind === OP_PUT) ops[i] = { kind: 'put', collection, id, hlc, fields: fields as unknown as ReadonlyMap<string, Uint8Array> };
    else ops[i] = { kind: 'patch', collection, id, hlc, fields };
  }
  if (at !== bytes.length) throw malformed(`${bytes.length - at} trailing bytes`);
  // Names and ids decoded from valid UTF-8 have no lone surrogate, so they pass the API's checks.
  return ops;
}
