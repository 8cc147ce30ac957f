/**
 * The benchmark report: one table of ratios across suites (with the targets of issues #2–#8 and whether each is
 * met) and the generated part of docs/benchmarks.md, both from `bench/results/*.json`.
 *
 * - `npm run bench -- report [--markdown] [--out <dir>]` prints the cross-suite table from the result files
 *   without running anything (`bench/run.ts`).
 * - `npm run bench` (every suite) prints the same table for the suites it ran and, after a full run (not
 *   `--quick`, not `--out`), calls {@link refreshBenchmarksDoc}.
 * - By hand: `node --conditions=hearth-source --import tsx bench/report.ts` rewrites the generated section.
 *
 * Only the text between the `<!-- results:begin -->` and `<!-- results:end -->` markers of docs/benchmarks.md is
 * replaced; the prose sections around it (method, analysis, targets) are written by hand.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatValue, markdownTable, ratioVsHearth, type Machine, type Row } from './lib.js';

const BEGIN = '<!-- results:begin -->';
const END = '<!-- results:end -->';
/** The suites in the order of their issues (#2 lsm ... #8 size). */
export const SUITE_ORDER = ['lsm', 'log', 'query', 'vector', 'browser', 'sync', 'size'];

/** A `bench/results/<suite>.json` file (shape in ../shared/design/BENCHMARKS.md). */
export interface ResultFile {
  suite: string;
  date: string;
  quick?: boolean;
  machine: Machine;
  rows: Row[];
}

/** A suite that threw in this run: reported in the table and the exit code, its old result file left alone. */
export interface SuiteFailure {
  suite: string;
  error: string;
}

/**
 * A target set by an issue's benchmark section. Either relative (`vs`: Hearth's ratio against that system on the
 * same workload, oriented so that > 1 means Hearth is better, must be ≥ `min`) or absolute (Hearth's own figure
 * ≥ `atLeast` or ≤ `atMost`, in the row's unit).
 */
export interface Target {
  issue: number;
  suite: string;
  /** The summary rows it applies to (workload names, including `@recall≥0.95` rows of recall curves). */
  workload: RegExp;
  vs?: string;
  min?: number;
  atLeast?: number;
  atMost?: number;
}

const RECALL_TARGET = 0.95;
const AT_RECALL = `@recall≥${RECALL_TARGET}`;

/** The targets of issues #2–#8 ("Target" lines of their benchmark sections). */
export const TARGETS: readonly Target[] = [
  // #2: gets ≥ 1x classic-level, batched puts ≥ 0.7x classic-level.
  { issue: 2, suite: 'lsm', workload: /^get-random$/, vs: 'classic-level', min: 1 },
  { issue: 2, suite: 'lsm', workload: /^put-batch-1000$/, vs: 'classic-level', min: 0.7 },
  // #3: with 1,000 writes per commit, ≥ 100,000 signed durable docs/s in Node.
  { issue: 3, suite: 'log', workload: /^put-batch-1000$/, atLeast: 100_000 },
  // #4: indexed queries ≥ 1x SQLite; live-query update p99 ≤ 2 ms with 100 live queries.
  { issue: 4, suite: 'query', workload: /^indexed-/, vs: 'sqlite-wasm-memory', min: 1 },
  { issue: 4, suite: 'query', workload: /^live-update-p99$/, atMost: 2 },
  // #5: at recall@10 ≥ 0.95, queries/s ≥ 2x hnswlib-wasm and ≥ 0.5x hnswlib-node; build time ≤ 1x hnswlib-wasm.
  { issue: 5, suite: 'vector', workload: /^glove-100d-knn10(-browser)?@/, vs: 'hnswlib-wasm', min: 2 },
  { issue: 5, suite: 'vector', workload: /^glove-100d-knn10@/, vs: 'hnswlib-node', min: 0.5 },
  { issue: 5, suite: 'vector', workload: /^glove-100d-build(-browser)?$/, vs: 'hnswlib-wasm', min: 1 },
  // #6: bulk insert ≥ 2x SQLite and ≥ 10x Dexie; single awaited insert p50 ≤ 0.3 ms; point reads ≥ 1,000,000/s.
  { issue: 6, suite: 'browser', workload: /^bulk-insert-10000$/, vs: 'sqlite-wasm-sahpool', min: 2 },
  { issue: 6, suite: 'browser', workload: /^bulk-insert-10000$/, vs: 'dexie', min: 10 },
  { issue: 6, suite: 'browser', workload: /^insert-single-p50$/, atMost: 0.3 },
  { issue: 6, suite: 'browser', workload: /^point-read-worker$/, atLeast: 1_000_000 },
  // #7: catch-up ≥ 100,000 entries/s, in Node and in Chromium.
  { issue: 7, suite: 'sync', workload: /^catch-up-\d+-(node|browser)$/, atLeast: 100_000 },
  // #8: the SDK + worker + WASM an app ships, ≤ 100 KB gzipped (100,000 bytes).
  { issue: 8, suite: 'size', workload: /^bundle-gzip$/, atMost: 100_000 },
];

