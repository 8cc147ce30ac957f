/**
 * Hearth Notes' user interface: plain DOM, no framework. Everything on screen that shows data is driven by live
 * values from the SDK (`collection.live`, `collection.watch`), so a change made in this tab, another tab, or
 * (through sync) another device appears without a reload.
 *
 * Accessibility: every control has a label (`getByLabel`), lists and regions have accessible names
 * (`getByRole('list', { name: 'Notes' })`), status text lives in `role="status"` regions.
 * @packageDocumentation
 */
import type { CollectionHandle, HearthDatabase, Live } from '@hearth/sdk';
import type { Filter, QueryResult, SortKey } from '@hearth/query';
import { type Embedder } from './embed.js';
import { NOTES, makeNote, newNoteId, parseTagInput, type Note } from './notes.js';
import { NoteSearch, type Hit } from './search.js';
import { exportLine, importJsonl, type ImportRecord } from './jsonl.js';
import { SyncPanel } from './sync-panel.js';

/** Options of {@link startApp}. */
export interface AppOptions {
  /** The opened database. */
  db: HearthDatabase;
  /** Text embedding for search and notes without their own vector (default: the built-in lexical one). */
  embedder: Embedder;
  /** Where to mount (default `document.body`). */
  root?: HTMLElement;
  /** Base URL of the relay this app syncs with (default: the page's origin). */
  relayUrl?: string;
}

/** Rows the list renders at most (the count says how many match). */
const MAX_ROWS = 300;

type SortChoice = 'updated' | 'title' | 'created';
const SORTS: Record<SortChoice, { label: string; keys: SortKey[] }> = {
  updated: { label: 'Recently edited', keys: [{ path: 'updated', dir: 'desc' }] },
  title: { label: 'Title A–Z', keys: [{ path: 'title', dir: 'asc' }] },
  created: { label: 'Oldest first', keys: [{ path: 'created', dir: 'asc' }] },
};

