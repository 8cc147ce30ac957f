/**
 * Invites and admission requests. Spec: `docs/formats/sync-protocol.md`, "Invite tokens" and
 * "ADMISSION_REQUEST"; flow: `docs/sync.md`, "Joining a space".
 *
 * An admin makes an {@link Invite} (space id, relay URL, a random one-time secret, the role to grant, an expiry)
 * and hands it to the new device out of band (a link or QR code). The device answers with an admission request:
 * its public key, a proof that it knows the secret (HMAC-SHA256 keyed by the secret, RFC 2104), and its signature
 * (proving it holds the key it asks to admit). An admin that issued the invite checks both and, if the application
 * approves, writes the membership record. The secret never travels after the invite itself, so a relay that
 * forwards the request learns nothing that would let it admit another key.
 *
 * @packageDocumentation
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { signEd25519, verifyEd25519, type Keypair } from '@hearth/log';
import { ADMISSION_CONTEXT, INVITE_ID_BYTES, INVITE_MAGIC, INVITE_SECRET_BYTES, INVITE_TEXT_PREFIX, INVITE_V1 } from './constants.js';
import { SyncError, SyncErrorCode } from './errors.js';
import { fromBase64Url, toBase64Url } from './_base64.js';
import type { Role } from './membership.js';
import type { AdmissionRequestMessage } from './messages.js';

/** An invite to a space. Keep `secret` secret: whoever has the invite can ask to join. */
export interface Invite {
  /** Space id (root admin key), 32 bytes. */
  readonly space: Uint8Array;
  /** Where to connect (the relay's URL); may be empty for peer-to-peer use. */
  readonly relayUrl: string;
  /** 16 random bytes naming the invite. */
  readonly inviteId: Uint8Array;
  /** 32 random bytes, used once. */
  readonly secret: Uint8Array;
  /** Role granted on admission. */
  readonly role: Role;
  /** Expiry, ms since the Unix epoch. */
  readonly expiresAt: number;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): SyncError {
  return new SyncError(SyncErrorCode.INVALID_INVITE, message);
}

/**
 * Encodes an invite (binary; spec "Invite tokens"): magic "HRTHINVT", version, role, space, invite id, secret,
 * expiry (u64 ms), URL length (u16) and URL (UTF-8).
 * @throws RangeError / TypeError for fields outside the format.
 */
export function encodeInviteV1(invite: Invite): Uint8Array {
  const { space, relayUrl, inviteId, secret, role, expiresAt } = invite;
  if (!(space instanceof Uint8Array) || space.length !== 32) throw new RangeError('"space" expected Uint8Array of length 32');
  if (!(inviteId instanceof Uint8Array) || inviteId.length !== INVITE_ID_BYTES) throw new RangeError('"inviteId" expected Uint8Array of length 16');
  if (!(secret instanceof Uint8Array) || secret.length !== INVITE_SECRET_BYTES) throw new RangeError('"secret" expected Uint8Array of length 32');
  if (role !== 'admin' && role !== 'member') throw new RangeError('"role" expected "admin" or "member"');
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new RangeError('"expiresAt" expected a safe integer >= 0');
  if (typeof relayUrl !== 'string') throw new TypeError('"relayUrl" expected a string');
  const url = utf8.encode(relayUrl);
  if (url.length > 0xffff) throw new RangeError('"relayUrl" longer than 65,535 UTF-8 bytes');
  const out = new Uint8Array(8 + 1 + 1 + 32 + 16 + 32 + 8 + 2 + url.length);
  const view = new DataView(out.buffer);
  out.set(INVITE_MAGIC, 0);
  out[8] = INVITE_V1;
  out[9] = role === 'admin' ? 1 : 0;
  out.set(space, 10);
  out.set(inviteId, 42);
  out.set(secret, 58);
  view.setBigUint64(90, BigInt(expiresAt));
  view.setUint16(98, url.length);
  out.set(url, 100);
  return out;
}

/**
 * Decodes an invite.
 * @throws SyncError `HEARTH_INVALID_INVITE` for a wrong magic, version or role byte, a truncated or over-long token,
 *   an expiry beyond 2^53 - 1 or a URL that is not UTF-8.
 */
