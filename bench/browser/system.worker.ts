/**
 * Benchmark worker for the `browser` suite: one storage system per worker (`SYSTEM`, a build-time constant:
 * `hearth` = the Database on OPFS sync access handles, `sqlite-wasm-sahpool` = SQLite WASM on its `opfs-sahpool`
 * VFS, `dexie` = Dexie on IndexedDB with strict durability), driven by `{ id, cmd, args }` messages from
 * `bench.page.ts` and answering `{ id, ok, value | error }`.
 *
 * Every system stores the same documents (~200 bytes: `doc(i)`), keyed by string id, with its normal durability:
 * Hearth syncs (OPFS `flush`) before a write resolves; SQLite commits with its default `synchronous=FULL`; Dexie
 * uses `chromeTransactionDurability: 'strict'`. SQLite stores a document as JSON text and parses it on read, as an
 * application would.
 *
 * The timed inserts (`bulk`, `singles`) take documents generated before the clock starts (`pregenerate`): they
 * measure storing documents, not the benchmark's document generator (about 1 µs per document, a tenth of
 * SQLite's bulk insert time). Each system's own work on a document (JSON text for SQLite, a row object with
 * its key for Dexie, encoding for Hearth) stays inside the timing. Untimed loads (`fill`) generate as they go.
 */
import { OpfsFileSystem } from '@hearth/io';
import { Database, type Document } from '@hearth/db';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { Dexie } from 'dexie';
import { BULK_TABLES, doc, idOf } from './docs.js';

declare const SYSTEM: 'hearth' | 'sqlite-wasm-sahpool' | 'dexie';

/** A small seeded PRNG (mulberry32) for the read order. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface System {
  /** Opens the store; `fresh` drops what exists first. */
  open(fresh: boolean): Promise<void>;
  /** Inserts docs `[from, from + n)` into `table` in one transaction. */
  bulk(table: string, from: number, n: number): Promise<void>;
  /** One awaited insert into `table`. */
  single(table: string, i: number): Promise<void>;
  /** One point read by key from `table`. May be sync. */
  get(table: string, i: number): Document | undefined | Promise<Document | undefined>;
  close(): Promise<void>;
}


/** Documents `[0, n)` and their ids, generated once before a timed workload (see the file header). */
const PRE: { ids: string[]; docs: Document[] } = { ids: [], docs: [] };
function pregenerate(n: number): void {
  for (let i = PRE.docs.length; i < n; i++) {
    PRE.ids.push(idOf(i));
    PRE.docs.push(doc(i));
  }
}
/** Document `i`: the pregenerated one when there is one. */
const docAt = (i: number): Document => (i < PRE.docs.length ? PRE.docs[i] : doc(i));
const idAt = (i: number): string => (i < PRE.ids.length ? PRE.ids[i] : idOf(i));

class HearthSystem implements System {
  private db: Database | null = null;
  private fs: OpfsFileSystem | null = null;
  async open(fresh: boolean): Promise<void> {
    if (fresh) await OpfsFileSystem.destroy('bench-hearth');
    this.fs = await OpfsFileSystem.open('bench-hearth');
    this.db = await Database.open({ fs: this.fs, name: 'db' });
  }
  async bulk(table: string, from: number, n: number): Promise<void> {
    await this.db!.transaction((tx) => {
      for (let i = from; i < from + n; i++) tx.put(table, idAt(i), docAt(i));
    });
  }
  single(table: string, i: number): Promise<void> {
    return this.db!.put(table, idAt(i), docAt(i));
  }
  get(table: string, i: number): Document | undefined {
    return this.db!.get(table, idOf(i));
  }
  async close(): Promise<void> {
    await this.db?.close();
    this.db = null;
  }
}

type Sqlite3 = Awaited<ReturnType<typeof sqlite3InitModule>>;
let sqlite3: Sqlite3 | null = null;

