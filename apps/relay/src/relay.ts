/**
 * The relay: Hearth's home hub. A Fastify server that is a full replica of the spaces it serves (one
 * {@link SpaceHost} per space under the data directory) and speaks the sync protocol over the SSE binding, relays
 * WebRTC signalling between members, answers queries for server-side apps, serves a static directory (the demo
 * app) and reports `/health` and Prometheus `/metrics`. Guide: `docs/relay.md`; HTTP routes are listed there.
 *
 * Invariants:
 * 1. No route reads or writes a space without a token granted for it to a key that is a member now (re-checked on
 *    every request: a removal cuts access at once). The one exception is an admission token (a key that is not a
 *    member, asking to join): it opens one sync connection, on which the sync node serves nothing and stores
 *    nothing of a non-member (`auth.ts`); at most `maxAdmissionConnections` per space, each for 2 minutes.
 * 2. A space is created on the relay only by its root (the key equal to the space id) answering a challenge, and
 *    only if the space is allowed (`spaces` allow-list, or any when the relay is open) and `maxSpaces` is not
 *    reached; existing space directories are opened at start.
 * 3. `close()`: stop accepting (503 to new requests), end every stream, let each space finish its in-flight
 *    ingests, close every Database (flushed), then close the HTTP server. Nothing acknowledged is lost (an ACK is
 *    sent only after ingest made entries durable).
 * @packageDocumentation
 */
