/**
 * Page module of `webrtc-db.test.ts` and `webrtc-relay.test.ts`: plays the SDK's leader tab. It starts the
 * database worker (`webrtc-db.worker.ts`) and a `WebRtcHost` (RTCPeerConnection exists only on the main thread),
 * which bridges every connection to the worker over a MessagePort. Signalling goes either through the Node
 * test (`__signalOut`, an exposed function, and `__signalIn`) or through a real relay (`RelaySignaller`).
 * Exposes `globalThis.W` for `page.evaluate`.
 */
import { keypairFromSecretKey } from '@hearth/log';
import {
  RelaySignaller,
  WebRtcHost,
  parseSignalEnvelope,
  type Signaller,
  type SignalEnvelope,
  type SignalData,
} from '@hearth/sync/webrtc';

type G = { __signalOut(json: string): Promise<void>; __signalIn(json: string): void; W: unknown };
const g = globalThis as unknown as G;

class TestSignaller implements Signaller {
  private listeners: ((s: SignalEnvelope) => void)[] = [];
  private closed = false;
  constructor(readonly peerId: string) {
    g.__signalIn = (json) => {
      const s = parseSignalEnvelope(JSON.parse(json));
      if (!this.closed && s) for (const l of [...this.listeners]) l(s);
    };
  }
  async send(to: string, connection: string, data: SignalData): Promise<void> {
    if (this.closed) throw new Error('closed');
    await g.__signalOut(JSON.stringify({ to, from: this.peerId, connection, data }));
  }
  onSignal(l: (s: SignalEnvelope) => void): () => void {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
  }
  close(): void {
    this.closed = true;
    this.listeners = [];
  }
}

let worker: Worker;
let next = 0;
const waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
function call(op: string, args: unknown[] = [], transfer: Transferable[] = []): Promise<unknown> {
  const id = next++;
  return new Promise((ok, fail) => {
    waiting.set(id, { ok, fail });
    worker.postMessage({ id, op, args }, transfer);
  });
}

let host: WebRtcHost;
let signaller: Signaller;
let secretKey = '';
const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const toWorker = (port: MessagePort): void => void call('connect', [], [port]);

g.W = {
  async start(cfg: { sk: string; space: string; admit: string[]; peerId: string }) {
    worker = new Worker('/webrtc-db-worker.js', { type: 'module' });
    worker.onmessage = (e: MessageEvent<{ id: number; ok: boolean; result?: unknown; error?: string }>) => {
      const w = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      if (e.data.ok) w?.ok(e.data.result);
      else w?.fail(new Error(e.data.error));
    };
    await call('open', [cfg.sk, cfg.space, cfg.admit]);
    secretKey = cfg.sk;
  },
  /** Signalling through the Node test. */
  signalViaTest(peerId: string) {
    signaller = new TestSignaller(peerId);
    host = new WebRtcHost({ signaller, toWorker });
  },
  /** Signalling through the relay; retries while the relay does not know this key as a member yet. */
  async signalViaRelay(url: string, space: string) {
    const deadline = performance.now() + 20_000;
    for (;;) {
      try {
        signaller = await RelaySignaller.open({ url, space: fromHex(space), keypair: keypairFromSecretKey(fromHex(secretKey)) });
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'HEARTH_NOT_MEMBER' || performance.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    host = new WebRtcHost({ signaller, toWorker });
    return signaller.peerId;
  },
  signallerClosed: () => (signaller as RelaySignaller).closed,
  peers: () => (signaller as RelaySignaller).peers(),
  /** The worker syncs with the relay over SSE (and admits the relay's key). */
  relaySync: (url: string) => call('relaySync', [url]),
  relayOpen: () => call('relayOpen'),
  connect: (peerId: string) => host.connect(peerId),
  put: (c: string, id: string, doc: unknown) => call('put', [c, id, doc]),
  get: (c: string, id: string) => call('get', [c, id]),
  waitFor: (c: string, id: string, ms: number) => call('waitFor', [c, id, ms]),
  stats: () => call('stats'),
  times: (ids: string[]) => call('times', [ids]),
  stopSignalling() {
    host.stopSignalling();
    signaller.close();
  },
  openTransports: () => host.connections,
  dropConnections: () => host.disconnectAll('test drop'),
};