/** `h('div', { class: 'x' }, child...)`: a small element builder. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function snippet(body: string, n = 140): string {
  const t = body.replace(/\s+/g, ' ').trim();
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
}

/** Starts the app. Returns a function that stops its live values. */
export function startApp(options: AppOptions): () => void {
  const { db, embedder } = options;
  const root = options.root ?? document.body;
  const notes: CollectionHandle<Note> = db.collection<Note>(NOTES);
  const search = NoteSearch.start(db, notes, embedder);
  const stops: (() => void)[] = [() => search.close()];

  // ---- layout ----------------------------------------------------------------------------------------------
  const listEl = h('ul', { class: 'notes', 'aria-label': 'Note list' });
  const countEl = h('p', { class: 'muted', role: 'status', 'aria-label': 'Note count' });
  const filterInput = h('input', { type: 'search', id: 'filter', placeholder: 'Filter by text', autocomplete: 'off' });
  const tagSelect = h('select', { id: 'tag' }, h('option', { value: '' }, 'All tags'));
  const sortSelect = h('select', { id: 'sort' });
  for (const [k, v] of Object.entries(SORTS)) sortSelect.append(h('option', { value: k }, v.label));
  const newBtn = h('button', { type: 'button', class: 'primary' }, 'New note');

  const searchInput = h('input', { type: 'search', id: 'vsearch', placeholder: 'Words to look for', autocomplete: 'off' });
  const searchBtn = h('button', { type: 'submit' }, 'Search');
  const searchForm = h(
    'form',
    { class: 'row', role: 'search', 'aria-label': 'Similarity search' },
    h('label', { for: 'vsearch' }, 'Vector search'),
    searchInput,
    searchBtn,
  );
  const searchNote = h('p', { class: 'muted small' });
  const searchList = h('ol', { class: 'hits', 'aria-label': 'Search results' });

  const titleInput = h('input', { id: 'title', type: 'text', required: true, autocomplete: 'off' });
  const bodyInput = h('textarea', { id: 'body', rows: '10' });
  const tagsInput = h('input', { id: 'tags', type: 'text', placeholder: 'comma or space separated', autocomplete: 'off' });
  const saveBtn = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const deleteBtn = h('button', { type: 'button', class: 'danger' }, 'Delete');
  const editorStatus = h('p', { class: 'muted small', role: 'status', 'aria-label': 'Editor status' });
  const editorHeading = h('h2', { id: 'editor-heading' }, 'New note');
  const vectorInfo = h('p', { class: 'muted small' });
  const editor = h(
    'form',
    { class: 'editor', 'aria-labelledby': 'editor-heading' },
    editorHeading,
    h('label', { for: 'title' }, 'Title'),
    titleInput,
    h('label', { for: 'body' }, 'Body'),
    bodyInput,
    h('label', { for: 'tags' }, 'Tags'),
    tagsInput,
    h('div', { class: 'row' }, saveBtn, deleteBtn),
    editorStatus,
    vectorInfo,
  );
  const similarList = h('ol', { class: 'hits', 'aria-label': 'Similar notes' });
  const similarNote = h('p', { class: 'muted small' });

  const importInput = h('input', { id: 'import', type: 'file', accept: '.jsonl,.ndjson,application/jsonl,application/x-ndjson,text/plain' });
  const progress = h('progress', { id: 'import-progress', max: '1', value: '0', 'aria-label': 'Import progress' });
  const importStatus = h('p', { class: 'small', role: 'status', 'aria-label': 'Import status' });
  const refusedList = h('ul', { class: 'small', 'aria-label': 'Refused lines' });
  const exportBtn = h('button', { type: 'button' }, 'Export JSONL');

  const sync = new SyncPanel({ db, relayUrl: options.relayUrl ?? location.origin });
  stops.push(() => sync.stop());

  root.replaceChildren(
    h(
      'header',
      { class: 'top' },
      h('h1', {}, 'Hearth Notes'),
      sync.badge,
    ),
    h(
      'main',
      { class: 'cols' },
      h(
        'section',
        { class: 'col list', 'aria-label': 'Browse notes' },
        h('div', { class: 'row' }, newBtn),
        h(
          'div',
          { class: 'filters' },
          h('label', { for: 'filter' }, 'Text filter'),
          filterInput,
          h('label', { for: 'tag' }, 'Tag filter'),
          tagSelect,
          h('label', { for: 'sort' }, 'Sort'),
          sortSelect,
        ),
        countEl,
        listEl,
      ),
      h(
        'section',
        { class: 'col' },
        editor,
        h('section', { 'aria-labelledby': 'similar-heading' }, h('h2', { id: 'similar-heading' }, 'Similar notes'), similarNote, similarList),
      ),
      h(
        'aside',
        { class: 'col side' },
        h(
          'section',
          { 'aria-labelledby': 'search-heading' },
          h('h2', { id: 'search-heading' }, 'Search'),
          searchForm,
          h('p', { class: 'muted small' }, `Search compares ${embedder.kind === 'lexical' ? 'shared words and word fragments (a lexical hashed embedding, not a semantic model)' : `embeddings of ${embedder.id}`}.`),
          searchNote,
          searchList,
        ),
        h(
          'section',
          { 'aria-labelledby': 'io-heading' },
          h('h2', { id: 'io-heading' }, 'Import and export'),
          h('label', { for: 'import' }, 'Import JSONL'),
          importInput,
          progress,
          importStatus,
          refusedList,
          h('div', { class: 'row' }, exportBtn),
        ),
        sync.element,
      ),
    ),
  );

  // ---- the live list -----------------------------------------------------------------------------------------
  let listLive: Live<QueryResult> | null = null;
  let lastRows: QueryResult['rows'] = [];
  let selected: string | null = null;

  const renderList = (): void => {
    const text = filterInput.value.trim().toLowerCase();
    const terms = text.split(/\s+/).filter((t) => t.length > 0);
    const rows = terms.length === 0 ? lastRows : lastRows.filter((r) => {
      const d = r.doc as { title?: string; body?: string; tags?: string[] };
      const hay = `${d.title ?? ''}\n${d.body ?? ''}\n${(d.tags ?? []).join(' ')}`.toLowerCase();
      return terms.every((t) => hay.includes(t));
    });
    const frag = document.createDocumentFragment();
    for (const r of rows.slice(0, MAX_ROWS)) {
      const d = r.doc as { title?: string; body?: string; tags?: string[] };
      const btn = h(
        'button',
        { type: 'button', class: 'note', 'aria-current': r.id === selected ? 'true' : undefined, 'data-id': r.id },
        h('span', { class: 'title' }, d.title || '(untitled)'),
        h('span', { class: 'snippet' }, snippet(d.body ?? '')),
        h('span', { class: 'tags' }, ...(d.tags ?? []).map((t) => h('span', { class: 'tag' }, '#' + t))),
      );
      btn.addEventListener('click', () => select(r.id));
      frag.append(h('li', {}, btn));
    }
    listEl.replaceChildren(frag);
    const shown = Math.min(rows.length, MAX_ROWS);
    countEl.textContent =
      rows.length === 1 ? '1 note' : `${rows.length} notes` + (shown < rows.length ? ` (showing the first ${shown}; refine the filter)` : '');
  };

  const subscribeList = (): void => {
    listLive?.close();
    const tag = tagSelect.value;
    const where: Filter | undefined = tag ? { op: 'contains', path: 'tags', value: tag } : undefined;
    const sort = SORTS[sortSelect.value as SortChoice] ?? SORTS.updated;
    listLive = notes.live({ ...(where ? { where } : {}), sort: sort.keys, select: ['title', 'body', 'tags', 'updated'] });
    listLive.listen(
      (r) => {
        lastRows = r.rows;
        renderList();
      },
      (e) => (countEl.textContent = `The list failed: ${e.message}`),
    );
  };
  filterInput.addEventListener('input', renderList);
  tagSelect.addEventListener('change', subscribeList);
  sortSelect.addEventListener('change', subscribeList);
  subscribeList();
  stops.push(() => listLive?.close());

  // Tags for the filter: a live projection of every note's tags.
  const tagsLive = notes.live({ select: ['tags'] });
  tagsLive.listen((r) => {
    const counts = new Map<string, number>();
    for (const row of r.rows) for (const t of (row.doc as { tags?: string[] }).tags ?? []) counts.set(t, (counts.get(t) ?? 0) + 1);
    const current = tagSelect.value;
    const opts = [h('option', { value: '' }, 'All tags')];
    for (const t of [...counts.keys()].sort()) opts.push(h('option', { value: t }, `${t} (${counts.get(t)})`));
    if (current && !counts.has(current)) opts.push(h('option', { value: current }, `${current} (0)`));
    tagSelect.replaceChildren(...opts);
    tagSelect.value = current;
  });
  stops.push(() => tagsLive.close());

  // ---- the editor --------------------------------------------------------------------------------------------
  let editing: { id: string; doc: Note } | null = null;
  let dirty = false;
  let watch: Live<Note | undefined> | null = null;

  const fill = (doc: Note | null): void => {
    titleInput.value = doc?.title ?? '';
    bodyInput.value = doc?.body ?? '';
    tagsInput.value = doc?.tags.join(', ') ?? '';
    vectorInfo.textContent = doc
      ? `Vectors: embedding ${doc.embedding?.length ?? 0} (${doc.embedder ?? 'none'})` + (doc.vector ? `, own vector ${doc.vector.length}` : '')
      : '';
    dirty = false;
  };

  // While a selected note is loading, the editor is read-only and Save is off: input typed before the note arrives
  // would otherwise be overwritten by it, or saved as a new note (nothing is being edited yet).
  const setLoading = (loading: boolean): void => {
    for (const el of [titleInput, bodyInput, tagsInput]) el.readOnly = loading;
    saveBtn.disabled = loading;
    if (loading) editor.setAttribute('aria-busy', 'true');
    else editor.removeAttribute('aria-busy');
  };

  const showSimilar = async (id: string): Promise<void> => {
    similarList.replaceChildren();
    similarNote.textContent = 'Looking…';
    const { space, hits } = await search.similarTo(id, 5);
    if (selected !== id) return;
    similarNote.textContent =
      hits.length === 0
        ? 'No similar notes.'
        : space === 'vector'
          ? "By this note's own vector."
          : `By the ${embedder.kind} embedding of its text.`;
    await renderHits(similarList, hits);
  };

  const renderHits = async (list: HTMLOListElement, hits: readonly Hit[]): Promise<void> => {
    const docs = await notes.getMany(hits.map((x) => x.id));
    list.replaceChildren(
      ...hits.map((hit, i) => {
        const d = docs[i];
        const btn = h('button', { type: 'button', class: 'hit', 'data-id': hit.id }, h('span', { class: 'title' }, d?.title || '(deleted)'), h('span', { class: 'score' }, hit.score.toFixed(3)));
        btn.addEventListener('click', () => select(hit.id));
        return h('li', {}, btn);
      }),
    );
  };

  const select = (id: string | null): void => {
    selected = id;
    watch?.close();
    watch = null;
    editing = null;
    for (const b of listEl.querySelectorAll<HTMLButtonElement>('button.note')) {
      if (b.dataset.id === id) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
    if (id === null) {
      setLoading(false);
      editorHeading.textContent = 'New note';
      deleteBtn.disabled = true;
      fill(null);
      editorStatus.textContent = '';
      similarList.replaceChildren();
      similarNote.textContent = 'Select a note to see notes like it.';
      titleInput.focus();
      return;
    }
    editorHeading.textContent = 'Edit note';
    editorStatus.textContent = '';
    deleteBtn.disabled = false;
    setLoading(true);
    watch = notes.watch(id);
    let first = true;
    watch.listen((doc) => {
      if (selected !== id) return;
      if (first) setLoading(false);
      if (doc === undefined) {
        editorStatus.textContent = 'This note was deleted.';
        editing = null;
        return;
      }
      const changedElsewhere = !first && editing !== null && doc.updated !== editing.doc.updated;
      editing = { id, doc };
      if (first || !dirty) {
        fill(doc);
        if (changedElsewhere) editorStatus.textContent = 'Updated from another tab or device.';
      } else if (changedElsewhere) {
        editorStatus.textContent = 'Changed elsewhere while you edit: saving keeps your fields and their other changes.';
      }
      if (first) void showSimilar(id);
      first = false;
    });
  };

  for (const el of [titleInput, bodyInput, tagsInput]) el.addEventListener('input', () => (dirty = true));
  newBtn.addEventListener('click', () => select(null));

  editor.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      const input = { title: titleInput.value.trim(), body: bodyInput.value, tags: parseTagInput(tagsInput.value) };
      if (input.title === '' && input.body.trim() === '') {
        editorStatus.textContent = 'A note needs a title or a body.';
        return;
      }
      try {
        if (editing === null) {
          const id = newNoteId();
          await notes.put(id, await makeNote(input, embedder));
          editorStatus.textContent = 'Saved.';
          select(id);
        } else {
          const prev = editing.doc;
          const next = await makeNote({ ...input, ...(prev.vector ? { vector: prev.vector } : {}) }, embedder, prev);
          // Patch only what changed: a concurrent edit of another field on another device survives the merge.
          const fields: Partial<Note> = { updated: next.updated, embedding: next.embedding, embedder: next.embedder };
          if (next.title !== prev.title) fields.title = next.title;
          if (next.body !== prev.body) fields.body = next.body;
          if (next.tags.join('\u0000') !== prev.tags.join('\u0000')) fields.tags = next.tags;
          await notes.patch(editing.id, fields);
          dirty = false;
          editorStatus.textContent = 'Saved.';
        }
      } catch (e) {
        editorStatus.textContent = `Not saved: ${(e as Error).message}`;
      }
    })();
  });

  deleteBtn.addEventListener('click', () => {
    if (editing === null) return;
    const id = editing.id;
    void notes.delete(id).then(
      () => {
        select(null);
        editorStatus.textContent = 'Deleted.';
        titleInput.blur();
      },
      (e: Error) => (editorStatus.textContent = `Not deleted: ${e.message}`),
    );
  });

  // ---- vector search -----------------------------------------------------------------------------------------
  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = searchInput.value.trim();
    if (text === '') return;
    searchNote.textContent = 'Searching…';
    void search.searchText(text, 10).then(
      async (hits) => {
        searchNote.textContent =
          (hits.length === 0 ? 'Nothing shares words with that.' : `${hits.length} nearest notes (cosine similarity)`) +
          (search.backend === 'database' ? ', found by the database’s vector index.' : ', found in this page (exact scan).');
        searchNote.title = `Where: ${search.backendReason}`;
        await renderHits(searchList, hits);
      },
      (e: Error) => (searchNote.textContent = `Search failed: ${e.message}`),
    );
  });

  // ---- import and export -------------------------------------------------------------------------------------
  importInput.addEventListener('change', () => {
    const file = importInput.files?.[0];
    if (!file) return;
    importInput.disabled = true;
    progress.value = 0;
    refusedList.replaceChildren();
    importStatus.textContent = `Importing ${file.name}…`;
    const write = async (batch: ImportRecord[]): Promise<void> => {
      const docs = await Promise.all(batch.map(async (r) => {
        const note = await makeNote(r, embedder, r.created !== undefined ? { created: r.created } : undefined, r.updated ?? Date.now());
        return [r.id, note] as const;
      }));
      await db.transaction((tx) => {
        for (const [id, note] of docs) tx.put(NOTES, id, note);
      });
    };
    void importJsonl(file, {
      write,
      // 128 notes per log entry: fewer commits (each re-delivers the live list) while an entry stays near 1.5 MB.
      batchSize: 128,
      onProgress: (p) => {
        progress.value = p.totalBytes === 0 ? 1 : p.bytesRead / p.totalBytes;
        importStatus.textContent = `Imported ${p.imported} notes` + (p.refused.length ? `, refused ${p.refused.length} lines` : '') + '…';
      },
    }).then(
      (p) => {
        progress.value = 1;
        importStatus.textContent = `Imported ${p.imported} notes from ${file.name}` + (p.refused.length ? `; refused ${p.refused.length} lines (listed below).` : '.');
        refusedList.replaceChildren(...p.refused.slice(0, 50).map((e) => h('li', {}, e.message)));
      },
      (e: Error) => (importStatus.textContent = `Import stopped: ${e.message}`),
    ).finally(() => {
      importInput.disabled = false;
      importInput.value = '';
    });
  });

  exportBtn.addEventListener('click', () => {
    void (async () => {
      const parts: string[] = [];
      let after: string | undefined;
      let n = 0;
      for (;;) {
        const page = await notes.list({ ...(after !== undefined ? { gt: after } : {}), limit: 500 });
        for (const [id, doc] of page) {
          parts.push(exportLine(id, doc) + '\n');
          n++;
        }
        if (page.length < 500) break;
        after = page[page.length - 1][0];
      }
      const blob = new Blob(parts, { type: 'application/jsonl' });
      const a = h('a', { href: URL.createObjectURL(blob), download: `hearth-notes-${new Date().toISOString().slice(0, 10)}.jsonl` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      importStatus.textContent = `Exported ${n} notes.`;
    })();
  });

  select(null);
  return () => {
    for (const s of stops) s();
  };
}
