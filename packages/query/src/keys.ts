/**
 * Order-preserving index key encoding, version 1. Spec: `docs/formats/index-keys.md`; constants in
 * `constants.ts`.
 *
 * Invariants:
 * 1. Order: `compareBytes(encodeValueV1(a), encodeValueV1(b))` has the sign of `cmpValues(a, b)`.
 * 2. Prefix-free: no value's encoding is a proper prefix of another's, so the concatenation of encodings (a
 *    tuple key, see {@link encodeKeyV1}) sorts as the tuple, element by element.
 * 3. Canonical: equal values (`cmpValues === 0`) have identical encodings (-0 is written as 0, every NaN as the
 *    quiet NaN 0x7FF8000000000000, object keys in code point order, `undefined` properties omitted).
 * 4. Every encoded value starts with a tag in 0x01..0x09 and no byte following a string terminator is 0xFF, so
 *    `k ++ [0xFF]` is above every key that starts with the encoding `k` (used for prefix upper bounds).
 *
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { ESCAPE_FF, OBJECT_PAIR, TERMINATOR, Tag, VECTOR_ELEMENT } from './constants.js';
import { QueryError, QueryErrorCode } from './errors.js';
import type { Value } from './types.js';
import { Rank, objectKeys, setOwn, typeRank } from './value.js';

const SCRATCH_BYTES = new Uint8Array(8);
const SCRATCH = new DataView(SCRATCH_BYTES.buffer);

/** A growable byte buffer. */
class Writer {
  buf = new Uint8Array(64);
  len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  byte(b: number): void {
    this.grow(1);
    this.buf[this.len++] = b;
  }