import { readdirSync, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { HearthError } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { createLiveQuery, execute, type Query, type QueryStore, type Change as QueryChange } from '@hearth/query';
import {
  RelayError,
  RelayErrorCode,
  SEQ_HEADER,
  SseHub,
  encodeSseJsonEvent,
  syncConstants,
  type SseServerTransport,
  type SyncEvent,
  type SyncNodeOptions,
} from '@hearth/sync';
import { ADMISSION_TOKEN_TTL_MS, RelayAuth, parseKeyHex, type Grant } from './auth.js';
import { SpaceHost } from './space.js';
import { toJsonValue } from './json.js';

/** Options of {@link createRelay}. Sizes in bytes, times in ms. */
export interface RelayOptions {
  /** Data directory: one subdirectory per space (created if missing). */
  dataDir: string;
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 8787 (0: any free port). */
  port?: number;
  /** TLS certificate and key (PEM). Without them the relay speaks plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Directory served at `/` (the demo app's build). Default none. */
  staticDir?: string | null;
  /** Allow-list of space ids (hex). Default: any root may open a space on this relay (up to `maxSpaces`). */
  spaces?: readonly string[];
  /** Most spaces. Default 64. */
  maxSpaces?: number;
  /** Most open streams (sync, signalling, live query) per key and space. Default 8. */
  maxConnectionsPerKey?: number;
  /** Largest sync message (frame) either way. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Most messages per POST. Default 256. */
  maxMessagesPerPost?: number;
  /** Largest POST of sync messages. Default 4 MiB + 4 KiB. */
  maxPostBytes?: number;
  /** Largest JSON body (auth, query, nearest). Default 1 MiB. Signalling messages: 64 KiB. */
  maxJsonBytes?: number;
  /**
   * Let keys that are not members open an admission-only sync connection (to redeem an invite through the relay;
   * `docs/relay.md`). Default true.
   */
  admissions?: boolean;
  /** Most admission-only connections open at once per space. Default 4. */
  maxAdmissionConnections?: number;
  /** Access token lifetime. Default 1 hour. */
  tokenTtlMs?: number;
  /** Heartbeat on idle streams. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Sync node tuning for every space (window, batch, entry and pending limits). The receive window defaults to
   * `syncConstants.RELAY_WINDOW_BYTES` (1 MiB: uploads of many connections), not the devices' 4 MiB.
   */
  node?: Partial<Omit<SyncNodeOptions, 'replica' | 'keypair' | 'space'>>;
  /** Rebuild every space's views from its feeds while opening. */
  rebuild?: boolean;
  /**
   * Origins allowed to call the API from a page served elsewhere (CORS), e.g. a dev server
   * `http://127.0.0.1:5173`; `'*'` allows any. Default none: the app is served by the relay itself (same origin).
   */
  corsOrigins?: readonly string[];
  /** Fastify request logging. Default false. */
  logger?: boolean;
  /** Sync events of every space (logging). */
  onSyncEvent?: (event: SyncEvent, space: string) => void;
  /** Clock (tests). Default `Date.now`. */
  now?: () => number;
}

interface ConnMeta {
  readonly spaceHex: string;
  readonly keyHex: string;
}

/** Counters reported by `/metrics`. */
export interface RelayCounters {
  connectionsOpened: number;
  bytesReceived: number;
  bytesSent: number;
  httpRejects: Map<string, number>;
}

const SPACE_DIR = /^[0-9a-f]{64}$/;
const SIGNAL_MAX_BYTES = 64 * 1024;
/**
 * Most bytes an event stream may have queued towards a client that does not read. Sync streams stay far below it
 * (the protocol window bounds ENTRIES in flight); a stalled live-query or signalling reader is cut at it.
 */
const MAX_STREAM_BUFFER_BYTES = 16 * 1024 * 1024;

/** A running relay. */
export interface Relay {
  /** The Fastify instance (routes, `inject` in tests). */
  readonly app: FastifyInstance;
  /** The base URL it listens on, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** Spaces open now, by hex id. */
  readonly spaces: ReadonlyMap<string, SpaceHost>;
  /** The SSE connection table. */
  readonly hub: SseHub<ConnMeta>;
  readonly counters: RelayCounters;
  /** Opens (or creates) a space without a client (CLI `import`, tests). */
  openSpace(spaceHex: string): Promise<SpaceHost>;
  /** Prometheus text of `/metrics`. */
  metrics(): string;
  /** Graceful shutdown (see invariant 3). Idempotent. */
  close(): Promise<void>;
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * Starts a relay and listens.
 * @throws RangeError / TypeError for bad options; the platform's error if the port cannot be bound; Database
 *   errors if a space directory cannot be opened (`HEARTH_CORRUPTION`: start with `rebuild`).
 */
export async function createRelay(options: RelayOptions): Promise<Relay> {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw new TypeError('"dataDir" expected a non-empty string');
  const now = options.now ?? Date.now;
  const dataDir = resolve(options.dataDir);
  const fs = new NodeFileSystem(dataDir, { create: true });
  const maxSpaces = options.maxSpaces ?? 64;
  const maxPerKey = options.maxConnectionsPerKey ?? 8;
  const allow = options.spaces ? new Set(options.spaces.map((s) => s.toLowerCase())) : null;
  const auth = new RelayAuth(now, options.tokenTtlMs);
  const hub = new SseHub<ConnMeta>({
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
    ...(options.maxMessagesPerPost !== undefined ? { maxMessagesPerPost: options.maxMessagesPerPost } : {}),
    ...(options.maxPostBytes !== undefined ? { maxPostBytes: options.maxPostBytes } : {}),
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  const spaces = new Map<string, SpaceHost>();
  const opening = new Map<string, Promise<SpaceHost>>();
  const counters: RelayCounters = { connectionsOpened: 0, bytesReceived: 0, bytesSent: 0, httpRejects: new Map() };
  const perKey = new Map<string, number>();
  const streamClosers = new Set<() => void>();
  const startedAt = now();
  let closing: Promise<void> | null = null;

  const openSpace = (spaceHex: string): Promise<SpaceHost> => {
    const have = spaces.get(spaceHex);
    if (have) return Promise.resolve(have);
    let p = opening.get(spaceHex);
    if (!p) {
      p = SpaceHost.open({
        fs,
        space: parseKeyHex(spaceHex)!,
        ...(options.rebuild ? { rebuild: true } : {}),
        node: { windowBytes: syncConstants.RELAY_WINDOW_BYTES, ...options.node },
        onEvent: (e) => options.onSyncEvent?.(e, spaceHex),
      }).then(
        (h) => {
          spaces.set(spaceHex, h);
          opening.delete(spaceHex);
          return h;
        },
        (e) => {
          opening.delete(spaceHex);
          throw e;
        },
      );
      opening.set(spaceHex, p);
    }
    return p;
  };

  // Spaces already on disk are served from the start.
  for (const name of readdirSync(dataDir)) {
    if (SPACE_DIR.test(name) && statSync(resolve(dataDir, name)).isDirectory()) await openSpace(name);
  }

  const app = Fastify({
    // access tokens ride in the query of event-stream URLs: never write them to logs
    logger: options.logger ? { serializers: { req: (req: { method?: string; url?: string }) => ({ method: req.method, url: (req.url ?? '').replace(/([?&]token=)[^&]*/g, '$1…') }) } } : false,
    bodyLimit: options.maxJsonBytes ?? 1024 * 1024,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  }) as unknown as FastifyInstance;

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: hub.maxPostBytes }, (_req, body, done) => done(null, body));

  const reject = (code: string): void => {
    counters.httpRejects.set(code, (counters.httpRejects.get(code) ?? 0) + 1);
  };

  app.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RelayError) {
      reject(err.code);
      return reply.status(err.status).send(err.toJSON());
    }
    if (err instanceof HearthError) {
      // typed errors of the engine reached through the API: a bad query, value or key is the client's
      reject(err.code);
      return reply.status(400).send(errorBody(err.code, err.message));
    }
    const fastifyStatus = (err as { statusCode?: unknown }).statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      // Fastify's own refusals (body over the limit, unsupported content type, unparsable JSON)
      const code = fastifyStatus === 413 ? RelayErrorCode.TOO_LARGE : RelayErrorCode.BAD_REQUEST;
      reject(code);
      return reply.status(fastifyStatus === 413 ? 413 : 400).send(errorBody(code, (err as Error).message));
    }
    if (err instanceof TypeError || err instanceof RangeError) {
      reject(RelayErrorCode.BAD_REQUEST);
      return reply.status(400).send(errorBody(RelayErrorCode.BAD_REQUEST, err.message));
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const code = status === 413 ? RelayErrorCode.TOO_LARGE : status >= 400 && status < 500 ? RelayErrorCode.BAD_REQUEST : RelayErrorCode.INTERNAL;
    reject(code);
    return reply.status(status >= 400 ? status : 500).send(errorBody(code, (err as Error)?.message ?? String(err)));
  });

  app.addHook('onRequest', async (req) => {
    if (closing !== null && req.url !== '/health') throw new RelayError(RelayErrorCode.UNAVAILABLE, 'relay is shutting down');
  });

  // CORS for pages served from other origins (dev servers, tests); none by default.
  const cors = new Set(options.corsOrigins ?? []);
  const corsHeaders = (req: FastifyRequest): Record<string, string> => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !(cors.has('*') || cors.has(origin))) return {};
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  };
  if (cors.size > 0) {
    app.addHook('onSend', async (req, reply) => {
      for (const [k, v] of Object.entries(corsHeaders(req))) reply.header(k, v);
    });
    app.options('/*', async (req, reply) => {
      const h = corsHeaders(req);
      if (Object.keys(h).length === 0) return reply.status(204).send();
      return reply
        .headers({ ...h, 'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': `authorization, content-type, ${SEQ_HEADER}`, 'access-control-max-age': '600' })
        .status(204)
        .send();
    });
  }

  // ---------------------------------------------------------------------------------------------- helpers

  const spaceParam = (req: FastifyRequest): { space: Uint8Array; spaceHex: string } => {
    const raw = (req.params as { space?: string }).space ?? '';
    const space = parseKeyHex(raw);
    if (space === null) throw new RelayError(RelayErrorCode.BAD_REQUEST, 'space id expected as 64 lowercase hex digits');
    return { space, spaceHex: raw };
  };

  const tokenOf = (req: FastifyRequest): string | undefined => {
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Bearer ')) return h.slice(7);
    const q = (req.query as { token?: unknown }).token;
    return typeof q === 'string' ? q : undefined;
  };

  /**
   * Invariant 1: a token for this space, of a key that is a member now; or, where `admission` is true (the sync
   * connection routes), an admission token.
   */
  const authorize = (req: FastifyRequest, admission = false): { host: SpaceHost; grant: Grant } => {
    const { spaceHex } = spaceParam(req);
    const grant = auth.check(tokenOf(req), spaceHex);
    const host = spaces.get(spaceHex);
    if (host === undefined) throw new RelayError(RelayErrorCode.NOT_FOUND, 'space is not served by this relay');
    if (grant.scope === 'admission') {
      if (!admission) throw new RelayError(RelayErrorCode.NOT_MEMBER, 'an admission token opens a sync connection only');
      return { host, grant };
    }
    if (!host.isMember(grant.key)) throw new RelayError(RelayErrorCode.NOT_MEMBER, 'the key is not a current member of the space');
    return { host, grant };
  };
  const admissionsAllowed = options.admissions ?? true;
  const maxAdmissions = options.maxAdmissionConnections ?? 4;
  const admissionConns = new Map<string, number>(); // space hex -> open admission-only connections

  const acquireStream = (grant: Grant): (() => void) => {
    const k = `${grant.spaceHex}:${grant.keyHex}`;
    const n = perKey.get(k) ?? 0;
    if (n >= maxPerKey) throw new RelayError(RelayErrorCode.LIMIT, `at most ${maxPerKey} open streams per key`);
    perKey.set(k, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const m = (perKey.get(k) ?? 1) - 1;
      if (m <= 0) perKey.delete(k);
      else perKey.set(k, m);
    };
  };

  // heartbeats on signalling and live-query streams (sync streams get theirs from the hub)
  const otherStreams = new Set<(s: string) => void>();
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const heartbeat = heartbeatMs > 0 ? setInterval(() => otherStreams.forEach((w) => w(': ping\n\n')), heartbeatMs) : null;
  (heartbeat as { unref?: () => void } | null)?.unref?.();

  /** Takes over the response as an event stream. */
  const startStream = (req: FastifyRequest, reply: FastifyReply): { write(s: string): void; end(): void; onClose(fn: () => void): void } => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...corsHeaders(req),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    req.raw.socket.setNoDelay(true);
    let ended = false;
    return {
      write: (s) => {
        if (ended) return;
        if (raw.writableLength > MAX_STREAM_BUFFER_BYTES) {
          // a client that stopped reading: cut it rather than buffer without bound (its session resumes later)
          ended = true;
          raw.destroy();
          return;
        }
        raw.write(s);
      },
      end: () => {
        if (ended) return;
        ended = true;
        raw.end();
      },
      onClose: (fn) => raw.on('close', fn),
    };
  };

  // ---------------------------------------------------------------------------------------------- routes

  app.get('/health', async (_req, reply) => {
    const body = { status: closing === null ? 'ok' : 'closing', spaces: spaces.size, connections: hub.size, uptimeMs: now() - startedAt };
    return reply.status(closing === null ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(metrics()));

  app.post('/v1/spaces/:space/challenge', async (req) => {
    const { spaceHex } = spaceParam(req);
    return auth.challenge(spaceHex);
  });

  app.post('/v1/spaces/:space/auth', async (req) => {
    const { space, spaceHex } = spaceParam(req);
    const key = await auth.verify(space, req.body);
    let host = spaces.get(spaceHex);
    const isRoot = parseKeyHex(spaceHex)!.every((b, i) => b === key[i]);
    if (host === undefined) {
      // invariant 2: only the root creates a space here
      if (!isRoot) throw new RelayError(RelayErrorCode.NOT_MEMBER, 'the key is not a member of a space this relay serves');
      if (allow !== null && !allow.has(spaceHex)) throw new RelayError(RelayErrorCode.NOT_MEMBER, 'this relay does not serve that space (not in its allow-list)');
      if (spaces.size + opening.size >= maxSpaces && !opening.has(spaceHex)) throw new RelayError(RelayErrorCode.LIMIT, `this relay serves at most ${maxSpaces} spaces`);
      host = await openSpace(spaceHex);
    }
    const relayKeyHex = Buffer.from(host.relayKey).toString('hex');
    const relayAdmitted = host.node.membership.isMember(host.relayKey);
    if (!host.isMember(key)) {
      if ((req.body as { purpose?: unknown } | null)?.purpose === 'admission' && admissionsAllowed) {
        return { ...auth.grant(spaceHex, key, 'admission'), scope: 'admission', relayKey: relayKeyHex, relayAdmitted };
      }
      throw new RelayError(RelayErrorCode.NOT_MEMBER, 'the key is not a current member of the space');
    }
    return { ...auth.grant(spaceHex, key), scope: 'member', relayKey: relayKeyHex, relayAdmitted };
  });

  app.get('/v1/spaces/:space/events', async (req, reply) => {
    const { host, grant } = authorize(req, true);
    let releaseAdmission = (): void => undefined;
    if (grant.scope === 'admission') {
      const n = admissionConns.get(grant.spaceHex) ?? 0;
      if (n >= maxAdmissions) throw new RelayError(RelayErrorCode.LIMIT, `at most ${maxAdmissions} admission connections per space at once`);
      admissionConns.set(grant.spaceHex, n + 1);
      let done = false;
      releaseAdmission = () => {
        if (done) return;
        done = true;
        const m = (admissionConns.get(grant.spaceHex) ?? 1) - 1;
        if (m <= 0) admissionConns.delete(grant.spaceHex);
        else admissionConns.set(grant.spaceHex, m);
      };
    }
    let release: () => void;
    try {
      release = acquireStream(grant);
    } catch (e) {
      releaseAdmission();
      throw e;
    }
    const stream = startStream(req, reply);
    const t = hub.open({ write: stream.write, end: stream.end }, { spaceHex: grant.spaceHex, keyHex: grant.keyHex }, (id) => `connections/${id}`);
    counters.connectionsOpened++;
    stream.onClose(() => t.streamEnded());
    // an admission-only connection lives ADMISSION_TOKEN_TTL_MS unless its key became a member meanwhile
    const expiry =
      grant.scope === 'admission'
        ? setTimeout(() => {
            if (!host.isMember(grant.key)) t.close('admission connection expired');
          }, ADMISSION_TOKEN_TTL_MS)
        : null;
    (expiry as { unref?: () => void } | null)?.unref?.();
    t.onClose(() => {
      if (expiry !== null) clearTimeout(expiry);
      release();
      releaseAdmission();
      counters.bytesReceived += t.bytesIn;
      counters.bytesSent += t.bytesOut;
    });
    host.node.connect(t);
  });

  const connectionOf = (req: FastifyRequest, grant: Grant): SseServerTransport<ConnMeta> => {
    const id = (req.params as { id?: string }).id ?? '';
    const t = hub.get(id);
    if (t === undefined || t.meta.spaceHex !== grant.spaceHex || t.meta.keyHex !== grant.keyHex) throw new RelayError(RelayErrorCode.NOT_FOUND, 'no open connection with that id for this key');
    return t;
  };

  app.post('/v1/spaces/:space/connections/:id', async (req, reply) => {
    const { grant } = authorize(req, true);
    const t = connectionOf(req, grant);
    if (!(req.body instanceof Buffer)) throw new RelayError(RelayErrorCode.BAD_REQUEST, 'expected an application/octet-stream message batch');
    const seq = Number(req.headers[SEQ_HEADER]);
    hub.post(t.id, Number.isSafeInteger(seq) ? seq : -1, new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength));
    return reply.status(204).send();
  });

  app.delete('/v1/spaces/:space/connections/:id', async (req, reply) => {
    const { grant } = authorize(req, true);
    connectionOf(req, grant).peerClosed();
    return reply.status(204).send();
  });

  // WebRTC signalling: members exchange opaque JSON (simple-peer signal data) through the relay.
  const signalStreams = new Map<string, Set<(s: string) => void>>(); // "<space>:<key>" -> writers

  app.get('/v1/spaces/:space/signal', async (req, reply) => {
    const { grant } = authorize(req);
    const release = acquireStream(grant);
    const stream = startStream(req, reply);
    const k = `${grant.spaceHex}:${grant.keyHex}`;
    let set = signalStreams.get(k);
    if (!set) signalStreams.set(k, (set = new Set()));
    const writer = stream.write;
    set.add(writer);
    otherStreams.add(writer);
    stream.write(`retry: 5000\n${encodeSseJsonEvent('ready', { key: grant.keyHex })}`);
    const done = (): void => {
      release();
      otherStreams.delete(writer);
      set!.delete(writer);
      if (set!.size === 0) signalStreams.delete(k);
      streamClosers.delete(stop);
    };
    const stop = (): void => {
      stream.end();
      done();
    };
    streamClosers.add(stop);
    stream.onClose(done);
  });

  app.get('/v1/spaces/:space/peers', async (req) => {
    const { grant } = authorize(req);
    const prefix = `${grant.spaceHex}:`;
    return { peers: [...signalStreams.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).filter((k) => k !== grant.keyHex) };
  });

  app.post('/v1/spaces/:space/signal', { bodyLimit: SIGNAL_MAX_BYTES }, async (req, reply) => {
    const { host, grant } = authorize(req);
    const body = req.body as { to?: unknown; data?: unknown } | null;
    const to = parseKeyHex(body?.to);
    if (to === null || body?.data === undefined) throw new RelayError(RelayErrorCode.BAD_REQUEST, 'signal expects {"to": 64 hex, "data": any JSON}');
    if (!host.isMember(to)) throw new RelayError(RelayErrorCode.NOT_MEMBER, 'the recipient is not a member of the space');
    const writers = signalStreams.get(`${grant.spaceHex}:${body.to as string}`);
    if (!writers || writers.size === 0) throw new RelayError(RelayErrorCode.NOT_FOUND, 'the recipient has no signalling stream open');
    const event = encodeSseJsonEvent('signal', { from: grant.keyHex, data: body.data });
    for (const w of writers) w(event);
    return reply.status(204).send();
  });

  // Query API for server-side apps on the same machine.
  const parseQuery = (q: unknown): Query => {
    if (q === null || typeof q !== 'object' || typeof (q as { collection?: unknown }).collection !== 'string') {
      throw new RelayError(RelayErrorCode.BAD_REQUEST, 'expected {"query": {"collection": "...", ...}} (docs/query.md)');
    }
    return q as Query;
  };

  app.post('/v1/spaces/:space/query', async (req) => {
    const { host } = authorize(req);
    const query = parseQuery((req.body as { query?: unknown } | null)?.query);
    const snap = host.db.snapshot();
    try {
      return toJsonValue(execute(snap as unknown as QueryStore, query));
    } finally {
      snap.release();
    }
  });

  app.get('/v1/spaces/:space/live', async (req, reply) => {
    const { host, grant } = authorize(req);
    let query: Query;
    try {
      query = parseQuery(JSON.parse(String((req.query as { q?: unknown }).q ?? '')));
    } catch (e) {
      if (e instanceof RelayError) throw e;
      throw new RelayError(RelayErrorCode.BAD_REQUEST, 'expected ?q=<URL-encoded JSON query>');
    }
    const first = host.db.snapshot();
    let live;
    try {
      live = createLiveQuery(first as unknown as QueryStore, query);
    } finally {
      first.release();
    }
    const release = acquireStream(grant);
    const stream = startStream(req, reply);
    stream.write(`retry: 5000\n${encodeSseJsonEvent('result', toJsonValue(live.result))}`);
    otherStreams.add(stream.write);
    const off = host.db.onCommit((e) => {
      const snap = host.db.snapshot();
      try {
        const diff = live.apply(e.changes as unknown as readonly QueryChange[], snap as unknown as QueryStore);
        if (diff !== null) stream.write(encodeSseJsonEvent('diff', toJsonValue(diff)));
      } catch (err) {
        stream.write(encodeSseJsonEvent('error', errorBody((err as HearthError).code ?? RelayErrorCode.INTERNAL, String((err as Error).message))));
        stop();
      } finally {
        snap.release();
      }
    });
    const done = (): void => {
      off();
      otherStreams.delete(stream.write);
      release();
      streamClosers.delete(stop);
    };
    const stop = (): void => {
      stream.end();
      done();
    };
    streamClosers.add(stop);
    stream.onClose(done);
  });

  app.post('/v1/spaces/:space/nearest', async (req) => {
    const { host } = authorize(req);
    const b = (req.body ?? {}) as { collection?: unknown; field?: unknown; vector?: unknown; k?: unknown; metric?: unknown; where?: unknown };
    if (typeof b.collection !== 'string' || typeof b.field !== 'string' || !Array.isArray(b.vector) || b.vector.length === 0 || !b.vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new RelayError(RelayErrorCode.BAD_REQUEST, 'nearest expects {"collection", "field", "vector": [numbers], "k"?, "metric"?: "cosine"|"l2"|"dot", "where"?}');
    }
    const k = b.k === undefined ? 10 : b.k;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > 1000) throw new RelayError(RelayErrorCode.BAD_REQUEST, '"k" expected an integer in [1, 1000]');
    const metric = b.metric ?? 'cosine';
    if (metric !== 'cosine' && metric !== 'l2' && metric !== 'dot') throw new RelayError(RelayErrorCode.BAD_REQUEST, '"metric" expected "cosine", "l2" or "dot"');
    const q = Float32Array.from(b.vector as number[]);
    const snap = host.db.snapshot();
    try {
      const rows: Iterable<readonly [string, Record<string, unknown>]> =
        b.where !== undefined
          ? execute(snap as unknown as QueryStore, { collection: b.collection, where: b.where as Query['where'] }).rows.map((r) => [r.id, r.doc] as const)
          : (snap.scan(b.collection) as Iterable<readonly [string, Record<string, unknown>]>);
      const hits = nearestExact(rows, b.field, q, k, metric);
      return { method: 'exact-scan', metric, hits: hits.map((h) => ({ id: h.id, distance: h.distance, doc: toJsonValue(h.doc) })) };
    } finally {
      snap.release();
    }
  });

  if (options.staticDir) {
    const root = resolve(options.staticDir);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new TypeError(`"staticDir" ${root} is not a directory`);
    await app.register(fastifyStatic, { root, prefix: '/', wildcard: true });
  }
  app.setNotFoundHandler((req, reply) => {
    reject(RelayErrorCode.NOT_FOUND);
    return reply.status(404).send(errorBody(RelayErrorCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8787 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : options.port ?? 8787;
  const hostName = options.host ?? '127.0.0.1';
  const url = `${options.tls ? 'https' : 'http'}://${hostName.includes(':') ? `[${hostName}]` : hostName}:${port}`;

  function metrics(): string {
    let entries = 0;
    let feeds = 0;
    let rejects = 0;
    let ingested = 0;
    let sessionErrors = 0;
    const perSpace: string[] = [];
    for (const [hexId, h] of spaces) {
      const held = h.holdings();
      entries += held.entries;
      feeds += held.feeds;
      rejects += h.counters.rejects;
      ingested += h.counters.ingested;
      sessionErrors += h.counters.sessionErrors;
      perSpace.push(`hearth_relay_space_entries{space="${hexId}"} ${held.entries}`);
    }
    let bytesIn = counters.bytesReceived;
    let bytesOut = counters.bytesSent;
    for (const t of hub.connections()) {
      bytesIn += t.bytesIn;
      bytesOut += t.bytesOut;
    }
    const lines = [
      '# HELP hearth_relay_connections Open sync connections (SSE streams).',
      '# TYPE hearth_relay_connections gauge',
      `hearth_relay_connections ${hub.size}`,
      '# HELP hearth_relay_connections_opened_total Sync connections opened since start.',
      '# TYPE hearth_relay_connections_opened_total counter',
      `hearth_relay_connections_opened_total ${counters.connectionsOpened}`,
      '# HELP hearth_relay_streams Open signalling and live-query streams.',
      '# TYPE hearth_relay_streams gauge',
      `hearth_relay_streams ${streamClosers.size}`,
      '# HELP hearth_relay_spaces Spaces served.',
      '# TYPE hearth_relay_spaces gauge',
      `hearth_relay_spaces ${spaces.size}`,
      '# HELP hearth_relay_entries Log entries stored (all feeds of all spaces).',
      '# TYPE hearth_relay_entries gauge',
      `hearth_relay_entries ${entries}`,
      '# HELP hearth_relay_space_entries Log entries stored per space.',
      '# TYPE hearth_relay_space_entries gauge',
      ...perSpace,
      '# HELP hearth_relay_feeds Feeds held (all spaces).',
      '# TYPE hearth_relay_feeds gauge',
      `hearth_relay_feeds ${feeds}`,
      '# HELP hearth_relay_entries_ingested_total Entries stored from peers since start.',
      '# TYPE hearth_relay_entries_ingested_total counter',
      `hearth_relay_entries_ingested_total ${ingested}`,
      '# HELP hearth_relay_bytes_received_total Sync message bytes received by POST.',
      '# TYPE hearth_relay_bytes_received_total counter',
      `hearth_relay_bytes_received_total ${bytesIn}`,
      '# HELP hearth_relay_bytes_sent_total Event-stream bytes written to sync connections.',
      '# TYPE hearth_relay_bytes_sent_total counter',
      `hearth_relay_bytes_sent_total ${bytesOut}`,
      '# HELP hearth_relay_entry_rejects_total Entries refused by verification or membership (and forks found).',
      '# TYPE hearth_relay_entry_rejects_total counter',
      `hearth_relay_entry_rejects_total ${rejects}`,
      '# HELP hearth_relay_session_errors_total Sync connections closed on a protocol or auth failure.',
      '# TYPE hearth_relay_session_errors_total counter',
      `hearth_relay_session_errors_total ${sessionErrors}`,
      '# HELP hearth_relay_http_rejects_total HTTP requests refused, by error code.',
      '# TYPE hearth_relay_http_rejects_total counter',
      ...[...counters.httpRejects].map(([code, n]) => `hearth_relay_http_rejects_total{code="${code}"} ${n}`),
    ];
    return `${lines.join('\n')}\n`;
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      hub.dispose('relay shutting down');
      if (heartbeat !== null) clearInterval(heartbeat);
      for (const stop of [...streamClosers]) stop();
      await Promise.allSettled([...opening.values()]);
      const results = await Promise.allSettled([...spaces.values()].map((h) => h.close()));
      spaces.clear();
      // Every stream has ended and new requests get 503; idle keep-alive sockets close now, and any socket still
      // open after a short grace (a client that keeps a connection busy) is cut rather than holding shutdown.
      app.server.closeIdleConnections();
      const force = setTimeout(() => app.server.closeAllConnections(), 500);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    })();
    return closing;
  };

  return { app, url, spaces, hub, counters, openSpace, metrics, close };
}

/** One hit of {@link nearestExact}. */
export interface NearestHit {
  readonly id: string;
  readonly distance: number;
  readonly doc: Record<string, unknown>;
}

/**
 * Exact k nearest neighbours by scanning: distance of `query` to the vector at `field` (a `Float32Array` or an
 * array of numbers of the same length; other documents are skipped) under `metric` (`cosine`: 1 − cosine
 * similarity; `l2`: squared Euclidean; `dot`: −dot product), ascending, ties by id. O(n·d) time, O(k) memory.
 */
export function nearestExact(
  rows: Iterable<readonly [string, Record<string, unknown>]>,
  field: string,
  query: Float32Array,
  k: number,
  metric: 'cosine' | 'l2' | 'dot',
): NearestHit[] {
  let qn = 0;
  for (const x of query) qn += x * x;
  qn = Math.sqrt(qn);
  const best: NearestHit[] = [];
  for (const [id, doc] of rows) {
    const v = doc[field];
    const vec = v instanceof Float32Array ? v : Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;
    if (vec === null || vec.length !== query.length) continue;
    let dot = 0;
    let vn = 0;
    let l2 = 0;
    for (let i = 0; i < query.length; i++) {
      const a = query[i];
      const b = vec[i];
      dot += a * b;
      vn += b * b;
      l2 += (a - b) * (a - b);
    }
    const distance = metric === 'l2' ? l2 : metric === 'dot' ? -dot : qn === 0 || vn === 0 ? 1 : 1 - dot / (qn * Math.sqrt(vn));
    if (best.length === k && (distance > best[k - 1].distance || (distance === best[k - 1].distance && id > best[k - 1].id))) continue;
    let i = best.length;
    while (i > 0 && (best[i - 1].distance > distance || (best[i - 1].distance === distance && best[i - 1].id > id))) i--;
    best.splice(i, 0, { id, distance, doc });
    if (best.length > k) best.pop();
  }
  return best;
}
