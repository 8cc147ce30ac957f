import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { CorruptionError, FaultFileSystem, MemoryFileSystem, countHandles, type FileSystem } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import {
  FeedStore,
  ForkError,
  LogError,
  decodeEntryV1,
  feedIdToHex,
  generateKeypair,
  keypairFromSecretKey,
  signEntry,
  verifyEntry,
  verifyRange,
  type Keypair,
  type VerifiedEntry,
} from '@hearth/log';
import { fileBytes, writeFile } from './_files.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const RFC_TEST1 = keypairFromSecretKey(new Uint8Array(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')));
const HEADER = 48;

async function makeChain(kp: Keypair, n: number, from: VerifiedEntry[] = [], tag = 'x'): Promise<VerifiedEntry[]> {
  const out = [...from];
  for (let i = out.length + 1; i <= n; i++) {
    out.push(await signEntry({ seq: i, prev: out[i - 2]?.hash, hlc: BigInt(i), ops: new TextEncoder().encode(`${tag}-${i}`.repeat(i)) }, kp));
  }
  return out;
}


const feedPath = (kp: Keypair) => `feeds/${feedIdToHex(kp.publicKey)}.feed`;

function codeOf(e: unknown): string {
  return e instanceof LogError || e instanceof CorruptionError ? e.code : String(e);
}

test('append, sync, head, state vector, read; reopen rebuilds the index', async () => {
  const fs = new MemoryFileSystem();
  const a = generateKeypair();
  const b = generateKeypair();
  const ea = await makeChain(a, 5);
  const eb = await makeChain(b, 2);
  const store = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(store.stateVector(), []);
  assert.deepEqual(await store.append([ea[0], eb[0], ea[1]]), { appended: 3, duplicates: 0 });
  assert.deepEqual(await store.append(ea.slice(2)), { appended: 3, duplicates: 0 });
  await store.append([eb[1]]);
  await store.sync();
  assert.deepEqual(store.head(a.publicKey), { seq: 5, hash: ea[4].hash });
  const sv = store.stateVector();
  assert.deepEqual(sv.map((s) => [hex(s.feed), s.seq, hex(s.hash)]).sort(), [
    [hex(a.publicKey), 5, hex(ea[4].hash)],
    [hex(b.publicKey), 2, hex(eb[1].hash)],
  ].sort());
  const got = await store.read(a.publicKey, 2, 4);
  assert.deepEqual(got.map((e) => e.bytes), ea.slice(1, 4).map((e) => e.bytes));
  assert.deepEqual(got.map((e) => e.hash), ea.slice(1, 4).map((e) => e.hash));
  await assert.rejects(store.read(a.publicKey, 0, 1), RangeError);
  await assert.rejects(store.read(a.publicKey, 5, 6), RangeError);
  await store.close();

  const again = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(again.recovered, []);
  assert.deepEqual(again.head(a.publicKey), { seq: 5, hash: ea[4].hash });
  assert.deepEqual(again.head(b.publicKey), { seq: 2, hash: eb[1].hash });
  assert.deepEqual((await again.read(a.publicKey, 1, 5)).map((e) => e.bytes), ea.map((e) => e.bytes));
  // appending continues after reopen; duplicates are skipped
  const more = await makeChain(a, 6, ea);
  assert.deepEqual(await again.append([ea[3], ea[4], more[5]]), { appended: 1, duplicates: 2 });
  assert.equal(again.head(a.publicKey)!.seq, 6);
  await again.close();
});

test('append takes VerifiedEntry only: a cast decoded entry is refused', async () => {
  const store = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  const [e] = await makeChain(generateKeypair(), 1);
  const decoded = decodeEntryV1(e.bytes);
  assert.throws(() => store.append([decoded as unknown as VerifiedEntry]), TypeError);
  const forged = { ...e } as VerifiedEntry; // copies lose the brand
  assert.throws(() => store.append([forged]), TypeError);
  await store.append([await verifyEntry(decoded)]);
  assert.equal(store.head(e.feed)!.seq, 1);
});

test('sequence gap is refused', async () => {
  const store = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  const es = await makeChain(generateKeypair(), 3);
  await assert.rejects(store.append([es[1]]), (e: unknown) => codeOf(e) === 'HEARTH_SEQUENCE_GAP');
  await store.append([es[0]]);
  await assert.rejects(store.append([es[2]]), (e: unknown) => codeOf(e) === 'HEARTH_SEQUENCE_GAP');
});

