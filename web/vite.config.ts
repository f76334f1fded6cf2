/// <reference types="vitest/config" />
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const outDir = resolve(root, 'dist');

/**
 * Empties dist/ but keeps dist/.gitkeep, which `//go:embed all:dist` needs to compile
 * before the app is ever built (Vite's own emptying would remove it).
 */
function keepGitkeep(): Plugin {
  return {
    name: 'vo-keep-gitkeep',
    apply: 'build',
    buildStart() {
      mkdirSync(outDir, { recursive: true });
      for (const entry of readdirSync(outDir)) {
        if (entry !== '.gitkeep') rmSync(join(outDir, entry), { recursive: true, force: true });
      }
    },
    closeBundle() {
      const keep = join(outDir, '.gitkeep');
      if (!existsSync(keep)) writeFileSync(keep, '');
    },
  };
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .filter((f) => !f.split('/').some((part) => part.startsWith('.')))
    .sort();
}

/**
 * Emits /sw.js from sw/sw.js with the list of files of this build to precache and a cache
 * name derived from their content, so each build replaces the previous shell atomically.
 */
function serviceWorker(): Plugin {
  return {
    name: 'vo-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map'))
        .sort();
      const publicDir = resolve(root, 'public');
      const publicFiles = listFiles(publicDir);
      const hash = createHash('sha256');
      for (const f of files) {
        const chunk = bundle[f];
        hash.update(f);
        hash.update(chunk.type === 'chunk' ? chunk.code : typeof chunk.source === 'string' ? chunk.source : Buffer.from(chunk.source));
      }
      for (const f of publicFiles) hash.update(readFileSync(join(publicDir, f)));
      const precache = ['/', ...files.filter((f) => f !== 'index.html').map((f) => `/${f}`), ...publicFiles.map((f) => `/${f}`)];
      const template = readFileSync(resolve(root, 'sw/sw.js'), 'utf8');
      const source = template
        .replace('self.__VO_CACHE__', JSON.stringify(`vo-shell-${hash.digest('hex').slice(0, 16)}`))
        .replace('self.__VO_PRECACHE__', JSON.stringify(precache));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir,
    emptyOutDir: false,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  plugins: [keepGitkeep(), serviceWorker()],
  server: {
    proxy: {
      '/api': { target: process.env.VO_DEV_API ?? 'http://127.0.0.1:8080', ws: true, changeOrigin: false },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
