/**
 * Hearth Notes' service worker: keeps the app shell (HTML, scripts including the database worker, styles,
 * manifest, icons) in the Cache Storage so the app opens with no network and no relay.
 *
 * Build-time constants (replaced by `vite.config.ts`, plugin `hearth-service-worker`):
 * - `__PRECACHE__`: every file of the build, relative to the service worker's scope;
 * - `__VERSION__`: a hash of those files' contents; a new build gets a new cache and the old one is deleted.
 *
 * Strategy:
 * - navigations: network first (a new build is seen at once), the cached `index.html` when the network or the relay
 *   fails, answers with an error status, or takes longer than {@link NAVIGATION_TIMEOUT_MS};
 * - other same-origin `GET`s of shell files: cache first (their names carry content hashes);
 * - the relay's API (`/v1/...`), event streams, `HEAD` probes, other methods and other origins: never touched.
 * @packageDocumentation
 */
export {};
declare const __PRECACHE__: string[];
declare const __VERSION__: string;

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface SwScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
}
const sw = self as unknown as SwScope;

const PREFIX = 'hearth-notes-shell-';
/** How long a navigation waits for the network before the cached shell answers, ms. */
const NAVIGATION_TIMEOUT_MS = 4000;
const CACHE = PREFIX + __VERSION__;
const scope = new URL(sw.registration.scope);
const shell = new Set(__PRECACHE__.map((p) => new URL(p, scope).pathname));
const INDEX = new URL('index.html', scope).pathname;

sw.addEventListener('install', (e) => {
  e.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(__PRECACHE__.map((p) => new Request(new URL(p, scope), { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  if (url.pathname.startsWith(scope.pathname + 'v1/')) return; // the relay's API and event streams
  if (req.headers.get('accept')?.includes('text/event-stream')) return;
  if (req.mode === 'navigate') {
    e.respondWith(
      (async () => {
        try {
          // A network that hangs (no answer rather than a refusal) must not keep the app from opening.
          const res = await Promise.race([
            fetch(req),
            new Promise<never>((_, fail) => setTimeout(() => fail(new Error('timeout')), NAVIGATION_TIMEOUT_MS)),
          ]);
          if (res.ok) return res;
          throw new Error(`status ${res.status}`);
        } catch {
          const cached = (await caches.match(INDEX, { cacheName: CACHE })) ?? (await caches.match(INDEX));
          return cached ?? Response.error();
        }
      })(),
    );
    return;
  }
  if (!shell.has(url.pathname)) return;
  e.respondWith(
    (async () => {
      const cached = await caches.match(url.pathname, { cacheName: CACHE });
      return cached ?? fetch(req);
    })(),
  );
});