test('fork at a held seq: evidence persisted, feed frozen (also after reopen), other feeds unaffected', async () => {
  const fs = new MemoryFileSystem();
  const kp = generateKeypair();
  const other = generateKeypair();
  const es = await makeChain(kp, 3);
  const alt = await signEntry({ seq: 2, prev: es[0].hash, hlc: 99n, ops: new TextEncoder().encode('other history') }, kp);
  const store = await FeedStore.open({ fs, dir: 'feeds' });
  await store.append(es);
  await assert.rejects(store.append([alt]), (e: unknown) => {
    assert.ok(e instanceof ForkError);
    assert.equal(e.code, 'HEARTH_FORK');
    assert.equal(e.seq, 2);
    assert.equal(e.existingHash, hex(es[1].hash));
    assert.equal(e.conflictingHash, hex(alt.hash));
    return true;
  });
  assert.equal(store.isFrozen(kp.publicKey), true);
  const next = await makeChain(kp, 4, es);
  await assert.rejects(store.append([next[3]]), (e: unknown) => codeOf(e) === 'HEARTH_FEED_FROZEN');
  await store.append(await makeChain(other, 1));
  assert.deepEqual((await store.forkEvidence(kp.publicKey)).map((e) => hex(e.bytes)), [hex(es[1].bytes), hex(alt.bytes)]);
  assert.deepEqual((await store.read(kp.publicKey, 1, 3)).length, 3, 'reads still work');
  await store.close();

  const again = await FeedStore.open({ fs, dir: 'feeds' });
  assert.equal(again.isFrozen(kp.publicKey), true);
  assert.equal(again.isFrozen(other.publicKey), false);
  await assert.rejects(again.append([next[3]]), (e: unknown) => codeOf(e) === 'HEARTH_FEED_FROZEN');
  const evidence = await again.forkEvidence(kp.publicKey);
  assert.equal(evidence.length, 2);
  // the evidence is two validly signed, different entries at one (feed, seq)
  const [x, y] = await Promise.all(evidence.map((e) => verifyEntry(e)));
  assert.equal(x.seq, y.seq);
  assert.notDeepEqual(x.hash, y.hash);
});

test('fork through prev: an entry at head + 1 that does not link to the head freezes the feed', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 2);
  const alt2 = await signEntry({ seq: 2, prev: es[0].hash, hlc: 7n, ops: new Uint8Array([9]) }, kp);
  const alt3 = await signEntry({ seq: 3, prev: alt2.hash, hlc: 8n, ops: new Uint8Array([9]) }, kp);
  const store = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  await store.append(es);
  await assert.rejects(store.append([alt3]), (e: unknown) => e instanceof ForkError && e.seq === 2 && e.conflictingHash === hex(alt2.hash));
  assert.equal(store.isFrozen(kp.publicKey), true);
  assert.deepEqual((await store.forkEvidence(kp.publicKey)).map((e) => e.seq), [2, 3]);
});

test('torn tail: a cut anywhere in the last record is cut off on open and reported; appends resume', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 3);
  const base = new MemoryFileSystem();
  const s = await FeedStore.open({ fs: base, dir: 'feeds' });
  await s.append(es);
  await s.close();
  const full = await fileBytes(base, feedPath(kp));
  const lastStart = full.length - (8 + es[2].bytes.length);
  for (let cut = lastStart + 1; cut < full.length; cut++) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(kp), full.subarray(0, cut));
    const store = await FeedStore.open({ fs, dir: 'feeds' });
    assert.deepEqual(store.head(kp.publicKey), { seq: 2, hash: es[1].hash }, `cut at ${cut}`);
    if (full.subarray(lastStart, cut).every((b) => b === 0)) {
      // Only the zero high bytes of the length landed: the same as preallocated space (invariant 3), the end.
      assert.deepEqual(store.recovered, [], `cut at ${cut}`);
    } else {
      assert.equal(store.recovered.length, 1);
      assert.deepEqual(
        { kind: store.recovered[0].kind, offset: store.recovered[0].offset, dropped: store.recovered[0].droppedBytes },
        { kind: 'torn-tail', offset: lastStart, dropped: cut - lastStart },
      );
      assert.equal((await fileBytes(fs, feedPath(kp))).length, lastStart, 'file cut');
    }
    await store.append([es[2]]);
    assert.equal(store.head(kp.publicKey)!.seq, 3);
    await store.sync();
    await store.close();
    assert.deepEqual(await fileBytes(fs, feedPath(kp)), full, `cut at ${cut}: the append rewrote the record`);
  }
});

