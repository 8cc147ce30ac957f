// The repository's Vite configuration: the demo app (Hearth Notes). `npx vite build` here builds apps/demo into
// apps/demo/dist, exactly as `npm run build -w @hearth/demo` does; the configuration lives in apps/demo.
export { default } from './apps/demo/vite.config.ts';
