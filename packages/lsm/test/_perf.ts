import { MemoryFileSystem } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { openLsm, type BatchOp } from '@hearth/lsm';
import { mkdtempSync, rmSync } from 'node:fs';
const root = mkdtempSync('/tmp/lsmperf-');
const fs = process.env.MEM ? new MemoryFileSystem() : new NodeFileSystem(root);
const lsm = await openLsm({ fs, dir: 'db', blockCacheBytes: Number(process.env.CACHE ?? 8 << 20) });
const n = 100000;
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
const keys = Array.from({ length: n }, () => Buffer.from(Array.from({ length: 16 }, rnd)));
const batches: BatchOp[][] = [];
for (let i = 0; i < n; i += 1000) {
  const ops: BatchOp[] = [];
  for (let j = i; j < i + 1000; j++) ops.push({ type: 'put', key: keys[j], value: Buffer.from(Array.from({ length: 100 }, rnd)) });
  batches.push(ops);
}
let t = performance.now();
for (const b of batches) await lsm.batch(b);
await lsm.flush();
console.log('put', Math.round((n / (performance.now() - t)) * 1000));
await lsm.compact();
for (let rep = 0; rep < 10; rep++) {
  t = performance.now();
  let f = 0;
  for (let i = 0; i < n; i++) if (lsm.get(keys[(i * 7919) % n])) f++;
  console.log('get', Math.round((n / (performance.now() - t)) * 1000), f);
}
console.log(JSON.stringify(lsm.stats().blockCache));
await lsm.close();
rmSync(root, { recursive: true });
