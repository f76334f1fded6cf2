// Browser test of calls between the app and a desk phone (SPEC §10, issue 12 point 7):
// Chromium calls a baresip phone and the other way round, G.711 both ways through the server.
// Ann's Chromium plays a 440 Hz tone as its fake microphone; Ben's desk phone is Debian's
// baresip, registered with the login GET /api/v1/me/sip gives Ben, sending a 1200 Hz tone
// (aufile) and dumping what it receives (sndfile). It answers by itself (answermode=auto) and is
// told to dial through its ctrl_tcp module. Each side's received audio must carry the other's
// tone: in Chromium, an AnalyserNode on the calling screen's <audio>; on the phone, a Goertzel
// filter over its dump.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, BASE_URL, PASSWORD, hearTone, launch, listen, login, newDevice, toneWav } from './lib.mjs';

const ANN_HZ = 440;
const PHONE_HZ = 1200;

const baresip = spawnSync('sh', ['-c', 'command -v baresip']).stdout.toString().trim();

/** How much of a 16-bit PCM WAV's energy (after its first 0.5 s) is at hz: Goertzel over 20 ms blocks. */
function toneShare(wav, hz) {
  const rate = wav.readUInt32LE(24);
  const data = wav.indexOf('data', 12);
  const pcm = wav.subarray(data + 8);
  const n = Math.floor(rate / 50);
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let at = 0;
  let total = 0;
  for (let off = rate; off + 2 * n <= pcm.length; off += 2 * n) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = pcm.readInt16LE(off + 2 * i);
      total += x * x;
      const s = x + k * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    at += ((s1 * s1 + s2 * s2 - k * s1 * s2) * 2) / n;
  }
  return total === 0 ? 0 : at / total;
}

/** A loopback port free for UDP and TCP, with the next one free for TCP (baresip's TLS). */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const tcp = createServer();
    const port = await new Promise((res) => tcp.listen(0, '127.0.0.1', () => res(tcp.address().port)));
    const ok = await Promise.all([
      new Promise((res) => {
        const u = createSocket('udp4');
        u.once('error', () => res(false));
        u.bind(port, '127.0.0.1', () => u.close(() => res(true)));
      }),
      new Promise((res) => {
        const t = createServer();
        t.once('error', () => res(false));
        t.listen(port + 1, '127.0.0.1', () => t.close(() => res(true)));
      }),
    ]);
    await new Promise((res) => tcp.close(res));
    if (ok.every(Boolean)) return port;
  }
  throw new Error('no free port');
}

