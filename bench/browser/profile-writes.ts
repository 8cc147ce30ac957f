/**
 * Where the time of Hearth's writes goes in Chromium (issue #6's `bulk-insert-10000` and `insert-single-p50`):
 * runs `profile-writes.worker.ts` in a dedicated worker of headless Chromium and prints what it measures (raw
 * OPFS costs, WebCrypto vs noble signing, and the cost of each part of an awaited insert by A/B against a variant
 * that leaves it out). With `--profile <dir>` it also takes CPU profiles of the worker over the Chrome DevTools
 * Protocol (the page's session auto-attaches to the worker; `Profiler.start`/`stop` are sent to it) and writes
 * `<dir>/bulk.cpuprofile` and `<dir>/single.cpuprofile` (open them in Chrome DevTools, or summarise by self and
 * inclusive time).
 *
 *   node --conditions=hearth-source --import tsx bench/browser/profile-writes.ts [--profile /tmp/prof]
 *
 * A diagnostic, not a benchmark: nothing goes to bench/results. Check `uptime` first; on a loaded machine the
 * A/B differences still hold roughly, absolute figures do not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
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
      });
    }
  });
}

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
} finally {
  await b.close();
}