  /** Writes bytes escaping 0x00 as 0x00 0xFF. */
  escaped(bytes: Uint8Array): void {
    this.grow(bytes.length * 2);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      this.buf[this.len++] = b;
      if (b === 0) this.buf[this.len++] = ESCAPE_FF;
    }
  }

  /** Writes a string as escaped UTF-8, refusing lone surrogates (which UTF-8 cannot carry). */
  escapedString(s: string): void {
    this.grow(s.length * 4);
    const buf = this.buf;
    let len = this.len;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[len++] = c;
        if (c === 0) buf[len++] = ESCAPE_FF;
      } else if (c < 0x800) {
        buf[len++] = 0xc0 | (c >> 6);
        buf[len++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
          throw new QueryError(QueryErrorCode.UNSUPPORTED_VALUE, `string has a lone surrogate at index ${i}`);
        }
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[len++] = 0xf0 | (c >> 18);
        buf[len++] = 0x80 | ((c >> 12) & 0x3f);
        buf[len++] = 0x80 | ((c >> 6) & 0x3f);
        buf[len++] = 0x80 | (c & 0x3f);
      } else {
        buf[len++] = 0xe0 | (c >> 12);
        buf[len++] = 0x80 | ((c >> 6) & 0x3f);
        buf[len++] = 0x80 | (c & 0x3f);
      }
    }
    this.len = len;
  }

  number(n: number): void {
    this.grow(8);
    if (Number.isNaN(n)) {
      SCRATCH.setUint32(0, 0x7ff80000);
      SCRATCH.setUint32(4, 0);
    } else {
      SCRATCH.setFloat64(0, n === 0 ? 0 : n); // big-endian; -0 is written as +0
    }
    const neg = SCRATCH_BYTES[0] & 0x80;
    for (let i = 0; i < 8; i++) this.buf[this.len + i] = neg ? SCRATCH_BYTES[i] ^ 0xff : SCRATCH_BYTES[i];
    if (!neg) this.buf[this.len] ^= 0x80;
    this.len += 8;
  }

  /** A binary32 with the same transform as {@link Writer.number}: -0 as +0, NaN as 0x7FC00000. */
  float32(n: number): void {
    this.grow(4);
    if (Number.isNaN(n)) SCRATCH.setUint32(0, 0x7fc00000);
    else SCRATCH.setFloat32(0, n === 0 ? 0 : n);
    const neg = SCRATCH_BYTES[0] & 0x80;
    for (let i = 0; i < 4; i++) this.buf[this.len + i] = neg ? SCRATCH_BYTES[i] ^ 0xff : SCRATCH_BYTES[i];
    if (!neg) this.buf[this.len] ^= 0x80;
    this.len += 4;
  }

  value(v: unknown): void {
    switch (typeRank(v)) {
      case Rank.MISSING:
        this.byte(Tag.MISSING);
        return;
      case Rank.NULL:
        this.byte(Tag.NULL);
        return;
      case Rank.BOOLEAN:
        this.byte(v ? Tag.TRUE : Tag.FALSE);
        return;
      case Rank.NUMBER:
        this.byte(Tag.NUMBER);
        this.number(v as number);
        return;
      case Rank.STRING:
        this.byte(Tag.STRING);
        this.escapedString(v as string);
        this.byte(TERMINATOR);
        return;
      case Rank.BYTES:
        this.byte(Tag.BYTES);
        this.escaped(v as Uint8Array);
        this.byte(TERMINATOR);
        return;
      case Rank.ARRAY:
        this.byte(Tag.ARRAY);
        for (const e of v as unknown[]) this.value(e);
        this.byte(TERMINATOR);
        return;
      case Rank.VECTOR:
        this.byte(Tag.VECTOR);
        for (const e of v as Float32Array) {
          this.byte(VECTOR_ELEMENT);
          this.float32(e);
        }
        this.byte(TERMINATOR);
        return;
      default: {
        const o = v as { [key: string]: unknown };
        this.byte(Tag.OBJECT);
        for (const k of objectKeys(o)) {
          this.byte(OBJECT_PAIR);
          this.escapedString(k);
          this.byte(TERMINATOR);
          this.value(o[k]);
        }
        this.byte(TERMINATOR);
      }
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * Encodes one value (`undefined` = missing) in the order-preserving index key encoding V1.
 * @returns a new array the caller owns.
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` for values outside the model or strings with lone surrogates.
 */
export function encodeValueV1(v: Value | undefined): Uint8Array {
  const w = new Writer();
  w.value(v);
  return w.finish();
}

/**
 * Encodes a tuple of values as the concatenation of their encodings. Index keys are tuples
 * `(field values..., doc id)`; because each encoding is prefix-free, tuples sort element by element.
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` as {@link encodeValueV1}.
 */
export function encodeKeyV1(values: readonly (Value | undefined)[]): Uint8Array {
  const w = new Writer();
  for (const v of values) w.value(v);
  return w.finish();
}

/** Encodes the UTF-8 of `s` with escaping but no tag and no terminator (used for `prefix` bounds). */
export function encodeStringBodyV1(s: string): Uint8Array {
  const w = new Writer();
  w.escapedString(s);
  return w.finish();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  fail(msg: string): never {
    throw new CorruptionError(`index key: ${msg}`, { offset: this.pos });
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.fail('truncated');
    return this.buf[this.pos++];
  }

  /** Reads escaped bytes up to the terminator (0x00 not followed by 0xFF). */
  escaped(): Uint8Array {
    const out: number[] = [];
    for (;;) {
      const b = this.byte();
      if (b !== 0) {
        out.push(b);
        continue;
      }
      if (this.pos < this.buf.length && this.buf[this.pos] === ESCAPE_FF) {
        this.pos++;
        out.push(0);
        continue;
      }
      return Uint8Array.from(out);
    }
  }

  string(): string {
    const at = this.pos;
    const bytes = this.escaped();
    try {
      return utf8.decode(bytes);
    } catch (cause) {
      throw new CorruptionError('index key: string is not valid UTF-8', { offset: at, cause });
    }
  }

  value(): Value | undefined {
    const tag = this.byte();
    switch (tag) {
      case Tag.MISSING:
        return undefined;
      case Tag.NULL:
        return null;
      case Tag.FALSE:
        return false;
      case Tag.TRUE:
        return true;
      case Tag.NUMBER: {
        if (this.pos + 8 > this.buf.length) this.fail('truncated number');
        const b = this.buf.slice(this.pos, this.pos + 8);
        this.pos += 8;
        if (b[0] & 0x80) b[0] ^= 0x80;
        else for (let i = 0; i < 8; i++) b[i] ^= 0xff;
        const n = new DataView(b.buffer).getFloat64(0);
        if (Number.isNaN(n) && !(b[0] === 0x7f && b[1] === 0xf8 && b.subarray(2).every((x) => x === 0))) {
          this.fail('non-canonical NaN');
        }
        if (Object.is(n, -0)) this.fail('non-canonical -0');
        return n;
      }
      case Tag.STRING:
        return this.string();
      case Tag.BYTES:
        return this.escaped();
      case Tag.ARRAY: {
        const out: Value[] = [];
        while (this.peek() !== TERMINATOR) {
          const e = this.value();
          out.push(e === undefined ? (undefined as unknown as Value) : e);
        }
        this.pos++;
        return out;
      }
      case Tag.OBJECT: {
        const out: { [key: string]: Value | undefined } = {};
        while (this.peek() !== TERMINATOR) {
          if (this.byte() !== OBJECT_PAIR) this.fail('expected object pair marker 0x01');
          const k = this.string();
          setOwn(out, k, this.value());
        }
        this.pos++;
        return out;
      }
      case Tag.VECTOR: {
        const out: number[] = [];
        while (this.peek() !== TERMINATOR) {
          if (this.byte() !== VECTOR_ELEMENT) this.fail('expected vector element marker 0x01');
          if (this.pos + 4 > this.buf.length) this.fail('truncated vector element');
          const b = this.buf.slice(this.pos, this.pos + 4);
          this.pos += 4;
          if (b[0] & 0x80) b[0] ^= 0x80;
          else for (let i = 0; i < 4; i++) b[i] ^= 0xff;
          const dv = new DataView(b.buffer);
          const n = dv.getFloat32(0);
          if (Number.isNaN(n) && dv.getUint32(0) !== 0x7fc00000) this.fail('non-canonical NaN in vector');
          if (Object.is(n, -0)) this.fail('non-canonical -0 in vector');
          out.push(n);
        }
        this.pos++;
        return Float32Array.from(out);
      }
      default:
        return this.fail(`unknown tag 0x${tag.toString(16).padStart(2, '0')}`);
    }
  }

  peek(): number {
    if (this.pos >= this.buf.length) this.fail('truncated');
    return this.buf[this.pos];
  }
}

/**
 * Decodes one value encoded by {@link encodeValueV1}.
 * @throws CorruptionError `HEARTH_CORRUPTION` if the bytes are not exactly one canonical encoded value.
 */
export function decodeValueV1(bytes: Uint8Array): Value | undefined {
  const r = new Reader(bytes);
  const v = r.value();
  if (r.pos !== bytes.length) r.fail('trailing bytes');
  return v;
}

/**
 * Decodes a tuple key encoded by {@link encodeKeyV1} into its values.
 * @throws CorruptionError `HEARTH_CORRUPTION` on truncated or malformed bytes.
 */
export function decodeKeyV1(bytes: Uint8Array): (Value | undefined)[] {
  const r = new Reader(bytes);
  const out: (Value | undefined)[] = [];
  while (r.pos < bytes.length) out.push(r.value());
  return out;
}

/**
 * Decodes the first `count` values of a tuple key encoded by {@link encodeKeyV1} (fewer if the key holds fewer),
 * leaving the rest unread: what covering evaluation needs from an index key (not the trailing id).
 * @throws CorruptionError `HEARTH_CORRUPTION` on truncated or malformed bytes among those read.
 */
export function decodeKeyPrefixV1(bytes: Uint8Array, count: number): (Value | undefined)[] {
  const r = new Reader(bytes);
  const out: (Value | undefined)[] = [];
  while (out.length < count && r.pos < bytes.length) out.push(r.value());
  return out;
}

/** `k ++ [0xFF]`: an exclusive upper bound of every key that starts with the complete encoding `k`. */
export function prefixEnd(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k);
  out[k.length] = 0xff;
  return out;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string. @throws TypeError on odd length or a non-hex digit. */
export function fromHex(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new TypeError(`"hex" expected hex digits, got ${JSON.stringify(h)}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
