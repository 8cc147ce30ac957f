/**
 * The device keypair of each database, kept in IndexedDB (`idb`): database {@link KEYS_DB}, object store
 * {@link KEYS_STORE}, key = the Hearth database name, value = {@link KeyRecordV1}. Created on the first open of a
 * database on this device (origin), in one readwrite transaction (read, and add only if absent), so two racing
 * first opens agree on one key. Runs in the worker (workers have IndexedDB); the secret never reaches the page.
 *
 * Why IndexedDB and not the database directory: the keypair identifies the device's feed, so it must survive the
 * database files being dropped and rebuilt, and the IndexedDB fallback backend and OPFS share it.
 * @packageDocumentation
 */
import { openDB } from 'idb';
import { exportSecretKey, generateKeypair, keypairFromSecretKey, type Keypair } from '@hearth/log';
import { CorruptionError } from '@hearth/io';

/** IndexedDB database holding device keypairs. Do not change. */
export const KEYS_DB = 'hearth-sdk-keys';
/** Its object store. Do not change. */
export const KEYS_STORE = 'keypairs';

/** A stored keypair (structured clone). */
export interface KeyRecordV1 {
  readonly v: 1;
  /** The ed25519 secret key (32 bytes); the public key is derived from it. */
  readonly secretKey: Uint8Array;
  /** When it was created (ms since the epoch). */
  readonly created: number;
}

/**
 * Loads the keypair of database `name`, creating and storing one on first use.
 * @throws CorruptionError if the stored record is not a {@link KeyRecordV1}; IndexedDB errors (`DOMException`).
 */
export async function loadOrCreateDeviceKeypair(name: string): Promise<{ keypair: Keypair; created: boolean }> {
  const db = await openDB(KEYS_DB, 1, {
    upgrade(d) {
      if (!d.objectStoreNames.contains(KEYS_STORE)) d.createObjectStore(KEYS_STORE);
    },
  });
  try {
    const tx = db.transaction(KEYS_STORE, 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(KEYS_STORE);
    const found = (await store.get(name)) as unknown;
    let created = false;
    let secret: Uint8Array;
    if (found === undefined) {
      const kp = generateKeypair();
      secret = exportSecretKey(kp);
      const rec: KeyRecordV1 = { v: 1, secretKey: secret, created: Date.now() };
      await store.add(rec, name);
      created = true;
    } else {
      const r = found as Partial<KeyRecordV1>;
      if (r === null || typeof r !== 'object' || r.v !== 1 || !(r.secretKey instanceof Uint8Array) || r.secretKey.length !== 32) {
        throw new CorruptionError(`the device keypair record of database "${name}" in IndexedDB ${KEYS_DB}/${KEYS_STORE} is not a v1 record`);
      }
      secret = r.secretKey;
    }
    await tx.done;
    return { keypair: keypairFromSecretKey(secret), created };
  } finally {
    db.close();
  }
}