test('torn tail: garbage after the last record, and a damaged last record of full length; zeros are preallocated space', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 3);
  const base = new MemoryFileSystem();
  const s = await FeedStore.open({ fs: base, dir: 'feeds' });
  await s.append(es);
  await s.close();
  const full = await fileBytes(base, feedPath(kp));
  const lastStart = full.length - (8 + es[2].bytes.length);
  const damagedLast = full.slice();
  damagedLast[full.length - 10] ^= 0x40;
  const cases: [string, Uint8Array, number, number][] = [
    ['random bytes', new Uint8Array([...full, ...Array.from({ length: 300 }, (_, i) => (i * 73 + 5) & 0xff)]), 3, full.length],
    ['damaged last record', damagedLast, 2, lastStart],
  ];
  for (const [name, bytes, seq, cutAt] of cases) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(kp), bytes);
    const store = await FeedStore.open({ fs, dir: 'feeds' });
    assert.equal(store.head(kp.publicKey)!.seq, seq, name);
    assert.equal(store.recovered[0].offset, cutAt, name);
    assert.equal(store.recovered[0].kind, 'torn-tail', name);
  }
  // A zero-filled rest (preallocated space, invariant 3) is the end, not damage: nothing reported, nothing cut,
  // and appends go into it.
  for (const zeros of [1, 7, 8, 4096, (1 << 20) + 5]) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(kp), new Uint8Array([...full.subarray(0, lastStart), ...new Uint8Array(zeros)]));
    const store = await FeedStore.open({ fs, dir: 'feeds' });
    assert.equal(store.head(kp.publicKey)!.seq, 2, `${zeros} zeros`);
    assert.deepEqual(store.recovered, [], `${zeros} zeros`);
    assert.equal((await fileBytes(fs, feedPath(kp))).length, lastStart + zeros, `${zeros} zeros: not cut`);
    await store.append([es[2]]);
    await store.sync();
    await store.close();
    assert.deepEqual(await fileBytes(fs, feedPath(kp)), full, `${zeros} zeros: the append landed at the end; close gave back the rest`);
  }
});

test('preallocation: files grow ahead of appends in steps, reads and reopen see only records, close shrinks to the end', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 40);
  const fs = new MemoryFileSystem();
  let store = await FeedStore.open({ fs, dir: 'feeds', preallocate: true });
  let end = 48;
  for (let i = 0; i < 30; i++) {
    await store.append([es[i]]);
    await store.sync();
    end += 8 + es[i].bytes.length;
    const size = (await fileBytes(fs, feedPath(kp))).length;
    assert.ok(size > end, `after ${i + 1} appends the file (${size} bytes) reaches past its records (${end})`);
  }
  const sizeBefore = (await fileBytes(fs, feedPath(kp))).length;
  assert.equal(sizeBefore, 48 + 8 + es[0].bytes.length + 64 * 1024, 'one growth step served 30 small appends');
  assert.deepEqual((await store.read(kp.publicKey, 1, 30)).map((e) => e.hash), es.slice(0, 30).map((e) => e.hash));
  assert.deepEqual(store.readEncoded(kp.publicKey, 29, 10, 1 << 20), [es[28].bytes, es[29].bytes]);
  // A crash leaves the preallocated zeros: the reopened store reads them as the end.
  const crashed = new MemoryFileSystem();
  await crashed.mkdir('feeds');
  await writeFile(crashed, feedPath(kp), await fileBytes(fs, feedPath(kp)));
  const again = await FeedStore.open({ fs: crashed, dir: 'feeds', preallocate: true });
  assert.equal(again.head(kp.publicKey)!.seq, 30);
  assert.deepEqual(again.recovered, []);
  await again.append(es.slice(30));
  await again.sync();
  assert.deepEqual((await again.read(kp.publicKey, 1, 40)).map((e) => e.hash), es.map((e) => e.hash));
  await again.close();
  await store.close();
  assert.equal((await fileBytes(fs, feedPath(kp))).length, end, 'close shrinks the file to its records');
  store = await FeedStore.open({ fs, dir: 'feeds', preallocate: true });
  assert.equal(store.head(kp.publicKey)!.seq, 30);
  assert.deepEqual(store.recovered, []);
  await store.close();
});

