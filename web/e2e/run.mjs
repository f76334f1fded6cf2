// Runs the browser tests against a real vo server with the demo org.
//
// Starts `vo serve --demo` (VO_BIN, default ../bin/vo: the Makefile builds it, with the app
// embedded, before `npm run e2e`) on a free loopback port with a fresh data folder and its
// embedded TURN server on a free loopback port (turn.test.mjs relays through it), waits
// until it answers, runs e2e/*.test.mjs with Node's test runner against it (VO_E2E_URL),
// then stops it and removes the data folder. Screenshots go to e2e/artifacts/.
//
// Arguments pick test files by name: `npm run e2e -- turn` runs only e2e/turn.test.mjs
// (every file whose name contains one of them).
//
// VO_E2E_URL set by the caller skips starting a server: the tests then run against it.
// CHROMIUM_PATH overrides /usr/bin/chromium (Debian's package; playwright-core downloads
// no browser).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const webDir = resolve(here, '..');

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitForServer(url, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`vo exited with code ${proc.exitCode} before answering`);
    try {
      const res = await fetch(`${url}/api/v1/me`);
      if (res.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vo did not answer at ${url} within ${timeoutMs / 1000} s`);
}

function runTests(env) {
  const only = process.argv.slice(2);
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.test.mjs') && (only.length === 0 || only.some((o) => f.includes(o))))
    .sort()
    .map((f) => join(here, f));
  if (files.length === 0) {
    console.error(`e2e: no test file matches ${only.join(', ')}`);
    return Promise.resolve(2);
  }
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      cwd: webDir,
      env,
      stdio: 'inherit',
    });
    child.on('exit', (code, signal) => resolveRun(code ?? (signal ? 1 : 0)));
  });
}

async function main() {
  mkdirSync(join(here, 'artifacts'), { recursive: true });
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    console.error(`e2e: no Chromium at ${chromium}. Install Debian's: apt-get install -y chromium (or set CHROMIUM_PATH).`);
    process.exitCode = 2;
    return;
  }
  if (process.env.VO_E2E_URL) {
    process.exitCode = await runTests(process.env);
    return;
  }
  const bin = resolve(webDir, process.env.VO_BIN ?? '../bin/vo');
  if (!existsSync(bin)) {
    console.error(`e2e: no vo binary at ${bin}. Build it first (make build, or go build -o bin/vo ./cmd/vo), or set VO_BIN.`);
    process.exitCode = 2;
    return;
  }
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'vo-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  const log = [];
  // TURN on the loopback: port 0 takes a free one, and GET /api/v1/calls/ice names it.
  const args = ['serve', '--demo', '--addr', `127.0.0.1:${port}`, '--sip-addr', '127.0.0.1:0', '--data', data];
  args.push('--turn-addr', '127.0.0.1:0', '--turn-relay-ip', '127.0.0.1');
  const server = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (b) => log.push(b));
  server.stderr.on('data', (b) => log.push(b));
  const stop = () => {
    if (server.exitCode === null) server.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let code = 1;
  try {
    await waitForServer(url, server, 30_000);
    console.log(`e2e: vo serve --demo at ${url} (data ${data})`);
    code = await runTests({ ...process.env, VO_E2E_URL: url });
  } catch (err) {
    console.error(`e2e: ${err.message}`);
    console.error(Buffer.concat(log).toString().slice(-4000));
  } finally {
    stop();
    await new Promise((r) => {
      if (server.exitCode !== null) return r();
      const t = setTimeout(() => {
        server.kill('SIGKILL');
        r();
      }, 10_000);
      server.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
    rmSync(data, { recursive: true, force: true });
  }
  if (code !== 0) {
    console.error('e2e: server log (last lines):');
    console.error(Buffer.concat(log).toString().split('\n').slice(-40).join('\n'));
  }
  process.exitCode = code;
}

await main();
