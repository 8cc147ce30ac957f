/**
 * The device keypair file, for a database that keeps its own keypair (Node, the relay, tests). The browser SDK keeps
 * the keypair in IndexedDB instead and passes it to `Database.open`. Spec: `docs/formats/db-layout.md`.
 *
 * Invariant: the file at {@link KEYPAIR_FILE} is complete whenever it exists: it is written whole under
 * {@link KEYPAIR_TMP_FILE}, synced, then renamed into place (atomic, durable when `rename` resolves).
 * @packageDocumentation
 */
import { CorruptionError, readFileIfExists, writeFileAtomic, type FileSystem } from '@hearth/io';
import { crc32c } from '@hearth/lsm';
import { generateKeypair, keypairFromSecretKey, type Keypair } from '@hearth/log';
import { KEYPAIR_FILE, KEYPAIR_FILE_BYTES, KEYPAIR_MAGIC, KEYPAIR_TMP_FILE, KEYPAIR_V1 } from './constants.js';

/** Encodes the keypair file V1: magic, version, secret key, public key, CRC-32C (big-endian) of the bytes before. */
export function encodeKeypairFileV1(kp: Keypair): Uint8Array {
  const out = new Uint8Array(KEYPAIR_FILE_BYTES);
  out.set(KEYPAIR_MAGIC, 0);
  out[8] = KEYPAIR_V1;
  out.set(kp.secretKey, 9);
  out.set(kp.publicKey, 41);
  new DataView(out.buffer).setUint32(73, crc32c(out.subarray(0, 73)));
  return out;
}

/**
 * Decodes the keypair file V1.
 * @throws CorruptionError `HEARTH_CORRUPTION` for a wrong size, magic, version or checksum, or a public key that
 *   does not belong to the secret key.
 */
export function decodeKeypairFileV1(bytes: Uint8Array, path = KEYPAIR_FILE): Keypair {
  const bad = (why: string): never => {
    throw new CorruptionError(`keypair file refused: ${why}. The device identity cannot be recovered from it; restore it from a backup or open with another keypair`, { path });
  };
  if (bytes.length !== KEYPAIR_FILE_BYTES) bad(`${bytes.length} bytes, expected ${KEYPAIR_FILE_BYTES}`);
  for (let i = 0; i < KEYPAIR_MAGIC.length; i++) if (bytes[i] !== KEYPAIR_MAGIC[i]) bad('bad magic');
  if (bytes[8] !== KEYPAIR_V1) bad(`unknown version ${bytes[8]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(73) !== crc32c(bytes.subarray(0, 73))) bad('checksum mismatch');
  const kp = keypairFromSecretKey(bytes.subarray(9, 41));
  for (let i = 0; i < 32; i++) if (kp.publicKey[i] !== bytes[41 + i]) bad('public key does not match the secret key');
  return kp;
}

/**
 * Loads the keypair stored in `dir`, or creates, stores (durably) and returns a new one.
 * @throws CorruptionError if the stored file is damaged; IoError from the file system.
 */
export async function loadOrCreateKeypair(fs: FileSystem, dir: string): Promise<{ keypair: Keypair; created: boolean }> {
  const path = `${dir}/${KEYPAIR_FILE}`;
  const stored = await readFileIfExists(fs, path);
  if (stored !== undefined) return { keypair: decodeKeypairFileV1(stored, path), created: false };
  const keypair = generateKeypair();
  await writeFileAtomic(fs, path, encodeKeypairFileV1(keypair)); // via KEYPAIR_TMP_FILE (= path + '.tmp')
  return { keypair, created: true };
}
