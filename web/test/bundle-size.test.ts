// The JavaScript the first screen loads must stay at most 150 KiB gzipped. It reads the built
// app in dist/ (npm run build): the entry scripts and module preloads of index.html, and every
// chunk they import statically (lazy chunks do not count: the first screen does not wait for
// them).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const dist = resolve(import.meta.dirname, '..', 'dist');
const indexHtml = join(dist, 'index.html');
const LIMIT = 150 * 1024;
const built = existsSync(indexHtml);

if (!built) {
  console.warn('bundle-size: dist/index.html is missing, so the size test is skipped. Run `npm run build` first.');
}

function firstScreenScripts(): string[] {
  const html = readFileSync(indexHtml, 'utf8');
  const found = new Set<string>();
  for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) found.add(m[1]);
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g)) found.add(m[1]);
  const queue = [...found].map((u) => posix.normalize(u.replace(/^\//, '')));
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(dist, file), 'utf8');
    // Static imports only: `import "x"`, `import {a} from "x"`, `export * from "x"`.
    for (const m of code.matchAll(/(?:^|[;\n}])\s*(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+\.js)["']/g)) {
      const target = m[1].startsWith('/') ? m[1].slice(1) : posix.join(posix.dirname(file), m[1]);
      queue.push(posix.normalize(target));
    }
  }
  return [...seen];
}

describe('first screen JavaScript', () => {
  it.skipIf(!built)(`is at most ${LIMIT / 1024} KiB gzipped (skipped when dist/ is not built)`, () => {
    const files = firstScreenScripts();
    expect(files.length).toBeGreaterThan(0);
    let total = 0;
    const sizes: string[] = [];
    for (const f of files) {
      const gz = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
      total += gz;
      sizes.push(`${f}: ${(gz / 1024).toFixed(1)} KiB`);
    }
    console.info(`first-screen JS, gzipped: ${(total / 1024).toFixed(1)} KiB of ${LIMIT / 1024} KiB\n  ${sizes.join('\n  ')}`);
    expect(total, `first-screen JS is ${(total / 1024).toFixed(1)} KiB gzipped`).toBeLessThanOrEqual(LIMIT);
  });

  it.skipIf(!built)('serves the app shell, service worker and manifest from the root', () => {
    for (const f of ['index.html', 'sw.js', 'manifest.webmanifest', 'icons/icon-192.png', 'icons/icon-512.png']) {
      expect(existsSync(join(dist, f)), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.webmanifest'), 'utf8')) as {
      icons: { src: string; sizes: string }[];
      start_url: string;
      display: string;
    };
    expect(manifest.display).toBe('standalone');
    expect(manifest.start_url).toBe('/');
    for (const icon of manifest.icons) expect(existsSync(join(dist, icon.src.replace(/^\//, ''))), icon.src).toBe(true);
    const sw = readFileSync(join(dist, 'sw.js'), 'utf8');
    for (const f of firstScreenScripts()) expect(sw, `sw.js precaches /${f}`).toContain(`"/${f}"`);
    expect(existsSync(join(dirname(dist), 'dist', '.gitkeep')), 'dist/.gitkeep survives the build').toBe(true);
  });
});
