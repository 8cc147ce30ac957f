/**
 * JSON form of document values for the relay's HTTP API (query results, export/import lines). JSON has no bytes,
 * vectors or non-finite numbers, so those travel as one-key objects:
 * - `Uint8Array` ↔ `{ "$bytes": "<base64url>" }`
 * - `Float32Array` ↔ `{ "$f32": [numbers] }` (float32 values are exact in JSON doubles)
 * - `NaN`, `Infinity`, `-Infinity`, `-0` ↔ `{ "$num": "NaN" | "Infinity" | "-Infinity" | "-0" }`
 * A document field whose value is an object with exactly one of these keys is decoded as that type, so a
 * document cannot hold a plain object of that exact shape through this API (documented in `docs/relay.md`).
 * @packageDocumentation
 */
import { fromBase64url, toBase64url } from '@hearth/sync';

/** Encodes a document value (or any query result) for `JSON.stringify`. */
export function toJsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: toBase64url(v) };
  if (v instanceof Float32Array) return { $f32: Array.from(v) };
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $num: Object.is(v, -0) ? '-0' : String(v) };
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

/**
 * Decodes the JSON form back to document values.
 * @throws TypeError for a malformed `$bytes`, `$f32` or `$num` object.
 */
export function fromJsonValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length === 1) {
      if (keys[0] === '$bytes') {
        const b = typeof o.$bytes === 'string' ? fromBase64url(o.$bytes) : null;
        if (b === null) throw new TypeError('"$bytes" expected base64url text');
        return b;
      }
      if (keys[0] === '$f32') {
        if (!Array.isArray(o.$f32) || !o.$f32.every((x) => typeof x === 'number')) throw new TypeError('"$f32" expected an array of numbers');
        return Float32Array.from(o.$f32 as number[]);
      }
      if (keys[0] === '$num') {
        if (o.$num === 'NaN') return NaN;
        if (o.$num === 'Infinity') return Infinity;
        if (o.$num === '-Infinity') return -Infinity;
        if (o.$num === '-0') return -0;
        throw new TypeError('"$num" expected "NaN", "Infinity", "-Infinity" or "-0"');
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromJsonValue(o[k]);
    return out;
  }
  return v;
}
