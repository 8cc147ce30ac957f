/**
 * The read path's document decoder: stored document state bytes (`docs/formats/doc-state.md`) straight to the
 * visible {@link Document}, in one pass, without the intermediate `DocState` (no `Map`, no bigint HLCs, no feed
 * table, no re-encoding of values) and with a msgpack decoder for the canonical value subset
 * (`docs/formats/ops.md`, "Field values"). Internal.
 *
 * Trust: the bytes come from this database's LSM, whose blocks are checksummed and whose values were checked when
 * they were written or ingested (`decodeDocStateV1` and `decodeFieldValueV1` with `checkCanonical`). So this
 * decoder does not re-verify canonical form (ordering, minimal varints, unreferenced feeds). It still bounds-checks
 * every read and throws `CorruptionError` rather than read past the input or return garbage silently. Untrusted
 * input (sync, tests of the format) goes through the strict `decodeDocStateV1`.
 *
 * Invariants:
 * 1. For every canonical encoding `b`, `decodeVisibleDoc(b)` deep-equals
 *    `visibleDocument(decodeDocStateV1(b))` with values from `decodeFieldValueV1(v, false)` (pinned by a property
 *    test in `test/decode.test.ts`): same keys in the same (code point) order, same values, fresh containers.
 * 2. This is the only decoder of field values (`decodeFieldValueV1` calls {@link decodeValue}): a msgpack type
 *    outside the model (formats the canonical form never writes) is a `CorruptionError`.
 * 3. Every returned container (object, array, `Uint8Array`, `Float32Array`) is freshly allocated: the caller owns
 *    it, and it shares no memory with `bytes`.
 */
import { CorruptionError } from '@hearth/io';
import { MAX_VALUE_DEPTH } from './constants.js';
import type { DocValue, Document } from './values.js';

const DOC_STATE_V1 = 0x01;
const HAS_RESET = 0x01;
const RESET_DELETED = 0x02;
const KIND_REMOVED = 0x00;
const KIND_VALUE = 0x01;

const utf8 = new TextDecoder('utf-8');

function corrupt(why: string): never {
  throw new CorruptionError(`document state V1 is malformed: ${why}`);
}

// Cursor state of the decoder (synchronous, not re-entrant: every call finishes before the next starts).
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;

function varint(): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return corrupt('truncated varint');
    const b = buf[pos++];
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return result;
    scale *= 128;
  }
  return corrupt('varint longer than 8 bytes');
}

// --------------------------------------------------------------------------------------------------- names

/**
 * Interned field names: a small direct-mapped table from the UTF-8 bytes of a name to its string, so the keys of
 * decoded documents are the same (internalized) string objects read after read and no string is built per field.
 */
const NAME_SLOTS = 1024;
const nameBytes: (Uint8Array | undefined)[] = new Array(NAME_SLOTS);
const nameStrings: string[] = new Array(NAME_SLOTS);