/** One line of the cross-suite table. */
export interface SummaryRow {
  suite: string;
  /** The suite's result file came from a `--quick` run. */
  quick: boolean;
  workload: string;
  unit: string;
  hearth?: number;
  /** Where the row summarises a recall curve: Hearth's point (ef, recall). */
  note?: string;
  baselines: { system: string; value: number; ratio?: number; note?: string }[];
  /** Each target that applies, with its verdict. */
  targets: { text: string; met: boolean | undefined }[];
  /** The suite failed in this run (the row stands for the whole suite). */
  failed?: string;
}

/** Reads every `<dir>/*.json` result file, in suite order. */
export function loadResults(dir: string): ResultFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ResultFile)
    .sort((a, b) => rank(a.suite) - rank(b.suite));
}

/**
 * Rows of one suite as summary rows: one per workload (and unit), Hearth's figure beside every other system's with
 * the ratio. A recall curve (rows with `recall` and `ef`) becomes one row `<workload>@recall≥0.95`: for each system
 * the highest queries/s among its points with recall ≥ 0.95 (the curve's other points are in the suite's table).
 */
function summarise(r: ResultFile): SummaryRow[] {
  const curve = new Map<string, Row[]>();
  const plain = new Map<string, Row[]>();
  for (const row of r.rows) {
    const key = `${row.workload}\u0000${row.unit}`;
    const into = row.recall !== undefined && row.ef !== undefined ? curve : plain;
    if (!into.has(key)) into.set(key, []);
    into.get(key)!.push(row);
  }
  const out: SummaryRow[] = [];
  const emit = (workload: string, unit: string, rows: Row[], noteOf: (row: Row) => string | undefined): void => {
    const hearth = rows.find((x) => x.system === 'hearth');
    const row: SummaryRow = {
      suite: r.suite,
      quick: r.quick === true,
      workload,
      unit,
      hearth: hearth?.value,
      note: hearth ? noteOf(hearth) : undefined,
      baselines: rows
        .filter((x) => x !== hearth)
        .map((x) => ({ system: x.system, value: x.value, ratio: hearth ? ratioVsHearth(hearth.value, x.value, unit) : undefined, note: noteOf(x) })),
      targets: [],
    };
    for (const t of TARGETS) if (t.suite === r.suite && t.workload.test(workload)) row.targets.push(judge(t, row));
    out.push(row);
  };
  for (const rows of plain.values()) emit(rows[0].workload, rows[0].unit, rows, () => undefined);
  for (const rows of curve.values()) {
    const best = new Map<string, Row>();
    for (const x of rows) {
      if ((x.recall as number) < RECALL_TARGET) continue;
      const b = best.get(x.system);
      if (!b || x.value > b.value) best.set(x.system, x);
    }
    // A system none of whose points reaches the recall has no figure in this row (a target naming it: "no figure").
    emit(`${rows[0].workload}${AT_RECALL}`, rows[0].unit, [...best.values()], (x) => `ef=${x.ef}, recall ${(x.recall as number).toFixed(3)}`);
  }
  return out;
}

