/**
 * Sync messages V1: the payload of a reassembled frame sequence. Spec: `docs/formats/sync-protocol.md`,
 * "Messages". All integers are big-endian. The first byte is the message type.
 *
 * Decoding checks structure only (lengths, known types, canonical fields); entries inside ENTRIES stay encoded
 * bytes, to be decoded and verified by the receiver (`@hearth/log`), and a STATE's vector is decoded with the
 * log's canonical state-vector decoder.
 *
 * @packageDocumentation
 */
import { decodeStateVectorV1, encodeStateVectorV1, type StateVectorEntry } from '@hearth/log';
import {
  ACK_BYTES,
  ADMISSION_REQUEST_BYTES,
  AUTH_BYTES,
  ENTRIES_HEADER_BYTES,
  HELLO_BYTES,
  HELLO_MAGIC,
  INVITE_ID_BYTES,
  MSG,
  NOTICE,
} from './constants.js';
import { SyncError, SyncErrorCode } from './errors.js';

/** HELLO: the first message each side sends on a connection. */
export interface HelloMessage {
  readonly type: 'hello';
  /** Lowest and highest protocol versions the sender speaks. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The space (32 bytes: its root admin's public key, see `docs/sync.md`). */
  readonly space: Uint8Array;
  /** The sender's feed id (its device public key), proven by AUTH. */
  readonly feed: Uint8Array;
  /** 32 random bytes; the peer signs them in AUTH. */
  readonly nonce: Uint8Array;
  /** Receive window: bytes of ENTRIES messages the sender of HELLO accepts before it acknowledges. */
  readonly window: number;
  /** Largest entry the sender of HELLO stores (bytes). */
  readonly maxEntryBytes: number;
}

/** AUTH: ed25519 signature by the sender's feed key over the transcript (see the spec). */
export interface AuthMessage {
  readonly type: 'auth';
  readonly signature: Uint8Array;
}

/** STATE: the sender's state vector (feed → last seq and head hash). */
export interface StateMessage {
  readonly type: 'state';
  readonly items: readonly StateVectorEntry[];
}

/** ENTRIES: consecutive entries of one feed, in seq order, each still encoded (`docs/formats/log-entry.md`). */
export interface EntriesMessage {
  readonly type: 'entries';
  readonly feed: Uint8Array;
  readonly entries: readonly Uint8Array[];
}

/** ACK: cumulative bytes of ENTRIES messages the sender has processed on this connection. */
export interface AckMessage {
  readonly type: 'ack';
  readonly bytes: number;
}

/** NOTICE kinds by name. */
export type NoticeKind = 'rejected' | 'not-member' | 'fork' | 'admission' | 'closing';

/** NOTICE: information for the peer's application (refused entries, fork evidence, admission answers). */
export interface NoticeMessage {
  readonly type: 'notice';
  readonly kind: NoticeKind;
  /** The feed concerned, or 32 zero bytes. */
  readonly feed: Uint8Array;
  /** The seq concerned, or 0. */
  readonly seq: number;
  /** A stable error code (`HEARTH_...`) or `OK`; ASCII, at most 255 bytes. */
  readonly code: string;
  /** Human-readable text, UTF-8, at most 65,535 bytes. */
  readonly message: string;
}

/** ADMISSION_REQUEST: a device asks to be admitted with an invite (see `invite.ts`). */
export interface AdmissionRequestMessage {
  readonly type: 'admission-request';
  readonly inviteId: Uint8Array;
  readonly device: Uint8Array;
  readonly proof: Uint8Array;
  readonly signature: Uint8Array;
}

export type SyncMessage =
  | HelloMessage
  | AuthMessage
  | StateMessage
  | EntriesMessage
  | AckMessage
  | NoticeMessage
  | AdmissionRequestMessage;

const NOTICE_CODES: Record<NoticeKind, number> = {
  rejected: NOTICE.REJECTED,
  'not-member': NOTICE.NOT_MEMBER,
  fork: NOTICE.FORK,
  admission: NOTICE.ADMISSION,
  closing: NOTICE.CLOSING,
};
const NOTICE_KINDS = new Map<number, NoticeKind>(Object.entries(NOTICE_CODES).map(([k, v]) => [v, k as NoticeKind]));

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): never {
  throw new SyncError(SyncErrorCode.PROTOCOL, `malformed message: ${message}`);
}

function checkBytes(b: unknown, n: number, label: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new RangeError(`"${label}" expected Uint8Array of length ${n}`);
}

function checkU32(n: unknown, label: string): void {
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 0xffffffff) throw new RangeError(`"${label}" expected u32, got ${n}`);
}

function checkSafe(n: unknown, label: string): void {
  if (!Number.isSafeInteger(n) || (n as number) < 0) throw new RangeError(`"${label}" expected a safe integer >= 0, got ${n}`);
}

