// Browser test of the embedded TURN server (SPEC §10, issue 12 point 3): a relay-only WebRTC
// call in Chromium connects through it and carries audio, and does not with a wrong credential.
//
// The node has no WebRTC media of its own yet, so both ends are in one page of the app's origin:
// signed in, the page asks GET /api/v1/calls/ice for this session's TURN servers and short-lived
// credential, makes two RTCPeerConnections with {iceServers, iceTransportPolicy: "relay"}, sends
// the fake microphone from one to the other, and exchanges offer, answer and candidates itself.
// The microphone plays a WAV of a pure tone the test writes (--use-file-for-fake-audio-capture):
// the receiving end must hear that tone, so the audio is the one sent and not Chromium's default
// fake beep or silence.
//
// run.mjs starts the server with `--turn-addr 127.0.0.1:0 --turn-relay-ip 127.0.0.1`: the
// relays are on the loopback, which Chromium accepts for TURN server and relay addresses without
// --allow-loopback-in-peer-connection (that switch is about host candidates of the loopback
// interface, which relay-only calls never use). Chromium binds its sockets to the TURN server on
// the machine's non-loopback interfaces (it enumerates no loopback one; `ss -uanp` during the
// call shows them on the machine's address), and Linux delivers to 127.0.0.1 from there all the
// same; a machine with no non-loopback interface would gather no candidates at all.
// The server's permission handler lets relays reach loopback peers only because it relays on
// the loopback itself.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, closeAll, launch, login, newDevice, toneWav } from './lib.mjs';

const TONE_HZ = 1100;

