/**
 * Convergence: two and three databases with different keypairs write concurrently (puts, patches, deletes and
 * transactions on shared ids, with skewed fake wall clocks) and exchange entries through `ingest` in random orders,
 * random subsets (gaps are refused with `HEARTH_SEQUENCE_GAP` and resent later), with duplicates, relayed through
 * each other, while they keep writing. At the end every replica holds every entry and all have equal documents,
 * equal state hashes, and documents equal to an independent CRDT model of all entries.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { keypairFromSecretKey, type UnverifiedEntry } from '@hearth/log';
import { Database, type CommitEvent } from '@hearth/db';
import { allEntries, docsOf, hex, modelOf, prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

async function scenario(replicas: number, seed: number): Promise<void> {
  const rand = prng(seed);
  let now = 1763700000000;
  const skew = Array.from({ length: replicas }, () => Math.floor(rand() * 2000) - 1000);
  const dbs: Database[] = [];
  for (let i = 0; i < replicas; i++) {
    const kp = keypairFromSecretKey(new Uint8Array(32).fill(10 + i));
    dbs.push(await Database.open({ fs: new MemoryFileSystem(), name: `r${i}`, keypair: kp, wallClock: () => now + skew[i], lsm: { memtableBytes: 8192 } }));
  }
  const ingested: CommitEvent[] = [];
  dbs[0].onCommit((e) => {
    if (!e.local) ingested.push(e);
  });
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const pick = () => ids[Math.floor(rand() * ids.length)];
  let gaps = 0;
  for (let round = 0; round < 30; round++) {
    const pending: Promise<unknown>[] = [];
    for (const db of dbs) {
      const n = Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) {
        now += Math.floor(rand() * 3); // often the same millisecond: counters and feed tie-breaks matter
        const r = rand();
        if (r < 0.35) pending.push(db.put('c', pick(), { v: Math.floor(rand() * 100), by: hex(db.feed).slice(0, 4) }));
        else if (r < 0.7) pending.push(db.patch('c', pick(), { [`f${Math.floor(rand() * 3)}`]: rand() < 0.2 ? null : Math.floor(rand() * 100) }));
        else if (r < 0.85) pending.push(db.delete('c', pick()));
        else
          pending.push(
            db.transaction((tx) => {
              tx.put('c', pick(), { t: round });
              tx.patch('c', pick(), { t2: round });
            }),
          );
      }
    }
    // exchange while those writes are in flight: random subsets, shuffled, with duplicates
    for (let s = 0; s < replicas; s++) {
      for (let d = 0; d < replicas; d++) {
        if (s === d || rand() < 0.3) continue;
        const src = await allEntries(dbs[s]);
        const subset = src.filter(() => rand() < 0.7);
        const dup = subset.filter(() => rand() < 0.3);
        const batch: (UnverifiedEntry | Uint8Array)[] = shuffle([...subset, ...dup], rand).map((e) => (rand() < 0.5 ? e.bytes : e));
        pending.push(
          dbs[d].ingest(batch).then((r) => {
            for (const f of r.feeds) {
              if (f.error !== undefined) {
                assert.equal(f.error.code, 'HEARTH_SEQUENCE_GAP', `unexpected ${f.error.code}: ${f.error.message}`);
                gaps++;
              }
            }
          }),
        );
      }
    }
    await Promise.all(pending);
  }
  // final full exchange (twice: entries relayed through a replica reach the third)
  for (let pass = 0; pass < 2; pass++) {
    for (let s = 0; s < replicas; s++) {
      const src = await allEntries(dbs[s]);
      for (let d = 0; d < replicas; d++) {
        if (s === d) continue;
        const r = await dbs[d].ingest(shuffle([...src, ...src.slice(0, 3)], rand));
        assert.ok(r.ok, `final exchange: ${r.feeds.map((f) => f.error?.message).join('; ')}`);
      }
    }
  }
  const everything = await allEntries(dbs[0]);
  const model = modelOf(everything);
  const h0 = dbs[0].stateHash();
  for (let i = 0; i < replicas; i++) {
    assert.equal((await allEntries(dbs[i])).length, everything.length, `replica ${i} holds every entry`);
    assert.deepEqual(docsOf(dbs[i], ['c']), model, `replica ${i} documents equal the model`);
    assert.deepEqual(dbs[i].stateHash(), h0, `replica ${i} state hash`);
    assert.deepEqual(dbs[i].appliedStateVector().map((e) => [hex(e.feed), e.seq]), dbs[0].stateVector().map((e) => [hex(e.feed), e.seq]));
  }
  assert.ok(model.size > 0, 'some documents exist');
  assert.ok(ingested.length > 0 && ingested.every((e) => hex(e.feed) !== hex(dbs[0].feed)), 'ingested entries produce change events');
  // rebuild from the feeds gives the same state
  await dbs[replicas - 1].rebuild();
  assert.deepEqual(dbs[replicas - 1].stateHash(), h0);
  for (const db of dbs) await db.close();
  console.log(`replicas ${replicas}: ${everything.length} entries, ${model.size} documents, ${gaps} gap refusals`);
}

for (const replicas of [2, 3]) {
  test(`${replicas} replicas converge through ingest in random orders with duplicates`, async () => {
    for (let k = 0; k < 4; k++) {
      const seed = SEED + 1000 * replicas + k;
      try {
        await scenario(replicas, seed);
      } catch (e) {
        console.error(`FAILED with seed ${seed} (HEARTH_SEED=${SEED}, replicas ${replicas}, run ${k})`);
        throw e;
      }
    }
  });
}
