/**
 * Shared benchmark helpers: the result-file shape of ../shared/design/BENCHMARKS.md, machine facts, timing.
 * Suites live in bench/suites/<name>.ts and export `default async function (ctx: SuiteContext): Promise<Row[]>`.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** One measurement. `system` is `hearth` or the baseline's package name. */
export interface Row {
  workload: string;
  system: string;
  value: number;
  unit: 'ops/s' | 'docs/s' | 'entries/s' | 'queries/s' | 'recall' | 'ms' | 'bytes' | 'MiB' | 'entries' | string;
  n?: number;
  /** Vector rows: recall@k at this point of the curve, and the ef_search used. */
  recall?: number;
  ef?: number;
  [extra: string]: unknown;
}

export interface SuiteContext {
  /** Smaller sizes for a quick look (`--quick`). */
  quick: boolean;
  /** A scratch directory for this suite's files, removed afterwards. */
  tmpDir: string;
  log(message: string): void;
}

export interface Machine {
  cpus: number;
  memGiB: number;
  node: string;
  chromium?: string;
  cpuModel?: string;
}

export function machine(): Machine {
  let chromium: string | undefined;
  try {
    chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().replace(/^Chromium\s+/, '').split(' ')[0];
  } catch {
    chromium = undefined;
  }
  return {
    cpus: os.availableParallelism(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    chromium,
    cpuModel: os.cpus()[0]?.model,
  };
}

/** Median of the values (at least one). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

/**
 * Runs `fn` once to warm up, then `reps` times, and returns the median of what it returns (e.g. ops/s).
 * `fn` measures itself, so setup it does is not counted unless it chooses to.
 */
export async function medianOf(reps: number, fn: () => Promise<number> | number, warmup = true): Promise<number> {
  if (warmup) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) out.push(await fn());
  return median(out);
}

/** High-resolution time in ms. */
export function now(): number {
  return performance.now();
}

const LOWER_IS_BETTER = new Set(['ms', 'bytes', 'MiB']);

/** True for units where a smaller figure is better (`ms`, `bytes`, `MiB`). */
export function lowerIsBetter(unit: string): boolean {
  return LOWER_IS_BETTER.has(unit);
}

/**
 * Hearth's figure against another system's on the same workload, oriented so that > 1 means Hearth is better:
 * `hearth / other` for rates and recall, `other / hearth` for `ms`, `bytes`, `MiB`. Undefined when either is 0.
 */
export function ratioVsHearth(hearth: number, other: number, unit: string): number | undefined {
  if (!hearth || !other) return undefined;
  return lowerIsBetter(unit) ? other / hearth : hearth / other;
}

/** Formats a figure: integers with thousands separators from 1,000 up, 4 significant digits below. */
export function formatValue(v: number): string {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(4);
}

/**
 * Rows as a Markdown table with each row's ratio to `hearth` on the same workload (same unit and ef), oriented so
 * that > 1 means Hearth is better: higher is better for rates and recall, lower for `ms`, `bytes`, `MiB`.
 */
export function markdownTable(rows: Row[]): string {
  const out = ['| workload | system | value | unit | hearth vs this |', '| --- | --- | ---: | --- | ---: |'];
  for (const r of rows) {
    const hearth = rows.find((h) => h.system === 'hearth' && h.workload === r.workload && h.unit === r.unit && h.ef === r.ef);
    let ratio = '';
    if (hearth && hearth !== r && r.value && hearth.value) {
      const x = LOWER_IS_BETTER.has(r.unit) ? r.value / hearth.value : hearth.value / r.value;
      ratio = `${x.toFixed(2)}x`;
    }
    const w = r.ef !== undefined ? `${r.workload} ef=${r.ef}` : r.workload;
    const extra = r.recall !== undefined ? ` (recall ${r.recall.toFixed(3)})` : '';
    out.push(`| ${w} | ${r.system} | ${formatValue(r.value)}${extra} | ${r.unit} | ${ratio} |`);
  }
  return out.join('\n');
}
