/**
 * Vector search over notes: "similar notes" and the search box.
 *
 * Two spaces are searched, never mixed:
 * - `embedding`: every note's vector from the app's {@link Embedder} (the built-in one is lexical), used for the
 *   search box and for "similar" when a note has no own vector;
 * - `vector`: a document's own vector (e.g. imported with it), used for "similar" among notes whose own vector has
 *   the same length.
 *
 * Where the search runs ({@link NoteSearch.backend}):
 * - `'database'`: the Database's own vector indexes (`Database.createVectorIndex` on `notes.embedding` and, per
 *   dimension met, `notes.vector`; then `Database.nearest`, exact below 10,000 vectors, HNSW above), when the SDK
 *   lets the page call `createVectorIndex`;
 * - `'page'` otherwise (today: the SDK passes `nearest` through but refuses `createVectorIndex`, and `nearest`
 *   needs an index): `@hearth/vector`'s exact `FlatIndex` per space in this tab, kept current incrementally by a
 *   live query of every note's `updated` stamp (only notes whose stamp changed are read again).
 * {@link NoteSearch.backendReason} says why.
 *
 * Invariant: once page indexing has started and its first load is indexed, and while no change is being applied,
 * each page index holds exactly the notes whose stored vector is in its space, under the note's id.
 * @packageDocumentation
 */
import type { CollectionHandle, HearthDatabase, Live } from '@hearth/sdk';
import type { Filter, QueryResult } from '@hearth/query';
import { FlatIndex, type VectorIndex } from '@hearth/vector';
import type { Embedder } from './embed.js';
import type { Note } from './notes.js';

/** One search hit. `score` is the cosine similarity (1 = same direction). */
export interface Hit {
  readonly id: string;
  readonly score: number;
}

type Space = string; // 'emb:<embedder id>' | 'vec:<dim>'

function isZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** Keeps page-side vector indexes of a notes collection and searches them. Create with {@link NoteSearch.start}. */
export class NoteSearch {
  /** Where searches run: `'database'` (the worker's `nearest`) or `'page'` (exact search in this tab). */
  backend: 'database' | 'page' = 'page';
  /** Why {@link backend} is what it is (shown in the UI). */
  backendReason = 'not decided yet';
  /** Fields with a Database vector index, by `field:dimension`. */
  private readonly dbIndexes = new Set<string>();
  private dbProbe: Promise<boolean> | null = null;
  private readonly indexes = new Map<Space, VectorIndex>();
  /** Note id → its `updated` stamp and the spaces it is indexed in. */
  private readonly known = new Map<string, { updated: unknown; spaces: Space[] }>();
  private live: Live<QueryResult> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readyResolve!: () => void;
  /** Resolves once the first full load is indexed. */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  /** Called after each change is indexed (for the UI's counters). */
  onChange: (() => void) | null = null;

  private constructor(
    private readonly db: HearthDatabase,
    private readonly notes: CollectionHandle<Note>,
    readonly embedder: Embedder,
  ) {}

  /** A search over `notes`. Page-side indexes are built on first need (see the module documentation). */
  static start(db: HearthDatabase, notes: CollectionHandle<Note>, embedder: Embedder): NoteSearch {
    return new NoteSearch(db, notes, embedder);
  }

  /** Starts following `notes` into page-side indexes (once); resolves when the first load is indexed. */
  private ensurePage(): Promise<void> {
    if (this.live === null) {
      const live = this.notes.live({ select: ['updated'] });
      this.live = live;
      live.listen(
        (r) => {
          this.queue = this.queue.then(() => this.sync(r)).catch((e: unknown) => console.error('search index update failed', e));
        },
        (e) => console.error('search live query failed', e),
      );
    }
    return this.ready;
  }

