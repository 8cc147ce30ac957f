/** The transport compliance suite on the in-memory transport (both sizes) and on the simulated network without faults. */
import { test } from 'node:test';
import { createMemoryTransportPair, SimNetwork } from '../src/index.js';
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