class SqliteSystem implements System {
  private db: InstanceType<Sqlite3['oo1']['DB']> | null = null;
  private readonly inserts = new Map<string, ReturnType<InstanceType<Sqlite3['oo1']['DB']>['prepare']>>();
  private readonly selects = new Map<string, ReturnType<InstanceType<Sqlite3['oo1']['DB']>['prepare']>>();
  async open(fresh: boolean): Promise<void> {
    sqlite3 ??= await sqlite3InitModule();
    const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-sahpool', clearOnInit: fresh });
    this.db = new pool.OpfsSAHPoolDb('/bench.sqlite3');
    for (const t of ['docs', 'singles', ...BULK_TABLES]) this.db.exec(`CREATE TABLE IF NOT EXISTS ${t} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
  }
  private ins(table: string) {
    let s = this.inserts.get(table);
    if (s === undefined) this.inserts.set(table, (s = this.db!.prepare(`INSERT OR REPLACE INTO ${table} (id, doc) VALUES (?, ?)`)));
    return s;
  }
  async bulk(table: string, from: number, n: number): Promise<void> {
    const s = this.ins(table);
    this.db!.exec('BEGIN');
    try {
      for (let i = from; i < from + n; i++) s.bind([idAt(i), JSON.stringify(docAt(i))]).stepReset();
      this.db!.exec('COMMIT');
    } catch (e) {
      this.db!.exec('ROLLBACK');
      throw e;
    }
  }
  async single(table: string, i: number): Promise<void> {
    this.ins(table).bind([idAt(i), JSON.stringify(docAt(i))]).stepReset();
  }
  get(table: string, i: number): Document | undefined {
    let s = this.selects.get(table);
    if (s === undefined) this.selects.set(table, (s = this.db!.prepare(`SELECT doc FROM ${table} WHERE id = ?`)));
    s.bind([idOf(i)]);
    try {
      return s.step() ? (JSON.parse(s.getString(0)!) as Document) : undefined;
    } finally {
      s.reset();
    }
  }
  async close(): Promise<void> {
    for (const s of [...this.inserts.values(), ...this.selects.values()]) s.finalize();
    this.inserts.clear();
    this.selects.clear();
    this.db?.close();
    this.db = null;
  }
}

class DexieSystem implements System {
  private db: Dexie | null = null;
  async open(fresh: boolean): Promise<void> {
    if (fresh) await Dexie.delete('bench-dexie');
    const db = new Dexie('bench-dexie', { chromeTransactionDurability: 'strict' });
    const stores: Record<string, string> = { docs: 'id', singles: 'id' };
    for (const t of BULK_TABLES) stores[t] = 'id';
    db.version(1).stores(stores);
    await db.open();
    this.db = db;
  }
  async bulk(table: string, from: number, n: number): Promise<void> {
    const rows = [];
    for (let i = from; i < from + n; i++) rows.push({ id: idAt(i), ...docAt(i) });
    await this.db!.table(table).bulkPut(rows);
  }
  async single(table: string, i: number): Promise<void> {
    await this.db!.table(table).put({ id: idAt(i), ...docAt(i) });
  }
  async get(table: string, i: number): Promise<Document | undefined> {
    return (await this.db!.table(table).get(idOf(i))) as Document | undefined;
  }
  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}

const sys: System = SYSTEM === 'hearth' ? new HearthSystem() : SYSTEM === 'dexie' ? new DexieSystem() : new SqliteSystem();

const commands: Record<string, (...args: never[]) => Promise<unknown>> = {
  async open(fresh: boolean) {
    await sys.open(fresh);
  },
  /** ms to insert `n` documents into bulk table `rep` in one transaction. */
  async bulk(rep: number, n: number) {
    pregenerate(n);
    const t0 = performance.now();
    await sys.bulk(BULK_TABLES[rep], 0, n);
    return performance.now() - t0;
  },
  /** Per-insert latencies (ms) of `n` awaited single inserts of documents `[from, from + n)`. */
  async singles(n: number, from = 0) {
    pregenerate(from + n);
    const out: number[] = [];
    for (let i = from; i < from + n; i++) {
      const t0 = performance.now();
      await sys.single('singles', i);
      out.push(performance.now() - t0);
    }
    return out;
  },
  /** Fills `docs` with `n` documents, in transactions of 10,000. */
  async fill(n: number) {
    for (let from = 0; from < n; from += 10_000) await sys.bulk('docs', from, Math.min(10_000, n - from));
  },
  /** ops/s of `n` point reads of random ids in `docs[0, of)`. Checks every read found its document. */
  async reads(n: number, of: number, seed: number) {
    const rnd = prng(seed);
    const ids = Array.from({ length: n }, () => Math.floor(rnd() * of));
    const t0 = performance.now();
    let found = 0;
    for (const i of ids) {
      const d = await sys.get('docs', i);
      if (d !== undefined && d.n === i) found++;
    }
    const ms = performance.now() - t0;
    if (found !== n) throw new Error(`${SYSTEM}: ${n - found} of ${n} point reads missed`);
    return (n / ms) * 1000;
  },
  /** One point read (for the main-thread round-trip workload). */
  async get(i: number) {
    return sys.get('docs', i);
  },
  /** Open (library already loaded) to the result of the first point read, in ms. */
  async coldOpen(i: number) {
    const t0 = performance.now();
    await sys.open(false);
    const d = await sys.get('docs', i);
    const ms = performance.now() - t0;
    if (d === undefined || d.n !== i) throw new Error(`${SYSTEM}: the first read after a cold open missed`);
    return ms;
  },
  async close() {
    await sys.close();
  },
  /** Loads the library (SQLite's WASM) without opening anything, so cold open does not count it. */
  async load() {
    if (SYSTEM === 'sqlite-wasm-sahpool') sqlite3 ??= await sqlite3InitModule();
  },
};

self.onmessage = async (ev: MessageEvent<{ id: number; cmd: string; args: unknown[] }>) => {
  const { id, cmd, args } = ev.data;
  try {
    const value = await (commands[cmd] as (...a: unknown[]) => Promise<unknown>)(...args);
    self.postMessage({ id, ok: true, value });
  } catch (e) {
    self.postMessage({ id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
