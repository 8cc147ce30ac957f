/** SimNetwork: seeded determinism, each fault really happens, partitions, and the protocol's reaction to faults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNetwork } from '../src/index.js';
import { hex, openPeer } from './_helpers.js';

function run(seed: number, faults: ConstructorParameters<typeof SimNetwork>[0]['faults']): { log: string[]; stats: SimNetwork['stats'] } {
  const net = new SimNetwork({ seed, faults });
  const log: string[] = [];
  const [a, b] = net.connect('a', 'b');
  b.onMessage((m) => log.push(`${net.now.toFixed(3)}:${m[0]}`));
  b.onClose((i) => log.push(`close:${i.reason}`));
  for (let i = 0; i < 200; i++) {
    if (!a.closed) a.send(new Uint8Array([i & 0xff]));
    net.step();
  }
  while (net.step());
  return { log, stats: { ...net.stats } };
}

test('one seed, one history; another seed, another history', () => {
  const f = { loss: 0.05, duplicate: 0.05, reorder: 0.05 };
  assert.deepEqual(run(5, f), run(5, f));
  assert.notDeepEqual(run(5, f).log, run(6, f).log);
});

test('each fault happens at about its rate; without faults delivery is in order and complete', () => {
  const clean = run(1, {});
  assert.equal(clean.log.length, 200);
  assert.deepEqual(clean.log.map((x) => Number(x.split(':')[1])), [...Array(200).keys()].map((i) => i & 0xff));
  const faulty = run(2, { loss: 0.1, duplicate: 0.1, reorder: 0.1 });
  assert.ok(faulty.stats.lost > 5 && faulty.stats.lost < 40, JSON.stringify(faulty.stats));
  assert.ok(faulty.stats.duplicated > 5 && faulty.stats.reordered > 5, JSON.stringify(faulty.stats));
  const order = faulty.log.map((x) => Number(x.split(':')[1]));
  assert.ok(order.some((v, i) => i > 0 && v < order[i - 1]), 'nothing was reordered');
  const cut = run(3, { disconnect: 0.05 });
  assert.ok(cut.log.some((x) => x === 'close:injected disconnect'));
});

test('a partition closes connections across it and refuses new ones until healed', () => {
  const net = new SimNetwork({ seed: 1 });
  const [a] = net.connect('x', 'y');
  const [c] = net.connect('x', 'z');
  net.partition([['x', 'z'], ['y']]);
  while (net.step());
  assert.ok(a.closed);
  assert.equal(c.closed, false);
  const [d, e] = net.connect('x', 'y');
  assert.ok(d.closed && e.closed);
  net.heal();
  const [f] = net.connect('x', 'y');
  assert.equal(f.closed, false);
});

test('over a lossy, reordering network a session detects the broken stream and closes; a clean reconnect converges', async () => {
  const net = new SimNetwork({ seed: 11, faults: { loss: 0.2, reorder: 0.2, duplicate: 0.2 } });
  const root = await openPeer('root', null, { node: { batchBytes: 512 } });
  const dev = await openPeer('dev', root.keypair.publicKey, { node: { batchBytes: 512 } });
  await root.node.admit(dev.keypair.publicKey);
  for (let i = 0; i < 40; i++) await root.db.put('notes', `n${i}`, { i });
  const settle = async (): Promise<void> => {
    for (;;) {
      if (root.node.busyCount === 0 && dev.node.busyCount === 0) return;
      await Promise.all([root.node.idle(), dev.node.idle()]);
    }
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const [a, b] = net.connect('root', 'dev');
    root.node.connect(a);
    if (!b.closed) dev.node.connect(b);
    while (net.step()) await settle();
    net.disconnect();
    while (net.step()) await settle();
  }
  const errors = [...root.events, ...dev.events].filter((e) => e.type === 'session-error').map((e) => (e as { error: { code?: string } }).error.code);
  assert.ok(errors.length > 0 && errors.every((c) => c === 'HEARTH_SYNC_PROTOCOL'), errors.join());
  net.setFaults({});
  const [a, b] = net.connect('root', 'dev');
  root.node.connect(a);
  dev.node.connect(b);
  while (net.step()) await settle();
  assert.equal(hex(root.db.stateHash()), hex(dev.db.stateHash()));
  assert.deepEqual([...root.events, ...dev.events].filter((e) => e.type === 'rejected'), []);
});
