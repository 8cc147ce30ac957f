/** What the page and the workers of the `browser` benchmark suite share: the documents (generated, ~200 bytes, the same for every system) and the bulk repetitions. */
import type { Document } from '@hearth/db';

/** The benchmark document number `i`. */
export function doc(i: number): Document {
  const words = ['ember', 'hearth', 'oak', 'stone', 'river', 'lantern', 'meadow', 'quill', 'harbor', 'cinder'];
  let body = '';
  for (let k = 0; body.length < 120; k++) body += words[(i * 7 + k * 3) % words.length] + ' ';
  return { title: `document ${i}`, body: body.trim(), n: i, done: i % 3 === 0, tags: ['bench', words[i % words.length]] };
}

/** Its key. */
export const idOf = (i: number): string => 'd' + String(i).padStart(8, '0');

/**
 * Bulk repetitions: `BULK_WARMUP` warm-ups, then the median of `BULK_REPS`. A fresh worker's first transactions run
 * partly in V8's lower tiers: in Hearth's worker the first two 10,000-document transactions took ~1.3-2x as long
 * as the later ones (deoptimisations on paths the first one never took, e.g. the first entry with a `prev` hash and a
 * second collection; docs/status.md), while SQLite's and Dexie's repetitions are flat after the first. So the
 * warm-up is two transactions, and five are measured (with three the median moved by tens of percent between
 * runs). Every measured repetition is kept in the row (`allMs`) and so are the warm-ups (`warmupMs`).
 */
export const BULK_WARMUP = 2;
export const BULK_REPS = 5;

/** One table per bulk repetition, each written once (`bench.page.ts` runs them; `system.worker.ts` creates them). */
export const BULK_TABLES: readonly string[] = Array.from({ length: BULK_WARMUP + BULK_REPS }, (_, k) => `bulk${k}`);