function readName(len: number): string {
  const at = pos;
  if (at + len > end) return corrupt('truncated field name');
  pos = at + len;
  if (len > 64) return utf8.decode(buf.subarray(at, at + len));
  let h = len * 31;
  for (let i = 0; i < len; i++) h = (Math.imul(h, 0x01000193) ^ buf[at + i]) >>> 0;
  const slot = h & (NAME_SLOTS - 1);
  const known = nameBytes[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (known[i] !== buf[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return nameStrings[slot];
  }
  const s = readString(at, len);
  nameBytes[slot] = buf.slice(at, at + len);
  nameStrings[slot] = s;
  return s;
}

// --------------------------------------------------------------------------------------------------- values

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The string of the UTF-8 bytes `buf[at, at + len)` (valid UTF-8: it was checked when stored). */
function readString(at: number, len: number): string {
  return trustedUtf8(buf, at, at + len);
}

/**
 * The string of trusted UTF-8 bytes `bytes[from, to)` (an id, name or value this database checked when it stored
 * it): {@link asciiString} when it is short ASCII, else `TextDecoder`.
 */
export function trustedUtf8(bytes: Uint8Array, from: number, to: number): string {
  return asciiString(bytes, from, to) ?? utf8.decode(bytes.subarray(from, to));
}

/** Longest text {@link asciiString} builds in JavaScript (bytes); longer text costs less through `TextDecoder`. */
export const SHORT_TEXT_BYTES = 48;

/**
 * The string of `bytes[from, to)` if it is at most {@link SHORT_TEXT_BYTES} bytes, all ASCII (so valid UTF-8 whatever
 * its source); null otherwise (the caller decodes it with its own `TextDecoder`, fatal or not). Built 8 characters
 * per `String.fromCharCode` call and the last 0-7 in one call: one string per call instead of one per character.
 * Why not `TextDecoder`: a `decode` call has a fixed cost (measured in Chromium's worker: ~240 ns whatever the length
 * up to 250 bytes; in Node ~130 ns), while this costs ~45 ns for 5 bytes, ~120 for 14 and ~250 for 64; a
 * character-at-a-time loop costs ~1.6-2x this one on names and ids of 1-10 characters (Node and Chromium).
 */
export function asciiString(bytes: Uint8Array, from: number, to: number): string | null {
  if (to - from > SHORT_TEXT_BYTES) return null;
  let s = '';
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    const b3 = bytes[i + 3];
    const b4 = bytes[i + 4];
    const b5 = bytes[i + 5];
    const b6 = bytes[i + 6];
    const b7 = bytes[i + 7];
    if ((b0 | b1 | b2 | b3 | b4 | b5 | b6 | b7) >= 0x80) return null;
    s += String.fromCharCode(b0, b1, b2, b3, b4, b5, b6, b7);
  }
  let tail = 0;
  for (let k = i; k < to; k++) tail |= bytes[k];
  if (tail >= 0x80) return null;
  switch (to - i) {
    case 0:
      return s;
    case 1:
      return s + String.fromCharCode(bytes[i]);
    case 2:
      return s + String.fromCharCode(bytes[i], bytes[i + 1]);
    case 3:
      return s + String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2]);
    case 4:
      return s + String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]);
    case 5:
      return s + String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]);
    case 6:
      return s + String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4], bytes[i + 5]);
    default:
      return s + String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4], bytes[i + 5], bytes[i + 6]);
  }
}

function u16(at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}
function u32(at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

/** Signals "not handled here": the caller falls back to msgpackr for the whole field value (invariant 2). */
const FALLBACK = Symbol('fallback');

function need(n: number): void {
  if (pos + n > end) corrupt('truncated field value');
}

function str(len: number): string {
  need(len);
  const s = readString(pos, len);
  pos += len;
  return s;
}

function arr(n: number, depth: number): DocValue[] | typeof FALLBACK {
  if (n > end - pos) return corrupt('array longer than its value');
  const out: DocValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = value(depth + 1);
    if (v === FALLBACK) return FALLBACK;
    out[i] = v;
  }
  return out;
}

