/**
 * Where an admin keeps the invites it issued, so that an invite link keeps working after the admin's app or
 * relay restarts (`docs/sync.md`, "Joining a space"). Format: invites file V1, `docs/formats/invites.md`;
 * fixture `packages/sync/test/fixtures/invites-v1.bin`.
 *
 * The file holds one-time secrets: it stays on the issuing device (next to its keypair), is never synced, and
 * holds only unexpired invites (the node drops expired ones when it saves).
 *
 * @packageDocumentation
 */
import { CorruptionError, readFileIfExists, writeFileAtomic, type FileSystem } from '@hearth/io';
import { crc32c } from '@hearth/lsm';
import type { Invite } from './invite.js';

/** An issued invite and whether it was used (each admits one device). */
export interface StoredInvite {
  readonly invite: Invite;
  readonly used: boolean;
}

/** Persistence of issued invites ({@link SyncNodeOptions.inviteStore}). */
export interface InviteStore {
  /** Every stored invite (none if nothing was saved). @throws CorruptionError for a damaged store; IoError. */
  load(): Promise<StoredInvite[]>;
  /** Replaces the stored invites, durably when it resolves. @throws IoError. */
  save(invites: readonly StoredInvite[]): Promise<void>;
}

/** `HRTHINV1`. */
export const INVITES_MAGIC = Uint8Array.of(0x48, 0x52, 0x54, 0x48, 0x49, 0x4e, 0x56, 0x31);
export const INVITES_V1 = 0x01;
const HEADER = 13;
const FIXED = 16 + 32 + 32 + 1 + 1 + 8 + 2; // id, secret, space, role, used, expiresAt, relay URL length
const MAX_URL_BYTES = 0xffff;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Encodes the invites file V1 (big-endian; layout in `docs/formats/invites.md`). @throws RangeError for a relay URL over 65,535 bytes. */
export function encodeInvitesFileV1(invites: readonly StoredInvite[]): Uint8Array {
  const urls = invites.map((x) => utf8.encode(x.invite.relayUrl));
  let size = HEADER + 4;
  for (const u of urls) {
    if (u.length > MAX_URL_BYTES) throw new RangeError('"relayUrl" longer than 65,535 bytes');
    size += FIXED + u.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(INVITES_MAGIC, 0);
  out[8] = INVITES_V1;
  view.setUint32(9, invites.length);
  let o = HEADER;
  invites.forEach((x, i) => {
    const inv = x.invite;
    out.set(inv.inviteId, o);
    out.set(inv.secret, o + 16);
    out.set(inv.space, o + 48);
    out[o + 80] = inv.role === 'admin' ? 1 : 0;
    out[o + 81] = x.used ? 1 : 0;
    view.setFloat64(o + 82, inv.expiresAt);
    view.setUint16(o + 90, urls[i].length);
    out.set(urls[i], o + 92);
    o += FIXED + urls[i].length;
  });
  view.setUint32(o, crc32c(out.subarray(0, o)));
  return out;
}

/**
 * Decodes the invites file V1.
 * @throws CorruptionError `HEARTH_CORRUPTION` on a wrong magic, version, length, checksum, role or used byte, an
 *   expiry that is not a finite number, or a relay URL that is not UTF-8.
 */
export function decodeInvitesFileV1(bytes: Uint8Array, path = 'invites'): StoredInvite[] {
  const bad = (why: string): never => {
    throw new CorruptionError(`invites file refused: ${why}. The invites it held must be issued again`, { path });
  };
  if (bytes.length < HEADER + 4) bad(`${bytes.length} bytes, too short`);
  for (let i = 0; i < INVITES_MAGIC.length; i++) if (bytes[i] !== INVITES_MAGIC[i]) bad('bad magic');
  if (bytes[8] !== INVITES_V1) bad(`unknown version ${bytes[8]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 4;
  if (view.getUint32(end) !== crc32c(bytes.subarray(0, end))) bad('checksum mismatch');
  const n = view.getUint32(9);
  const out: StoredInvite[] = [];
  let o = HEADER;
  for (let i = 0; i < n; i++) {
    if (end - o < FIXED) bad('truncated invite');
    const role = bytes[o + 80];
    const used = bytes[o + 81];
    if (role > 1 || used > 1) bad('a role or used byte out of range');
    const expiresAt = view.getFloat64(o + 82);
    if (!Number.isFinite(expiresAt)) bad('an expiry that is not a finite number');
    const urlLen = view.getUint16(o + 90);
    if (end - o - FIXED < urlLen) bad('truncated relay URL');
    let relayUrl: string;
    try {
      relayUrl = utf8Strict.decode(bytes.subarray(o + 92, o + 92 + urlLen));
    } catch {
      return bad('a relay URL that is not UTF-8');
    }
    out.push({
      invite: {
        inviteId: bytes.slice(o, o + 16),
        secret: bytes.slice(o + 16, o + 48),
        space: bytes.slice(o + 48, o + 80),
        role: role === 1 ? 'admin' : 'member',
        expiresAt,
        relayUrl,
      },
      used: used === 1,
    });
    o += FIXED + urlLen;
  }
  if (o !== end) bad(`${end - o} trailing bytes`);
  return out;
}

/**
 * An {@link InviteStore} in one file of a {@link FileSystem} (Node fs for a relay, OPFS in a worker): written to
 * `<path>.tmp`, synced, renamed over `path` (atomic); no file = no invites.
 */
export function fileInviteStore(fs: FileSystem, path: string): InviteStore {
  return {
    async load() {
      const bytes = await readFileIfExists(fs, path);
      return bytes === undefined ? [] : decodeInvitesFileV1(bytes, path);
    },
    save(invites) {
      return writeFileAtomic(fs, path, encodeInvitesFileV1(invites));
    },
  };
}
