/**
 * Runs in a Chromium dedicated worker (bundled by the harness): `@hearth/log` with both ed25519 backends
 * (WebCrypto must be the native one here), and the feed store on OPFS; a `@hearth/crdt` state hash that must equal
 * Node's. Build-time constants from `log.test.ts`: the RFC 8032 TEST 1024 message and the expected state hash.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { OpfsFileSystem } from '@hearth/io';
import {
  FeedStore,
  decodeEntryV1,
  hasWebCryptoEd25519,
  keypairFromSecretKey,
  signEd25519,
  signEntry,
  verifyEd25519,
  verifyRange,
  type VerifiedEntry,
} from '@hearth/log';
import { applyOp, emptyDocState, stateHash } from '@hearth/crdt';
import { main, runCase } from './worker-kit.js';
import { LOG_BROWSER_CASES, RFC8032_SHORT, crdtSampleOps } from './log.shared.js';

declare const __TEST1024_MSG__: string;
declare const __CRDT_STATE_HASH__: string;

const h = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const vectors = [
  ...RFC8032_SHORT,
  {
    name: 'TEST 1024',
    sk: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    pk: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    msg: __TEST1024_MSG__,
    sig: '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
];

const cases: Record<(typeof LOG_BROWSER_CASES)[number], () => Promise<void>> = {
  'log: WebCrypto Ed25519 is available in Chromium': async () => {
    check(await hasWebCryptoEd25519(), 'hasWebCryptoEd25519()');
  },
  'log: RFC 8032 vectors sign and verify on both backends': async () => {
    for (const backend of ['noble', 'webcrypto'] as const) {
      for (const v of vectors) {
        const kp = keypairFromSecretKey(h(v.sk));
        check(hex(kp.publicKey) === v.pk, `${v.name} public key`);
        check(hex(await signEd25519(h(v.msg), kp.secretKey, { backend })) === v.sig, `${v.name} signature (${backend})`);
        check(await verifyEd25519(h(v.sig), h(v.msg), kp.publicKey, { backend }), `${v.name} verifies (${backend})`);
        const bad = h(v.sig);
        bad[5] ^= 1;
        check(!(await verifyEd25519(bad, h(v.msg), kp.publicKey, { backend })), `${v.name} tampered (${backend})`);
      }
    }
  },
  'log: backends agree on mutated signatures and refuse a torsioned R': async () => {
    const kp = keypairFromSecretKey(h(RFC8032_SHORT[0].sk));
    for (let i = 0; i < 40; i++) {
      const msg = Uint8Array.from({ length: i }, (_, j) => (i * 7 + j) & 0xff);
      const sig = await signEd25519(msg, kp.secretKey, { backend: 'noble' });
      check(hex(sig) === hex(await signEd25519(msg, kp.secretKey, { backend: 'webcrypto' })), 'same signature');
      sig[i % 64] ^= 1 << (i % 8);
      const a = await verifyEd25519(sig, msg, kp.publicKey, { backend: 'noble' });
      const b = await verifyEd25519(sig, msg, kp.publicKey, { backend: 'webcrypto' });
      check(a === b && a === false, `mutation ${i}: noble ${a}, webcrypto ${b}`);
    }
    // R' = [r]B + T with T of small order: cofactored verification accepts, Hearth's rule refuses on both paths
    ed.hashes.sha512 = sha512;
    const N = 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3edn;
    let T: InstanceType<typeof ed.Point> | null = null;
    for (let i = 0; T === null; i++) {
      try {
        const P = ed.Point.fromBytes(sha512(new Uint8Array([i])).subarray(0, 32), false);
        const Q = P.multiply(N / 2n, false).double().add(P);
        if (!Q.is0()) T = Q;
      } catch {
        /* not a point */
      }
    }
    const msg = new Uint8Array([1, 2, 3]);
    const { scalar } = ed.utils.getExtendedPublicKey(kp.secretKey);
    const r = 987654321n;
    const Rp = ed.Point.BASE.multiply(r).add(T).toBytes();
    const kb = sha512(new Uint8Array([...Rp, ...kp.publicKey, ...msg]));
    let k = 0n;
    for (let i = 63; i >= 0; i--) k = (k << 8n) | BigInt(kb[i]);
    let S = (r + (k % N) * scalar) % N;
    const sig = new Uint8Array(64);
    sig.set(Rp);
    for (let i = 32; i < 64; i++, S >>= 8n) sig[i] = Number(S & 0xffn);
    check(ed.verify(sig, msg, kp.publicKey, { zip215: false }), 'cofactored accepts');
    check(!(await verifyEd25519(sig, msg, kp.publicKey, { backend: 'noble' })), 'noble path refuses');
    check(!(await verifyEd25519(sig, msg, kp.publicKey, { backend: 'webcrypto' })), 'webcrypto path refuses');
  },
  'log: entries sign identically and verify as a range on both backends': async () => {
    const kp = keypairFromSecretKey(h(RFC8032_SHORT[1].sk));
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const byBackend: string[][] = [];
    for (const backend of ['noble', 'webcrypto'] as const) {
      const es: VerifiedEntry[] = [];
      for (let i = 1; i <= 3; i++) es.push(await signEntry({ seq: i, prev: es[i - 2]?.hash, hlc: BigInt(i), ops: i === 2 ? big : new Uint8Array([i]) }, kp, { backend }));
      byBackend.push(es.map((e) => hex(e.hash)));
      for (const vb of ['noble', 'webcrypto'] as const) {
        const v = await verifyRange(es.map((e) => decodeEntryV1(e.bytes)), { backend: vb });
        check(v.length === 3 && hex(v[2].hash) === hex(es[2].hash), `range verifies (${backend} -> ${vb})`);
      }
    }
    check(byBackend[0].join() === byBackend[1].join(), 'same entry hashes from both backends');
  },
  'log: feed store on OPFS survives close and reopen': async () => {
    await OpfsFileSystem.destroy('hearth-log-test');
    const kp = keypairFromSecretKey(h(RFC8032_SHORT[2].sk));
    const fs = await OpfsFileSystem.open('hearth-log-test');
    const store = await FeedStore.open({ fs, dir: 'feeds' });
    const es: VerifiedEntry[] = [];
    for (let i = 1; i <= 5; i++) es.push(await signEntry({ seq: i, prev: es[i - 2]?.hash, hlc: BigInt(i), ops: new Uint8Array(i * 100).fill(i) }, kp));
    await store.append(es.slice(0, 3));
    await store.sync();
    await store.append(es.slice(3));
    await store.sync();
    await store.close();
    const again = await FeedStore.open({ fs: await OpfsFileSystem.open('hearth-log-test'), dir: 'feeds' });
    check(again.recovered.length === 0, 'clean reopen');
    const head = again.head(kp.publicKey);
    check(head !== null && head.seq === 5 && hex(head.hash) === hex(es[4].hash), 'head after reopen');
    const read = await again.read(kp.publicKey, 1, 5);
    check(read.map((e) => hex(e.bytes)).join() === es.map((e) => hex(e.bytes)).join(), 'entries read back');
    await again.close();
    await OpfsFileSystem.destroy('hearth-log-test');
  },
  'crdt: state hash in Chromium equals the one computed in Node': async () => {
    const s = emptyDocState();
    for (const op of crdtSampleOps()) applyOp(s, op);
    check(hex(stateHash(s)) === __CRDT_STATE_HASH__, `state hash ${hex(stateHash(s))}`);
  },
};

main(async () => {
  for (const name of LOG_BROWSER_CASES) await runCase(name, cases[name]);
});
