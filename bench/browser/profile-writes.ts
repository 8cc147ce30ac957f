/**
 * Where the time of Hearth's writes goes in Chromium (issue #6's `bulk-insert-10000` and `insert-single-p50`):
 * runs `profile-writes.worker.ts` in a dedicated worker of headless Chromium and prints what it measures (raw
 * OPFS costs, WebCrypto vs noble signing, and the cost of each part of an awaited insert by A/B against a variant
 * that leaves it out). With `--profile <dir>` it also takes CPU profiles of the worker over the Chrome DevTools
 * Protocol (the page's session auto-attaches to the worker; `Profiler.start`/`stop` are sent to it) and writes
 * `<dir>/bulk.cpuprofile` and `<dir>/single.cpuprofile` (open them in Chrome DevTools), and prints each one's
 * top functions by self and by inclusive time, with the source file each comes from.
 *
 *   node --conditions=hearth-source --import tsx bench/browser/profile-writes.ts [--profile /tmp/prof]
 *
 * A diagnostic, not a benchmark: nothing goes to bench/results. Check `uptime` first; on a loaded machine the
 * A/B differences still hold roughly, absolute figures do not.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { openBrowser } from '../../test/browser/harness.js';

const at = process.argv.indexOf('--profile');
const profileDir = at >= 0 ? process.argv[at + 1] : undefined;
if (at >= 0 && !profileDir) throw new Error('--profile needs a directory');

/** Forwards `Profiler.*` to the worker target through the page session (non-flattened target sessions). */
function profileWorker(cdp: CDPSession, dir: string): void {
  let next = 1;
  let session: string | null = null;
  const waiting = new Map<number, (m: { result?: { profile?: unknown } }) => void>();
  const send = (method: string, params: object = {}): Promise<{ result?: { profile?: unknown } }> =>
    new Promise((ok) => {
      const id = next++;
      waiting.set(id, ok);
      void cdp.send('Target.sendMessageToTarget', { sessionId: session!, message: JSON.stringify({ id, method, params }) });
    });
  cdp.on('Target.attachedToTarget', (ev) => {
    if (ev.targetInfo.type !== 'worker') return;
    session = ev.sessionId;
    void (async () => {
      await send('Runtime.enable');
      await send('Profiler.enable');
      await send('Profiler.setSamplingInterval', { interval: 100 });
      await send('Runtime.runIfWaitingForDebugger');
    })();
  });
  cdp.on('Target.receivedMessageFromTarget', (ev) => {
    const m = JSON.parse(ev.message) as { id?: number; method?: string; params?: { args?: { value?: unknown }[] } };
    if (m.id !== undefined && waiting.has(m.id)) {
      waiting.get(m.id)!(m as { result?: { profile?: unknown } });
      waiting.delete(m.id);
      return;
    }
    if (m.method !== 'Runtime.consoleAPICalled') return;
    const text = (m.params?.args ?? []).map((a) => String(a.value)).join(' ');
    if (text === 'PSTART') void send('Profiler.start');
    else if (text.startsWith('PSTOP ')) {
      void send('Profiler.stop').then((r) => {
        const file = join(dir, `${text.slice(6)}.cpuprofile`);
        writeFileSync(file, JSON.stringify(r.result?.profile));
        console.log(`wrote ${file}`);
        profiles.push({ name: text.slice(6), profile: r.result?.profile as Profile });
      });
    }
  });
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Prints a profile's top `n` functions by self and by inclusive time (percent of the profiled time). Functions of
 * the worker bundle are named with the source file esbuild's `// path` section comment puts them under.
 */
function summarise(name: string, profile: Profile, bundle: string, n = 25): void {
  const sectionAt: string[] = [];
  let section = '';
  bundle.split('\n').forEach((line, i) => {
    const m = /^\/\/ ((?:packages|bench|test|node_modules)\/\S+)$/.exec(line);
    if (m) section = m[1];
    sectionAt[i] = section;
  });
  const label = (f: ProfileNode['callFrame']): string => {
    const fn = f.functionName || '(anonymous)';
    if (f.url === '') return fn;
    return `${fn} (${sectionAt[f.lineNumber] ?? f.url})`;
  };
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    self.set(label(byId.get(id)!.callFrame), (self.get(label(byId.get(id)!.callFrame)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  });
  const top = (m: Map<string, number>): string =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([k, t]) => `  ${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(`\n${name}: ${(total / 1000).toFixed(0)} ms profiled (includes a 50 ms idle start)\n-- self\n${top(self)}\n-- inclusive\n${top(incl)}`);
}

const profiles: { name: string; profile: Profile }[] = [];
const b = await openBrowser();
try {
  const url = await b.bundle('bench/browser/profile-writes.worker.ts', { define: { PROFILE: String(profileDir !== undefined) } });
  if (profileDir !== undefined) {
    mkdirSync(profileDir, { recursive: true });
    const cdp = await b.context.newCDPSession(b.page);
    profileWorker(cdp, profileDir);
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false });
  }
  for (const row of await b.runWorker(url, { timeoutMs: 20 * 60_000 })) console.log(JSON.stringify(row));
  const bundle = readFileSync(join(b.serveDir, url), 'utf8');
  for (const p of profiles) summarise(p.name, p.profile, bundle);
} finally {
  await b.close();
}
