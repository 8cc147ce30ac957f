/**
 * The per-field last-writer-wins (LWW) document CRDT.
 *
 * A document is the join of every operation ever applied to it. Three operations exist, each stamped with a
 * unique `(hlc, feed)` (the writer's HLC and feed id, see `hlc.ts`):
 * - `put(fields)`: replace the whole document. Expressed in LWW terms as a **reset** at the op's stamp (every
 *   field write older than the reset is void) plus a write of each given field at the same stamp.
 * - `patch(fields)`: write some fields; a `null` value removes that field (a field tombstone).
 * - `delete()`: a **document tombstone**: a reset at the op's stamp that writes no field.
 *
 * State (a join-semilattice; every component is a max under a total order):
 * - `reset`: the greatest reset applied, ordered by `(hlc, feed)`, ties broken by delete > put.
 * - `fields[name]`: the greatest write to `name`, ordered by `(hlc, feed)`, ties broken by value (a removal
 *   `null` < any bytes; bytes compare as unsigned, shorter prefix first).
 *
 * Invariants (what makes merge commutative, associative and idempotent, and encodings byte-identical):
 * 1. The state is a function of the **set** of operations applied, not of their order or multiplicity: `reset`
 *    and each field write are maxima under total orders, and pruning (2) depends only on those maxima.
 * 2. A field write is retained iff `reset` is null, or its stamp is greater than `reset`'s, or equal to it and
 *    `reset` is a put (the put's own fields). A write that fails this can never become visible again (`reset`
 *    only grows), so dropping it changes no observable result; the retained set is therefore determined by (1).
 * 3. `merge(a, b)` takes the max of each component and then prunes by (2), so `merge` is the join: commutative,
 *    associative and idempotent; `applyOp(s, op) = merge(s, state(op))`.
 * 4. The state holds references to the value arrays it was given; callers must not mutate them afterwards.
 *
 * Visibility: a field is visible iff it is retained with a non-null value. The document exists iff `reset` is a
 * put, or at least one field is visible (a patch newer than a delete revives the document with only the patched
 * fields: it is later, so it wins on those fields).
 *
 * Stamps are assumed unique per operation (one `HybridClock.now()` per op). If a buggy writer reuses one, the
 * tie-breaks above still give every replica the same answer.
 *
 * Reference: Shapiro, Preguiça, Baquero, Zawirski, "Conflict-free Replicated Data Types" (SSS 2011), LWW-register
 * and state-based CRDTs as join-semilattices.
 *
 * @packageDocumentation
 */
import { assertHlc, compareBytes, compareStamps, type Hlc } from './hlc.js';

/** The greatest put or delete applied to a document. */
export interface ResetState {
  readonly hlc: Hlc;
  readonly feed: Uint8Array;
  /** true for a delete (document tombstone), false for a put. */
  readonly deleted: boolean;
}

/** The greatest write to one field. `value` null is a field tombstone (the field was removed). */
export interface FieldState {
  readonly value: Uint8Array | null;
  readonly hlc: Hlc;
  readonly feed: Uint8Array;
}

/** The merged state of one document. Mutated in place by {@link applyOp} and {@link mergeInto}. */
export interface DocState {
  reset: ResetState | null;
  /** Retained field writes by field name (invariant 2). Iteration order is not significant. */
  readonly fields: Map<string, FieldState>;
}

/** Field values of an operation: a `Map` or a plain object of field name to encoded value. */
export type FieldValues<V> = ReadonlyMap<string, V> | Readonly<Record<string, V>>;

/** One document operation. Values are opaque encoded bytes (the db layer stores msgpack). */
export type DocOp =
  | { readonly type: 'put'; readonly hlc: Hlc; readonly feed: Uint8Array; readonly fields: FieldValues<Uint8Array> }
  | {
      readonly type: 'patch';
      readonly hlc: Hlc;
      readonly feed: Uint8Array;
      readonly fields: FieldValues<Uint8Array | null>;
    }
  | { readonly type: 'delete'; readonly hlc: Hlc; readonly feed: Uint8Array };

/** A new empty state (no operation applied: the document does not exist). */
export function emptyDocState(): DocState {
  return { reset: null, fields: new Map() };
}

/** Orders two resets: by `(hlc, feed)`, then delete above put. */
export function compareResets(a: ResetState, b: ResetState): number {
  const c = compareStamps(a.hlc, a.feed, b.hlc, b.feed);
  if (c !== 0) return c;
  return a.deleted === b.deleted ? 0 : a.deleted ? 1 : -1;
}

/** Orders two writes of one field: by `(hlc, feed)`, then by value (null lowest, then unsigned bytes). */
export function compareFieldWrites(a: FieldState, b: FieldState): number {
  const c = compareStamps(a.hlc, a.feed, b.hlc, b.feed);
  if (c !== 0) return c;
  if (a.value === null || b.value === null) return a.value === b.value ? 0 : a.value === null ? -1 : 1;
  return compareBytes(a.value, b.value);
}

/** Whether field write `f` survives reset `r` (invariant 2). */
export function survivesReset(f: FieldState, r: ResetState | null): boolean {
  if (r === null) return true;
  const c = compareStamps(f.hlc, f.feed, r.hlc, r.feed);
  return c > 0 || (c === 0 && !r.deleted);
}

