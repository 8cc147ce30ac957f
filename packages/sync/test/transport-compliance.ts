/**
 * The transport compliance suite: what every {@link Transport} (in-memory, simulated, SSE relay, WebRTC) must do,
 * as listed in `packages/sync/src/transport.ts`. Framework-agnostic (no node:test, no node:assert) so that a
 * browser page can run it too: `transportComplianceCases(harness)` returns named async cases that throw on
 * failure. Node wiring: `transport-memory.test.ts`.
 *
 * A harness makes connected pairs and lets deliveries happen (`settle`: real time for network transports, event
 * stepping for the simulated network).
 */
import type { Transport, TransportCloseInfo } from '../src/index.js';

/** How the suite drives a transport implementation. */
export interface TransportHarness {
  /** A new connected pair: `[a, b]`, a's messages go to b and back. */
  pair(): Promise<[Transport, Transport]>;
  /** Lets deliveries and callbacks in flight happen (bounded: it must return even if nothing is pending). */
  settle(): Promise<void>;
  /** Most messages the suite sends in the ordering cases (default 300). */
  manyMessages?: number;
}

/** One case of the suite. */
export interface ComplianceCase {
  readonly name: string;
  run(): Promise<void>;
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`transport compliance: ${message}`);
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function settleUntil(h: TransportHarness, cond: () => boolean, what: string, rounds = 200): Promise<void> {
  for (let i = 0; i < rounds && !cond(); i++) await h.settle();
  check(cond(), `timed out waiting for ${what}`);
}

function indexMessage(i: number): Uint8Array {
  const m = new Uint8Array(8);
  new DataView(m.buffer).setUint32(0, i);
  m.set(pattern(4, i), 4);
  return m;
}