/**
 * Encodes a message (spec: `docs/formats/sync-protocol.md`). Returns a new array.
 * @throws TypeError / RangeError for fields outside the format (lengths, u32 ranges, a NOTICE code that is not
 *   ASCII or longer than 255 bytes, a message text over 65,535 UTF-8 bytes).
 */
export function encodeMessageV1(msg: SyncMessage): Uint8Array {
  switch (msg.type) {
    case 'hello': {
      checkBytes(msg.space, 32, 'space');
      checkBytes(msg.feed, 32, 'feed');
      checkBytes(msg.nonce, 32, 'nonce');
      for (const [v, l] of [[msg.minVersion, 'minVersion'], [msg.maxVersion, 'maxVersion']] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`"${l}" expected u16, got ${v}`);
      }
      checkU32(msg.window, 'window');
      checkU32(msg.maxEntryBytes, 'maxEntryBytes');
      const out = new Uint8Array(HELLO_BYTES);
      const view = new DataView(out.buffer);
      out[0] = MSG.HELLO;
      out.set(HELLO_MAGIC, 1);
      view.setUint16(9, msg.minVersion);
      view.setUint16(11, msg.maxVersion);
      out.set(msg.space, 13);
      out.set(msg.feed, 45);
      out.set(msg.nonce, 77);
      view.setUint32(109, msg.window);
      view.setUint32(113, msg.maxEntryBytes);
      return out;
    }
    case 'auth': {
      checkBytes(msg.signature, 64, 'signature');
      const out = new Uint8Array(AUTH_BYTES);
      out[0] = MSG.AUTH;
      out.set(msg.signature, 1);
      return out;
    }
    case 'state': {
      const sv = encodeStateVectorV1(msg.items);
      const out = new Uint8Array(1 + sv.length);
      out[0] = MSG.STATE;
      out.set(sv, 1);
      return out;
    }
    case 'entries': {
      checkBytes(msg.feed, 32, 'feed');
      if (!Array.isArray(msg.entries)) throw new TypeError('"entries" expected an array');
      if (msg.entries.length === 0) throw new RangeError('"entries" expected at least one entry');
      let size = ENTRIES_HEADER_BYTES;
      for (const e of msg.entries) {
        if (!(e instanceof Uint8Array)) throw new TypeError('"entries" expected Uint8Array items');
        size += 4 + e.length;
      }
      const out = new Uint8Array(size);
      const view = new DataView(out.buffer);
      out[0] = MSG.ENTRIES;
      out.set(msg.feed, 1);
      view.setUint32(33, msg.entries.length);
      let o = ENTRIES_HEADER_BYTES;
      for (const e of msg.entries) {
        view.setUint32(o, e.length);
        out.set(e, o + 4);
        o += 4 + e.length;
      }
      return out;
    }
    case 'ack': {
      checkSafe(msg.bytes, 'bytes');
      const out = new Uint8Array(ACK_BYTES);
      out[0] = MSG.ACK;
      new DataView(out.buffer).setBigUint64(1, BigInt(msg.bytes));
      return out;
    }
    case 'notice': {
      const kind = NOTICE_CODES[msg.kind];
      if (kind === undefined) throw new RangeError(`"kind" unknown notice kind ${String(msg.kind)}`);
      checkBytes(msg.feed, 32, 'feed');
      checkSafe(msg.seq, 'seq');
      if (typeof msg.code !== 'string' || !/^[\x20-\x7e]{0,255}$/.test(msg.code)) throw new RangeError('"code" expected printable ASCII of at most 255 bytes');
      if (typeof msg.message !== 'string') throw new TypeError('"message" expected a string');
      const text = utf8.encode(msg.message);
      if (text.length > 0xffff) throw new RangeError('"message" longer than 65,535 UTF-8 bytes');
      const out = new Uint8Array(1 + 1 + 32 + 8 + 1 + msg.code.length + 2 + text.length);
      const view = new DataView(out.buffer);
      out[0] = MSG.NOTICE;
      out[1] = kind;
      out.set(msg.feed, 2);
      view.setBigUint64(34, BigInt(msg.seq));
      out[42] = msg.code.length;
      for (let i = 0; i < msg.code.length; i++) out[43 + i] = msg.code.charCodeAt(i);
      const o = 43 + msg.code.length;
      view.setUint16(o, text.length);
      out.set(text, o + 2);
      return out;
    }
    case 'admission-request': {
      checkBytes(msg.inviteId, INVITE_ID_BYTES, 'inviteId');
      checkBytes(msg.device, 32, 'device');
      checkBytes(msg.proof, 32, 'proof');
      checkBytes(msg.signature, 64, 'signature');
      const out = new Uint8Array(ADMISSION_REQUEST_BYTES);
      out[0] = MSG.ADMISSION_REQUEST;
      out.set(msg.inviteId, 1);
      out.set(msg.device, 17);
      out.set(msg.proof, 49);
      out.set(msg.signature, 81);
      return out;
    }
    default:
      throw new TypeError(`unknown message type ${(msg as { type: unknown }).type}`);
  }
}