function map(n: number, depth: number): { [key: string]: DocValue } | typeof FALLBACK {
  if (n > end - pos) return corrupt('map longer than its value');
  const out: { [key: string]: DocValue } = {};
  for (let i = 0; i < n; i++) {
    if (pos >= end) return corrupt('truncated map');
    const t = buf[pos++];
    let k: string;
    if (t >= 0xa0 && t <= 0xbf) k = str(t & 0x1f);
    else if (t === 0xd9) {
      need(1);
      k = str(buf[pos++]);
    } else if (t === 0xda) {
      need(2);
      const len = u16(pos);
      pos += 2;
      k = str(len);
    } else if (t === 0xdb) {
      need(4);
      const len = u32(pos);
      pos += 4;
      k = str(len);
    } else return FALLBACK;
    const v = value(depth + 1);
    if (v === FALLBACK) return FALLBACK;
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

function bin(len: number): Uint8Array {
  need(len);
  const out = buf.slice(pos, pos + len);
  pos += len;
  return out;
}

function value(depth: number): DocValue | typeof FALLBACK {
  if (pos >= end) return corrupt('truncated field value');
  const t = buf[pos++];
  // As the encoder: objects (arrays, maps, byte arrays, Float32Array) at level MAX_VALUE_DEPTH or deeper are
  // outside the model; scalars may sit there.
  if (depth >= MAX_VALUE_DEPTH && ((t & 0xe0) === 0x80 || (t >= 0xc4 && t <= 0xc9) || (t >= 0xdc && t <= 0xdf))) {
    return corrupt(`value nested deeper than ${MAX_VALUE_DEPTH} levels`);
  }
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t <= 0xbf) return str(t & 0x1f);
  if (t >= 0x90 && t <= 0x9f) return arr(t & 0x0f, depth);
  if (t >= 0x80 && t <= 0x8f) return map(t & 0x0f, depth);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc:
      need(1);
      return buf[pos++];
    case 0xcd: {
      need(2);
      const v = u16(pos);
      pos += 2;
      return v;
    }
    case 0xce: {
      need(4);
      const v = u32(pos);
      pos += 4;
      return v;
    }
    case 0xd0:
      need(1);
      return (buf[pos++] << 24) >> 24;
    case 0xd1: {
      need(2);
      const v = (u16(pos) << 16) >> 16;
      pos += 2;
      return v;
    }
    case 0xd2: {
      need(4);
      const v = u32(pos) | 0;
      pos += 4;
      return v;
    }
    case 0xcb: {
      need(8);
      if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64Bytes[i] = buf[pos + 7 - i];
      else for (let i = 0; i < 8; i++) f64Bytes[i] = buf[pos + i];
      pos += 8;
      return f64[0];
    }
    case 0xd9:
      need(1);
      return str(buf[pos++]);
    case 0xda: {
      need(2);
      const len = u16(pos);
      pos += 2;
      return str(len);
    }
    case 0xdb: {
      need(4);
      const len = u32(pos);
      pos += 4;
      return str(len);
    }
    case 0xc4:
      need(1);
      return bin(buf[pos++]);
    case 0xc5: {
      need(2);
      const len = u16(pos);
      pos += 2;
      return bin(len);
    }
    case 0xc6: {
      need(4);
      const len = u32(pos);
      pos += 4;
      return bin(len);
    }
    case 0xdc: {
      need(2);
      const n = u16(pos);
      pos += 2;
      return arr(n, depth);
    }
    case 0xdd: {
      need(4);
      const n = u32(pos);
      pos += 4;
      return arr(n, depth);
    }
    case 0xde: {
      need(2);
      const n = u16(pos);
      pos += 2;
      return map(n, depth);
    }
    case 0xdf: {
      need(4);
      const n = u32(pos);
      pos += 4;
      return map(n, depth);
    }
    case 0xc7: {
      need(1);
      const len = buf[pos++];
      return ext(len);
    }
    case 0xc8: {
      need(2);
      const len = u16(pos);
      pos += 2;
      return ext(len);
    }
    case 0xc9: {
      need(4);
      const len = u32(pos);
      pos += 4;
      return ext(len);
    }
    default:
      return corrupt(`0x${t.toString(16)} is outside the field value encoding`);
  }
}

/** An extension: only type 0x74 with data `0x07` + little-endian float32s (a `Float32Array`) is in the model. */
function ext(len: number): Float32Array {
  need(1 + len);
  if (buf[pos] !== 0x74 || len < 1 || buf[pos + 1] !== 0x07 || (len - 1) % 4 !== 0) corrupt('an extension outside the field value encoding');
  const n = (len - 1) / 4;
  const out = new Float32Array(n);
  const bytes = new Uint8Array(out.buffer);
  const from = pos + 2;
  if (LITTLE_ENDIAN) bytes.set(buf.subarray(from, from + 4 * n));
  else for (let i = 0; i < 4 * n; i += 4) for (let k = 0; k < 4; k++) bytes[i + k] = buf[from + i + 3 - k];
  pos += 1 + len;
  return out;
}

/**
 * Decodes one whole field value (`docs/formats/ops.md`, "Field values") to a model value with fresh containers;
 * no canonical-form check (that is `_validate.ts`).
 * @throws CorruptionError if the bytes are not one field value (truncated, trailing bytes, a type outside the
 *   model, nested deeper than `MAX_VALUE_DEPTH`).
 */
