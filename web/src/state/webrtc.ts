// The WebRTC side of a call from the app (SPEC §10): the microphone, one RTCPeerConnection to
// the server, and the audio that comes back. The call state machine (call.ts) knows it only
// through the CallMedia interface, so its rules are tested without a browser.
//
// Signalling is not trickled: the offer goes to the server once every ICE candidate is in it
// (iceGatheringState "complete", or after GATHER_TIMEOUT_MS with what was found by then).

import * as api from '../api';

export type MediaEvent = 'remote' | 'media' | 'failed';

/** How often the inbound audio is looked at until its first packet has come. */
export const MEDIA_POLL_MS = 250;

export interface CallMedia {
  /** The SDP offer with the candidates gathered, the microphone already in it. */
  offer(): Promise<string>;
  /** The server's SDP answer to that offer. */
  accept(answer: string): Promise<void>;
  /** Mutes or unmutes the microphone (the track keeps running, sending silence). */
  setMuted(muted: boolean): void;
  /** What the other party says, once it arrives. */
  readonly remote: MediaStream | null;
  /**
   * Called when the remote stream arrives, when its first audio packets come in (`media`),
   * or when the connection fails.
   */
  onChange: ((event: MediaEvent) => void) | null;
  /** Stops the microphone and closes the connection. */
  close(): void;
}

/** Opens the media of a new call: asks for the microphone and the ICE servers. */
export type MediaFactory = () => Promise<CallMedia>;

export const GATHER_TIMEOUT_MS = 5_000;

/** The browser's media: the real factory. */
export const browserMedia: MediaFactory = async () => {
  const [ice, mic] = await Promise.all([
    api.getIceServers().catch(() => ({ ice_servers: [] as RTCIceServer[] })),
    navigator.mediaDevices.getUserMedia({ audio: true, video: false }),
  ]);
  let pc: RTCPeerConnection;
  try {
    pc = new RTCPeerConnection({ iceServers: ice.ice_servers });
  } catch (err) {
    mic.getTracks().forEach((t) => t.stop());
    throw err;
  }
  return new BrowserMedia(pc, mic);
};

class BrowserMedia implements CallMedia {
  remote: MediaStream | null = null;
  onChange: ((event: MediaEvent) => void) | null = null;
  private closed = false;
  private poll: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly mic: MediaStream,
  ) {
    for (const t of mic.getAudioTracks()) pc.addTrack(t, mic);
    pc.addEventListener('track', (e) => {
      this.remote = e.streams[0] ?? new MediaStream([e.track]);
      this.onChange?.('remote');
    });
    // The server sends nothing while the callee's devices ring: the first packets are the
    // callee's voice, or the voicemail greeting when no one answered.
    this.poll = setInterval(() => {
      void pc.getStats().then((stats) => {
        if (this.closed || this.poll === null) return;
        for (const s of stats.values()) {
          if (s.type === 'inbound-rtp' && s.kind === 'audio' && ((s as RTCInboundRtpStreamStats).packetsReceived ?? 0) > 0) {
            this.stopPolling();
            this.onChange?.('media');
            return;
          }
        }
      }, () => undefined);
    }, MEDIA_POLL_MS);
    pc.addEventListener('connectionstatechange', () => {
      if (!this.closed && pc.connectionState === 'failed') this.onChange?.('failed');
    });
  }

  async offer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await this.gathered();
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  }

  private gathered(): Promise<void> {
    const pc = this.pc;
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== 'complete') return;
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      };
      // A TURN server that never answers must not hold the call: what was found is sent.
      const timer = setTimeout(() => {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }, GATHER_TIMEOUT_MS);
      pc.addEventListener('icegatheringstatechange', done);
    });
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  setMuted(muted: boolean): void {
    for (const t of this.mic.getAudioTracks()) t.enabled = !muted;
  }

  private stopPolling(): void {
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    this.mic.getTracks().forEach((t) => t.stop());
    this.pc.close();
  }
}
