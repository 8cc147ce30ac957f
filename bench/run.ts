/**
 * `npm run bench [-- <suite> ...] [--quick] [--markdown] [--out <dir>]`: runs benchmark suites side by side with
 * their baselines and writes `bench/results/<suite>.json` (shape in ../shared/design/BENCHMARKS.md). With no suite
 * named, runs all of them (lsm, log, query, vector, browser, sync, size), one after the other in this process.
 *
 * - Each suite prints its own table; at the end one table across the suites run, with Hearth's ratio to every
 *   baseline and the issues' targets, met or missed (`bench/report.ts`).
 * - A suite that throws does not stop the others: its error is reported in the final table, its previous result
 *   file is left as it was, and the exit code is 1.
 * - After a full run (not `--quick`, not `--out`), docs/benchmarks.md's generated section is refreshed.
 * - `--quick` is passed to every suite (smaller sizes). `--out <dir>` writes the result files there instead of
 *   bench/results (e.g. a quick look that must not replace the recorded full-size results).
 * - `npm run bench -- report [--markdown] [--out <dir>]` runs nothing: it prints the cross-suite table from the
 *   result files already there.
 */
import { mkdirSync, writeFileSync, rmSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { formatValue, machine, markdownTable, ratioVsHearth, type Row, type SuiteContext } from './lib.js';
import {
  SUITE_ORDER,
  loadResults,
  refreshBenchmarksDoc,
  summaryMarkdown,
  summaryRows,
  summaryText,
  targetTally,
  type ResultFile,
  type SuiteFailure,
} from './report.js';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const markdown = argv.includes('--markdown');
const outIndex = argv.indexOf('--out');
if (outIndex >= 0 && (argv[outIndex + 1] === undefined || argv[outIndex + 1].startsWith('--'))) {
  console.error('bench: --out needs a directory');
  process.exit(2);
}
const resultsDir = outIndex >= 0 ? resolve(argv[outIndex + 1]) : join(root, 'bench', 'results');
const named = argv.filter((a, i) => !a.startsWith('--') && !(outIndex >= 0 && i === outIndex + 1));
const available = readdirSync(join(root, 'bench', 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

if (named.includes('report')) {
  if (named.length > 1) {
    console.error('bench: "report" runs no suite; name it alone');
    process.exit(2);
  }
  const results = loadResults(resultsDir);
  if (results.length === 0) {
    console.error(`bench: no result files in ${resultsDir}`);
    process.exit(2);
  }
  printSummary(results, []);
  process.exit(0);
}

const rank = (s: string): number => (SUITE_ORDER.includes(s) ? SUITE_ORDER.indexOf(s) : SUITE_ORDER.length);
const suites = (named.length ? named : available).sort((a, b) => rank(a) - rank(b));
for (const name of suites) {
  if (!available.includes(name)) {
    console.error(`bench: no suite "${name}" (have: ${available.join(', ')}; or "report")`);
    process.exit(2);
  }
}

const results: ResultFile[] = [];
const failures: SuiteFailure[] = [];
for (const name of suites) {
  const tmpDir = mkdtempSync(join(os.tmpdir(), `hearth-bench-${name}-`));
  const ctx: SuiteContext = { quick, tmpDir, log: (m) => console.log(`[${name}] ${m}`) };
  console.log(`\n== suite ${name}${quick ? ' (quick)' : ''}`);
  const started = Date.now();
  let rows: Row[];
  try {
    const mod = (await import(`./suites/${name}.ts`)) as { default: (ctx: SuiteContext) => Promise<Row[]> };
    rows = await mod.default(ctx);
    if (!Array.isArray(rows)) throw new TypeError(`suite ${name} returned ${typeof rows}, expected Row[]`);
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.error(`[${name}] FAILED after ${((Date.now() - started) / 1000).toFixed(0)} s: ${e instanceof Error ? (e.stack ?? error) : error}`);
    failures.push({ suite: name, error });
    continue;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const result: ResultFile = { suite: name, date: new Date().toISOString(), quick, machine: machine(), rows };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  results.push(result);
  printTable(rows);
  if (markdown) console.log('\n' + markdownTable(rows));
  console.log(`[${name}] ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${join(resultsDir, `${name}.json`)}`);
}

printSummary(results, failures);
// Quick runs and runs into another directory are for a look only: docs/benchmarks.md records full runs.
if (!quick && outIndex < 0 && results.length > 0) {
  refreshBenchmarksDoc(root);
  console.log('refreshed docs/benchmarks.md (generated section)');
}
// Some suites leave a browser or server handle to the garbage collector: end here, with the verdict.
process.exit(failures.length ? 1 : 0);

/** The cross-suite table (bench/report.ts) of these results, with the targets' tally. */
function printSummary(rs: readonly ResultFile[], fs: readonly SuiteFailure[]): void {
  const rows = summaryRows(rs, fs);
  const tally = targetTally(rows);
  console.log(`\n== summary: ${rs.length} suite(s)${fs.length ? `, ${fs.length} FAILED (${fs.map((f) => f.suite).join(', ')})` : ''}; ` +
    `targets ${tally.met} met, ${tally.missed} missed${tally.unknown ? `, ${tally.unknown} without a figure` : ''}`);
  for (const r of rs) console.log(`   ${r.suite}: ${r.date.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ', quick' : ''}`);
  console.log(markdown ? summaryMarkdown(rows) : summaryText(rows));
  if (!existsSync(join(root, 'docs', 'benchmarks.md'))) console.log('(record these in docs/benchmarks.md)');
}

/** One suite's rows, with each row's ratio to Hearth on the same workload (> 1x: Hearth better). */
function printTable(rows: Row[]): void {
  console.log(['workload', 'system', 'value', 'unit', 'hearth vs this'].join('\t'));
  for (const r of rows) {
    const hearth = rows.find((h) => h.system === 'hearth' && h.workload === r.workload && h.unit === r.unit && h.ef === r.ef);
    const x = hearth && hearth !== r ? ratioVsHearth(hearth.value, r.value, r.unit) : undefined;
    const w = r.ef !== undefined ? `${r.workload} ef=${r.ef}` : r.workload;
    const extra = r.recall !== undefined ? ` (recall ${r.recall.toFixed(3)})` : '';
    console.log([w, r.system, formatValue(r.value) + extra, r.unit, x !== undefined ? `${x.toFixed(2)}x` : ''].join('\t'));
  }
}
