/**
 * A deterministic, fault-injecting in-memory network for simulations and tests (never for production).
 *
 * Everything happens on a virtual clock driven by the caller: `step()` runs the next scheduled event (a message
 * delivery, a close, a listener callback). Randomness comes from one seeded generator, so one seed gives one run.
 * Faults, each a probability per message: **loss** (dropped), **duplicate** (delivered twice), **reorder** (held
 * back by an extra random delay so later messages overtake it) and **disconnect** (the connection is closed).
 * **Partitions** close every connection between the groups and refuse new ones until healed.
 *
 * The sync protocol assumes an ordered, reliable transport (`transport.ts`); these faults break that on purpose,
 * to check that the protocol detects it (frame numbers, checksums: the session closes) and recovers by resuming on
 * a new connection. A lost last message is not detected (as with a real half-open connection); a simulation
 * heals it by reconnecting, which real applications do on a timeout.
 *
 * @packageDocumentation
 */
import { BaseTransport, type Transport } from './transport.js';

/** Fault probabilities per message, each in [0, 1]. */
export interface SimFaults {
  loss?: number;
  duplicate?: number;
  reorder?: number;
  disconnect?: number;
}

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of the generator (any 32-bit integer). */
  seed: number;
  /** Delivery latency range, virtual ms. Default [1, 20]. */
  latencyMs?: [number, number];
  faults?: SimFaults;
  /** `maxMessageBytes` of every transport. Default 16,384 (like a WebRTC data channel). */
  maxMessageBytes?: number;
}

interface SimEvent {
  readonly time: number;
  readonly order: number;
  readonly fn: () => void;
}

/** mulberry32: a small, fast 32-bit generator; good enough for choosing faults. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class SimTransport extends BaseTransport {
  peer!: SimTransport;
  /** Virtual time of the last delivery scheduled in this direction (keeps FIFO unless reordered). */
  lastDelivery = 0;
  constructor(
    private readonly net: SimNetwork,
    readonly local: string,
    readonly remote: string,
    maxMessageBytes: number,
  ) {
    super(maxMessageBytes);
  }
  protected deliver(message: Uint8Array): void {
    this.net._transmit(this, message);
  }
  protected notifyPeerClosed(reason: string): void {
    const peer = this.peer;
    this.net.schedule(this.net._latency(), () => peer._remoteClosed(reason === 'closed' ? 'closed by peer' : reason));
  }
  protected schedule(fn: () => void): void {
    this.net.schedule(0, fn);
  }
  _receive(message: Uint8Array): void {
    this.receive(message);
  }
  _remoteClosed(reason: string): void {
    this.closeFromRemote(reason);
  }
}

/** The simulated network (see the file header). */
export class SimNetwork {
  private readonly rand: () => number;
  private readonly heap: SimEvent[] = [];
  private order = 0;
  private clock = 0;
  private faults: Required<SimFaults>;
  private readonly latency: [number, number];
  private readonly maxMessageBytes: number;
  private readonly links = new Set<SimTransport>();
  private groups: Map<string, number> | null = null;
  /** Counters of injected faults and deliveries. */
  readonly stats = { delivered: 0, lost: 0, duplicated: 0, reordered: 0, disconnects: 0, refused: 0 };

  constructor(options: SimNetworkOptions) {
    if (!Number.isInteger(options.seed)) throw new TypeError('"seed" expected an integer');
    this.rand = mulberry32(options.seed);
    this.latency = options.latencyMs ?? [1, 20];
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024;
    this.faults = { loss: 0, duplicate: 0, reorder: 0, disconnect: 0, ...options.faults };
  }

  /** Current virtual time, ms. */
  get now(): number {
    return this.clock;
  }

  /** A uniform number in [0, 1) from the seeded generator. */
  random(): number {
    return this.rand();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  /** Seeded random bytes (nonces, invite secrets in simulations). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** Replaces the fault probabilities (e.g. all zero for a final healing phase). */
  setFaults(faults: SimFaults): void {
    this.faults = { loss: 0, duplicate: 0, reorder: 0, disconnect: 0, ...faults };
  }

  /** Schedules `fn` after `delayMs` of virtual time (0: after the events already due now). */
  schedule(delayMs: number, fn: () => void): void {
    this.push({ time: this.clock + Math.max(0, delayMs), order: this.order++, fn });
  }

  /** Events scheduled and not yet run. */
  get queued(): number {
    return this.heap.length;
  }

  /** Runs the next event, advancing the clock to it. False if there was none. */
  step(): boolean {
    const e = this.pop();
    if (e === undefined) return false;
    this.clock = e.time;
    e.fn();
    return true;
  }

  /**
   * Connects two named endpoints: returns `[a's end, b's end]`. Across a partition, both ends come back closed.
   */
  connect(a: string, b: string): [Transport, Transport] {
    const ta = new SimTransport(this, a, b, this.maxMessageBytes);
    const tb = new SimTransport(this, b, a, this.maxMessageBytes);
    ta.peer = tb;
    tb.peer = ta;
    if (this.separated(a, b)) {
      this.stats.refused++;
      ta.close('network partition');
      tb._remoteClosed('network partition');
      return [ta, tb];
    }
    this.links.add(ta);
    this.links.add(tb);
    return [ta, tb];
  }

  /** Splits the endpoints into groups (an endpoint in no group is alone); closes every connection across groups. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((name) => this.groups!.set(name, i)));
    for (const t of [...this.links]) if (this.separated(t.local, t.remote)) this.cut(t, 'network partition');
  }

  /** Removes the partition. */
  heal(): void {
    this.groups = null;
  }

  /** Closes every open connection of `name` (or all connections), as a crash or network loss would. */
  disconnect(name?: string): void {
    for (const t of [...this.links]) if (name === undefined || t.local === name || t.remote === name) this.cut(t, 'disconnected');
  }

  // --- internals ------------------------------------------------------------------------------------------------

  /** Internal: a latency draw. */
  _latency(): number {
    const [lo, hi] = this.latency;
    return lo + this.rand() * (hi - lo);
  }

  /** Internal: `from` sends `message` to its peer, through the faults. */
  _transmit(from: SimTransport, message: Uint8Array): void {
    const to = from.peer;
    const f = this.faults;
    if (f.disconnect > 0 && this.rand() < f.disconnect) {
      this.stats.disconnects++;
      this.cut(from, 'injected disconnect');
      return;
    }
    if (f.loss > 0 && this.rand() < f.loss) {
      this.stats.lost++;
      return;
    }
    let at = this.clock + this._latency();
    if (f.reorder > 0 && this.rand() < f.reorder) {
      this.stats.reordered++;
      at += this._latency() * 3;
    } else {
      at = Math.max(at, from.lastDelivery);
      from.lastDelivery = at;
    }
    const copies = f.duplicate > 0 && this.rand() < f.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.push({
        time: at + i * 0.001,
        order: this.order++,
        fn: () => {
          this.stats.delivered++;
          to._receive(message);
        },
      });
    }
  }

  private separated(a: string, b: string): boolean {
    if (this.groups === null) return false;
    const ga = this.groups.get(a);
    const gb = this.groups.get(b);
    return ga === undefined || gb === undefined || ga !== gb;
  }

  private cut(t: SimTransport, reason: string): void {
    this.links.delete(t);
    this.links.delete(t.peer);
    if (!t.closed) t._remoteClosed(reason);
    if (!t.peer.closed) t.peer._remoteClosed(reason);
  }

  private push(e: SimEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}