/** A target's threshold as written in the issue (100,000; 0.3). */
function num(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

function judge(t: Target, row: SummaryRow): { text: string; met: boolean | undefined } {
  if (t.vs !== undefined) {
    const b = row.baselines.find((x) => x.system === t.vs);
    const text = `≥ ${t.min}x ${t.vs}`;
    return { text, met: b?.ratio === undefined ? undefined : b.ratio >= t.min! };
  }
  if (row.hearth === undefined) return { text: t.atLeast !== undefined ? `≥ ${num(t.atLeast)} ${row.unit}` : `≤ ${num(t.atMost!)} ${row.unit}`, met: undefined };
  if (t.atLeast !== undefined) return { text: `≥ ${num(t.atLeast)} ${row.unit}`, met: row.hearth >= t.atLeast };
  return { text: `≤ ${num(t.atMost!)} ${row.unit}`, met: row.hearth <= t.atMost! };
}

/** The cross-suite table's rows: every result file's summary, and a row for each suite that failed. */
export function summaryRows(results: readonly ResultFile[], failures: readonly SuiteFailure[] = []): SummaryRow[] {
  const out: SummaryRow[] = [];
  const suites = new Set([...results.map((r) => r.suite), ...failures.map((f) => f.suite)]);
  for (const suite of [...suites].sort((a, b) => rank(a) - rank(b))) {
    const failure = failures.find((f) => f.suite === suite);
    if (failure) {
      out.push({ suite, quick: false, workload: '(suite failed)', unit: '', baselines: [], targets: [], failed: failure.error });
      continue;
    }
    const r = results.find((x) => x.suite === suite);
    if (r) out.push(...summarise(r));
  }
  return out;
}

function verdict(row: SummaryRow): string {
  if (row.failed !== undefined) return 'FAILED';
  if (row.targets.length === 0) return '';
  return row.targets.map((t) => (t.met === undefined ? 'no figure' : t.met ? 'met' : 'MISSED')).join(', ');
}

function cells(row: SummaryRow): string[] {
  const hearth = row.hearth === undefined ? '—' : formatValue(row.hearth) + (row.note ? ` (${row.note})` : '');
  const baselines = row.failed !== undefined
    ? row.failed
    : row.baselines
        .map((b) => `${b.system} ${formatValue(b.value)}${b.note ? ` (${b.note})` : ''}${b.ratio !== undefined ? ` → ${b.ratio.toFixed(2)}x` : ''}`)
        .join('; ');
  return [
    row.suite + (row.quick ? ' (quick)' : ''),
    row.workload,
    row.unit,
    hearth,
    baselines,
    row.targets.map((t) => t.text).join('; '),
    verdict(row),
  ];
}

const HEADER = ['suite', 'workload', 'unit', 'hearth', 'baselines (value → hearth vs it, > 1x = Hearth better)', 'target', 'verdict'];

/** The cross-suite table as aligned plain text (console). */
export function summaryText(rows: readonly SummaryRow[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.min(i === 4 ? 90 : 60, Math.max(...table.map((r) => r[i].length))));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** The cross-suite table in Markdown. */
export function summaryMarkdown(rows: readonly SummaryRow[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    '| --- | --- | --- | ---: | --- | --- | --- |',
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Counts of targets met and missed over the rows. */
export function targetTally(rows: readonly SummaryRow[]): { met: number; missed: number; unknown: number } {
  let met = 0;
  let missed = 0;
  let unknown = 0;
  for (const r of rows) for (const t of r.targets) t.met === undefined ? unknown++ : t.met ? met++ : missed++;
  return { met, missed, unknown };
}

/**
 * Rewrites the generated section of `<root>/docs/benchmarks.md` (appending the markers if absent) from
 * `<root>/bench/results/*.json`: the cross-suite table, then one table per suite with its date and machine.
 */
export function refreshBenchmarksDoc(root: string): void {
  const dir = join(root, 'bench', 'results');
  const doc = join(root, 'docs', 'benchmarks.md');
  if (!existsSync(dir) || !existsSync(doc)) return;
  const results = loadResults(dir);
  const rows = summaryRows(results);
  const tally = targetTally(rows);
  const parts = [
    BEGIN,
    '## Latest results, all suites (generated)',
    '',
    'Generated by `bench/report.ts` from `bench/results/*.json`; do not edit by hand. Each suite\'s table is one run of',
    'that suite, on the machine and at the date given (load on the shared machine varied; see each suite\'s section).',
    '',
    '### Summary: Hearth against the baselines and the issues\' targets',
    '',
    'One row per workload; ratios are oriented so that > 1x means Hearth is better (faster, or smaller for `ms`,',
    '`bytes`, `MiB`). Recall curves are summarised at recall@10 ≥ 0.95 (each system\'s highest queries/s among its',
    `points with recall ≥ 0.95). Targets: ${tally.met} met, ${tally.missed} missed` +
      (tally.unknown ? `, ${tally.unknown} without a figure` : '') +
      '. Runs: ' +
      results.map((r) => `${r.suite} ${r.date.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick)' : ''}`).join('; ') +
      '.',
    '',
    summaryMarkdown(rows),
  ];
  for (const r of results) {
    const m = r.machine;
    parts.push(
      '',
      `### ${r.suite}${r.quick ? ' (quick)' : ''}`,
      '',
      `${r.date.slice(0, 16).replace('T', ' ')} UTC; ${m.cpus} CPUs (${m.cpuModel ?? 'unknown'}), ${m.memGiB} GiB, Node ${m.node}` +
        (m.chromium ? `, Chromium ${m.chromium}` : '') +
        '.',
      '',
      markdownTable(r.rows),
    );
  }
  parts.push(END);
  const text = readFileSync(doc, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const generated = parts.join('\n');
  const next = a >= 0 && b > a ? text.slice(0, a) + generated + text.slice(b + END.length) : text.trimEnd() + '\n\n' + generated + '\n';
  writeFileSync(doc, next);
}

function rank(suite: string): number {
  const i = SUITE_ORDER.indexOf(suite);
  return i < 0 ? SUITE_ORDER.length : i;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  refreshBenchmarksDoc(new URL('..', import.meta.url).pathname);
}
