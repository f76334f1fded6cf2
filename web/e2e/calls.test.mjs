// Browser test of calls from the app (SPEC §10, issue 12 points 2 and 7): two Chromium
// instances, Ann's and Ben's, call each other through the server, and each receives the other's
// audio. Each Chromium's fake microphone plays a WAV of its own pure tone the test writes
// (--use-file-for-fake-audio-capture; one tone per launch, so two launches): Ann's 440 Hz, Ben's
// 880 Hz. The received track is the one the calling screen plays (its <audio>), analysed with
// an AnalyserNode: Ann must hear 880 Hz, Ben 440 Hz, through the server's G.711.
//
// Ann dials Ben's extension on the dial pad; both of Ben's devices ring with Ann's name, focus
// in the ringing dialog; he answers on one and the other stops ringing; after the tones (and
// Mute) are checked Ann hangs up, both screens close and both histories say answered. Then Ben
// declines a call: it ends for him, and Ann, whose leg the server answered at once, hears the
// voicemail greeting (audio energy arrives), then leaves a voicemail. Last, Ann calls Ben from
// his contact card and gives up while it rings (missed for him), and he calls back from the
// history.
//
// run.mjs starts the server with its default --call-media-addr (127.0.0.1:0, a free port).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, assertAccessible, closeAll, hearTone, launch, listen, login, newDevice, screenshot, toneWav } from './lib.mjs';

const ANN_HZ = 440;
const BEN_HZ = 880;

async function toneBrowser(hz) {
  const wav = join(ARTIFACTS, `tone-${hz}hz.wav`);
  writeFileSync(wav, toneWav(hz, 5));
  return launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'] });
}

let annBrowser;
let benBrowser;
before(async () => {
  [annBrowser, benBrowser] = await Promise.all([toneBrowser(ANN_HZ), toneBrowser(BEN_HZ)]);
});
after(async () => {
  await annBrowser?.close();
  await benBrowser?.close();
});

/** Signs in with the microphone allowed, and makes the user available (earlier tests set statuses). */
async function person(browser, email, options) {
  const d = await newDevice(browser, options);
  await d.context.grantPermissions(['microphone']);
  await login(d.page, email);
  const status = await d.page.evaluate(async () => {
    const r = await fetch('/api/v1/me/presence', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': localStorage.getItem('vo.csrf') ?? '' },
      body: JSON.stringify({ status: 'available', status_until: null }),
    });
    return r.status;
  });
  assert.equal(status, 200, 'PUT /api/v1/me/presence');
  return d;
}

/** The received audio's RMS level (0 to 1) over the analyser's window. */
function level(page) {
  return page.evaluate(() => {
    const { analyser } = window.heard;
    const t = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(t);
    let e = 0;
    for (const x of t) e += x * x;
    return Math.sqrt(e / t.length);
  });
}

async function dial(page, to) {
  await page.getByTestId('tab-calls').click();
  await page.getByTestId('open-dialpad').click();
  await page.getByTestId('dial-input').fill(to);
  await page.getByTestId('dial-call').click();
}

/** The newest row of the history, once it says `result`. */
async function newestResult(page, result, who) {
  await page.getByTestId('tab-calls').click();
  try {
    await page.waitForFunction(
      (result) => document.querySelector('[data-testid="call-row"] [data-testid="call-result"]')?.textContent === result,
      result,
      { timeout: 10_000 },
    );
  } catch (err) {
    const text = await page.evaluate(() => document.querySelector('[data-testid="call-row"]')?.textContent ?? 'no row');
    throw new Error(`${who}'s newest call is not "${result}": ${text}`, { cause: err });
  }
  return page.evaluate(() => document.querySelector('[data-testid="call-row"]').textContent);
}

