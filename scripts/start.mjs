#!/usr/bin/env node
// `npm start`: the quick start's first command. Builds the packages (esbuild, no type-check) and the demo app
// (Vite: apps/demo/dist, with the SDK's database worker and the service worker), then runs the relay on
// http://127.0.0.1:8787 serving the app, with its data in .hearth-data/ (gitignored). Ctrl-C stops it cleanly.
//
// Usage: npm start [-- --port 8787 --host 127.0.0.1 --data .hearth-data --no-build]
// Works on a fresh clone after `npm ci`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: '.hearth-data' },
    'no-build': { type: 'boolean', default: false },
  },
  strict: true,
});

function run(label, args) {
  console.log(`start: ${label}…`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`start: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const relayCli = join(root, 'apps/relay/dist/cli.js');
if (!values['no-build'] || !existsSync(relayCli)) run('building the packages', [join(root, 'scripts/build.mjs'), '--no-typecheck']);
if (!values['no-build'] || !existsSync(join(root, 'apps/demo/dist/index.html'))) {
  run('building the demo app', [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(root, 'apps/demo/vite.config.ts'), '--logLevel', 'warn']);
}

const url = `http://${values.host}:${values.port}`;
console.log(`start: relay with data in ${values.data}/; open ${url} in a browser`);
const relay = spawn(
  process.execPath,
  [relayCli, 'serve', '--port', values.port, '--host', values.host, '--data', values.data, '--static', join(root, 'apps/demo/dist')],
  { cwd: root, stdio: 'inherit' },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => relay.kill(sig));
relay.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