/** The cases (see the file header). */
export function transportComplianceCases(h: TransportHarness): ComplianceCase[] {
  const many = h.manyMessages ?? 300;
  return [
    {
      name: 'delivers each message whole with the same bytes, as a Uint8Array',
      async run() {
        const [a, b] = await h.pair();
        const max = Math.min(a.maxMessageBytes, 256 * 1024);
        const sizes = [1, 2, 100, 1040, 4096, max - 1, max].filter((n, i, all) => n >= 1 && n <= max && all.indexOf(n) === i);
        const got: Uint8Array[] = [];
        b.onMessage((m) => got.push(m));
        sizes.forEach((n, i) => a.send(pattern(n, i)));
        await settleUntil(h, () => got.length >= sizes.length, 'every message');
        check(got.length === sizes.length, `expected ${sizes.length} messages, got ${got.length}`);
        sizes.forEach((n, i) => {
          check(got[i] instanceof Uint8Array, 'a message is not a Uint8Array');
          check(equal(got[i], pattern(n, i)), `message ${i} (${n} bytes) differs`);
        });
        a.close();
      },
    },
    {
      name: 'keeps order in both directions at once, each message exactly once',
      async run() {
        const [a, b] = await h.pair();
        const atA: number[] = [];
        const atB: number[] = [];
        a.onMessage((m) => atA.push(new DataView(m.buffer, m.byteOffset).getUint32(0)));
        b.onMessage((m) => atB.push(new DataView(m.buffer, m.byteOffset).getUint32(0)));
        for (let i = 0; i < many; i++) {
          a.send(indexMessage(i));
          b.send(indexMessage(i));
        }
        await settleUntil(h, () => atA.length >= many && atB.length >= many, 'all messages');
        await h.settle();
        check(atA.length === many && atB.length === many, `expected ${many} each way, got ${atA.length} and ${atB.length}`);
        for (let i = 0; i < many; i++) check(atA[i] === i && atB[i] === i, `message ${i} out of order`);
        a.close();
      },
    },
    {
      name: 'never runs a listener inside send()',
      async run() {
        const [a, b] = await h.pair();
        let inside = false;
        let ranInside = false;
        let got = 0;
        b.onMessage(() => {
          got++;
          if (inside) ranInside = true;
        });
        a.onMessage(() => {
          if (inside) ranInside = true;
        });
        inside = true;
        a.send(indexMessage(1));
        b.send(indexMessage(2));
        inside = false;
        await settleUntil(h, () => got === 1, 'the message');
        check(!ranInside, 'a listener ran synchronously inside send()');
        a.close();
      },
    },
    {
      name: 'keeps messages that arrive before the first listener, in order',
      async run() {
        const [a, b] = await h.pair();
        for (let i = 0; i < 10; i++) a.send(indexMessage(i));
        for (let i = 0; i < 5; i++) await h.settle();
        const got: number[] = [];
        b.onMessage((m) => got.push(new DataView(m.buffer, m.byteOffset).getUint32(0)));
        a.send(indexMessage(10));
        await settleUntil(h, () => got.length >= 11, 'the early messages');
        check(got.join() === [...Array(11).keys()].join(), `early messages lost or reordered: ${got.join()}`);
        a.close();
      },
    },
    {
      name: "the caller may reuse its buffer after send()",
      async run() {
        const [a, b] = await h.pair();
        const got: Uint8Array[] = [];
        b.onMessage((m) => got.push(m));
        const buf = pattern(64, 7);
        a.send(buf);
        buf.fill(0);
        await settleUntil(h, () => got.length === 1, 'the message');
        check(equal(got[0], pattern(64, 7)), 'the message changed when the caller reused its buffer');
        a.close();
      },
    },
    {
      name: 'refuses a message over maxMessageBytes with a RangeError',
      async run() {
        const [a] = await h.pair();
        check(a.maxMessageBytes >= 1040, `maxMessageBytes ${a.maxMessageBytes} is below 1,040`);
        if (Number.isFinite(a.maxMessageBytes)) {
          let err: unknown;
          try {
            a.send(new Uint8Array(a.maxMessageBytes + 1));
          } catch (e) {
            err = e;
          }
          check(err instanceof RangeError, 'an oversized message was not refused with RangeError');
        }
        a.close();
      },
    },
    {
      name: 'close is seen once by both ends (remote flag), is idempotent, and send afterwards throws HEARTH_TRANSPORT_CLOSED',
      async run() {
        const [a, b] = await h.pair();
        const atA: TransportCloseInfo[] = [];
        const atB: TransportCloseInfo[] = [];
        a.onClose((i) => atA.push(i));
        b.onClose((i) => atB.push(i));
        a.close('bye');
        a.close('again');
        check(a.closed, 'a.closed is false after close()');
        await settleUntil(h, () => atA.length === 1 && atB.length === 1, 'close on both ends');
        for (let i = 0; i < 3; i++) await h.settle();
        check(atA.length === 1 && atB.length === 1, `close listeners ran ${atA.length} and ${atB.length} times`);
        check(atA[0].remote === false && atB[0].remote === true, 'remote flags wrong');
        check(b.closed, 'b.closed is false after the peer closed');
        for (const t of [a, b]) {
          let err: unknown;
          try {
            t.send(indexMessage(0));
          } catch (e) {
            err = e;
          }
          check((err as { code?: string })?.code === 'HEARTH_TRANSPORT_CLOSED', 'send after close did not throw HEARTH_TRANSPORT_CLOSED');
        }
        let late = 0;
        a.onClose(() => late++);
        await settleUntil(h, () => late === 1, 'a close listener registered after close');
      },
    },
    {
      name: 'delivers nothing after close',
      async run() {
        const [a, b] = await h.pair();
        let got = 0;
        b.onMessage(() => got++);
        a.send(indexMessage(1));
        b.close();
        for (let i = 0; i < 5; i++) await h.settle();
        check(got === 0, 'a message was delivered after the receiver closed');
        let atA = 0;
        a.onMessage(() => atA++);
        try {
          b.send(indexMessage(2));
        } catch {
          /* expected */
        }
        for (let i = 0; i < 5; i++) await h.settle();
        check(atA === 0, 'a message from a closed end arrived');
      },
    },
    {
      name: 'an unsubscribed listener gets nothing more',
      async run() {
        const [a, b] = await h.pair();
        let first = 0;
        let second = 0;
        const off = b.onMessage(() => first++);
        b.onMessage(() => second++);
        a.send(indexMessage(1));
        await settleUntil(h, () => second === 1, 'the first message');
        off();
        a.send(indexMessage(2));
        await settleUntil(h, () => second === 2, 'the second message');
        check(first === 1, `an unsubscribed listener ran ${first} times`);
        a.close();
      },
    },
  ];
}
