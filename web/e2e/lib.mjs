// Helpers for the browser tests: Debian's Chromium through playwright-core, one browser
// context per person (or per device), at phone size.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export const BASE_URL = process.env.VO_E2E_URL ?? '';
export const PASSWORD = 'demo-password';
export const PHONE = { width: 360, height: 640 };

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Starts Chromium; `extraArgs` are further command-line switches. */
export async function launch({ extraArgs = [] } = {}) {
  assert.ok(BASE_URL, 'VO_E2E_URL is not set: run the browser tests with `npm run e2e`');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/** A new person or device: its own cookies and storage, a phone-size screen. */
export async function newDevice(browser, { colorScheme = 'light', viewport = PHONE } = {}) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    viewport,
    deviceScaleFactor: 2,
    hasTouch: true,
    colorScheme,
    locale: 'en-US',
    timezoneId: 'UTC',
    permissions: ['camera'],
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Requests still waiting for an answer, to say what a stuck screen waits for.
  const pending = new Map();
  page.on('request', (r) => pending.set(r, Date.now()));
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.pendingRequests = () => [...pending].map(([r, t]) => `${r.method()} ${r.url()} (${Date.now() - t} ms)`);
  return { context, page, errors };
}

/** Signs in through the login screen and waits for the directory. */
export async function login(page, email, password = PASSWORD) {
  await page.goto('/');
  try {
    await page.getByLabel('Work email').waitFor();
  } catch (err) {
    const name = `failed-login-${email.split('@')[0]}-${Date.now()}`;
    await screenshot(page, name).catch(() => undefined);
    const text = await page.evaluate(() => document.body.innerText).catch(() => '?');
    const waiting = page.pendingRequests?.().join(', ') || 'none';
    throw new Error(
      `no login form for ${email} at ${page.url()} (see artifacts/${name}.png); the page says: ${text.slice(0, 300)}; requests waiting: ${waiting}`,
      { cause: err },
    );
  }
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'People', level: 1 }).waitFor();
  await waitForLive(page);
}

/** Waits until the event stream has made the view current (presence no longer stale). */
export async function waitForLive(page, timeout = 10_000) {
  await page.waitForFunction(
    () => {
      const labels = document.querySelectorAll('[data-testid="presence-label"]');
      if (labels.length === 0) return false;
      return ![...labels].some((l) => l.getAttribute('data-stale') === 'true') && !document.querySelector('[data-testid="conn-banner"]');
    },
    null,
    { timeout },
  );
}

export function row(page, email) {
  return page.locator(`[data-testid="contact-row"][data-email="${email}"]`);
}

/** The presence a directory row shows: what others see, its label and status message. */
export async function rowState(page, email) {
  return row(page, email).evaluate((li) => ({
    shown: li.querySelector('[data-testid="presence-label"]')?.getAttribute('data-shown') ?? null,
    stale: li.querySelector('[data-testid="presence-label"]')?.getAttribute('data-stale') === 'true',
    label: li.querySelector('[data-testid="presence-label"]')?.textContent ?? '',
    message: li.querySelector('[data-testid="status-message"]')?.textContent?.replace(/^Status message: /, '') ?? null,
    photo: li.querySelector('img')?.getAttribute('src') ?? null,
    text: li.textContent ?? '',
  }));
}

/**
 * Waits until the row of `email` shows `want` ({shown, message, stale, photo}: each given
 * field must equal; `photo: true` means any photo), at most `timeout` ms, and returns how
 * long it took. Polls every animation frame in the page, so the time is precise.
 */
export async function waitForRow(page, email, want, timeout, what) {
  const started = Date.now();
  try {
    await page.waitForFunction(
      ({ email, want }) => {
        const li = document.querySelector(`[data-testid="contact-row"][data-email="${email}"]`);
        if (!li) return false;
        const label = li.querySelector('[data-testid="presence-label"]');
        const state = {
          shown: label?.getAttribute('data-shown') ?? null,
          stale: label?.getAttribute('data-stale') === 'true',
          message: li.querySelector('[data-testid="status-message"]')?.textContent?.replace(/^Status message: /, '') ?? null,
          photo: li.querySelector('img')?.getAttribute('src') ?? null,
        };
        return Object.entries(want).every(([k, v]) => (k === 'photo' && v === true ? state.photo !== null : state[k] === v));
      },
      { email, want },
      { timeout, polling: 'raf' },
    );
  } catch (err) {
    const state = await rowState(page, email).catch(() => 'row not found');
    throw new Error(`${what}: not seen within ${timeout} ms; the row shows ${JSON.stringify(state)}`, { cause: err });
  }
  return Date.now() - started;
}