test('corrupt record in the middle: HEARTH_CORRUPTION (checksum, or a length pointing past the end); repair cuts and reports', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 4);
  const base = new MemoryFileSystem();
  const s = await FeedStore.open({ fs: base, dir: 'feeds' });
  await s.append(es);
  await s.close();
  const full = await fileBytes(base, feedPath(kp));
  const rec2 = HEADER + 8 + es[0].bytes.length;
  const flips: [string, number, number][] = [
    ['ops byte', rec2 + 8 + 90, 0x01],
    ['crc byte', rec2 + 5, 0x10],
    ['length -> past the end', rec2, 0x7f],
    ['length -> shorter', rec2 + 3, 0x20],
  ];
  for (const [name, at, x] of flips) {
    const bad = full.slice();
    bad[at] ^= x;
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(kp), bad);
    await assert.rejects(FeedStore.open({ fs, dir: 'feeds' }), (e: unknown) => {
      assert.ok(e instanceof CorruptionError, name);
      assert.equal(e.offset, rec2, name);
      return true;
    });
    const repaired = await FeedStore.open({ fs, dir: 'feeds', repair: true });
    assert.equal(repaired.head(kp.publicKey)!.seq, 1, name);
    assert.equal(repaired.recovered[0].kind, 'repair', name);
    assert.equal(repaired.recovered[0].droppedBytes, full.length - rec2, name);
  }
});

test('checksummed but wrong content, and bad headers, are corruption', async () => {
  const kp = generateKeypair();
  const other = generateKeypair();
  const es = await makeChain(kp, 2);
  const os = await makeChain(other, 2);
  const base = new MemoryFileSystem();
  const s = await FeedStore.open({ fs: base, dir: 'feeds' });
  await s.append([...es, ...os]);
  await s.close();
  const mine = await fileBytes(base, feedPath(kp));
  const theirs = await fileBytes(base, feedPath(other));
  // a valid record of another feed spliced in
  const spliced = new Uint8Array([...mine.subarray(0, HEADER), ...theirs.subarray(HEADER)]);
  // records swapped: seq 2 then seq 1
  const r1 = mine.subarray(HEADER, HEADER + 8 + es[0].bytes.length);
  const r2 = mine.subarray(HEADER + r1.length);
  const swapped = new Uint8Array([...mine.subarray(0, HEADER), ...r2, ...r1]);
  const badMagic = mine.slice();
  badMagic[0] ^= 1;
  const badHeaderCrc = mine.slice();
  badHeaderCrc[20] ^= 1;
  for (const [name, bytes] of [['other feed', spliced], ['swapped', swapped], ['magic', badMagic], ['header crc', badHeaderCrc]] as const) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(kp), bytes);
    await assert.rejects(FeedStore.open({ fs, dir: 'feeds' }), (e: unknown) => e instanceof CorruptionError && e.code === 'HEARTH_CORRUPTION', name);
  }
});

test('fixture feed-v1-preallocated.feed (records, then preallocated zeros) opens as feed-v1.feed does, nothing cut', async () => {
  const plain = new Uint8Array(readFileSync(new URL('./fixtures/feed-v1.feed', import.meta.url)));
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/feed-v1-preallocated.feed', import.meta.url)));
  assert.ok(bytes.length > plain.length + 60_000, 'the fixture carries a preallocated tail');
  assert.deepEqual(bytes.subarray(0, plain.length), plain, 'the same records as feed-v1.feed');
  assert.ok(bytes.subarray(plain.length).every((b) => b === 0), 'then zero bytes');
  for (const preallocate of [false, true]) {
    const fs = new MemoryFileSystem();
    await fs.mkdir('feeds');
    await writeFile(fs, feedPath(RFC_TEST1), bytes);
    const store = await FeedStore.open({ fs, dir: 'feeds', preallocate });
    assert.deepEqual(store.recovered, [], 'a zero tail is not damage');
    const head = store.head(RFC_TEST1.publicKey)!;
    assert.equal(head.seq, 3);
    assert.equal(hex(head.hash), 'ebcdb0b77c4074469386a4a0f1052fe2ae3d84ece5aae6a348526a89c927586c');
    assert.equal((await fileBytes(fs, feedPath(RFC_TEST1))).length, bytes.length, 'open cuts nothing');
    await store.close();
    assert.deepEqual(await fileBytes(fs, feedPath(RFC_TEST1)), plain, 'close gives the preallocated space back');
  }
});