let browser;
before(async () => {
  const wav = join(ARTIFACTS, `tone-${TONE_HZ}hz.wav`);
  writeFileSync(wav, toneWav(TONE_HZ, 5));
  browser = await launch({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'] });
});
after(async () => {
  await browser?.close();
});

/**
 * Starts a relay-only call between two peer connections of the page, the sender with the fake
 * microphone; window.turnCall holds them and what they saw. Returns at once; poll the state.
 */
function startCall(page, iceServers) {
  return page.evaluate(async (iceServers) => {
    const config = { iceServers, iceTransportPolicy: 'relay' };
    const call = { a: new RTCPeerConnection(config), b: new RTCPeerConnection(config), seen: { a: [], b: [] }, errors: { a: [], b: [] }, states: { a: [], b: [] } };
    window.turnCall = call;
    for (const [name, other] of [
      ['a', 'b'],
      ['b', 'a'],
    ]) {
      const pc = call[name];
      pc.addEventListener('icecandidate', (e) => {
        if (!e.candidate) return;
        call.seen[name].push({ type: e.candidate.type, protocol: e.candidate.protocol, address: e.candidate.address, port: e.candidate.port });
        call[other].addIceCandidate(e.candidate).catch((err) => call.errors[other].push({ addIceCandidate: String(err) }));
      });
      pc.addEventListener('icecandidateerror', (e) => call.errors[name].push({ code: e.errorCode, text: e.errorText, url: e.url }));
      pc.addEventListener('iceconnectionstatechange', () => call.states[name].push(pc.iceConnectionState));
    }
    call.b.addEventListener('track', (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      // Chromium feeds a remote track to Web Audio only while a media element plays it, and
      // counts inbound-rtp audioLevel and totalAudioEnergy only for audio it plays out: the
      // element is not muted (headless Chromium plays to no speaker).
      const el = new Audio();
      el.srcObject = stream;
      el.play().catch(() => undefined);
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(stream).connect(analyser);
      ctx.resume();
      call.audio = { el, ctx, analyser };
    });
    const mic = await navigator.mediaDevices.getUserMedia({
      // No processing: noise suppression would take a steady tone for noise.
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    call.mic = mic;
    for (const t of mic.getAudioTracks()) call.a.addTrack(t, mic);
    const offer = await call.a.createOffer();
    await call.a.setLocalDescription(offer);
    await call.b.setRemoteDescription(offer);
    const answer = await call.b.createAnswer();
    await call.b.setLocalDescription(answer);
    await call.a.setRemoteDescription(answer);
  }, iceServers);
}

/** What the call's two ends report now, for assertions and failure messages. */
function callState(page) {
  return page.evaluate(() => {
    const c = window.turnCall;
    const end = (name) => ({
      ice: c[name].iceConnectionState,
      connection: c[name].connectionState,
      gathering: c[name].iceGatheringState,
      states: c.states[name],
      candidates: c.seen[name],
      errors: c.errors[name],
    });
    return { a: end('a'), b: end('b') };
  });
}

/** The candidate pair an end's transport selected, with its two candidates. */
function selectedPair(page, name) {
  return page.evaluate(async (name) => {
    const stats = await window.turnCall[name].getStats();
    const transport = [...stats.values()].find((s) => s.type === 'transport');
    const pair = transport && stats.get(transport.selectedCandidatePairId);
    if (!pair) return null;
    const cand = (id) => {
      const c = stats.get(id);
      return c && { type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol, url: c.url };
    };
    return { state: pair.state, local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId), bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived };
  }, name);
}

/** The receiving end's inbound audio counters. */
function inboundAudio(page) {
  return page.evaluate(async () => {
    const stats = await window.turnCall.b.getStats();
    const rtp = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
    return rtp && { packets: rtp.packetsReceived, bytes: rtp.bytesReceived, energy: rtp.totalAudioEnergy ?? 0, level: rtp.audioLevel ?? 0 };
  });
}

async function endCall(page) {
  await page
    .evaluate(() => {
      const c = window.turnCall;
      if (!c) return;
      c.a.close();
      c.b.close();
      c.mic?.getTracks().forEach((t) => t.stop());
      c.audio?.ctx.close();
      c.audio?.el.pause();
      window.turnCall = undefined;
    })
    .catch(() => undefined);
}

/** This session's TURN servers, from the API; fails unless the node runs its TURN server. */
async function iceServers(page) {
  const res = await page.evaluate(async () => {
    const r = await fetch('/api/v1/calls/ice', { credentials: 'same-origin', cache: 'no-store' });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(res.status, 200, `GET /api/v1/calls/ice answered ${res.status}`);
  const servers = res.body.ice_servers;
  assert.ok(servers.length > 0, 'GET /api/v1/calls/ice names no TURN server: the server under test must run with --turn-addr (run.mjs does)');
  for (const s of servers) {
    assert.ok(s.username && s.credential, 'a TURN server without a credential');
    for (const u of s.urls) assert.match(u, /^turns?:[^:]+:([1-9]\d*)(\?transport=(udp|tcp))?$/, `${u}: a TURN URL with a real port`);
  }
  return servers;
}

describe('TURN relay', { concurrency: 1 }, () => {
  test('a relay-only call connects through the embedded TURN server and carries the tone; a wrong credential does not connect', async () => {
    const d = await newDevice(browser);
    try {
      const { context, page, errors } = d;
      await context.grantPermissions(['microphone']);
      await login(page, 'isla@demo.test');
      const servers = await iceServers(page);
      const urls = servers.flatMap((s) => s.urls);

      // (1) Relay only, the right credential: it connects, both ends on a relay pair.
      const started = Date.now();
      await startCall(page, servers);
      try {
        await page.waitForFunction(
          () => ['a', 'b'].every((n) => window.turnCall[n].connectionState === 'connected'),
          null,
          { timeout: 15_000, polling: 100 },
        );
      } catch (err) {
        throw new Error(`relay-only call did not connect within 15 s: ${JSON.stringify(await callState(page))}`, { cause: err });
      }
      const connectedMs = Date.now() - started;
      const state = await callState(page);
      for (const n of ['a', 'b']) {
        assert.ok(state[n].candidates.length > 0, `${n} gathered no candidates`);
        assert.deepEqual(
          state[n].candidates.filter((c) => c.type !== 'relay'),
          [],
          `${n}: only relay candidates with iceTransportPolicy "relay"`,
        );
      }
      const pairs = { a: await selectedPair(page, 'a'), b: await selectedPair(page, 'b') };
      for (const n of ['a', 'b']) {
        const p = pairs[n];
        assert.ok(p, `${n} has no selected candidate pair: ${JSON.stringify(state)}`);
        assert.equal(p.state, 'succeeded', `${n}'s selected pair`);
        assert.equal(p.local.type, 'relay', `${n}'s local candidate: ${JSON.stringify(p)}`);
        assert.equal(p.remote.type, 'relay', `${n}'s remote candidate: ${JSON.stringify(p)}`);
        // The relay is the embedded server's: on its relay address, allocated through a URL the API gave.
        assert.equal(p.local.address, '127.0.0.1', `${n}'s relay address`);
        assert.ok(urls.includes(p.local.url), `${n}'s relay came from ${p.local.url}, not one of ${urls.join(', ')}`);
      }
      // Each end's remote candidate is the other's relay: the media goes relay to relay.
      assert.equal(`${pairs.a.remote.address}:${pairs.a.remote.port}`, `${pairs.b.local.address}:${pairs.b.local.port}`);
      assert.equal(`${pairs.b.remote.address}:${pairs.b.remote.port}`, `${pairs.a.local.address}:${pairs.a.local.port}`);

      // (2) Audio arrives, and it is the tone: the received track's spectrum peaks at TONE_HZ.
      let heard;
      try {
        const h = await page.waitForFunction(
          (toneHz) => {
            const au = window.turnCall.audio;
            if (!au) return false;
            const f = new Float32Array(au.analyser.frequencyBinCount);
            au.analyser.getFloatFrequencyData(f);
            const binHz = au.ctx.sampleRate / au.analyser.fftSize;
            let peak = 0;
            for (let i = 1; i < f.length; i++) if (f[i] > f[peak]) peak = i;
            const median = [...f].sort((x, y) => x - y)[f.length >> 1];
            const r = { peakHz: peak * binHz, peakDb: f[peak], medianDb: median, binHz };
            window.turnCall.lastSpectrum = r;
            return Math.abs(r.peakHz - toneHz) <= 2 * binHz && r.peakDb > -50 && r.peakDb - median > 30 ? r : false;
          },
          TONE_HZ,
          { timeout: 10_000, polling: 100 },
        );
        heard = await h.jsonValue();
      } catch (err) {
        const last = await page.evaluate(() => window.turnCall.lastSpectrum ?? null);
        throw new Error(`the ${TONE_HZ} Hz tone was not heard within 10 s; last spectrum: ${JSON.stringify(last)}; inbound: ${JSON.stringify(await inboundAudio(page))}`, {
          cause: err,
        });
      }
      const first = await inboundAudio(page);
      let later;
      const deadline = Date.now() + 5_000;
      for (;;) {
        later = await inboundAudio(page);
        if (later.packets > first.packets && later.bytes > first.bytes && later.energy > first.energy) break;
        if (Date.now() > deadline) assert.fail(`inbound audio did not grow in 5 s: ${JSON.stringify({ first, later })}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The WAV's sine peaks at half of full scale; audioLevel is the received peak, 0 to 1.
      assert.ok(later.level > 0.25 && later.level < 0.75, `audioLevel ${later.level}: about the tone's 0.5`);
      const relayed = await selectedPair(page, 'b');
      assert.ok(relayed.bytesReceived > 0, 'bytes came in over the relay pair');
      console.log(
        `turn: connected in ${connectedMs} ms over ${pairs.a.local.relayProtocol} relays ${pairs.a.local.address}:${pairs.a.local.port} ⇄ ${pairs.b.local.address}:${pairs.b.local.port}; ` +
          `heard ${heard.peakHz.toFixed(0)} Hz at ${heard.peakDb.toFixed(0)} dB (median ${heard.medianDb.toFixed(0)} dB); inbound ${later.packets} packets, level ${later.level.toFixed(2)}`,
      );
      await endCall(page);

      // (3) The same, with the credential tampered: the server refuses the allocations, so no
      // relay candidate is gathered and the call never connects. pion/turn answers an Allocate
      // whose MESSAGE-INTEGRITY fails with 400 Bad Request (not 401, which it sends only to ask
      // for credentials), and Chromium reports it as icecandidateerror 400 of that URL.
      const tampered = servers.map((s) => ({ ...s, credential: (s.credential[0] === 'A' ? 'B' : 'A') + s.credential.slice(1) }));
      await startCall(page, tampered);
      try {
        await page.waitForFunction(() => ['a', 'b'].every((n) => window.turnCall[n].iceGatheringState === 'complete'), null, {
          timeout: 15_000,
          polling: 100,
        });
      } catch (err) {
        throw new Error(`gathering with a wrong credential did not end within 15 s: ${JSON.stringify(await callState(page))}`, { cause: err });
      }
      const refused = await callState(page);
      for (const n of ['a', 'b']) {
        assert.deepEqual(refused[n].candidates, [], `${n} gathered candidates with a wrong credential`);
        assert.ok(
          urls.every((u) => refused[n].errors.some((e) => e.code === 400 && e.url === u)),
          `${n}: every TURN URL refused the allocation: ${JSON.stringify(refused[n].errors)}`,
        );
        assert.notEqual(refused[n].connection, 'connected');
        assert.ok(!refused[n].states.includes('connected'), `${n} connected with a wrong credential: ${JSON.stringify(refused[n].states)}`);
      }
      console.log(`turn: wrong credential: ${JSON.stringify(refused.a.errors)}; ice ${refused.a.ice}/${refused.b.ice}`);
      await endCall(page);
      assert.deepEqual(errors, []);
    } finally {
      await closeAll(d);
    }
  });
});
