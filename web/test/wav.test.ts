import { describe, expect, it } from 'vitest';
import { encodeWav, joinSamples } from '../src/wav';

function ascii(v: DataView, at: number, n: number): string {
  return String.fromCharCode(...Array.from({ length: n }, (_, i) => v.getUint8(at + i)));
}

describe('encodeWav', () => {
  it('writes the 44-byte header of 16-bit PCM mono at the rate given', () => {
    const v = new DataView(encodeWav(new Float32Array(480), 48000));
    expect(v.byteLength).toBe(44 + 960);
    expect(ascii(v, 0, 4)).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(36 + 960);
    expect(ascii(v, 8, 8)).toBe('WAVEfmt ');
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1); // PCM
    expect(v.getUint16(22, true)).toBe(1); // mono
    expect(v.getUint32(24, true)).toBe(48000);
    expect(v.getUint32(28, true)).toBe(96000);
    expect(v.getUint16(32, true)).toBe(2);
    expect(v.getUint16(34, true)).toBe(16);
    expect(ascii(v, 36, 4)).toBe('data');
    expect(v.getUint32(40, true)).toBe(960);
  });

  it('turns samples into little-endian 16-bit values, clipping beyond ±1 and NaN to silence', () => {
    const v = new DataView(encodeWav(new Float32Array([0, 1, -1, 0.5, -0.5, 2, -3, NaN]), 8000));
    const got = Array.from({ length: 8 }, (_, i) => v.getInt16(44 + 2 * i, true));
    expect(got).toEqual([0, 32767, -32768, 16384, -16384, 32767, -32768, 0]);
  });

  it('keeps a tone: a 440 Hz sine comes back as one', () => {
    const rate = 44100;
    const s = new Float32Array(rate / 10).map((_, i) => 0.8 * Math.sin((2 * Math.PI * 440 * i) / rate));
    const v = new DataView(encodeWav(s, rate));
    for (let i = 0; i < s.length; i += 37) expect(Math.abs(v.getInt16(44 + 2 * i, true) / 32767 - s[i])).toBeLessThan(1e-4);
  });

  it('rounds a fractional rate and encodes nothing as a header alone', () => {
    const v = new DataView(encodeWav(new Float32Array(0), 44100.4));
    expect(v.byteLength).toBe(44);
    expect(v.getUint32(24, true)).toBe(44100);
    expect(v.getUint32(40, true)).toBe(0);
  });
});

describe('joinSamples', () => {
  it('joins blocks in order', () => {
    expect(Array.from(joinSamples([new Float32Array([1, 2]), new Float32Array([]), new Float32Array([3])]))).toEqual([1, 2, 3]);
  });
});