describe('calls from the app', { concurrency: 1 }, () => {
  test('Ann calls Ben from the dial pad, both his devices ring, he answers on one (the other stops), each hears the other’s tone, Ann hangs up, both histories say answered', async () => {
    const ann = await person(annBrowser, 'ann@demo.test');
    const ben = await person(benBrowser, 'ben@demo.test');
    // Ben's second device: it rings too, and stops when the first one answers.
    const benToo = await person(benBrowser, 'ben@demo.test');
    try {
      await dial(ann.page, '102');
      const annCall = ann.page.getByTestId('in-call');
      await annCall.waitFor();
      // Placed: the server names whom the extension reached.
      await ann.page.locator('[data-testid="in-call"][data-phase="ringing"]').waitFor();
      assert.equal(await annCall.getByTestId('in-call-peer').textContent(), 'Ben Ortiz');

      const ring = ben.page.getByTestId('incoming-call');
      await ring.waitFor();
      assert.equal(await ring.getByTestId('incoming-name').textContent(), 'Ann Lee');
      assert.ok(
        await ben.page.evaluate(() => document.querySelector('[data-testid="incoming-call"]').contains(document.activeElement)),
        'focus moved to the ringing dialog',
      );
      await assertAccessible(ben.page, 'Ben’s phone rings');
      await screenshot(ben.page, 'call-incoming');

      const ringToo = benToo.page.getByTestId('incoming-call');
      await ringToo.waitFor();
      assert.equal(await annCall.getAttribute('data-phase'), 'ringing', 'Ann’s screen rings on until Ben answers (no audio comes meanwhile)');
      await ring.getByRole('button', { name: 'Answer call from Ann Lee' }).click();
      await ring.waitFor({ state: 'detached' });
      await ringToo.waitFor({ state: 'detached', timeout: 2_000 });
      assert.equal(await benToo.page.getByTestId('in-call').count(), 0, 'the other device does not take the call');
      const benCall = ben.page.getByTestId('in-call');
      await benCall.waitFor();
      await ann.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor();
      await ben.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor();

      await Promise.all([listen(ann.page), listen(ben.page)]);
      const [annHeard, benHeard] = await Promise.all([hearTone(ann.page, BEN_HZ, 'Ann'), hearTone(ben.page, ANN_HZ, 'Ben')]);
      console.log(
        `calls: Ann heard ${annHeard.peakHz.toFixed(0)} Hz at ${annHeard.peakDb.toFixed(0)} dB (median ${annHeard.medianDb.toFixed(0)}); ` +
          `Ben heard ${benHeard.peakHz.toFixed(0)} Hz at ${benHeard.peakDb.toFixed(0)} dB (median ${benHeard.medianDb.toFixed(0)})`,
      );
      await ann.page.getByTestId('call-duration').waitFor();
      await assertAccessible(ann.page, 'Ann on a call');
      await screenshot(ann.page, 'call-connected');

      // Mute: Ben stops hearing Ann; unmuted, he hears her again.
      const mute = ann.page.getByRole('button', { name: 'Mute' });
      await mute.click();
      assert.equal(await mute.getAttribute('aria-pressed'), 'true');
      await ben.page.waitForFunction(
        () => {
          const { analyser } = window.heard;
          const t = new Float32Array(analyser.fftSize);
          analyser.getFloatTimeDomainData(t);
          return t.every((x) => Math.abs(x) < 0.01);
        },
        null,
        { timeout: 5_000, polling: 100 },
      );
      await mute.click();
      assert.equal(await mute.getAttribute('aria-pressed'), 'false');
      await hearTone(ben.page, ANN_HZ, 'Ben, Ann unmuted');

      await ann.page.getByRole('button', { name: 'Hang up the call with Ben Ortiz' }).click();
      await annCall.waitFor({ state: 'detached' });
      await benCall.waitFor({ state: 'detached', timeout: 5_000 });
      const annRow = await newestResult(ann.page, 'Answered', 'Ann');
      const benRow = await newestResult(ben.page, 'Answered', 'Ben');
      assert.match(annRow, /Ben Ortiz.*Outgoing/);
      assert.match(benRow, /Ann Lee.*Incoming/);
      assert.deepEqual(ann.errors, []);
      assert.deepEqual(ben.errors, []);
      assert.deepEqual(benToo.errors, []);
    } finally {
      await closeAll(ann, ben, benToo);
    }
  });

  test('Ben declines: it stops ringing for him, Ann hears the voicemail greeting and leaves a voicemail', async () => {
    const ann = await person(annBrowser, 'ann@demo.test');
    const ben = await person(benBrowser, 'ben@demo.test');
    try {
      await dial(ann.page, '102');
      await ann.page.getByTestId('in-call').waitFor();
      const ring = ben.page.getByTestId('incoming-call');
      await ring.waitFor();
      await listen(ann.page);
      const before = await level(ann.page);
      await ring.getByRole('button', { name: 'Decline call from Ann Lee' }).click();
      await ring.waitFor({ state: 'detached' });
      let loudest = 0;
      try {
        await ann.page.waitForFunction(
          () => {
            const { analyser } = window.heard;
            const t = new Float32Array(analyser.fftSize);
            analyser.getFloatTimeDomainData(t);
            let e = 0;
            for (const x of t) e += x * x;
            const rms = Math.sqrt(e / t.length);
            window.heard.loudest = Math.max(window.heard.loudest ?? 0, rms);
            return rms > 0.02;
          },
          null,
          { timeout: 10_000, polling: 50 },
        );
      } catch (err) {
        loudest = await ann.page.evaluate(() => window.heard.loudest ?? 0);
        throw new Error(`Ann heard no greeting within 10 s (loudest RMS ${loudest}, before ${before})`, { cause: err });
      }
      assert.ok(before < 0.02, `silence before the decline (RMS ${before})`);
      assert.equal(await ann.page.getByTestId('in-call').count(), 1, 'Ann’s call stays up while the greeting plays');
      // Connected, to the voicemail: the greeting's audio says so, no event does.
      await ann.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor({ timeout: 2_000 });
      assert.equal(await ann.page.getByTestId('call-status').textContent(), 'Connected');
      // The greeting ends (a second of silence), then Ann's microphone is recorded a while.
      await ann.page.waitForFunction(
        () => {
          const h = window.heard;
          const t = new Float32Array(h.analyser.fftSize);
          h.analyser.getFloatTimeDomainData(t);
          const quiet = t.every((x) => Math.abs(x) < 0.01);
          const now = performance.now();
          if (!quiet) h.quietSince = null;
          else h.quietSince ??= now;
          return h.quietSince !== null && now - h.quietSince > 1_000;
        },
        null,
        { timeout: 15_000, polling: 50 },
      );
      await ann.page.waitForTimeout(2_000);
      await ann.page.getByRole('button', { name: 'Hang up the call with Ben Ortiz' }).click();
      await ann.page.getByTestId('in-call').waitFor({ state: 'detached' });
      // What Ann's microphone played after the greeting was recorded: Ben has a voicemail.
      const benRow = await newestResult(ben.page, 'Voicemail', 'Ben');
      assert.match(benRow, /Ann Lee.*Incoming/);
      const annRow = await newestResult(ann.page, 'Voicemail', 'Ann');
      assert.match(annRow, /Ben Ortiz.*Outgoing/);
      assert.deepEqual(ann.errors, []);
      assert.deepEqual(ben.errors, []);
    } finally {
      await closeAll(ann, ben);
    }
  });

  test('Ann calls Ben from his contact card and gives up while it rings (missed); Ben calls back from the history', async () => {
    // Ann's phone is in the dark scheme: her calling screens pass the checks in it too.
    const ann = await person(annBrowser, 'ann@demo.test', { colorScheme: 'dark' });
    const ben = await person(benBrowser, 'ben@demo.test');
    try {
      await ann.page.locator('[data-testid="contact-row"][data-email="ben@demo.test"]').getByRole('link').click();
      await ann.page.getByRole('link', { name: 'Call Ben Ortiz' }).click();
      await ann.page.locator('[data-testid="in-call"][data-phase="ringing"]').waitFor();
      const ring = ben.page.getByTestId('incoming-call');
      await ring.waitFor();
      await ann.page.getByRole('button', { name: 'Hang up the call with Ben Ortiz' }).click();
      await ring.waitFor({ state: 'detached', timeout: 5_000 });
      assert.match(await newestResult(ben.page, 'Missed', 'Ben'), /Ann Lee.*Incoming/);
      assert.match(await newestResult(ann.page, 'No answer', 'Ann'), /Ben Ortiz.*Outgoing/);

      // Call back: the history row of the missed call calls Ann.
      await ben.page.getByRole('link', { name: 'Call Ann Lee back' }).first().click();
      await ben.page.locator('[data-testid="in-call"][data-phase="ringing"]').waitFor();
      const annRing = ann.page.getByTestId('incoming-call');
      await annRing.waitFor();
      assert.equal(await annRing.getByTestId('incoming-name').textContent(), 'Ben Ortiz');
      await assertAccessible(ann.page, 'Ann’s phone rings, dark scheme');
      await screenshot(ann.page, 'call-incoming-dark');
      await annRing.getByRole('button', { name: 'Answer call from Ben Ortiz' }).click();
      await ben.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor();
      await ann.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor();
      await listen(ben.page);
      await hearTone(ben.page, ANN_HZ, 'Ben, calling back');
      await assertAccessible(ann.page, 'Ann on a call, dark scheme');
      await ben.page.getByRole('button', { name: 'Hang up the call with Ann Lee' }).click();
      await ann.page.getByTestId('in-call').waitFor({ state: 'detached', timeout: 5_000 });
      assert.match(await newestResult(ann.page, 'Answered', 'Ann'), /Ben Ortiz.*Incoming/);
      assert.deepEqual(ann.errors, []);
      assert.deepEqual(ben.errors, []);
    } finally {
      await closeAll(ann, ben);
    }
  });

  // Two things end it: the closing page's peer connection closes (the server's leg is done) and
  // the app hangs up on pagehide with a keepalive request; either alone suffices here.
  test('Ann closes her app while it rings: Ben stops ringing at once (missed), not when the connection times out', async () => {
    const ann = await person(annBrowser, 'ann@demo.test');
    const ben = await person(benBrowser, 'ben@demo.test');
    try {
      await dial(ann.page, '102');
      await ann.page.locator('[data-testid="in-call"][data-phase="ringing"]').waitFor();
      const ring = ben.page.getByTestId('incoming-call');
      await ring.waitFor();
      const closed = Date.now();
      await ann.page.close({ runBeforeUnload: true });
      await ring.waitFor({ state: 'detached', timeout: 3_000 });
      console.log(`calls: Ben stopped ringing ${Date.now() - closed} ms after Ann's page closed`);
      assert.match(await newestResult(ben.page, 'Missed', 'Ben'), /Ann Lee.*Incoming/);
      assert.deepEqual(ben.errors, []);
    } finally {
      await closeAll(ann, ben);
    }
  });
});
