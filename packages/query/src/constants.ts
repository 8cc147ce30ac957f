/**
 * Constants of the index key encoding, version 1. Spec: `docs/formats/index-keys.md`. **Do not change**: index
 * keys are stored, and a changed byte reorders or corrupts every index built before.
 * @packageDocumentation
 */

/** Version of the index key encoding described by the spec. */
export const INDEX_KEY_VERSION = 1;

/** Terminator of arrays and objects; with {@link ESCAPE_FF}, the string terminator. Smaller than every tag. */
export const TERMINATOR = 0x00;
/** In a string or byte string, a 0x00 data byte is written 0x00 0xFF. No tag is 0xFF. */
export const ESCAPE_FF = 0xff;
/** Precedes each key/value pair of an object, so that the object terminator (0x00) sorts before any pair. */
export const OBJECT_PAIR = 0x01;

/** Type tags, in the order of the total order over values. */
export const Tag = {
  MISSING: 0x01,
  NULL: 0x02,
  FALSE: 0x03,
  TRUE: 0x04,
  NUMBER: 0x05,
  STRING: 0x06,
  BYTES: 0x07,
  ARRAY: 0x08,
  OBJECT: 0x09,
  /** `Float32Array`. New types take new tags at the end, so keys of existing types keep their bytes. */
  VECTOR: 0x0a,
} as const;

/** One past the last tag: upper bound of every encoded value. */
export const TAG_END = 0x0b;

/** Precedes each element of a vector, so that the vector terminator (0x00) sorts before any element. */
export const VECTOR_ELEMENT = 0x01;

/** Version byte that starts every pagination cursor (see `docs/query.md`). */
export const CURSOR_VERSION = 1;
