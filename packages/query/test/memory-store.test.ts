// MemoryQueryStore passes the QueryStore compliance suite (the same suite the Database's read view will run).
import { test } from 'node:test';
import { MemoryQueryStore } from '../src/index.js';
import { checkQueryStore } from './compliance.js';

test('MemoryQueryStore: QueryStore compliance suite', async () => {
  await checkQueryStore(() => {
    const s = new MemoryQueryStore();
    return {
      view: () => s,
      put: (c, id, d) => s.put(c, id, d),
      delete: (c, id) => s.delete(c, id),
      createIndex: (def) => s.createIndex(def),
      dropIndex: (id) => s.dropIndex(id),
    };
  }, { scenarios: 6 });
});
