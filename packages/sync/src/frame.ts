/**
 * Frames V1: how a sync message travels over a {@link Transport} whose messages may be smaller than the message
 * (WebRTC data channels: about 16 KiB). Spec: `docs/formats/sync-protocol.md`, "Frames".
 *
 * A message is cut into chunks that each fit the transport's `maxMessageBytes` with a 16-byte header; the last
 * chunk carries the FINAL flag. Every frame carries a number (consecutive per connection and direction, from 0)
 * and a CRC-32C over its header and payload, so a transport that loses, repeats, reorders or damages a frame is
 * detected instead of producing a wrong message.
 *
 * Invariants of {@link Deframer}:
 * 1. It returns a message only when every frame from its first chunk to its FINAL chunk arrived in order with a
 *    valid checksum; the bytes are exactly the concatenated payloads.
 * 2. After it throws once, it throws on every later frame (a connection with a broken stream is closed).
 * 3. It never holds more than `maxMessageBytes` of payload.
 *
 * @packageDocumentation
 */
import { crc32c } from '@hearth/lsm';
import {
  FLAG_FINAL,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC_0,
  FRAME_MAGIC_1,
  FRAME_OFFSET,
  FRAME_V1,
  MAX_MESSAGE_BYTES,
  MIN_TRANSPORT_MESSAGE_BYTES,
} from './constants.js';
import { SyncError, SyncErrorCode } from './errors.js';
import { fromBase64Url, toBase64Url } from './_base64.js';

/** A decoded frame. `payload` is a view into the input bytes. */
export interface FrameV1 {
  /** Frame number: consecutive per connection and direction, from 0, wrapping at 2^32. */
  readonly number: number;
  /** Whether this frame carries the last chunk of its message. */
  readonly final: boolean;
  readonly payload: Uint8Array;
}

function protocolError(message: string): SyncError {
  return new SyncError(SyncErrorCode.PROTOCOL, message);
}

function frameCrc(frame: Uint8Array): number {
  // CRC over the header's first 12 bytes then the payload, computed as one pass over a joined view.
  const joined = new Uint8Array(frame.length - 4);
  joined.set(frame.subarray(0, FRAME_OFFSET.CRC), 0);
  joined.set(frame.subarray(FRAME_OFFSET.PAYLOAD), FRAME_OFFSET.CRC);
  return crc32c(joined) >>> 0;
}

/**
 * Encodes one frame: header (magic "HS", version 1, flags, number, payload length, CRC-32C) then the payload.
 * @throws RangeError if `number` is not a u32 or the payload is longer than 2^32 - 1 bytes.
 */
export function encodeFrameV1(frame: FrameV1): Uint8Array {
  const { number, final, payload } = frame;
  if (!Number.isInteger(number) || number < 0 || number > 0xffffffff) throw new RangeError(`"number" expected u32, got ${number}`);
  if (!(payload instanceof Uint8Array)) throw new TypeError('"payload" expected Uint8Array');
  if (payload.length > 0xffffffff) throw new RangeError('"payload" longer than 2^32 - 1 bytes');
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  out[FRAME_OFFSET.MAGIC] = FRAME_MAGIC_0;
  out[FRAME_OFFSET.MAGIC + 1] = FRAME_MAGIC_1;
  out[FRAME_OFFSET.VERSION] = FRAME_V1;
  out[FRAME_OFFSET.FLAGS] = final ? FLAG_FINAL : 0;
  view.setUint32(FRAME_OFFSET.NUMBER, number);
  view.setUint32(FRAME_OFFSET.LENGTH, payload.length);
  out.set(payload, FRAME_OFFSET.PAYLOAD);
  view.setUint32(FRAME_OFFSET.CRC, frameCrc(out));
  return out;
}

/**
 * Decodes and checks one frame. The payload is a view into `bytes`.
 * @throws SyncError `HEARTH_SYNC_PROTOCOL` for a short frame, wrong magic or version, unknown flag bits, a length
 *   that does not match, or a checksum mismatch.
 */
