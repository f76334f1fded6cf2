import { describe, expect, it } from 'vitest';
import { callDurationMs, callPath, callResultLabel, dialProblem, formatDuration, isMissed, peerLabel, unheardCount } from '../src/state/calls';
import { parseRoute } from '../src/ui/router';
import type { Call, Voicemail } from '../src/types';

function call(extra: Partial<Call> = {}): Call {
  return {
    id: 'k1',
    direction: 'in',
    peer: { number: '101', name: 'Ann Lee', user_id: 'u_ann' },
    started_at: '2026-01-01T09:00:00Z',
    answered_at: '2026-01-01T09:00:05Z',
    ended_at: '2026-01-01T09:03:10Z',
    result: 'answered',
    ...extra,
  };
}

describe('dial validation', () => {
  it.each(['10', '101', '12345678', '+4930123456', '+123456789012345', '*97', ' 101 '])('accepts %s', (v) => {
    expect(dialProblem(v)).toBeNull();
  });
  it.each([
    ['', 'Enter an extension or a number.'],
    ['1', 'An extension has at least 2 digits.'],
    ['123456789', 'Too many digits: an extension has 2 to 8, or dial + and the full number.'],
    ['+1234567', 'A phone number is + and 8 to 15 digits.'],
    ['+1234567890123456', 'A phone number is + and 8 to 15 digits.'],
    ['*98', 'Dial an extension (2 to 8 digits), + and a full number, or *97 for voicemail.'],
    ['10#', 'Dial an extension (2 to 8 digits), + and a full number, or *97 for voicemail.'],
  ])('refuses %j', (v, why) => {
    expect(dialProblem(v)).toBe(why);
  });
  it('builds the call route and the router reads it back', () => {
    expect(callPath('+4930 ')).toBe('/call?to=%2B4930');
    expect(parseRoute('/call', '?to=%2B4930')).toEqual({ name: 'call', to: '+4930' });
    expect(parseRoute('/calls')).toEqual({ name: 'calls', tab: 'recent' });
    expect(parseRoute('/calls/voicemail')).toEqual({ name: 'calls', tab: 'voicemail' });
    expect(parseRoute('/calls/dial')).toEqual({ name: 'dial' });
  });
});

describe('call formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7_400)).toBe('0:07');
    expect(formatDuration(185_000)).toBe('3:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
  });
  it('measures talk time from answer to end, none when unanswered or still up', () => {
    expect(callDurationMs(call())).toBe(185_000);
    expect(callDurationMs(call({ answered_at: null, result: 'missed' }))).toBeNull();
    expect(callDurationMs(call({ ended_at: null, result: null }))).toBeNull();
  });
  it('labels results and tells missed calls', () => {
    expect(callResultLabel(call())).toBe('Answered');
    expect(callResultLabel(call({ result: null }))).toBe('In progress');
    expect(callResultLabel(call({ direction: 'out', result: 'missed' }))).toBe('No answer');
    expect(isMissed(call({ result: 'missed' }))).toBe(true);
    expect(isMissed(call({ result: 'voicemail' }))).toBe(true);
    expect(isMissed(call({ direction: 'out', result: 'missed' }))).toBe(false);
    expect(isMissed(call())).toBe(false);
  });
  it('names the peer, or shows the number', () => {
    expect(peerLabel({ number: '101', name: 'Ann' })).toBe('Ann');
    expect(peerLabel({ number: '+4930123456' })).toBe('+4930123456');
    expect(peerLabel({ number: '102', name: '  ' })).toBe('102');
  });
  it('counts unheard voicemails', () => {
    const v = (id: string, heard: boolean): Voicemail => ({ id, from: { number: '101' }, created_at: '2026-01-01T09:00:00Z', duration_ms: 1000, heard });
    expect(unheardCount([v('a', false), v('b', true), v('c', false)])).toBe(2);
    expect(unheardCount([])).toBe(0);
  });
});
