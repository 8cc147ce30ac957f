// The tagged-JSON form of values used by the committed fixtures: plain JSON, plus {"$n": "NaN" | "-0" |
// "Infinity" | "-Infinity"} for numbers JSON cannot carry, {"$b": "<hex>"} for byte strings, {"$f32": [...]} for
// Float32Array vectors (elements as numbers or "NaN"/"-0"/"Infinity"/"-Infinity"), and
// {"$missing": true} for a missing value.
import { fromHex, toHex, type Value } from '../src/index.js';

export type Tagged = unknown;

export function fromTagged(t: Tagged): Value | undefined {
  if (Array.isArray(t)) return t.map(fromTagged) as Value[];
  if (t !== null && typeof t === 'object') {
    const o = t as Record<string, unknown>;
    if ('$n' in o) return Number(o.$n === '-0' ? -0 : o.$n);
    if ('$b' in o) return fromHex(o.$b as string);
    if ('$f32' in o) return Float32Array.from((o.$f32 as unknown[]).map((x) => (x === '-0' ? -0 : Number(x))));
    if ('$missing' in o) return undefined;
    const out: Record<string, Value | undefined> = {};
    for (const k of Object.keys(o)) out[k] = fromTagged(o[k]);
    return out;
  }
  return t as Value;
}

export function toTagged(v: Value | undefined): Tagged {
  if (v === undefined) return { $missing: true };
  if (typeof v === 'number') {
    if (Number.isNaN(v) || !Number.isFinite(v)) return { $n: String(v) };
    if (Object.is(v, -0)) return { $n: '-0' };
    return v;
  }
  if (v instanceof Uint8Array) return { $b: toHex(v) };
  if (v instanceof Float32Array) return { $f32: [...v].map((x) => (Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x))) };
  if (Array.isArray(v)) return v.map(toTagged);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, Tagged> = {};
    const o = v as { [key: string]: Value | undefined };
    for (const k of Object.keys(o)) out[k] = toTagged(o[k]);
    return out;
  }
  return v;
}