async function api(method, path, token, body) {
  const r = await fetch(BASE_URL + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

/** Ben's desk phone: a baresip process and what it prints. */
async function startPhone(sip, dumpDir) {
  const dir = mkdtempSync(join(tmpdir(), 'vo-baresip-'));
  const tone = join(dir, 'tone.wav');
  writeFileSync(tone, toneWav(PHONE_HZ, 20, { rate: 8000, amplitude: 0.4 }));
  const ctrl = await freePort();
  const config = [
    'module_path /usr/lib/baresip/modules',
    `sip_listen 127.0.0.1:${await freePort()}`,
    'net_interface 127.0.0.1',
    'audio_player none',
    `audio_source aufile,${tone}`,
    'audio_alert none',
    'module account.so',
    'module g711.so',
    'module aufile.so',
    'module menu.so', // the dial command ctrl_tcp runs
    'module sndfile.so',
    `snd_path ${dumpDir}`,
    'module ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrl}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'config'), config);
  writeFileSync(
    join(dir, 'accounts'),
    `<sip:${sip.username}@${sip.domain}>;auth_pass=${sip.password};outbound="sip:${sip.registrar};transport=udp";regint=60;answermode=auto\n`,
  );
  writeFileSync(join(dir, 'contacts'), '');
  const child = spawn(baresip, ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  return {
    output: () => out,
    stop: () => child.kill('SIGKILL'),
    /** Sends a ctrl_tcp command (a JSON netstring). */
    command: (command, params) =>
      new Promise((res, rej) => {
        // baresip answers with a netstring and keeps the connection: done at its answer.
        const s = connect(ctrl, '127.0.0.1', () => {
          const b = JSON.stringify({ command, params, token: 't' });
          s.write(`${Buffer.byteLength(b)}:${b},`);
        });
        const done = () => {
          s.destroy();
          res();
        };
        s.setTimeout(5_000, done);
        s.on('data', done);
        s.on('error', rej);
      }),
  };
}

async function until(what, cond, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The phone's dump of what it received in its newest call, once written. */
async function phoneHeard(dumpDir, calls) {
  return until('the phone wrote its dump', () => {
    const files = readdirSync(dumpDir).filter((f) => f.endsWith('-dec.wav')).sort();
    if (files.length < calls) return false;
    const wav = readFileSync(join(dumpDir, files[calls - 1]));
    return wav.length > 8000 * 2 * 2 ? wav : false;
  });
}

let browser;
before(async () => {
  const wav = join(ARTIFACTS, `tone-${ANN_HZ}hz.wav`);
  writeFileSync(wav, toneWav(ANN_HZ, 5, { amplitude: 0.4 }));
  browser = await launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'] });
});
after(async () => browser?.close());

describe('calls between the app and a desk phone', { concurrency: 1, skip: baresip ? false : 'baresip is not installed (make peers)' }, () => {
  test('Ann’s app calls Ben’s baresip phone and the phone calls her app: each hears the other’s tone', async () => {
    const r = await fetch(BASE_URL + '/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ben@demo.test', password: PASSWORD, device_name: 'desk', platform: 'desktop' }),
    });
    assert.equal(r.status, 200, 'Ben logs in');
    const ben = (await r.json()).token;
    assert.equal((await api('PUT', '/api/v1/me/presence', ben, { status: 'available', status_until: null })).status, 200);
    const sip = (await api('GET', '/api/v1/me/sip', ben)).body;
    const dumpDir = mkdtempSync(join(tmpdir(), 'vo-dump-'));
    const phone = await startPhone(sip, dumpDir);
    const ann = await newDevice(browser);
    try {
      await until('Ben’s phone registered', async () => {
        const s = await api('GET', '/api/v1/sessions', ben);
        return s.body.items?.some((x) => x.platform === 'sip');
      });
      await ann.context.grantPermissions(['microphone']);
      await login(ann.page, 'ann@demo.test');
      await ann.page.evaluate(async () => {
        await fetch('/api/v1/me/presence', {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': localStorage.getItem('vo.csrf') ?? '' },
          body: JSON.stringify({ status: 'available', status_until: null }),
        });
      });

      // The app calls the desk phone, which answers by itself.
      await ann.page.getByTestId('tab-calls').click();
      await ann.page.getByTestId('open-dialpad').click();
      await ann.page.getByTestId('dial-input').fill(sip.username);
      await ann.page.getByTestId('dial-call').click();
      await ann.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor({ timeout: 15_000 });
      await listen(ann.page);
      const heard = await hearTone(ann.page, PHONE_HZ, 'Ann', 3);
      console.log(`deskphone: Ann heard the phone at ${heard.peakHz.toFixed(0)} Hz, ${heard.peakDb.toFixed(0)} dB`);
      await new Promise((r) => setTimeout(r, 2_000));
      await ann.page.getByRole('button', { name: /hang up/i }).click();
      await ann.page.getByTestId('in-call').waitFor({ state: 'detached' });
      const got = toneShare(await phoneHeard(dumpDir, 1), ANN_HZ);
      console.log(`deskphone: the phone heard ${(got * 100).toFixed(0)} % of its energy at ${ANN_HZ} Hz`);
      assert.ok(got > 0.5, `the phone heard ${got.toFixed(2)} of Ann's ${ANN_HZ} Hz tone`);

      // The desk phone calls the app: it rings, Ann answers.
      await phone.command('dial', '101');
      const ring = ann.page.getByTestId('incoming-call');
      await ring.waitFor({ timeout: 15_000 });
      assert.equal(await ring.getByTestId('incoming-name').textContent(), 'Ben Ortiz');
      await ring.getByRole('button', { name: /^Answer call/ }).click();
      await ann.page.locator('[data-testid="in-call"][data-phase="connected"]').waitFor({ timeout: 15_000 });
      await listen(ann.page);
      await hearTone(ann.page, PHONE_HZ, 'Ann, called by the phone', 3);
      await new Promise((r) => setTimeout(r, 2_000));
      await ann.page.getByRole('button', { name: /hang up/i }).click();
      await ann.page.getByTestId('in-call').waitFor({ state: 'detached' });
      const back = toneShare(await phoneHeard(dumpDir, 2), ANN_HZ);
      assert.ok(back > 0.5, `the calling phone heard ${back.toFixed(2)} of Ann's ${ANN_HZ} Hz tone`);
      const calls = (await api('GET', '/api/v1/calls', ben)).body.items;
      assert.deepEqual(
        calls.slice(0, 2).map((c) => [c.direction, c.result]),
        [
          ['out', 'answered'],
          ['in', 'answered'],
        ],
        'Ben’s history',
      );
    } catch (err) {
      throw new Error(`${err.message}\nbaresip: ${phone.output().slice(-3000)}`, { cause: err });
    } finally {
      phone.stop();
      await ann.context.close();
    }
  });
});
