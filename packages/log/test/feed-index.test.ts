import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CorruptionError, MemoryFileSystem } from '@hearth/io';
import { FeedStore, feedIdToHex, generateKeypair, keypairFromSecretKey, signEntry, type Keypair, type VerifiedEntry } from '@hearth/log';
import { decodeFeedIndexV1, encodeFeedIndexV1 } from '../src/_feed-index.js';
import { fileBytes, writeFile } from './_files.js';

const RFC_TEST1 = keypairFromSecretKey(new Uint8Array(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function makeChain(kp: Keypair, n: number, from: VerifiedEntry[] = []): Promise<VerifiedEntry[]> {
  const out = [...from];
  for (let i = out.length + 1; i <= n; i++) {
    out.push(await signEntry({ seq: i, prev: out[i - 2]?.hash, hlc: BigInt(i), ops: new TextEncoder().encode(`e-${i}`.repeat(1 + (i % 7))) }, kp));
  }
  return out;
}


const feedPath = (kp: Keypair) => `feeds/${feedIdToHex(kp.publicKey)}.feed`;
const indexPath = (kp: Keypair) => `feeds/${feedIdToHex(kp.publicKey)}.idx`;

/** A store holding `n` entries of `kp`, closed (so its index is written). */
async function closedStore(kp: Keypair, n: number): Promise<{ fs: MemoryFileSystem; entries: VerifiedEntry[] }> {
  const fs = new MemoryFileSystem();
  const entries = await makeChain(kp, n);
  const s = await FeedStore.open({ fs, dir: 'feeds' });
  await s.append(entries);
  await s.sync();
  await s.close();
  return { fs, entries };
}

async function readAll(s: FeedStore, kp: Keypair): Promise<VerifiedEntry[]> {
  const h = s.head(kp.publicKey);
  return h === null ? [] : s.read(kp.publicKey, 1, h.seq);
}

test('feed index: fixture feed-v1.idx describes feed-v1.feed; open takes its three records from it', async () => {
  const feed = new Uint8Array(readFileSync(new URL('./fixtures/feed-v1.feed', import.meta.url)));
  const idx = new Uint8Array(readFileSync(new URL('./fixtures/feed-v1.idx', import.meta.url)));
  const d = decodeFeedIndexV1(idx, RFC_TEST1.publicKey)!;
  assert.ok(d !== null);
  assert.deepEqual(d.offsets, [48, 210, 373]);
  assert.deepEqual([...d.lengths], [154, 155, 152]);
  assert.equal(d.end, feed.length);
  assert.deepEqual(encodeFeedIndexV1(RFC_TEST1.publicKey, d.lengths, 3), idx, 'the encoder writes the fixture byte for byte');
  assert.equal(decodeFeedIndexV1(idx, generateKeypair().publicKey), null, 'an index of another feed');
  const fs = new MemoryFileSystem();
  await fs.mkdir('feeds');
  await writeFile(fs, feedPath(RFC_TEST1), feed);
  await writeFile(fs, indexPath(RFC_TEST1), idx);
  const s = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(s.openReport, [{ feed: feedIdToHex(RFC_TEST1.publicKey), records: 3, fromIndex: 3 }]);
  assert.equal(hex(s.head(RFC_TEST1.publicKey)!.hash), 'ebcdb0b77c4074469386a4a0f1052fe2ae3d84ece5aae6a348526a89c927586c');
  assert.deepEqual((await readAll(s, RFC_TEST1)).map((e) => new TextDecoder().decode(e.ops)), ['hello', 'hearth', 'log']);
  await s.close();
});

test('feed index: a clean close writes it, open uses it, appends continue, and the next close covers them', async () => {
  const kp = generateKeypair();
  const { fs, entries } = await closedStore(kp, 40);
  let s = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(s.openReport, [{ feed: feedIdToHex(kp.publicKey), records: 40, fromIndex: 40 }]);
  assert.deepEqual((await readAll(s, kp)).map((e) => hex(e.hash)), entries.map((e) => hex(e.hash)));
  const more = await makeChain(kp, 55, entries);
  await s.append(more.slice(40));
  await s.sync();
  await s.close();
  assert.equal(s.headHlc(kp.publicKey), more[54].hlc, 'headHlc follows appends');
  s = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(s.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 55, fromIndex: 55 });
  assert.equal(hex(s.head(kp.publicKey)!.hash), hex(more[54].hash));
  assert.equal(s.headHlc(kp.publicKey), more[54].hlc, 'headHlc after open');
  assert.equal(s.headHlc(generateKeypair().publicKey), null);
  await s.close();
});

test('feed index: after a crash, the index covers a prefix and open scans the rest (a torn tail past it is cut as before)', async () => {
  const kp = generateKeypair();
  const { fs, entries } = await closedStore(kp, 20);
  const s = await FeedStore.open({ fs, dir: 'feeds' });
  const more = await makeChain(kp, 30, entries);
  await s.append(more.slice(20));
  await s.sync(); // durable, but no close: the index still says 20 (the default threshold is 4 MiB)
  // a torn append after the last sync
  const fh = await fs.open(feedPath(kp));
  fh.write(fh.size(), Uint8Array.of(0, 0, 1, 0, 9, 9));
  await fh.close();
  const again = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(again.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 30, fromIndex: 20 });
  assert.equal(again.recovered.length, 1);
  assert.equal(again.recovered[0].kind, 'torn-tail');
  assert.deepEqual((await readAll(again, kp)).map((e) => hex(e.hash)), more.map((e) => hex(e.hash)));
  await again.close();
  void s;
});

