/**
 * On-disk constants of `@hearth/crdt`. Do not change released values.
 * Specs: `docs/formats/hlc.md` (HLC layout), `docs/formats/doc-state.md` (document state encoding V1).
 * @packageDocumentation
 */

/** First byte of a document state encoding, version 1 (`docs/formats/doc-state.md`). */
export const DOC_STATE_V1 = 0x01;
/** Flags bit 0: the state has a reset (a put or delete was applied). */
export const DOC_FLAG_HAS_RESET = 0x01;
/** Flags bit 1: the reset is a delete (document tombstone); only valid with bit 0. */
export const DOC_FLAG_RESET_DELETED = 0x02;
/** Field record kind: the field was removed (field tombstone), no value follows. */
export const FIELD_KIND_REMOVED = 0x00;
/** Field record kind: a value follows. */
export const FIELD_KIND_VALUE = 0x01;
/** Longest feed id accepted, in bytes (Hearth feeds are 32-byte ed25519 public keys). */
export const MAX_FEED_BYTES = 255;