export function decodeFrameV1(bytes: Uint8Array): FrameV1 {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  if (bytes.length < FRAME_HEADER_BYTES) throw protocolError(`frame of ${bytes.length} bytes is shorter than its header`);
  if (bytes[0] !== FRAME_MAGIC_0 || bytes[1] !== FRAME_MAGIC_1) throw protocolError('frame magic is not "HS"');
  if (bytes[FRAME_OFFSET.VERSION] !== FRAME_V1) throw protocolError(`unknown frame version ${bytes[FRAME_OFFSET.VERSION]}`);
  const flags = bytes[FRAME_OFFSET.FLAGS];
  if ((flags & ~FLAG_FINAL) !== 0) throw protocolError(`unknown frame flags 0x${flags.toString(16)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(FRAME_OFFSET.LENGTH);
  if (length !== bytes.length - FRAME_HEADER_BYTES) {
    throw protocolError(`frame payload length ${length} does not match the ${bytes.length - FRAME_HEADER_BYTES} bytes present`);
  }
  if (view.getUint32(FRAME_OFFSET.CRC) !== frameCrc(bytes)) throw protocolError('frame checksum mismatch');
  return { number: view.getUint32(FRAME_OFFSET.NUMBER), final: (flags & FLAG_FINAL) !== 0, payload: bytes.subarray(FRAME_OFFSET.PAYLOAD) };
}

/**
 * Cuts messages into frames for one direction of one connection (numbers them from 0).
 * @example `for (const f of framer.frames(msg)) transport.send(f);`
 */
export class Framer {
  private next = 0;
  private readonly chunk: number;
  /**
   * @param maxFrameBytes the transport's `maxMessageBytes` (at least {@link MIN_TRANSPORT_MESSAGE_BYTES}); each
   *   frame, header included, fits in it.
   * @throws RangeError if `maxFrameBytes` is below the minimum.
   */
  constructor(maxFrameBytes: number) {
    if (!(maxFrameBytes >= MIN_TRANSPORT_MESSAGE_BYTES)) {
      throw new RangeError(`"maxFrameBytes" expected >= ${MIN_TRANSPORT_MESSAGE_BYTES}, got ${maxFrameBytes}`);
    }
    this.chunk = Math.min(maxFrameBytes - FRAME_HEADER_BYTES, 0xffffffff);
  }

  /**
   * The frames of one message, in order (at least one: an empty message is one empty FINAL frame).
   * @throws SyncError `HEARTH_MESSAGE_TOO_LARGE` if the message exceeds {@link MAX_MESSAGE_BYTES}.
   */
  frames(message: Uint8Array): Uint8Array[] {
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new SyncError(SyncErrorCode.MESSAGE_TOO_LARGE, `message of ${message.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
    }
    const out: Uint8Array[] = [];
    let pos = 0;
    do {
      const end = Math.min(message.length, pos + this.chunk);
      out.push(encodeFrameV1({ number: this.next, final: end === message.length, payload: message.subarray(pos, end) }));
      this.next = (this.next + 1) >>> 0;
      pos = end;
    } while (pos < message.length);
    return out;
  }
}

/** Reassembles messages from the frames of one direction of one connection (see the invariants above). */
export class Deframer {
  private expected = 0;
  private parts: Uint8Array[] = [];
  private held = 0;
  private broken: SyncError | null = null;
  /** Frames that repeated an already received number (ignored). */
  duplicates = 0;

  constructor(private readonly maxMessageBytes = MAX_MESSAGE_BYTES) {}

  /**
   * Takes the next frame; returns the completed message, or null while a message is incomplete or the frame was a
   * repeat of one already received (a transport delivering a frame twice; ignored and counted).
   * @throws SyncError `HEARTH_SYNC_PROTOCOL` for a damaged frame or a frame number gap (a lost or reordered frame);
   *   `HEARTH_MESSAGE_TOO_LARGE` if a message grows past the limit.
   */
  push(bytes: Uint8Array): Uint8Array | null {
    if (this.broken !== null) throw this.broken;
    try {
      const f = decodeFrameV1(bytes);
      const behind = (this.expected - f.number) >>> 0;
      if (f.number !== this.expected) {
        if (behind > 0 && behind < 0x80000000) {
          this.duplicates++;
          return null;
        }
        throw protocolError(`frame ${f.number} arrived where frame ${this.expected} was expected (a frame was lost or reordered)`);
      }
      this.expected = (this.expected + 1) >>> 0;
      this.held += f.payload.length;
      if (this.held > this.maxMessageBytes) {
        throw new SyncError(SyncErrorCode.MESSAGE_TOO_LARGE, `message exceeds ${this.maxMessageBytes} bytes`);
      }
      this.parts.push(f.payload.slice());
      if (!f.final) return null;
      const parts = this.parts;
      this.parts = [];
      this.held = 0;
      if (parts.length === 1) return parts[0];
      let n = 0;
      for (const p of parts) n += p.length;
      const out = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    } catch (e) {
      this.broken = e as SyncError;
      this.parts = [];
      throw e;
    }
  }
}

/**
 * The text form of a frame, for text-only transports (an SSE `data:` line): base64url without padding (RFC 4648
 * section 5) of the frame's bytes. The frame's CRC-32C checks the decoding.
 */
export function encodeFrameTextV1(frame: Uint8Array): string {
  if (!(frame instanceof Uint8Array)) throw new TypeError('"frame" expected Uint8Array');
  return toBase64Url(frame);
}

/**
 * Bytes of a frame's text form (not yet checked as a frame: pass them to a {@link Deframer}).
 * @throws SyncError `HEARTH_SYNC_PROTOCOL` if `text` is not base64url.
 */
export function decodeFrameTextV1(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('"text" expected a string');
  const bytes = fromBase64Url(text);
  if (bytes === null) throw protocolError('frame text is not base64url');
  return bytes;
}
