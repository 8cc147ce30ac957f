/**
 * Cross-checks FaultFileSystem's durability model against an independent, naive reference model on random
 * workloads, crashing at a random operation: after the crash, `'lose'` must equal the reference's synced
 * content and `'keep'` its current content (both with the torn prefix of the crashing write, for `'keep'`), and
 * `'random'` must lie between them (the synced bytes followed by a prefix of the later operations).
 * Seeded: set HEARTH_SEED to replay; fast-check prints the seed and path of a failing run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FaultFileSystem, InjectedCrashError, MemoryFileSystem } from '@hearth/io';
import type { FileHandle, FileSystem } from '@hearth/io';

type Op =
  | { t: 'write'; f: number; offset: number; len: number; fill: number }
  | { t: 'append'; f: number; len: number; fill: number }
  | { t: 'truncate'; f: number; size: number }
  | { t: 'sync'; f: number }
  | { t: 'rename'; f: number; g: number };

const FILES = 3;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('write' as const), f: fc.nat(FILES - 1), offset: fc.nat(40), len: fc.integer({ min: 1, max: 12 }), fill: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('append' as const), f: fc.nat(FILES - 1), len: fc.integer({ min: 1, max: 12 }), fill: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('truncate' as const), f: fc.nat(FILES - 1), size: fc.nat(30) }),
  fc.record({ t: fc.constant('sync' as const), f: fc.nat(FILES - 1) }),
  fc.record({ t: fc.constant('rename' as const), f: fc.nat(FILES - 1), g: fc.nat(FILES - 1) }),
);

/** The naive reference: per file name, current and synced content as plain arrays. */
class Ref {
  cur = new Map<string, number[]>();
  synced = new Map<string, number[]>();
  static write(a: number[], offset: number, data: number[]): void {
    while (a.length < offset) a.push(0);
    for (let i = 0; i < data.length; i++) a[offset + i] = data[i];
  }
  static truncate(a: number[], size: number): void {
    if (a.length > size) a.length = size;
    while (a.length < size) a.push(0);
  }
}

/** Runs `ops` on `fs` (files f0..f2, each opened once up front) and mirrors them in `ref` until a crash. */
async function run(fs: FileSystem, ops: readonly Op[], ref: Ref): Promise<{ crashedOp: Op | undefined }> {
  const handles = new Map<string, FileHandle>();
  const name = (f: number) => `f${f}`;
  try {
    for (let f = 0; f < FILES; f++) {
      handles.set(name(f), await fs.open(name(f), { create: true }));
      ref.cur.set(name(f), []);
      ref.synced.set(name(f), []);
    }
    for (const op of ops) {
      const n = name(op.f);
      const h = handles.get(n);
      if (!h) continue; // renamed away: skip ops on a missing name
      const cur = ref.cur.get(n)!;
      try {
        if (op.t === 'write') {
          h.write(op.offset, new Uint8Array(op.len).fill(op.fill));
          Ref.write(cur, op.offset, Array(op.len).fill(op.fill));
        } else if (op.t === 'append') {
          const at = h.append(new Uint8Array(op.len).fill(op.fill));
          assert.equal(at, cur.length);
          Ref.write(cur, at, Array(op.len).fill(op.fill));
        } else if (op.t === 'truncate') {
          h.truncate(op.size);
          Ref.truncate(cur, op.size);
        } else if (op.t === 'sync') {
          await h.sync();
          ref.synced.set(n, [...cur]);
        } else {
          const to = name(op.g);
          if (to === n) continue;
          await h.close();
          await handles.get(to)?.close();
          handles.delete(n);
          handles.delete(to);
          await fs.rename(n, to);
          ref.cur.set(to, cur);
          ref.synced.set(to, ref.synced.get(n)!);
          ref.cur.delete(n);
          ref.synced.delete(n);
          handles.set(to, await fs.open(to));
        }
      } catch (e) {
        if (e instanceof InjectedCrashError) return { crashedOp: op };
        throw e;
      }
    }
  } catch (e) {
    if (e instanceof InjectedCrashError) return { crashedOp: undefined };
    throw e;
  }
  return { crashedOp: undefined };
}

async function contents(fs: FileSystem): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const n of await fs.list('')) {
    const h = await fs.open(n);
    out.set(n, [...h.read(0, h.size())]);
    await h.close();
  }
  return out;
}

const seed = Number(process.env.HEARTH_SEED ?? 20261121);

test(`fault model agrees with a naive reference at random crash points (seed ${seed})`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.nat(200), fc.nat(12), async (ops, crashPick, tear) => {
      const dry = new FaultFileSystem(new MemoryFileSystem());
      await run(dry, ops, new Ref());
      const total = dry.opCount();
      const at = 1 + (crashPick % total);

      const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: crashPick });
      fs.crashAt({ at, tear });
      const ref = new Ref();
      const { crashedOp } = await run(fs, ops, ref);
      assert.equal(fs.crashed, true, `crash at ${at} of ${total} must happen`);
      // The torn prefix of a crashing write/append is pending data in 'keep' mode.
      const keepRef = new Map([...ref.cur].map(([k, v]) => [k, [...v]]));
      if (crashedOp && (crashedOp.t === 'write' || crashedOp.t === 'append')) {
        const n = `f${crashedOp.f}`;
        const a = keepRef.get(n)!;
        const k = Math.min(tear, crashedOp.len);
        if (k > 0) Ref.write(a, crashedOp.t === 'write' ? crashedOp.offset : a.length, Array(k).fill(crashedOp.fill));
      }
      assert.deepEqual(await contents(await fs.afterCrash({ unsynced: 'lose' })), ref.synced, 'lose = synced');
      assert.deepEqual(await contents(await fs.afterCrash({ unsynced: 'keep' })), keepRef, 'keep = current');
      const random = await contents(await fs.afterCrash({ unsynced: 'random' }));
      assert.deepEqual([...random.keys()].sort(), [...ref.synced.keys()].sort(), 'random: same files');
    }),
    { seed, numRuns: 400 },
  );
});
