/**
 * `@hearth/crdt`: hybrid logical clocks and the per-field last-writer-wins document CRDT.
 * Specs: `docs/formats/hlc.md`, `docs/formats/doc-state.md`.
 * @packageDocumentation
 */
export {
  HybridClock,
  packHlc,
  hlcMs,
  hlcCounter,
  assertHlc,
  writeHlc,
  readHlc,
  encodeHlcV1,
  decodeHlcV1,
  compareBytes,
  compareStamps,
  HLC_BYTES,
  HLC_COUNTER_BITS,
  HLC_MAX,
  HLC_MAX_COUNTER,
  HLC_MAX_MS,
  DEFAULT_MAX_DRIFT_MS,
} from './hlc.js';
export type { Hlc, HybridClockOptions } from './hlc.js';
export {
  emptyDocState,
  applyOp,
  mergeInto,
  mergeDocStates,
  docExists,
  docFields,
  docStatesEqual,
  compareResets,
  compareFieldWrites,
  survivesReset,
} from './doc.js';
export type { DocState, DocOp, FieldState, ResetState, FieldValues } from './doc.js';
export { encodeDocStateV1, decodeDocStateV1, stateHash, compareCodePoints, utf8Length } from './encoding.js';
export { CrdtErrorCode, ClockDriftError } from './errors.js';
export * as docStateConstants from './constants.js';
/** Unsigned LEB128 varints with canonical decoding, shared by Hearth's binary formats (doc state, ops). */
export { varintSize, writeVarint, readVarint } from './_varint.js';