test('feed index: rewritten in the background after a sync once enough records are outside it', async () => {
  const kp = generateKeypair();
  const fs = new MemoryFileSystem();
  const entries = await makeChain(kp, 30);
  const s = await FeedStore.open({ fs, dir: 'feeds', indexEveryBytes: 1 });
  await s.append(entries.slice(0, 10));
  await s.sync();
  await new Promise((r) => setTimeout(r, 10)); // the write runs after the sync resolved
  assert.deepEqual([...decodeFeedIndexV1(await fileBytes(fs, indexPath(kp)), kp.publicKey)!.offsets].length, 10);
  await s.append(entries.slice(10, 12)); // written, not synced: an index must not cover these
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(decodeFeedIndexV1(await fileBytes(fs, indexPath(kp)), kp.publicKey)!.offsets.length, 10);
  // a crash now (no close): open takes 10 from the index and scans 2
  const again = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(again.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 12, fromIndex: 10 });
  await again.close();
  // indexEveryBytes: 0 writes none, not even on close
  const fs2 = new MemoryFileSystem();
  const s2 = await FeedStore.open({ fs: fs2, dir: 'feeds', indexEveryBytes: 0 });
  await s2.append(entries);
  await s2.sync();
  await s2.close();
  assert.equal(await fs2.exists(indexPath(kp)), false);
  void s;
});

test('feed index: a damaged, foreign or stale index is ignored and the file scanned whole, with the same result', async () => {
  const kp = generateKeypair();
  const { fs, entries } = await closedStore(kp, 12);
  const good = await fileBytes(fs, indexPath(kp));
  const cases: [string, Uint8Array][] = [];
  for (let i = 0; i < good.length; i++) {
    const b = good.slice();
    b[i] ^= 1 << (i % 8);
    cases.push([`bit flip at ${i}`, b]);
  }
  cases.push(['truncated', good.subarray(0, good.length - 4)]);
  cases.push(['empty', new Uint8Array(0)]);
  // an index of a longer version of this feed: its records end past the file
  const { fs: longer } = await closedStore(kp, 13);
  cases.push(['longer', await fileBytes(longer, indexPath(kp))]);
  // well formed, but the last record's length is wrong
  const d = decodeFeedIndexV1(good, kp.publicKey)!;
  const lengths = Uint32Array.from(d.lengths);
  lengths[11] += 1;
  cases.push(['last length too long', encodeFeedIndexV1(kp.publicKey, lengths, 12)]);
  // the last record where the index says, but shorter than the index says: its records would end mid-record
  lengths[11] -= 2;
  cases.push(['last length too short', encodeFeedIndexV1(kp.publicKey, lengths, 12)]);
  // well formed, but it covers fewer records than there are (stale): trusted for those, the rest scanned
  for (const [name, bytes] of cases) {
    await writeFile(fs, indexPath(kp), bytes);
    const s = await FeedStore.open({ fs, dir: 'feeds' });
    assert.deepEqual(s.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 12, fromIndex: 0 }, name);
    assert.equal(hex(s.head(kp.publicKey)!.hash), hex(entries[11].hash), name);
    assert.deepEqual(s.recovered, [], name);
    await s.close(); // writes a good index again
  }
  const stale = encodeFeedIndexV1(kp.publicKey, d.lengths, 7);
  await writeFile(fs, indexPath(kp), stale);
  const s = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(s.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 12, fromIndex: 7 });
  assert.deepEqual((await readAll(s, kp)).map((e) => hex(e.hash)), entries.map((e) => hex(e.hash)));
  await s.close();
});

test('feed index: damage inside the indexed records is reported when they are read; fullScan and repair find it on open', async () => {
  const kp = generateKeypair();
  const { fs } = await closedStore(kp, 10);
  const bytes = await fileBytes(fs, feedPath(kp));
  const idx = decodeFeedIndexV1(await fileBytes(fs, indexPath(kp)), kp.publicKey)!;
  bytes[idx.offsets[3] + 8 + 60] ^= 0x10; // inside record 4's entry
  await writeFile(fs, feedPath(kp), bytes);
  const s = await FeedStore.open({ fs, dir: 'feeds' });
  assert.equal(s.openReport[0].fromIndex, 10);
  await assert.rejects(s.read(kp.publicKey, 1, 10), CorruptionError);
  await assert.rejects(s.read(kp.publicKey, 4, 4), CorruptionError);
  assert.throws(() => s.readEncoded(kp.publicKey, 1, 100, 1 << 20), CorruptionError);
  assert.equal((await s.read(kp.publicKey, 5, 10)).length, 6, 'records after the damage still read');
  await s.close();
  await assert.rejects(FeedStore.open({ fs, dir: 'feeds', fullScan: true }), CorruptionError);
  // repair cuts the feed at the damage and removes the index, which described the records cut
  const r = await FeedStore.open({ fs, dir: 'feeds', repair: true });
  assert.equal(r.head(kp.publicKey)!.seq, 3);
  assert.equal(r.recovered[0].kind, 'repair');
  assert.equal(await fs.exists(indexPath(kp)), false);
  await r.close();
  const after = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(after.openReport[0], { feed: feedIdToHex(kp.publicKey), records: 3, fromIndex: 3 });
  await after.close();
});

test('feed index: "indexEveryBytes" is checked', async () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    await assert.rejects(FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds', indexEveryBytes: bad }), RangeError);
  }
});