  /** Number of vectors indexed per space (for the UI). */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, ix] of this.indexes) out[k] = ix.size;
    return out;
  }

  close(): void {
    this.live?.close();
  }

  private async sync(r: QueryResult): Promise<void> {
    const seen = new Set<string>();
    const changed: string[] = [];
    for (const row of r.rows) {
      seen.add(row.id);
      const k = this.known.get(row.id);
      if (k === undefined || k.updated !== row.doc.updated) changed.push(row.id);
    }
    for (const [id, k] of this.known) {
      if (!seen.has(id)) {
        this.unindex(id, k.spaces);
        this.known.delete(id);
      }
    }
    for (let i = 0; i < changed.length; i += 256) {
      const ids = changed.slice(i, i + 256);
      const docs = await this.notes.getMany(ids);
      for (let j = 0; j < ids.length; j++) await this.index(ids[j], docs[j]);
    }
    this.readyResolve();
    this.onChange?.();
  }

  private unindex(id: string, spaces: Space[]): void {
    for (const s of spaces) this.indexes.get(s)?.remove(id);
  }

  private async indexFor(space: Space, dim: number): Promise<VectorIndex> {
    let ix = this.indexes.get(space);
    if (ix === undefined) {
      ix = await FlatIndex.create({ dim, metric: 'cosine' });
      this.indexes.set(space, ix);
    }
    return ix;
  }

  private async index(id: string, doc: Note | undefined): Promise<void> {
    const old = this.known.get(id);
    if (old !== undefined) this.unindex(id, old.spaces);
    this.known.delete(id);
    if (doc === undefined) return;
    const spaces: Space[] = [];
    const put = async (space: Space, v: unknown): Promise<void> => {
      if (!(v instanceof Float32Array) || v.length === 0 || isZero(v)) return;
      const ix = await this.indexFor(space, v.length);
      ix.add(id, v);
      spaces.push(space);
    };
    if (typeof doc.embedder === 'string') await put(`emb:${doc.embedder}`, doc.embedding);
    if (doc.vector instanceof Float32Array) await put(`vec:${doc.vector.length}`, doc.vector);
    this.known.set(id, { updated: doc.updated, spaces });
  }

  /**
   * Makes sure the Database has a vector index on `field` of `dim` dimensions. Resolves false when the SDK or the
   * Database cannot (the page searches instead; `backendReason` says why).
   */
  private async databaseIndex(field: string, dim: number): Promise<boolean> {
    const key = `${field}:${dim}`;
    if (this.dbIndexes.has(key)) return true;
    if (this.backend === 'page' && this.dbProbe !== null && !(await this.dbProbe)) return false;
    const attempt = (async (): Promise<boolean> => {
      try {
        await this.db._call('createVectorIndex', [this.notes.name, field, { dimension: dim, metric: 'cosine' }]);
        this.dbIndexes.add(key);
        this.backend = 'database';
        this.backendReason = 'the Database\'s vector indexes (nearest)';
        return true;
      } catch (e) {
        const err = e as Error & { code?: string };
        if (err.code === 'HEARTH_VECTOR_INDEX_CONFLICT') {
          this.backendReason = `the Database already indexes ${field} differently (${err.message}); searching in the page`;
        } else {
          this.backendReason = `the Database cannot index vectors for this page (${err.code ?? err.name}: ${err.message}); searching in the page with an exact flat index`;
        }
        this.backend = 'page';
        return false;
      }
    })();
    if (this.dbProbe === null) this.dbProbe = attempt;
    return attempt;
  }

  private async searchDatabase(field: string, q: Float32Array, k: number, exclude: string | undefined, filter: Filter | undefined): Promise<Hit[] | null> {
    if (!(await this.databaseIndex(field, q.length))) return null;
    const hits = (await this.db.nearest(this.notes.name, field, q, { k: k + (exclude ? 1 : 0), ...(filter ? { filter } : {}) })) as { id: string; distance: number }[];
    return hits
      .filter((h) => h.id !== exclude)
      .slice(0, k)
      .map((h) => ({ id: h.id, score: 1 - h.distance }));
  }

  private async searchSpace(space: Space, q: Float32Array, k: number, exclude?: string): Promise<Hit[]> {
    if (isZero(q)) return [];
    const [kind, rest] = [space.slice(0, 3), space.slice(4)];
    const field = kind === 'emb' ? 'embedding' : 'vector';
    const filter: Filter | undefined = kind === 'emb' ? { op: 'eq', path: 'embedder', value: rest } : undefined;
    const fromDb = await this.searchDatabase(field, q, k, exclude, filter);
    if (fromDb !== null) return fromDb;
    await this.ensurePage();
    await this.queue;
    const ix = this.indexes.get(space);
    if (ix === undefined || ix.size === 0) return [];
    const hits = ix.search(q, { k: Math.min(ix.size, k + (exclude ? 1 : 0)) });
    return hits
      .filter((h) => h.id !== exclude)
      .slice(0, k)
      .map((h) => ({ id: String(h.id), score: 1 - h.distance }));
  }

  /** Notes nearest to the text `text` in the embedder's space. */
  async searchText(text: string, k = 10): Promise<Hit[]> {
    const q = await this.embedder.embed(text);
    return this.searchSpace(`emb:${this.embedder.id}`, q, k);
  }

  /**
   * Notes similar to note `id`: by its own `vector` when it has one (among notes with vectors of that length),
   * else by its embedding. `space` tells which was used.
   */
  async similarTo(id: string, k = 5): Promise<{ space: 'vector' | 'embedding'; hits: Hit[] }> {
    const doc = await this.notes.get(id);
    if (doc === undefined) return { space: 'embedding', hits: [] };
    if (doc.vector instanceof Float32Array && !isZero(doc.vector)) {
      return { space: 'vector', hits: await this.searchSpace(`vec:${doc.vector.length}`, doc.vector, k, id) };
    }
    if (doc.embedding instanceof Float32Array && typeof doc.embedder === 'string') {
      return { space: 'embedding', hits: await this.searchSpace(`emb:${doc.embedder}`, doc.embedding, k, id) };
    }
    return { space: 'embedding', hits: [] };
  }

  /** @internal for tests: the database handle. */
  get database(): HearthDatabase {
    return this.db;
  }
}