test('fixture feed-v1.feed opens: three entries of the RFC 8032 TEST 1 key, hashes per the spec', async () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/feed-v1.feed', import.meta.url)));
  const fs = new MemoryFileSystem();
  await fs.mkdir('feeds');
  await writeFile(fs, feedPath(RFC_TEST1), bytes);
  const store = await FeedStore.open({ fs, dir: 'feeds' });
  assert.deepEqual(store.recovered, []);
  const head = store.head(RFC_TEST1.publicKey)!;
  assert.equal(head.seq, 3);
  assert.equal(hex(head.hash), 'ebcdb0b77c4074469386a4a0f1052fe2ae3d84ece5aae6a348526a89c927586c');
  const entries = await store.read(RFC_TEST1.publicKey, 1, 3);
  assert.deepEqual(entries.map((e) => new TextDecoder().decode(e.ops)), ['hello', 'hearth', 'log']);
  assert.deepEqual(entries.map((e) => e.hlc), [0, 1, 2].map((i) => BigInt(1_763_700_000_000 + i) << 16n));
  // hashes recomputed independently of the log's code, from the spec's definitions
  const sha = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
  let prev = new Uint8Array(32);
  for (const e of entries) {
    assert.deepEqual(e.prev, prev);
    const signingHash = sha(e.bytes.subarray(0, e.bytes.length - 64));
    prev = sha(signingHash, e.signature);
    assert.deepEqual(e.hash, prev);
  }
  await verifyRange(entries.map((e) => decodeEntryV1(e.bytes)), { backend: 'noble' });
  // the single-entry fixture is entry 1
  const entryFixture = new Uint8Array(readFileSync(new URL('./fixtures/entry-v1.bin', import.meta.url)));
  assert.deepEqual(entryFixture, entries[0].bytes);
  assert.equal(hex((await verifyEntry(decodeEntryV1(entryFixture))).hash), '25d518a6e179166cce9d398665a6232546a7516218bf6a4b3b06564eedbd4072');
  // and re-making the feed gives the same bytes (deterministic signatures, canonical framing)
  const fs2 = new MemoryFileSystem();
  const s2 = await FeedStore.open({ fs: fs2, dir: 'feeds' });
  let p: Uint8Array | undefined;
  for (const [i, text] of ['hello', 'hearth', 'log'].entries()) {
    const e = await signEntry({ seq: i + 1, prev: p, hlc: BigInt(1_763_700_000_000 + i) << 16n, ops: new TextEncoder().encode(text) }, RFC_TEST1);
    await s2.append([e]);
    p = e.hash;
  }
  assert.deepEqual(await fileBytes(fs2, feedPath(RFC_TEST1)), bytes);
});

