// src/api-types.ts is generated from the API document (internal/httpapi/openapi.json); this
// fails when the document changed and `npm run api-types` was not run, so the app's types
// never drift from what the server is checked against.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const web = resolve(import.meta.dirname, '..');

describe('src/api-types.ts', () => {
  it('is what openapi-typescript makes of the API document now (else run `npm run api-types`)', () => {
    const bin = resolve(web, 'node_modules', '.bin', 'openapi-typescript');
    const fresh = execFileSync(bin, ['../internal/httpapi/openapi.json'], { cwd: web, encoding: 'utf8' });
    expect(readFileSync(resolve(web, 'src', 'api-types.ts'), 'utf8')).toBe(fresh);
    // A child Node process that reads a 100 KB document: a few seconds on a
    // busy 2-core machine, more than Vitest's default 5 s at worst.
  }, 60_000);
});
