#!/usr/bin/env node
/**
 * The relay's command line: `hearth-relay <command> [options]` (also `node apps/relay/dist/cli.js ...`).
 *
 *   serve    --port 8787 --host 127.0.0.1 --data .hearth-data [--tls-cert f --tls-key f] [--static dir]
 *            [--space <hex> ...] [--max-spaces n] [--log]
 *   export   --data dir --space <hex> [--out file.jsonl]      documents as JSON lines (stdout by default)
 *   import   --data dir --space <hex> [--in file.jsonl]       documents from JSON lines (stdin by default)
 *   verify   --data dir [--space <hex>]                       every feed: decoding, chain, signatures, heads
 *   rebuild  --data dir [--space <hex>]                       rebuild the views from the feeds
 *   keygen   --out key.file                                   a device keypair for a server-side app (prints its
 *                                                             public key: admit it from an admin device)
 *   token    --url http://127.0.0.1:8787 --space <hex> --key key.file
 *                                                             answers the relay's challenge, prints an access token
 *
 * Exit codes: 0 success, 1 a check failed or an error, 2 bad usage. Guide: `docs/relay.md`.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { createReadStream, createWriteStream, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HearthError } from '@hearth/io';
import { decodeKeypairFileV1, encodeKeypairFileV1 } from '@hearth/db';
import { generateKeypair } from '@hearth/log';
import { authenticateRelay } from '@hearth/sync';
import { createRelay } from './relay.js';
import { exportSpace, importSpace, rebuildSpace, verifySpace } from './tools.js';

const USAGE = `usage: hearth-relay <serve|export|import|verify|rebuild> [options]
  serve    --port 8787 --host 127.0.0.1 --data .hearth-data [--tls-cert FILE --tls-key FILE] [--static DIR]
           [--space HEX ...] [--max-spaces N] [--cors-origin ORIGIN ...] [--no-admissions] [--log]
  export   --data DIR --space HEX [--out FILE]
  import   --data DIR --space HEX [--in FILE]
  verify   --data DIR [--space HEX]
  rebuild  --data DIR [--space HEX]
  keygen   --out FILE
  token    --url URL --space HEX --key FILE`;

class UsageError extends Error {}

function spacesIn(dataDir: string, only: string[] | undefined): string[] {
  if (only && only.length > 0) return only;
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
}

function defaultStaticDir(): string | null {
  const candidates = [resolve('apps/demo/dist'), fileURLToPath(new URL('../../demo/dist', import.meta.url))];
  return candidates.find((d) => existsSync(resolve(d, 'index.html'))) ?? null;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.hearth-data' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      static: { type: 'string' },
      'no-static': { type: 'boolean', default: false },
      space: { type: 'string', multiple: true },
      'cors-origin': { type: 'string', multiple: true },
      'no-admissions': { type: 'boolean', default: false },
      'max-spaces': { type: 'string' },
      log: { type: 'boolean', default: false },
      out: { type: 'string' },
      url: { type: 'string', default: 'http://127.0.0.1:8787' },
      key: { type: 'string' },
      in: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const dataDir = resolve(values.data!);
  for (const s of values.space ?? []) if (!/^[0-9a-f]{64}$/.test(s)) throw new UsageError(`--space expects 64 lowercase hex digits, got ${s}`);

  switch (command) {
    case 'serve': {
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects 0..65535, got ${values.port}`);
      if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
      const staticDir = values['no-static'] ? null : values.static !== undefined ? resolve(values.static) : defaultStaticDir();
      const maxSpaces = values['max-spaces'] !== undefined ? Number(values['max-spaces']) : undefined;
      if (maxSpaces !== undefined && !(Number.isInteger(maxSpaces) && maxSpaces > 0)) throw new UsageError('--max-spaces expects a positive integer');
      const relay = await createRelay({
        dataDir,
        port,
        host: values.host!,
        staticDir,
        logger: values.log!,
        ...(values['tls-cert'] ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']!) } } : {}),
        ...(values.space ? { spaces: values.space } : {}),
        ...(values['cors-origin'] ? { corsOrigins: values['cors-origin'] } : {}),
        ...(values['no-admissions'] ? { admissions: false } : {}),
        ...(maxSpaces !== undefined ? { maxSpaces } : {}),
        onSyncEvent: (e, space) => {
          if (e.type === 'rejected') console.error(`[${space.slice(0, 8)}] rejected ${e.error.code}: ${e.error.message}`);
          else if (e.type === 'fork') console.error(`[${space.slice(0, 8)}] fork detected at seq ${e.seq}`);
        },
      });
      console.log(`Hearth relay listening on ${relay.url}`);
      console.log(`  data: ${dataDir}${staticDir ? `\n  static: ${staticDir}` : ''}`);
      for (const [hex, h] of relay.spaces) console.log(`  space ${hex}: relay key ${Buffer.from(h.relayKey).toString('hex')}`);
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) {
            console.error(`${signal} again: exiting without a clean shutdown`);
            process.exit(1);
          }
          stopping = true;
          console.log(`${signal}: shutting down (finishing in-flight ingests, closing databases)`);
          relay.close().then(done, (e) => {
            console.error(e);
            process.exitCode = 1;
            done();
          });
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      console.log('relay stopped');
      return process.exitCode === 1 ? 1 : 0;
    }
    case 'export': {
      const [space] = values.space ?? [];
      if (!space) throw new UsageError('export needs --space');
      const out = values.out ? createWriteStream(values.out) : process.stdout;
      const n = await exportSpace(dataDir, space, (line) => {
        if (!out.write(line)) return new Promise<void>((r) => out.once('drain', () => r()));
      });
      if (out !== process.stdout) await new Promise<void>((r, j) => (out as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? j(e) : r())));
      console.error(`exported ${n} documents`);
      return 0;
    }
    case 'import': {
      const [space] = values.space ?? [];
      if (!space) throw new UsageError('import needs --space');
      const input = values.in ? createReadStream(values.in) : process.stdin;
      // create the line iterator now: readline drops lines emitted before an iterator exists
      const it = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
      const r = await importSpace(dataDir, space, { [Symbol.asyncIterator]: () => it });
      console.error(`imported ${r.documents} documents (written by feed ${r.feed})`);
      return 0;
    }
    case 'verify': {
      let bad = 0;
      const list = spacesIn(dataDir, values.space);
      for (const space of list) {
        const r = await verifySpace(dataDir, space);
        console.log(`${space}: ${r.feeds} feeds, ${r.entries} entries verified, ${r.problems.length} problems`);
        for (const p of r.problems) console.log(`  feed ${p.feed} seq ${p.seq}: ${p.code} ${p.message}`);
        bad += r.problems.length;
      }
      if (list.length === 0) console.log(`no spaces in ${dataDir}`);
      return bad === 0 ? 0 : 1;
    }
    case 'rebuild': {
      for (const space of spacesIn(dataDir, values.space)) {
        const r = await rebuildSpace(dataDir, space);
        console.log(`${space}: rebuilt from ${r.feeds} feeds, state hash ${r.stateHash}`);
      }
      return 0;
    }
    case 'keygen': {
      if (!values.out) throw new UsageError('keygen needs --out');
      const kp = generateKeypair();
      writeFileSync(values.out, encodeKeypairFileV1(kp), { mode: 0o600, flag: 'wx' });
      console.log(Buffer.from(kp.publicKey).toString('hex'));
      return 0;
    }
    case 'token': {
      const [space] = values.space ?? [];
      if (!space || !values.key) throw new UsageError('token needs --space and --key');
      const keypair = decodeKeypairFileV1(new Uint8Array(readFileSync(values.key)), values.key);
      const grant = await authenticateRelay({ url: values.url!, space: Uint8Array.from(Buffer.from(space, 'hex')), keypair });
      console.log(grant.token);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** Sets the exit code and lets stdout/stderr drain (process.exit could cut piped output short). */
function finish(code: number): void {
  process.exitCode = code;
  // if a stray handle kept the process alive, leave anyway once the output had time to drain
  setTimeout(() => process.exit(code), 2000).unref();
}

main(process.argv.slice(2)).then(finish, (e: unknown) => {
  if (e instanceof UsageError || (e as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    finish(2);
    return;
  }
  console.error(e instanceof HearthError ? `${e.code}: ${e.message}` : e);
  finish(1);
});