for (const [preallocate, indexEveryBytes] of [[false, undefined], [true, undefined], [false, 1]] as const) test(`crash at every operation of a group-commit workload${preallocate ? ' (preallocating)' : ''}${indexEveryBytes ? ' (an index written after every sync)' : ''}: nothing acknowledged is lost, opens cleanly (seeded)`, async () => {
  const kp = generateKeypair();
  const other = generateKeypair();
  const mine = await makeChain(kp, 6);
  const theirs = await makeChain(other, 4);
  // commits: [entries to append] then sync; acknowledged = entries of commits whose sync resolved
  const commits: VerifiedEntry[][] = [[mine[0]], [mine[1], theirs[0]], [mine[2], mine[3], theirs[1]], [theirs[2], theirs[3]], [mine[4], mine[5]]];
  async function workload(fs: FileSystem, acked: Map<string, number>): Promise<void> {
    const store = await FeedStore.open({ fs, dir: 'feeds', preallocate, indexEveryBytes });
    for (const c of commits) {
      await store.append(c);
      await store.sync();
      for (const e of c) acked.set(hex(e.feed), Math.max(acked.get(hex(e.feed)) ?? 0, e.seq));
    }
    await store.close();
  }
  const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
  await workload(probe, new Map());
  const ops = probe.opCount();
  assert.ok(ops > 10);
  let tornTails = 0;
  for (let at = 1; at <= ops; at++) {
    for (const mode of ['lose', 'keep', 'random'] as const) {
      const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + at });
      fs.crashAt({ at, tear: 'random' });
      const acked = new Map<string, number>();
      await assert.rejects(workload(fs, acked));
      const after = await fs.afterCrash({ unsynced: mode });
      const store = await FeedStore.open({ fs: after, dir: 'feeds', preallocate, indexEveryBytes }).catch((e) => {
        throw new Error(`crash at op ${at} (${mode}), seed ${SEED}: open failed: ${e}`);
      });
      for (const [feed, seq] of acked) {
        const h = store.head(Buffer.from(feed, 'hex'));
        assert.ok(h !== null && h.seq >= seq, `crash at op ${at} (${mode}), seed ${SEED}: feed ${feed.slice(0, 8)} lost acknowledged seq ${seq}`);
      }
      for (const f of store.feeds()) {
        const h = store.head(f);
        if (h !== null) await store.read(f, 1, h.seq);
      }
      tornTails += store.recovered.length;
      await store.close();
    }
  }
  assert.ok(tornTails > 0, 'some crash points leave a torn tail for recovery to cut');
});

test('random appends across feeds round-trip through close/reopen (property)', async () => {
  const keys = [generateKeypair(), generateKeypair(), generateKeypair()];
  const chains = await Promise.all(keys.map((k, i) => makeChain(k, 8, [], `k${i}`)));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(2), { maxLength: 20 }), fc.array(fc.boolean(), { maxLength: 20 }), async (picks, reopen) => {
      const fs = new MemoryFileSystem();
      let store = await FeedStore.open({ fs, dir: 'feeds' });
      const next = [0, 0, 0];
      for (let i = 0; i < picks.length; i++) {
        const k = picks[i];
        if (next[k] >= 8) continue;
        await store.append([chains[k][next[k]++]]);
        if (reopen[i]) {
          await store.sync();
          await store.close();
          store = await FeedStore.open({ fs, dir: 'feeds' });
          assert.deepEqual(store.recovered, []);
        }
      }
      for (let k = 0; k < 3; k++) {
        const h = store.head(keys[k].publicKey);
        if (next[k] === 0) assert.equal(h, null);
        else {
          assert.deepEqual(h, { seq: next[k], hash: chains[k][next[k] - 1].hash });
          assert.deepEqual((await store.read(keys[k].publicKey, 1, next[k])).map((e) => e.bytes), chains[k].slice(0, next[k]).map((e) => e.bytes));
        }
      }
      await store.close();
    }),
    { seed: SEED, numRuns: 40 },
  );
});

test('crash at every operation while a fork is recorded: opens cleanly; a reported fork stays frozen (seeded)', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 3);
  const alt = await signEntry({ seq: 3, prev: es[1].hash, hlc: 77n, ops: new Uint8Array([7]) }, kp);
  async function workload(fs: FileSystem, seen: { fork: boolean }): Promise<void> {
    const store = await FeedStore.open({ fs, dir: 'feeds' });
    await store.append(es);
    await store.sync();
    await store.append([alt]).catch((e) => {
      if (e instanceof ForkError) seen.fork = true;
      throw e;
    });
  }
  const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
  await assert.rejects(workload(probe, { fork: false }), ForkError);
  const ops = probe.opCount();
  let frozenSeen = 0;
  for (let at = 1; at <= ops + 1; at++) {
    for (const mode of ['lose', 'keep', 'random'] as const) {
      const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + at });
      fs.crashAt({ at, tear: 'random' });
      const seen = { fork: false };
      await assert.rejects(workload(fs, seen));
      const store = await FeedStore.open({ fs: await fs.afterCrash({ unsynced: mode }), dir: 'feeds' });
      if (seen.fork) {
        assert.equal(store.isFrozen(kp.publicKey), true, `crash at op ${at} (${mode}), seed ${SEED}: reported fork not frozen`);
        assert.equal((await store.forkEvidence(kp.publicKey)).length, 2);
        frozenSeen++;
      }
      if (!store.isFrozen(kp.publicKey)) {
        // the fork was not recorded: offering the conflicting entry again detects it again
        if (store.head(kp.publicKey)?.seq === 3) await assert.rejects(store.append([alt]), ForkError);
      }
      await store.close();
    }
  }
  assert.ok(frozenSeen > 0, 'the last crash point comes after the fork was reported');
});

