/**
 * The document model and the encoding of one field value, version 1 (spec: `docs/formats/ops.md`, "Field
 * values"): MessagePack as written by `msgpackr`, constrained to one canonical form.
 *
 * Codec: `_encode.ts` writes values, `_validate.ts` checks canonical form, `_decode.ts` reads them; msgpackr (the
 * library whose output format this is) is the reference in the tests (`test/_msgpackr-ref.ts`), not a runtime
 * dependency: the canonical subset needs checks msgpackr does not make, the write path needed an encoder without
 * intermediate objects, and shipping msgpackr to browsers cost 11 KB gzipped.
 *
 * The model: `null`, booleans, numbers (IEEE-754 binary64, including NaN and the infinities; `-0` is stored as
 * `0`, as in JSON), strings (well-formed UTF-16: no lone surrogates), `Uint8Array` (bytes), `Float32Array`
 * (vectors), arrays and plain objects of these, nested up to 64 levels. Object properties whose value is
 * `undefined` are absent. Everything else is refused with `HEARTH_UNSUPPORTED_VALUE`: functions, symbols,
 * bigints, `Date` (store `getTime()` or an ISO string), `Map`, `Set`, class instances, other typed arrays,
 * `undefined` inside an array, cycles.
 *
 * Canonical form (what makes the encoding deterministic, so equal values give equal bytes on every platform):
 * 1. Object keys are written in ascending Unicode code point order (= UTF-8 byte order), as msgpack maps.
 * 2. Numbers as msgpackr writes them: integers in [-2^31, 2^32) in the smallest msgpack int format, every other
 *    number as float64 (NaN as `cb 7ff8000000000000`).
 * 3. Strings in the smallest str format; `Uint8Array` as `bin` (never msgpackr's typed-array extension, which
 *    msgpackr would otherwise pick for a non-`Buffer` array in Node but not in a browser).
 * 4. `Float32Array` as extension type `0x74` whose data is `0x07` followed by the array's bytes, little-endian
 *    (msgpackr's typed-array extension).
 * The decoder ({@link decodeFieldValueV1}) accepts exactly the canonical encodings (`_validate.ts`), so a peer
 * cannot make two replicas hold different bytes for one value.
 *
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { compareCodePoints } from '@hearth/crdt';
import { encodeValue } from './_encode.js';
import { canonicalValueProblem } from './_validate.js';
import { decodeValue } from './_decode.js';

/** A value inside a document (see the file header for the model). */
export type DocValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Float32Array
  | DocValue[]
  | { [key: string]: DocValue | undefined };

/** A document: a plain object of top-level fields (the CRDT's last-writer-wins registers). */
export type Document = { [field: string]: DocValue | undefined };

const LONE_SURROGATE = /\p{Cs}/u;
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;
/** Whether `s` has no lone surrogate (native `isWellFormed` where the platform has it). */
function wellFormed(s: string): boolean {
  return nativeWellFormed !== undefined ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

/** Whether `s` is well-formed UTF-16 (no lone surrogate), i.e. has a UTF-8 encoding. */
export function isWellFormed(s: string): boolean {
  return wellFormed(s);
}

/** Compares two strings by Unicode code point (= UTF-8 byte order): `@hearth/crdt`'s comparator. */
export { compareCodePoints };

/**
 * Encodes one field value canonically (see the file header). The result may share its memory with other results
 * (msgpackr packs into a shared buffer); it is never overwritten. Treat it as immutable.
 * @param path where the value sits, for error messages (e.g. `"title"`).
 * @throws DbError `HEARTH_UNSUPPORTED_VALUE` if the value is outside the document model.
 */
export function encodeFieldValueV1(value: DocValue, path = 'value'): Uint8Array {
  return encodeValue(value, path);
}

/**
 * Decodes one field value. With `checkCanonical` (default true) the bytes must be the canonical encoding of a
 * model value (`_validate.ts`): this refuses trailing bytes, non-canonical forms and values outside the model. The stored values of this
 * database were checked when they were written or ingested, so reads pass `false`.
 * @throws CorruptionError `HEARTH_CORRUPTION` if `bytes` is not the canonical encoding of a model value.
 */
export function decodeFieldValueV1(bytes: Uint8Array, checkCanonical = true): DocValue {
  if (checkCanonical) {
    const problem = canonicalValueProblem(bytes);
    if (problem !== null) throw new CorruptionError(`field value is not a canonical field value V1: ${problem}`);
  }
  return decodeValue(bytes);
}
