/**
 * Vite configuration of Hearth Notes (`npm run build -w @hearth/demo`, or `npx vite build` at the repository root,
 * whose `vite.config.ts` re-exports this one).
 *
 * - `root` is this directory whichever directory Vite runs from; the build goes to `apps/demo/dist`, which the
 *   relay serves.
 * - The SDK starts its database worker with `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`;
 *   Vite recognises that form and emits the worker as its own chunk (`assets/worker-*.js`), no configuration.
 * - The plugin `hearth-service-worker` writes `dist/sw.js` after the bundle: `web/sw.ts` compiled with esbuild, with
 *   the list of every built file and a hash of their contents (the cache version). No network at build time.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = join(here, 'dist');

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

/** Writes `sw.js` with the precache list of the finished build. */
function serviceWorker(): Plugin {
  return {
    name: 'hearth-service-worker',
    apply: 'build',
    async closeBundle() {
      const list = files(outDir)
        .filter((f) => !f.endsWith('.map') && !f.endsWith(`${sep}sw.js`))
        .map((f) => relative(outDir, f).split(sep).join('/'))
        .sort();
      const hash = createHash('sha256');
      for (const f of list) hash.update(f).update('\0').update(readFileSync(join(outDir, f)));
      const version = hash.digest('hex').slice(0, 16);
      const result = await esbuild({
        entryPoints: [join(here, 'web', 'sw.ts')],
        bundle: true,
        format: 'iife',
        target: 'es2022',
        minify: true,
        write: false,
        define: { __PRECACHE__: JSON.stringify(list), __VERSION__: JSON.stringify(version) },
        logLevel: 'warning',
      });
      writeFileSync(join(outDir, 'sw.js'), result.outputFiles[0].text);
      writeFileSync(join(outDir, 'build.json'), JSON.stringify({ version, files: list }, null, 2) + '\n');
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  publicDir: join(here, 'public'),
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The timing report is advice for plugin authors; the build's own output says what was written.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es' },
  plugins: [serviceWorker()],
  server: { host: '127.0.0.1' },
});
