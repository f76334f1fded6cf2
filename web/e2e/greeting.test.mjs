// Browser test of one's own voicemail greeting (issue 12 point 6): in the Calls tab's voicemail
// section a user records a greeting from the microphone, hears it back, keeps it, and goes back
// to the default one. The microphone is Chromium's fake capture playing a WAV of a pure tone the
// test writes, so what the server stored must be that tone, converted to the 8 kHz mono of a
// call: the test reads it back and finds the tone's frequency (Goertzel).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, assertAccessible, closeAll, launch, login, newDevice, screenshot, toneWav } from './lib.mjs';

const TONE_HZ = 700;

/** The share of a 16-bit PCM block's energy at hz. */
function shareAt(samples, rate, hz) {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  let e = 0;
  for (const x of samples) {
    e += x * x;
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return e === 0 ? 0 : ((s1 * s1 + s2 * s2 - k * s1 * s2) * 2) / samples.length / e;
}

let browser;
before(async () => {
  const wav = join(ARTIFACTS, `tone-${TONE_HZ}hz.wav`);
  writeFileSync(wav, toneWav(TONE_HZ, 5));
  browser = await launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'] });
});
after(async () => {
  await browser?.close();
});

test('records a greeting from the microphone, keeps it as 8 kHz audio of what was said, and resets it', async () => {
  const dev = await newDevice(browser);
  try {
    const { page, context } = dev;
    await context.grantPermissions(['microphone']);
    page.on('dialog', (d) => void d.accept());
    await login(page, 'hugo@demo.test');
    await page.goto('/calls/voicemail');
    const section = page.getByTestId('greeting');
    await section.getByText('hear the default greeting').waitFor();

    await section.getByTestId('greeting-record').click();
    await section.getByTestId('greeting-recording').waitFor();
    await page.waitForFunction(() => /0:0[3-9]/.test(document.querySelector('[data-testid="greeting-recording"]')?.textContent ?? ''), null, { timeout: 15_000 });
    await section.getByTestId('greeting-stop').click();
    await section.getByTestId('greeting-draft').waitFor();
    await assertAccessible(page, 'a greeting recorded, not saved yet');
    const put = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/v1/me/voicemail/greeting'));
    await section.getByTestId('greeting-save').click();
    assert.equal((await put).status(), 204);
    await section.getByText('hear your own greeting').waitFor();
    await section.getByTestId('greeting-audio').waitFor();
    await screenshot(page, 'greeting-own');

    // What callers hear: 8 kHz mono 16-bit PCM, a few seconds of the microphone's tone.
    const stored = await page.evaluate(async () => {
      const res = await fetch('/api/v1/me/voicemail/greeting');
      return { status: res.status, type: res.headers.get('Content-Type'), bytes: Array.from(new Uint8Array(await res.arrayBuffer())) };
    });
    assert.equal(stored.status, 200);
    assert.equal(stored.type, 'audio/wav');
    const b = Buffer.from(stored.bytes);
    assert.equal(b.toString('ascii', 0, 4), 'RIFF');
    assert.deepEqual([b.readUInt16LE(20), b.readUInt16LE(22), b.readUInt32LE(24), b.readUInt16LE(34)], [1, 1, 8000, 16]);
    const samples = [];
    for (let i = 44; i + 1 < b.length; i += 2) samples.push(b.readInt16LE(i));
    const secs = samples.length / 8000;
    assert.ok(secs >= 2.5 && secs <= 60, `the greeting is ${secs.toFixed(1)} s long`);
    // The middle second, away from the start and end of the capture.
    const mid = samples.slice(Math.floor(samples.length / 2) - 4000, Math.floor(samples.length / 2) + 4000);
    const share = shareAt(mid, 8000, TONE_HZ);
    assert.ok(share > 0.8, `${(share * 100).toFixed(0)} % of the greeting's energy is at ${TONE_HZ} Hz`);

    await section.getByTestId('greeting-reset').click();
    await section.getByText('hear the default greeting').waitFor();
    const gone = await page.evaluate(async () => (await fetch('/api/v1/me/voicemail/greeting')).status);
    assert.equal(gone, 404);
    assert.deepEqual(dev.errors, []);
  } finally {
    await closeAll(dev);
  }
});
