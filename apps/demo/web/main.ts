/**
 * Hearth Notes' entry point: registers the service worker (offline app shell), opens the database through the
 * SDK, and starts the UI with the built-in lexical embedder.
 *
 * To bring a real embedding model, call {@link startApp} with your own `Embedder` (`docs/demo.md`).
 * @packageDocumentation
 */
import { openDatabase } from '@hearth/sdk';
import { startApp } from './app.js';
import { lexicalEmbedder } from './embed.js';
import './style.css';

/** The database name (OPFS directory `hearth-sdk/hearth-notes`). */
const DB_NAME = 'hearth-notes';

async function registerServiceWorker(): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('./sw.js', { scope: './' });
  } catch (e) {
    console.warn('service worker not registered: the app will not open offline', e);
  }
}

async function main(): Promise<void> {
  void registerServiceWorker();
  const root = document.getElementById('app')!;
  try {
    const db = await openDatabase(DB_NAME);
    startApp({ db, embedder: lexicalEmbedder(), root });
    document.documentElement.dataset.ready = 'true';
  } catch (e) {
    const err = e as Error & { code?: string };
    root.textContent = `Hearth Notes could not open its database: ${err.code ?? err.name}: ${err.message}`;
    root.setAttribute('role', 'alert');
    throw e;
  }
}

void main();