export async function openProfile(page) {
  await page.getByTestId('header-avatar').click();
  await page.getByRole('heading', { name: 'Status', exact: true, level: 2 }).waitFor();
}

/** Waits for the next answer to `method path` (a prefix) and checks its status. */
export function answerTo(page, method, path, status = 200) {
  const answer = page
    .waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname.startsWith(path))
    .then((r) => {
      assert.equal(r.status(), status, `${method} ${path} answered ${r.status()}`);
      return r;
    });
  // Awaited by the test; when the test fails before that, the page closing must not be
  // reported in place of the real failure.
  answer.catch(() => undefined);
  return answer;
}

/** The status message a card or row shows, without its screen-reader prefix. */
export async function messageText(locator) {
  return (await locator.getByTestId('status-message').textContent()).replace(/^Status message:\s*/, '');
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** Runs axe-core's WCAG 2 A/AA rules on the page and fails on any violation. */
export async function assertAccessible(page, what) {
  const require = createRequire(import.meta.url);
  // Evaluated rather than added as a <script>: the app's Content-Security-Policy refuses inline scripts.
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(async () => {
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 3).join(' ')}`),
    }));
  });
  assert.deepEqual(result, [], `${what}: accessibility violations:\n${JSON.stringify(result, null, 2)}`);
}

/** A small PNG drawn by the browser, for "Choose photo". */
export async function makePng(page, colour = '#2a9d8f') {
  const dataUrl = await page.evaluate((colour) => {
    const c = document.createElement('canvas');
    c.width = 300;
    c.height = 200;
    const ctx = c.getContext('2d');
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, 300, 200);
    ctx.fillStyle = '#ffffff';
    ctx.beginPath();
    ctx.arc(150, 100, 60, 0, Math.PI * 2);
    ctx.fill();
    return c.toDataURL('image/png');
  }, colour);
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

export async function closeAll(...devices) {
  for (const d of devices) await d?.context.close().catch(() => undefined);
}

/**
 * A mono 16-bit PCM WAV of a sine at hz (a fake microphone's file, or a phone's tone): at rate,
 * amplitude a share of full scale. At 48 kHz a whole second holds whole periods of any
 * whole-number hz, so the file loops cleanly.
 */
export function toneWav(hz, seconds, { rate = 48_000, amplitude = 0.5 } = {}) {
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return buf;
}

/**
 * Starts analysing what the calling screen plays (its <audio>'s stream) in the page, for
 * hearTone and the level checks that read window.heard.
 */
export async function listen(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="remote-audio"]')?.srcObject instanceof MediaStream, null, { timeout: 10_000 });
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="remote-audio"]');
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(el.srcObject).connect(analyser);
    ctx.resume();
    window.heard = { ctx, analyser };
  });
}

/**
 * Waits until the received audio (after listen) peaks at hz, within `bins` FFT bins, clearly
 * above the rest; returns the spectrum: the peak's frequency and level, the median level.
 */
export async function hearTone(page, hz, who, bins = 2) {
  try {
    const h = await page.waitForFunction(
      ([hz, bins]) => {
        const { ctx, analyser } = window.heard;
        const f = new Float32Array(analyser.frequencyBinCount);
        analyser.getFloatFrequencyData(f);
        const binHz = ctx.sampleRate / analyser.fftSize;
        let peak = 1;
        for (let i = 1; i < f.length; i++) if (f[i] > f[peak]) peak = i;
        const median = [...f].sort((x, y) => x - y)[f.length >> 1];
        const r = { peakHz: peak * binHz, peakDb: f[peak], medianDb: median, binHz };
        window.heard.last = r;
        return Math.abs(r.peakHz - hz) <= bins * binHz && r.peakDb > -50 && r.peakDb - median > 30 ? r : false;
      },
      [hz, bins],
      { timeout: 15_000, polling: 100 },
    );
    return await h.jsonValue();
  } catch (err) {
    const last = await page.evaluate(() => window.heard?.last ?? null);
    throw new Error(`${who} did not hear ${hz} Hz within 15 s; last spectrum: ${JSON.stringify(last)}`, { cause: err });
  }
}