/**
 * Applies one operation to `state` in place (the join of `state` with the operation's own state).
 * Returns true if the state changed (false for a duplicate or an operation entirely older than the state).
 *
 * @throws TypeError if the op is malformed: unknown type, HLC not a bigint, feed not a non-empty Uint8Array, a
 *   field name that is not well-formed UTF-16 (a lone surrogate would make two names encode alike), a put value
 *   that is not a Uint8Array or a patch value that is neither a Uint8Array nor null.
 */
export function applyOp(state: DocState, op: DocOp): boolean {
  checkStamp(op.hlc, op.feed);
  const { hlc, feed } = op;
  if (op.type === 'delete') return joinReset(state, { hlc, feed, deleted: true });
  if (op.type !== 'put' && op.type !== 'patch') throw new TypeError(`"op.type" expected put, patch or delete`);
  const isPut = op.type === 'put';
  let changed = false;
  if (isPut) changed = joinReset(state, { hlc, feed, deleted: false });
  for (const [name, value] of fieldEntries(op.fields)) {
    checkFieldName(name);
    if (value === null ? isPut : !(value instanceof Uint8Array)) {
      throw new TypeError(`"fields.${name}" expected Uint8Array${isPut ? '' : ' or null'}`);
    }
    if (joinField(state, name, { value, hlc, feed })) changed = true;
  }
  return changed;
}

/**
 * Joins `source` into `target` in place (`target := target ⊔ source`). `source` is not modified; `target` shares
 * `source`'s immutable field records afterwards. Returns true if `target` changed.
 */
export function mergeInto(target: DocState, source: DocState): boolean {
  let changed = false;
  if (source.reset !== null && joinReset(target, source.reset)) changed = true;
  for (const [name, f] of source.fields) {
    if (joinField(target, name, f)) changed = true;
  }
  return changed;
}

/** The join of two states as a new state (neither input is modified). Commutative, associative, idempotent. */
export function mergeDocStates(a: DocState, b: DocState): DocState {
  const out: DocState = { reset: a.reset, fields: new Map(a.fields) };
  mergeInto(out, b);
  return out;
}

/** Whether the document exists: its newest reset is a put, or some field is visible. */
export function docExists(state: DocState): boolean {
  if (state.reset !== null && !state.reset.deleted) return true;
  for (const f of state.fields.values()) if (f.value !== null) return true;
  return false;
}

/**
 * The visible document: field name → encoded value, or null if the document does not exist. Field order is
 * ascending by name (UTF-16 code units; the canonical encoding orders by UTF-8 bytes instead).
 */
export function docFields(state: DocState): Map<string, Uint8Array> | null {
  if (!docExists(state)) return null;
  const names = [...state.fields.keys()].sort();
  const out = new Map<string, Uint8Array>();
  for (const n of names) {
    const v = state.fields.get(n)!.value;
    if (v !== null) out.set(n, v);
  }
  return out;
}

/** Whether two states are equal as lattice elements (same reset, same retained writes). */
export function docStatesEqual(a: DocState, b: DocState): boolean {
  if ((a.reset === null) !== (b.reset === null)) return false;
  if (a.reset !== null && compareResets(a.reset, b.reset!) !== 0) return false;
  if (a.fields.size !== b.fields.size) return false;
  for (const [name, f] of a.fields) {
    const g = b.fields.get(name);
    if (g === undefined || compareFieldWrites(f, g) !== 0) return false;
  }
  return true;
}

// --- internal joins ------------------------------------------------------------------------------------------

function joinReset(state: DocState, r: ResetState): boolean {
  if (state.reset !== null && compareResets(r, state.reset) <= 0) return false;
  state.reset = r;
  for (const [name, f] of state.fields) {
    if (!survivesReset(f, r)) state.fields.delete(name);
  }
  return true;
}

function joinField(state: DocState, name: string, f: FieldState): boolean {
  if (!survivesReset(f, state.reset)) return false;
  const cur = state.fields.get(name);
  if (cur !== undefined && compareFieldWrites(f, cur) <= 0) return false;
  state.fields.set(name, f);
  return true;
}

function fieldEntries<V>(fields: FieldValues<V>): Iterable<readonly [string, V]> {
  if (fields instanceof Map) return fields.entries();
  // Any other ReadonlyMap (e.g. the db's packed fields): a map has callable `entries` and `get`; a plain object of
  // encoded values cannot (its values are Uint8Array or null).
  const m = fields as ReadonlyMap<string, V>;
  if (typeof m.entries === 'function' && typeof m.get === 'function') return m.entries();
  if (fields === null || typeof fields !== 'object') throw new TypeError('"op.fields" expected a Map or an object');
  return Object.entries(fields as Record<string, V>);
}

function checkStamp(hlc: Hlc, feed: Uint8Array): void {
  assertHlc(hlc, 'op.hlc');
  if (!(feed instanceof Uint8Array) || feed.length === 0 || feed.length > 255) {
    throw new TypeError('"op.feed" expected Uint8Array of length 1..255');
  }
}

/** Rejects names with lone surrogates: they have no UTF-8 encoding, so the canonical encoding could not be unique. */
export function checkFieldName(name: string): void {
  if (typeof name !== 'string') throw new TypeError('field name expected string');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = name.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new TypeError(`field name ${JSON.stringify(name)} has a lone surrogate`);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new TypeError(`field name ${JSON.stringify(name)} has a lone surrogate`);
    }
  }
}
