/** The transport compliance suite on the in-memory transport (both sizes) and on the simulated network without faults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaseTransport, createMemoryTransportPair, SimNetwork, type Transport } from '../src/index.js';
import { transportComplianceCases } from './transport-compliance.js';

const macrotask = (): Promise<void> => new Promise((r) => setImmediate(r));

for (const max of [Infinity, 16 * 1024]) {
  for (const c of transportComplianceCases({ pair: async () => createMemoryTransportPair({ maxMessageBytes: max }), settle: macrotask })) {
    test(`memory transport (maxMessageBytes ${max}): ${c.name}`, () => c.run());
  }
}

{
  const net = new SimNetwork({ seed: 1 });
  let n = 0;
  const harness = {
    pair: async () => {
      n++;
      return net.connect(`a${n}`, `b${n}`);
    },
    settle: async () => {
      for (let i = 0; i < 1000 && net.step(); i++);
      await Promise.resolve();
    },
  };
  for (const c of transportComplianceCases(harness)) test(`sim network transport (no faults): ${c.name}`, () => c.run());
}

// The suite can fail: transports that break a guarantee are caught by the case for it.

class FaultyTransport extends BaseTransport {
  peer!: FaultyTransport;
  held: Uint8Array | null = null;
  constructor(private readonly fault: 'sync' | 'swap' | 'alias') {
    super(Infinity);
  }
  override send(message: Uint8Array): void {
    if (this.fault === 'alias') {
      // hands the caller's array over without copying it
      if (this.closed) return super.send(message);
      queueMicrotask(() => this.peer.take(message));
      return;
    }
    super.send(message);
  }
  protected deliver(m: Uint8Array): void {
    if (this.fault === 'sync') this.peer.take(m);
    else if (this.fault === 'swap') {
      // swaps each pair of messages
      if (this.held === null) this.held = m;
      else {
        const first = this.held;
        this.held = null;
        queueMicrotask(() => {
          this.peer.take(m);
          this.peer.take(first);
        });
      }
    } else queueMicrotask(() => this.peer.take(m));
  }
  protected notifyPeerClosed(): void {
    queueMicrotask(() => this.peer.gone());
  }
  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }
  take(m: Uint8Array): void {
    this.receive(m);
  }
  gone(): void {
    this.closeFromRemote('closed by peer');
  }
}

function faultyPair(fault: 'sync' | 'swap' | 'alias'): [Transport, Transport] {
  const a = new FaultyTransport(fault);
  const b = new FaultyTransport(fault);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

for (const [fault, caseName] of [
  ['sync', 'never runs a listener inside send()'],
  ['swap', 'keeps order in both directions at once, each message exactly once'],
  ['alias', 'the caller may reuse its buffer after send()'],
] as const) {
  test(`the compliance suite catches a transport that breaks it (${fault})`, async () => {
    const c = transportComplianceCases({ pair: async () => faultyPair(fault), settle: macrotask }).find((x) => x.name === caseName)!;
    await assert.rejects(c.run(), /transport compliance/);
  });
}