export function decodeInviteV1(bytes: Uint8Array): Invite {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  if (bytes.length < 100) throw invalid('invite token is truncated');
  for (let i = 0; i < 8; i++) if (bytes[i] !== INVITE_MAGIC[i]) throw invalid('invite token magic is not "HRTHINVT"');
  if (bytes[8] !== INVITE_V1) throw invalid(`unknown invite version ${bytes[8]}`);
  if (bytes[9] > 1) throw invalid(`unknown invite role ${bytes[9]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expires = view.getBigUint64(90);
  if (expires > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('invite expiry beyond 2^53 - 1');
  const n = view.getUint16(98);
  if (bytes.length !== 100 + n) throw invalid('invite URL length does not match the token');
  let relayUrl: string;
  try {
    relayUrl = utf8Strict.decode(bytes.subarray(100));
  } catch {
    throw invalid('invite URL is not UTF-8');
  }
  return {
    space: bytes.slice(10, 42),
    inviteId: bytes.slice(42, 58),
    secret: bytes.slice(58, 90),
    role: bytes[9] === 1 ? 'admin' : 'member',
    expiresAt: Number(expires),
    relayUrl,
  };
}

/** The text form of an invite: `hearth-invite:` + base64url (no padding) of {@link encodeInviteV1}. */
export function inviteToText(invite: Invite): string {
  return INVITE_TEXT_PREFIX + toBase64Url(encodeInviteV1(invite));
}

/**
 * Parses the text form (also accepts a link whose fragment is `#invite=<text form>`).
 * @throws SyncError `HEARTH_INVALID_INVITE`.
 */
export function inviteFromText(text: string): Invite {
  if (typeof text !== 'string') throw new TypeError('"text" expected a string');
  const hash = text.indexOf('#invite=');
  const t = hash >= 0 ? decodeURIComponent(text.slice(hash + 8)) : text;
  if (!t.startsWith(INVITE_TEXT_PREFIX)) throw invalid(`invite text does not start with "${INVITE_TEXT_PREFIX}"`);
  const bytes = fromBase64Url(t.slice(INVITE_TEXT_PREFIX.length));
  if (bytes === null) throw invalid('invite text is not base64url');
  return decodeInviteV1(bytes);
}

/** A link to open the app at the relay with the invite in the fragment (never sent to the server). */
export function inviteLink(invite: Invite): string {
  return `${invite.relayUrl}#invite=${encodeURIComponent(inviteToText(invite))}`;
}

function transcript(space: Uint8Array, inviteId: Uint8Array, device: Uint8Array, proof?: Uint8Array): Uint8Array {
  const ctx = utf8.encode(ADMISSION_CONTEXT);
  const out = new Uint8Array(ctx.length + 32 + 16 + 32 + (proof?.length ?? 0));
  out.set(ctx, 0);
  out.set(space, ctx.length);
  out.set(inviteId, ctx.length + 32);
  out.set(device, ctx.length + 48);
  if (proof !== undefined) out.set(proof, ctx.length + 80);
  return out;
}

/**
 * The admission request a device sends for an invite: proof = HMAC-SHA256(secret, context ‖ space ‖ invite id ‖
 * device key); signature = ed25519 by the device over (context ‖ space ‖ invite id ‖ device key ‖ proof).
 */
export async function makeAdmissionRequest(invite: Invite, keypair: Keypair): Promise<AdmissionRequestMessage> {
  const device = keypair.publicKey;
  const proof = hmac(sha256, invite.secret, transcript(invite.space, invite.inviteId, device));
  const signature = await signEd25519(transcript(invite.space, invite.inviteId, device, proof), keypair.secretKey);
  return { type: 'admission-request', inviteId: invite.inviteId.slice(), device: device.slice(), proof, signature };
}

/**
 * Checks an admission request against the invite it names: the proof (constant-time compare), the device's
 * signature and the expiry (`now` in ms). Does not check single use (the caller's invite book does).
 * @throws SyncError `HEARTH_INVALID_INVITE` if any check fails.
 */
export async function verifyAdmissionRequest(invite: Invite, request: AdmissionRequestMessage, now: number): Promise<void> {
  if (now > invite.expiresAt) throw invalid('the invite has expired');
  const expected = hmac(sha256, invite.secret, transcript(invite.space, invite.inviteId, request.device));
  let diff = expected.length ^ request.proof.length;
  for (let i = 0; i < expected.length && i < request.proof.length; i++) diff |= expected[i] ^ request.proof[i];
  if (diff !== 0) throw invalid('the admission proof does not match the invite secret');
  const ok = await verifyEd25519(request.signature, transcript(invite.space, invite.inviteId, request.device, request.proof), request.device);
  if (!ok) throw invalid('the admission request is not signed by the device key it names');
}
