// The Database's snapshot read view passes @hearth/query's QueryStore compliance suite: documents written through
// the Database's own write path, indexes declared with createIndex (built online, entries in the LSM under 0x02),
// and every query through every plan equal to the reference evaluator. A small memtable forces flushes, so
// index entries are read from SSTables and the memtable alike.
import { test } from 'node:test';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import type { QueryStore } from '@hearth/query';
import { checkQueryStore } from '../../query/test/compliance.js';

test('Database snapshot: QueryStore compliance suite', async () => {
  const open: Database[] = [];
  let n = 0;
  try {
    await checkQueryStore(async () => {
      const db = await Database.open({ fs: new MemoryFileSystem(), name: `c${n++}`, lsm: { memtableBytes: 8192 }, adaptiveIndexes: false });
      open.push(db);
      return {
        view: () => db.snapshot() as unknown as QueryStore,
        put: (c, id, d) => db.put(c, id, d as never),
        delete: (c, id) => db.delete(c, id),
        createIndex: (def) => db.createIndex(def.collection, def.fields, { multiEntry: def.multiEntry }),
        dropIndex: (id) => db.dropIndex(id),
      };
    }, { scenarios: 4 });
  } finally {
    for (const db of open) await db.close();
  }
});
