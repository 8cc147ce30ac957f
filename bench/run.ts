/**
 * `npm run bench [-- <suite> ...] [--quick] [--markdown]`: runs benchmark suites side by side with their baselines and writes
 * bench/results/<suite>.json (shape in ../shared/design/BENCHMARKS.md). With no suite named, runs all of them.
 */
import { mkdirSync, writeFileSync, rmSync, mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { machine, markdownTable, type Row, type SuiteContext } from './lib.js';
import { refreshBenchmarksDoc } from './report.js';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const available = readdirSync(join(root, 'bench', 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();
const order = ['lsm', 'log', 'query', 'vector', 'browser', 'sync', 'size'];
const named = argv.filter((a) => !a.startsWith('--'));
const suites = (named.length ? named : available).sort((a, b) => order.indexOf(a) - order.indexOf(b));

for (const name of suites) {
  if (!available.includes(name)) {
    console.error(`bench: no suite "${name}" (have: ${available.join(', ')})`);
    process.exit(2);
  }
}

for (const name of suites) {
  const mod = (await import(`./suites/${name}.ts`)) as { default: (ctx: SuiteContext) => Promise<Row[]> };
  const tmpDir = mkdtempSync(join(os.tmpdir(), `hearth-bench-${name}-`));
  const ctx: SuiteContext = { quick, tmpDir, log: (m) => console.log(`[${name}] ${m}`) };
  console.log(`\n== suite ${name}${quick ? ' (quick)' : ''}`);
  let rows: Row[];
  try {
    rows = await mod.default(ctx);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const result = { suite: name, date: new Date().toISOString(), quick, machine: machine(), rows };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  printTable(rows);
  if (argv.includes('--markdown')) printMarkdown(rows);
}
// Quick runs are for a look only: docs/benchmarks.md records full runs.
if (!quick) refreshBenchmarksDoc(root);

function printTable(rows: Row[]): void {
  const byWorkload = new Map<string, Row[]>();
  for (const r of rows) {
    const key = r.ef !== undefined ? `${r.workload} ef=${r.ef}` : r.workload;
    if (!byWorkload.has(key)) byWorkload.set(key, []);
    byWorkload.get(key)!.push(r);
  }
  console.log(['workload', 'system', 'value', 'unit', 'vs hearth'].join('\t'));
  for (const [w, rs] of byWorkload) {
    const hearth = rs.find((r) => r.system === 'hearth');
    for (const r of rs) {
      const ratio = hearth && r !== hearth && r.value ? (hearth.value / r.value).toFixed(2) + 'x' : '';
      const extra = r.recall !== undefined ? ` (recall ${r.recall.toFixed(3)})` : '';
      console.log([w, r.system, fmt(r.value) + extra, r.unit, ratio].join('\t'));
    }
  }
  if (!existsSync(join(root, 'docs', 'benchmarks.md'))) console.log('(record these in docs/benchmarks.md)');
}

/** `--markdown`: the same rows as a Markdown table (see `markdownTable` in bench/lib.ts). */
function printMarkdown(rows: Row[]): void {
  console.log('\n' + markdownTable(rows));
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(4);
}
