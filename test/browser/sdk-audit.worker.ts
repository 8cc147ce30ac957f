/**
 * Reads every entry of every feed of SDK database `NAME` (OPFS, `hearth-sdk/<NAME>/db/feeds`) and reports how many
 * times each document was written (ops per `collection/id`, marker documents excluded), to prove that no write
 * was applied twice. Run only when no tab has the database open (OPFS handles are exclusive).
 */
import { OpfsFileSystem } from '@hearth/io';
import { FeedStore } from '@hearth/log';
import { decodeOpsV1 } from '@hearth/db';
import { MARKER_COLLECTION } from '@hearth/sdk';
import { emit, main } from './worker-kit.js';

declare const NAME: string;

main(async () => {
  const fs = await OpfsFileSystem.open(`hearth-sdk/${NAME}`);
  const feeds = await FeedStore.open({ fs, dir: 'db/feeds' });
  const counts: Record<string, number> = {};
  let entries = 0;
  let markers = 0;
  try {
    for (const feed of feeds.feeds()) {
      const head = feeds.head(feed)?.seq ?? 0;
      for (let from = 1; from <= head; from += 500) {
        for (const e of await feeds.read(feed, from, Math.min(head, from + 499))) {
          entries++;
          for (const op of decodeOpsV1(e.ops)) {
            if (op.collection === MARKER_COLLECTION) {
              markers++;
              continue;
            }
            const k = `${op.collection}/${op.id}`;
            counts[k] = (counts[k] ?? 0) + 1;
          }
        }
      }
    }
  } finally {
    await feeds.close();
  }
  emit({ counts, entries, markers });
});
