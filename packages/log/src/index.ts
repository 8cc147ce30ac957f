/**
 * `@hearth/log`: feeds of signed, hash-chained entries; verification; the feed store and state vectors.
 * Specs: `docs/formats/log-entry.md`, `docs/formats/feed-file.md`.
 * @packageDocumentation
 */
export {
  generateKeypair,
  keypairFromSecretKey,
  exportSecretKey,
  feedIdToHex,
  feedIdFromHex,
  isValidFeedId,
  signEd25519,
  verifyEd25519,
  hasWebCryptoEd25519,
} from './keys.js';
export type { Keypair, CryptoOptions, CryptoBackend } from './keys.js';
export {
  signEntry,
  decodeEntryV1,
  isDecodedEntry,
  encodeEntryV1,
  encodedEntryBytes,
  linkHash,
  computeSigningHash,
  describeEntry,
} from './entry.js';
export type { UnverifiedEntry, VerifiedEntry, NewEntry, EntryFieldsV1, EntryCryptoOptions, DecodeOptions } from './entry.js';
export { verifyEntry, verifyRange } from './verify.js';
export type { VerifyOptions } from './verify.js';
export { LogError, LogErrorCode, ForkError, FeedFrozenError } from './errors.js';
export type { LogErrorCodeValue } from './errors.js';
export * as logConstants from './constants.js';
export { FeedStore } from './feed-store.js';
export type { FeedHead, StateVectorEntry, RecoveryReport, FeedStoreOptions, FeedOpenReport, AppendResult } from './feed-store.js';
export { encodeStateVectorV1, decodeStateVectorV1 } from './state-vector.js';