export function decodeValue(bytes: Uint8Array): DocValue {
  const saved = { buf, pos, end };
  buf = bytes;
  pos = 0;
  end = bytes.length;
  try {
    const v = value(0);
    if (v === FALLBACK) return corrupt('a map key that is not a string');
    if (pos !== end) corrupt(`${end - pos} trailing bytes after a field value`);
    return v;
  } finally {
    ({ buf, pos, end } = saved);
  }
}

/** Decodes the field value at `buf[at, valueEnd)`; restores the cursor to the state's end afterwards. */
function fieldValue(at: number, valueEnd: number): DocValue {
  // No try/finally: if the value throws, the whole state decode fails and its caller restores the cursor.
  const stateEnd = end;
  pos = at;
  end = valueEnd;
  const v = value(0);
  if (v === FALLBACK) return corrupt('a map key that is not a string');
  if (pos !== valueEnd) corrupt(`${valueEnd - pos} trailing bytes after a field value`);
  end = stateEnd;
  return v;
}

// --------------------------------------------------------------------------------------------------- states

/**
 * The visible document of a stored document state, or undefined if the document does not exist (never written,
 * deleted, or only field tombstones remain). Keys in code point order (the state's UTF-8 name order).
 * With `fields`, only those top-level fields are decoded and present (the others are skipped unread); whether the
 * document exists still depends on all of them.
 * @throws CorruptionError `HEARTH_CORRUPTION` if the bytes are not a document state V1 (wrong version, reserved
 *   flags, truncated, unknown field kind, a value that does not decode, trailing bytes).
 */
export function decodeVisibleDoc(bytes: Uint8Array, fields?: ReadonlySet<string>): Document | undefined {
  return decodeVisibleDocAt(bytes, 0, bytes.length, fields);
}

/**
 * {@link decodeVisibleDoc} of the state `bytes[off, off + len)`, read in place (a view the LSM lends for the call:
 * nothing returned shares memory with it, invariant 3).
 * @throws CorruptionError as {@link decodeVisibleDoc}.
 */
export function decodeVisibleDocAt(bytes: Uint8Array, off: number, len: number, fields?: ReadonlySet<string>): Document | undefined {
  const prevBuf = buf;
  const prevPos = pos;
  const prevEnd = end;
  buf = bytes;
  pos = off + 2;
  end = off + len;
  try {
    if (len < 2) corrupt('shorter than 2 bytes');
    if (bytes[off] !== DOC_STATE_V1) corrupt(`unknown version ${bytes[off]}`);
    const flags = bytes[off + 1];
    if ((flags & ~(HAS_RESET | RESET_DELETED)) !== 0) corrupt('reserved flag bits set');
    const feeds = varint();
    for (let i = 0; i < feeds; i++) {
      const len = varint();
      pos += len;
      if (pos > end) corrupt('truncated feed');
    }
    let exists = false;
    if ((flags & HAS_RESET) !== 0) {
      pos += 8;
      if (pos > end) corrupt('truncated hlc');
      varint();
      exists = (flags & RESET_DELETED) === 0;
    }
    const count = varint();
    if (count > end - pos) corrupt('field count exceeds input');
    const doc: Document = {};
    for (let i = 0; i < count; i++) {
      const name = readName(varint());
      pos += 8;
      if (pos > end) corrupt('truncated hlc');
      varint(); // feed index
      if (pos >= end) corrupt('truncated field kind');
      const kind = bytes[pos++];
      if (kind === KIND_REMOVED) continue;
      if (kind !== KIND_VALUE) corrupt(`unknown field kind ${kind}`);
      const len = varint();
      const at = pos;
      if (at + len > end) corrupt('truncated value');
      exists = true;
      if (fields !== undefined && !fields.has(name)) {
        pos = at + len;
        continue;
      }
      const v = fieldValue(at, at + len);
      if (name === '__proto__') Object.defineProperty(doc, name, { value: v, enumerable: true, writable: true, configurable: true });
      else doc[name] = v;
    }
    if (pos !== end) corrupt(`${end - pos} trailing bytes`);
    return exists ? doc : undefined;
  } finally {
    // Restore for the (theoretical) re-entrant case of a getter running user code; normally prev is unused.
    buf = prevBuf;
    pos = prevPos;
    end = prevEnd;
  }
}