/**
 * Decodes a message. Byte fields are copies, except ENTRIES' entries (views into `bytes`, which must not be
 * reused while they are referenced).
 * @throws SyncError `HEARTH_SYNC_PROTOCOL` for an empty message, an unknown type, a length that does not fit the
 *   type, a wrong HELLO magic, an ENTRIES count that does not match its length, an unknown NOTICE kind, a NOTICE
 *   code that is not printable ASCII or a text that is not UTF-8, or a STATE that is not a canonical state vector.
 */
export function decodeMessageV1(bytes: Uint8Array): SyncMessage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  if (bytes.length === 0) bad('empty');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const exact = (n: number, name: string): void => {
    if (bytes.length !== n) bad(`${name} of ${bytes.length} bytes, expected ${n}`);
  };
  switch (bytes[0]) {
    case MSG.HELLO: {
      exact(HELLO_BYTES, 'HELLO');
      for (let i = 0; i < HELLO_MAGIC.length; i++) if (bytes[1 + i] !== HELLO_MAGIC[i]) bad('HELLO magic is not "HRTHSYNC"');
      const minVersion = view.getUint16(9);
      const maxVersion = view.getUint16(11);
      if (minVersion > maxVersion) bad(`HELLO versions ${minVersion} > ${maxVersion}`);
      return {
        type: 'hello',
        minVersion,
        maxVersion,
        space: bytes.slice(13, 45),
        feed: bytes.slice(45, 77),
        nonce: bytes.slice(77, 109),
        window: view.getUint32(109),
        maxEntryBytes: view.getUint32(113),
      };
    }
    case MSG.AUTH:
      exact(AUTH_BYTES, 'AUTH');
      return { type: 'auth', signature: bytes.slice(1, 65) };
    case MSG.STATE: {
      let items: StateVectorEntry[];
      try {
        items = decodeStateVectorV1(bytes.subarray(1));
      } catch (e) {
        return bad(`STATE: ${(e as Error).message}`);
      }
      return { type: 'state', items };
    }
    case MSG.ENTRIES: {
      if (bytes.length < ENTRIES_HEADER_BYTES) bad('ENTRIES shorter than its header');
      const count = view.getUint32(33);
      const entries: Uint8Array[] = [];
      let o = ENTRIES_HEADER_BYTES;
      for (let i = 0; i < count; i++) {
        if (o + 4 > bytes.length) bad(`ENTRIES truncated at entry ${i} of ${count}`);
        const n = view.getUint32(o);
        if (o + 4 + n > bytes.length) bad(`ENTRIES entry ${i} of ${n} bytes runs past the message`);
        entries.push(bytes.subarray(o + 4, o + 4 + n));
        o += 4 + n;
      }
      if (o !== bytes.length) bad(`ENTRIES has ${bytes.length - o} trailing bytes`);
      if (count === 0) bad('ENTRIES with no entry');
      return { type: 'entries', feed: bytes.slice(1, 33), entries };
    }
    case MSG.ACK: {
      exact(ACK_BYTES, 'ACK');
      const n = view.getBigUint64(1);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad('ACK beyond 2^53 - 1');
      return { type: 'ack', bytes: Number(n) };
    }
    case MSG.NOTICE: {
      if (bytes.length < 45) bad('NOTICE shorter than its header');
      const kind = NOTICE_KINDS.get(bytes[1]);
      if (kind === undefined) bad(`unknown NOTICE kind ${bytes[1]}`);
      const seq = view.getBigUint64(34);
      if (seq > BigInt(Number.MAX_SAFE_INTEGER)) bad('NOTICE seq beyond 2^53 - 1');
      const codeLength = bytes[42];
      if (43 + codeLength + 2 > bytes.length) bad('NOTICE truncated in its code');
      let code = '';
      for (let i = 0; i < codeLength; i++) {
        const c = bytes[43 + i];
        if (c < 0x20 || c > 0x7e) bad('NOTICE code is not printable ASCII');
        code += String.fromCharCode(c);
      }
      const o = 43 + codeLength;
      const textLength = view.getUint16(o);
      if (o + 2 + textLength !== bytes.length) bad('NOTICE text length does not match');
      let message: string;
      try {
        message = utf8Strict.decode(bytes.subarray(o + 2));
      } catch {
        return bad('NOTICE text is not UTF-8');
      }
      return { type: 'notice', kind: kind!, feed: bytes.slice(2, 34), seq: Number(seq), code, message };
    }
    case MSG.ADMISSION_REQUEST:
      exact(ADMISSION_REQUEST_BYTES, 'ADMISSION_REQUEST');
      return {
        type: 'admission-request',
        inviteId: bytes.slice(1, 17),
        device: bytes.slice(17, 49),
        proof: bytes.slice(49, 81),
        signature: bytes.slice(81, 145),
      };
    default:
      return bad(`unknown message type 0x${bytes[0].toString(16)}`);
  }
}
