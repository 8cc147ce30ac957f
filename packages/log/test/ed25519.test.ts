// RFC 8032 section 7.1 test vectors (TEST 1, 2, 3 and TEST 1024, whose message is 1023 bytes), through Hearth's
// sign and verify on both backends; plus BoringSSL's S-bound vectors (ed25519_test.cc, as carried by Wycheproof).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  generateKeypair,
  hasWebCryptoEd25519,
  keypairFromSecretKey,
  exportSecretKey,
  signEd25519,
  verifyEd25519,
  isValidFeedId,
  feedIdFromHex,
  feedIdToHex,
  type CryptoBackend,
} from '@hearth/log';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const RFC8032 = [
  {
    name: 'TEST 1',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST 1024 (1023-byte message)',
    sk: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    pk: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    msg: readFileSync(new URL('./fixtures/rfc8032-test1024-message.hex', import.meta.url), 'utf8').trim(),
    sig: '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  },
];

const backends: CryptoBackend[] = ['noble', 'webcrypto'];

test('WebCrypto Ed25519 is available on this Node (so both paths are exercised)', async () => {
  assert.equal(await hasWebCryptoEd25519(), true);
});

for (const backend of backends) {
  test(`RFC 8032 7.1 vectors: key derivation, sign and verify (${backend})`, async () => {
    for (const v of RFC8032) {
      const msg = h(v.msg);
      if (v.name.startsWith('TEST 1024')) assert.equal(msg.length, 1023);
      const kp = keypairFromSecretKey(h(v.sk));
      assert.equal(hex(kp.publicKey), v.pk, v.name);
      const sig = await signEd25519(msg, kp.secretKey, { backend });
      assert.equal(hex(sig), v.sig, v.name);
      assert.equal(await verifyEd25519(h(v.sig), msg, h(v.pk), { backend }), true, v.name);
      // tampering with any part fails
      const badSig = h(v.sig);
      badSig[0] ^= 1;
      assert.equal(await verifyEd25519(badSig, msg, h(v.pk), { backend }), false, v.name + ' bad R');
      const badMsg = new Uint8Array([...msg, 0]);
      assert.equal(await verifyEd25519(h(v.sig), badMsg, h(v.pk), { backend }), false, v.name + ' bad msg');
    }
  });

  test(`S bound: S just under L verifies, S just above L is refused (BoringSSL vectors, ${backend})`, async () => {
    const pk = h('100fdf47fb94f1536a4f7c3fda27383fa03375a8f527c537e6f1703c47f94f86');
    assert.equal(
      await verifyEd25519(
        h('dac119d6ca87fc59ae611c157048f4d4fc932a149dbe20ec6effd1436abf83ea05c7df0fef06147241259113909bc71bd3c53ba4464ffcad3c0968f2ffffff0f'),
        h('124e583f8b8eca58bb29c271b41d36986bbc45541f8e51f9cb0133eca447601e'),
        pk,
        { backend },
      ),
      true,
    );
    assert.equal(
      await verifyEd25519(
        h('0971f86d2c9c78582524a103cb9cf949522ae528f8054dc20107d999be673ff4e25ebf2f2928766b1248bec6e91697775f8446639ede46ad4df4053000000010'),
        h('6a0bc2b0057cedfc0fa2e3f7f7d39279b30f454a69dfd1117c758d86b19d85e0'),
        pk,
        { backend },
      ),
      false,
    );
  });
}

test('small-order and non-canonical public keys are refused on both paths', async () => {
  const identity = h('01' + '00'.repeat(31)); // the neutral point, small order
  const nonCanonical = h('ed' + 'ff'.repeat(30) + '7f'); // y = p, not < p
  for (const pk of [identity, nonCanonical]) {
    assert.equal(isValidFeedId(pk), false);
    for (const backend of backends) {
      assert.equal(await verifyEd25519(new Uint8Array(64), new Uint8Array(0), pk, { backend }), false);
    }
  }
  assert.equal(isValidFeedId(generateKeypair().publicKey), true);
});

test('both backends give identical answers on random keys, messages and mutated signatures (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.nat(63),
      fc.integer({ min: 0, max: 255 }),
      async (sk, msg, at, x) => {
        const kp = keypairFromSecretKey(sk);
        const sigN = await signEd25519(msg, kp.secretKey, { backend: 'noble' });
        const sigW = await signEd25519(msg, kp.secretKey, { backend: 'webcrypto' });
        assert.deepEqual(sigN, sigW);
        const sig = sigN.slice();
        sig[at] ^= x;
        const a = await verifyEd25519(sig, msg, kp.publicKey, { backend: 'noble' });
        const b = await verifyEd25519(sig, msg, kp.publicKey, { backend: 'webcrypto' });
        assert.equal(a, b);
        assert.equal(a, x === 0);
      },
    ),
    { seed: SEED, numRuns: 60 },
  );
});

test('keypair export/import round trip; argument checks', () => {
  const kp = generateKeypair();
  const again = keypairFromSecretKey(exportSecretKey(kp));
  assert.deepEqual(again.publicKey, kp.publicKey);
  assert.deepEqual(feedIdFromHex(feedIdToHex(kp.publicKey)), kp.publicKey);
  assert.throws(() => keypairFromSecretKey(new Uint8Array(31)), RangeError);
  assert.throws(() => feedIdFromHex('zz'), RangeError);
  assert.throws(() => verifyEd25519(new Uint8Array(63), new Uint8Array(0), kp.publicKey), RangeError);
});

test('cofactored and cofactorless verification differ on a torsioned R; both Hearth paths refuse it', async () => {
  const ed = await import('@noble/ed25519');
  const { sha512 } = await import('@noble/hashes/sha2.js');
  const N = 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3edn;
  // A small-order point T: [N]P for a point P with a torsion component.
  let T: InstanceType<typeof ed.Point> | null = null;
  for (let i = 0; T === null; i++) {
    try {
      const P = ed.Point.fromBytes(sha512(new Uint8Array([i])).subarray(0, 32), false);
      const Q = P.multiply(N / 2n, false).double().add(P);
      if (!Q.is0()) T = Q;
    } catch {
      /* not on the curve: try the next */
    }
  }
  const kp = keypairFromSecretKey(h('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
  const msg = new Uint8Array([1, 2, 3]);
  // Sign with R' = [r]B + T and S = r + k*a, k = SHA-512(R' || A || M): then [S]B = R' - T + [k]A, so the
  // cofactored check ([8] kills T) passes while the cofactorless one fails.
  const { scalar } = ed.utils.getExtendedPublicKey(kp.secretKey);
  const r = 123456789n;
  const Rp = ed.Point.BASE.multiply(r).add(T!);
  const RpBytes = Rp.toBytes();
  const kIn = new Uint8Array([...RpBytes, ...kp.publicKey, ...msg]);
  const kBytes = sha512(kIn);
  let k = 0n;
  for (let i = 63; i >= 0; i--) k = (k << 8n) | BigInt(kBytes[i]);
  const S = (r + (k % N) * scalar) % N;
  const sig = new Uint8Array(64);
  sig.set(RpBytes, 0);
  for (let i = 0, s = S; i < 32; i++, s >>= 8n) sig[32 + i] = Number(s & 0xffn);
  assert.equal(ed.verify(sig, msg, kp.publicKey, { zip215: false }), true, 'cofactored (noble) accepts');
  assert.equal(await verifyEd25519(sig, msg, kp.publicKey, { backend: 'noble' }), false);
  assert.equal(await verifyEd25519(sig, msg, kp.publicKey, { backend: 'webcrypto' }), false);
});