test('a failed open releases every handle it opened', async () => {
  const a = generateKeypair();
  const b = generateKeypair();
  const base = new MemoryFileSystem();
  const s = await FeedStore.open({ fs: base, dir: 'feeds' });
  await s.append([...(await makeChain(a, 2)), ...(await makeChain(b, 3))]);
  await s.close();
  // corrupt the middle record of whichever feed file is listed second
  const second = (await base.list('feeds')).filter((n) => n.endsWith('.feed'))[1];
  const bytes = await fileBytes(base, `feeds/${second}`);
  bytes[HEADER + 20] ^= 1;
  await writeFile(base, `feeds/${second}`, bytes);
  const counting = countHandles(base);
  // fullScan: a clean close wrote an index, and open trusts the records it covers until they are read
  await assert.rejects(FeedStore.open({ fs: counting.fs, dir: 'feeds', fullScan: true }), CorruptionError);
  assert.equal(counting.open, 0);
});

test('on NodeFileSystem: append, sync, reopen, torn tail from a real truncated file', async () => {
  const root = mkdtempSync(`${os.tmpdir()}/hearth-log-`);
  try {
    const kp = generateKeypair();
    const es = await makeChain(kp, 4);
    const store = await FeedStore.open({ fs: new NodeFileSystem(root), dir: 'feeds' });
    await store.append(es);
    await store.sync();
    await store.close();
    const fs = new NodeFileSystem(root);
    const fh = await fs.open(feedPath(kp));
    fh.truncate(fh.size() - 3);
    await fh.sync();
    await fh.close();
    const again = await FeedStore.open({ fs, dir: 'feeds' });
    assert.equal(again.head(kp.publicKey)!.seq, 3);
    assert.equal(again.recovered[0].kind, 'torn-tail');
    await again.append([es[3]]);
    await again.sync();
    assert.deepEqual((await again.read(kp.publicKey, 1, 4)).map((e) => e.hash), es.map((e) => e.hash));
    await again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('use after close is HEARTH_CLOSED; close is idempotent', async () => {
  const kp = generateKeypair();
  const store = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  const es = await makeChain(kp, 2);
  await store.append([es[0]]);
  await store.close();
  await store.close();
  await assert.rejects(store.append([es[1]]), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CLOSED');
  await assert.rejects(store.sync(), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CLOSED');
  await assert.rejects(store.read(kp.publicKey, 1, 1), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CLOSED');
});

test('one append of mixed runs (two feeds, duplicates, a fork mid-batch) writes what appends one by one write', async () => {
  const a = generateKeypair();
  const b = generateKeypair();
  const as = await makeChain(a, 8);
  const bs = await makeChain(b, 4);
  const altA7 = await signEntry({ seq: 7, prev: as[5].hash, hlc: 99n, ops: new Uint8Array([7]) }, a);
  const batch = [...as.slice(0, 5), ...bs.slice(0, 3), as[2], as[5], bs[3], as[6]];
  const one = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  const fsMany = new MemoryFileSystem();
  const many = await FeedStore.open({ fs: fsMany, dir: 'feeds' });
  const fsSingle = new MemoryFileSystem();
  const single = await FeedStore.open({ fs: fsSingle, dir: 'feeds' });
  assert.deepEqual(await many.append(batch), { appended: 11, duplicates: 1 });
  for (const e of batch) await single.append([e]);
  await many.sync();
  await single.sync();
  for (const kp of [a, b]) {
    assert.deepEqual(await fileBytes(fsMany, feedPath(kp)), await fileBytes(fsSingle, feedPath(kp)));
    assert.deepEqual(many.head(kp.publicKey), single.head(kp.publicKey));
  }
  assert.deepEqual((await many.read(a.publicKey, 1, 7)).map((e) => hex(e.hash)), as.slice(0, 7).map((e) => hex(e.hash)));
  // a fork in the middle of a run: the entries before it stay appended, the feed freezes
  await one.append(as.slice(0, 5));
  await assert.rejects(one.append([as[5], altA7, as[7]]), (e: unknown) => e instanceof ForkError && e.seq === 7);
  assert.equal(one.head(a.publicKey)?.seq, 7); // altA7 continues seq 6; seq 8 does not link to it
  assert.equal(one.isFrozen(a.publicKey), true);
});

test('readEncoded: the bytes read() returns, cut by limit and byte budget (at least one); damage is corruption', async () => {
  const kp = generateKeypair();
  const es = await makeChain(kp, 12); // entry i has a payload of i repeats: sizes grow
  const fs = new MemoryFileSystem();
  const store = await FeedStore.open({ fs, dir: 'feeds' });
  await store.append(es);
  const size = (i: number) => es[i - 1].bytes.length;
  for (let from = 1; from <= 12; from++) {
    for (const limit of [1, 3, 100]) {
      for (const maxBytes of [1, size(from), size(from) + size(from + 1 > 12 ? 12 : from + 1), 4096, Infinity]) {
        const got = store.readEncoded(kp.publicKey, from, limit, maxBytes);
        let count = 0;
        let bytes = 0;
        while (from + count <= 12 && count < limit && (count === 0 || bytes + size(from + count) <= maxBytes)) bytes += size(from + count++);
        assert.equal(got.length, count, `from ${from} limit ${limit} maxBytes ${maxBytes}`);
        assert.deepEqual(got.map(hex), es.slice(from - 1, from - 1 + count).map((e) => hex(e.bytes)));
      }
    }
  }
  assert.deepEqual(store.readEncoded(kp.publicKey, 13, 10, 1000), []);
  assert.deepEqual(store.readEncoded(generateKeypair().publicKey, 1, 10, 1000), []);
  assert.throws(() => store.readEncoded(kp.publicKey, 0, 10, 1000), RangeError);
  assert.throws(() => store.readEncoded(kp.publicKey, 1, 0, 1000), RangeError);
  await store.sync();
  // flip a byte inside entry 5 (its record's checksum no longer matches)
  const fh = await fs.open(feedPath(kp));
  let at = HEADER;
  for (let i = 1; i < 5; i++) at += 8 + size(i);
  const b = fh.read(at + 8 + 100, 1);
  fh.write(at + 8 + 100, new Uint8Array([b[0] ^ 1]));
  await fh.close();
  assert.throws(() => store.readEncoded(kp.publicKey, 3, 10, Infinity), (e: unknown) => e instanceof CorruptionError);
  assert.equal(store.readEncoded(kp.publicKey, 1, 4, Infinity).length, 4);
});

test('a large single entry (frame header and bytes written separately): reads back; a crash at any of its writes loses only it, unacknowledged', async () => {
  const kp = generateKeypair();
  const small = await makeChain(kp, 2);
  const big = await signEntry({ seq: 3, prev: small[1].hash, hlc: 3n, ops: new Uint8Array(200_000).fill(7) }, kp);
  for (const preallocate of [false, true]) {
    // every write of the workload, torn at a seeded length, with unsynced writes lost or kept
    const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
    let acked = 0; // entries whose sync resolved
    const run = async (fs: FileSystem): Promise<void> => {
      acked = 0;
      const s = await FeedStore.open({ fs, dir: 'feeds', preallocate });
      await s.append(small);
      await s.sync();
      acked = 2;
      await s.append([big]);
      await s.sync();
      acked = 3;
      await s.close();
    };
    await run(probe);
    assert.equal(acked, 3);
    const writes = probe.opCount();
    for (let at = 1; at <= writes; at++) {
      for (const mode of ['lose', 'keep'] as const) {
        const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + at });
        fs.crashAt({ at, tear: 'random' });
        await run(fs).catch(() => undefined);
        const after = await fs.afterCrash({ unsynced: mode });
        const s = await FeedStore.open({ fs: after, dir: 'feeds', preallocate });
        const h = s.head(kp.publicKey);
        assert.ok((h?.seq ?? 0) >= acked, `crash at op ${at} (${mode}): lost an acknowledged entry (${acked} acknowledged, ${h?.seq ?? 0} held)`);
        if (h !== null) {
          const got = await s.read(kp.publicKey, 1, h.seq);
          assert.deepEqual(got.map((e) => hex(e.hash)), [...small, big].slice(0, h.seq).map((e) => hex(e.hash)), `crash at op ${at} (${mode})`);
        }
        await s.close();
      }
    }
  }
});
