/**
 * Wire constants of the sync protocol V1. Do not change released values.
 * Spec: `docs/formats/sync-protocol.md` (frames, messages, invite tokens, admission requests).
 * @packageDocumentation
 */

// --- frames (docs/formats/sync-protocol.md, "Frames") -----------------------------------------------------------

/** First two bytes of every frame: ASCII "HS". */
export const FRAME_MAGIC_0 = 0x48;
export const FRAME_MAGIC_1 = 0x53;
/** Frame format version, at offset 2. */
export const FRAME_V1 = 0x01;
/** Bytes of a frame header: magic 2, version 1, flags 1, frame number 4, payload length 4, CRC-32C 4. */
export const FRAME_HEADER_BYTES = 16;
/** Flag bit: this frame carries the last chunk of its message. */
export const FLAG_FINAL = 0x01;
/** Byte offsets of the frame header fields. */
export const FRAME_OFFSET = {
  MAGIC: 0,
  VERSION: 2,
  FLAGS: 3,
  NUMBER: 4,
  LENGTH: 8,
  CRC: 12,
  PAYLOAD: 16,
} as const;
/** Smallest transport message size the framing supports: a header plus 1 KiB of payload. */
export const MIN_TRANSPORT_MESSAGE_BYTES = FRAME_HEADER_BYTES + 1024;

// --- messages (docs/formats/sync-protocol.md, "Messages") -------------------------------------------------------

/** Protocol versions this implementation speaks (both ends pick the highest common one). */
export const PROTOCOL_MIN_VERSION = 1;
export const PROTOCOL_MAX_VERSION = 1;
/** ASCII "HRTHSYNC": the magic inside HELLO. */
export const HELLO_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x53, 0x59, 0x4e, 0x43]);

/** Message type: first byte of a reassembled message. */
export const MSG = {
  HELLO: 0x01,
  AUTH: 0x02,
  STATE: 0x03,
  ENTRIES: 0x04,
  ACK: 0x05,
  NOTICE: 0x06,
  ADMISSION_REQUEST: 0x07,
} as const;

/** NOTICE kinds. */
export const NOTICE = {
  /** An entry (feed, seq) was refused; `code` says why. */
  REJECTED: 0x01,
  /** The sender does not consider the receiver a member: it serves no entries until it does. */
  NOT_MEMBER: 0x02,
  /** The sender found fork evidence for (feed, seq). */
  FORK: 0x03,
  /** The answer to an ADMISSION_REQUEST: code `OK` or an error code. */
  ADMISSION: 0x04,
  /** The sender is closing the connection; `code` says why. */
  CLOSING: 0x05,
} as const;

/** Bytes of HELLO: type 1, magic 8, min version 2, max version 2, space 32, feed 32, nonce 32, window 4, max entry 4. */
export const HELLO_BYTES = 117;
/** Bytes of AUTH: type 1, signature 64. */
export const AUTH_BYTES = 65;
/** Bytes of ACK: type 1, cumulative bytes 8. */
export const ACK_BYTES = 9;
/** Bytes before the first entry of ENTRIES: type 1, feed 32, count 4. */
export const ENTRIES_HEADER_BYTES = 37;
/** Bytes of ADMISSION_REQUEST: type 1, invite id 16, device key 32, proof 32, signature 64. */
export const ADMISSION_REQUEST_BYTES = 145;
/** Domain separation prefix of the AUTH signature's message. */
export const AUTH_CONTEXT = 'hearth-sync-auth-v1';
/** Domain separation prefix of the admission proof (HMAC) and signature. */
export const ADMISSION_CONTEXT = 'hearth-admission-v1';

/** Largest entry any message may carry (the log's limit, 16 MiB). */
export const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/** Largest reassembled message: one maximal entry plus the ENTRIES header and its length prefix, plus slack. */
export const MAX_MESSAGE_BYTES = MAX_ENTRY_BYTES + 64 * 1024;

// --- defaults (not part of the format) ---------------------------------------------------------------------------

/**
 * Default receive window: bytes of ENTRIES messages a peer may send before we acknowledge them. 4 MiB: sixteen
 * default batches, ~18,000 small entries, ~100-150 ms of a device's ingest. Measured (2026-11-21, a 100,000-entry
 * catch-up from a relay on loopback into a Chromium worker): 1 MiB left the receiver idle while its ACKs (HTTP POSTs)
 * went up and the next batches came down, ~1,050-1,100 ms; 4 MiB, ~820-900 ms. A relay advertises a smaller window
 * for what its many clients upload ({@link RELAY_WINDOW_BYTES}).
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * Receive window a relay advertises by default: 1 MiB. What a relay receives (each client's uploads) is held until
 * it is processed, per connection; a relay serves many connections on small hardware.
 */
export const RELAY_WINDOW_BYTES = 1024 * 1024;
/** Default target size of one ENTRIES message (an entry larger than this travels alone). 256 KiB. */
export const DEFAULT_BATCH_BYTES = 256 * 1024;
/** Default bytes of entries held pending (author's admission not yet known), per node. 8 MiB. */
export const DEFAULT_PENDING_BYTES = 8 * 1024 * 1024;

// --- invites (docs/formats/sync-protocol.md, "Invite tokens") ----------------------------------------------------

/** ASCII "HRTHINVT": magic of an invite token. */
export const INVITE_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x49, 0x4e, 0x56, 0x54]);
export const INVITE_V1 = 0x01;
/** Bytes of an invite id. */
export const INVITE_ID_BYTES = 16;
/** Bytes of an invite secret. */
export const INVITE_SECRET_BYTES = 32;
/** Prefix of the text form of an invite token. */
export const INVITE_TEXT_PREFIX = 'hearth-invite:';

// --- membership records (docs/sync.md, "Membership") -------------------------------------------------------------

/** Collection holding membership records; only admins write it, only with well-formed records. */
export const MEMBERS_COLLECTION = '_members';
