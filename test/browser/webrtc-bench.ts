/**
 * Measures `live-webrtc-p50` / `live-webrtc-p99` (ms): from a commit on one device to the commit callback
 * (`Database.onCommit`, what live queries run on) on another device, through WebRTC. Two Chromium profiles (two
 * browser processes), each page hosting the peer and bridging it to its database worker (OPFS), as in
 * `webrtc-db.test.ts`; signalling routed by this script. One write at a time (latency, not throughput): each
 * `put` waits until the other side has it.
 *
 * Both times are `performance.timeOrigin + performance.now()` in the two workers: wall-clock based, on one
 * machine, so their difference is the latency (clock offset between two processes of one host: well under 1 ms).
 *
 * Run: `npx tsx test/browser/webrtc-bench.ts [--quick]`; prints the rows as JSON (`bench/lib.ts` Row shape). Not a
 * bench suite (bench/suites is another's path): wire it in by calling {@link measureLiveWebRtc}.
 */
import type { Page } from 'playwright-core';
import { generateKeypair } from '@hearth/log';
import type { Row } from '../../bench/lib.js';
import { openBrowser, type BrowserSession } from './harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const run = <T>(page: Page, body: string): Promise<T> => page.evaluate(`(async () => { ${body} })()`) as Promise<T>;

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** The rows, from `writes` measured writes (after `warmup` unmeasured ones). */
export async function measureLiveWebRtc(options: { writes?: number; warmup?: number; docBytes?: number } = {}): Promise<Row[]> {
  const writes = options.writes ?? 300;
  const warmup = options.warmup ?? 20;
  const docBytes = options.docBytes ?? 100;
  const ka = generateKeypair();
  const kb = generateKeypair();
  const ids = { a: hex(ka.publicKey), b: hex(kb.publicKey) };
  const pages = new Map<string, Page>();
  const sessions: BrowserSession[] = [];
  const route = async (json: string): Promise<void> => {
    await pages.get((JSON.parse(json) as { to: string }).to)!.evaluate(`globalThis.__signalIn(${JSON.stringify(json)})`);
  };
  try {
    for (const [id, k, admit] of [[ids.a, ka, [ids.b]], [ids.b, kb, []]] as const) {
      const b = await openBrowser();
      sessions.push(b);
      await b.bundle('test/browser/webrtc-db.page.ts', { name: 'webrtc-db-page.js' });
      await b.bundle('test/browser/webrtc-db.worker.ts', { name: 'webrtc-db-worker.js' });
      b.addFile('webrtc-db.html', '<!doctype html><meta charset="utf-8"><script type="module" src="/webrtc-db-page.js"></script>\n');
      const p = await b.newPage('/index.html');
      await p.exposeFunction('__signalOut', route);
      await p.goto(b.origin + '/webrtc-db.html');
      await p.waitForFunction('globalThis.W !== undefined', undefined, { timeout: 20_000 });
      pages.set(id, p);
      await run(p, `await W.start(${JSON.stringify({ sk: hex(k.secretKey), space: ids.a, admit })}); W.signalViaTest(${JSON.stringify(id)})`);
    }
    const A = pages.get(ids.a)!;
    const B = pages.get(ids.b)!;
    await run(B, `await W.connect(${JSON.stringify(ids.a)})`);
    const lat: number[] = [];
    for (let i = 0; i < warmup + writes; i++) {
      const id = `d${i}`;
      await run(A, `await W.put('bench', ${JSON.stringify(id)}, { i: ${i}, pad: 'x'.repeat(${docBytes}) })`);
      await run(B, `await W.waitFor('bench', ${JSON.stringify(id)}, 20000)`);
      if (i < warmup) continue;
      const [[ta], [tb]] = [await run<(number | null)[]>(A, `return W.times([${JSON.stringify(id)}])`), await run<(number | null)[]>(B, `return W.times([${JSON.stringify(id)}])`)];
      if (ta === null || tb === null) throw new Error(`no commit time for ${id}`);
      lat.push(tb - ta);
    }
    lat.sort((x, y) => x - y);
    const notes = `${writes} writes of ~${docBytes} B, one at a time; commit (onCommit) on A to onCommit on B; 2 Chromium profiles, OPFS, loopback WebRTC`;
    return [
      { workload: 'live-webrtc-p50', system: 'hearth', value: +quantile(lat, 0.5).toFixed(2), unit: 'ms', n: writes, notes },
      { workload: 'live-webrtc-p99', system: 'hearth', value: +quantile(lat, 0.99).toFixed(2), unit: 'ms', n: writes, notes },
    ];
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await measureLiveWebRtc(quick ? { writes: 50, warmup: 5 } : {}), null, 2));
}
