import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, backoffDelay } from '../src/state/backoff';

describe('backoffDelay', () => {
  it('doubles its ceiling from 500 ms and stops at 30 s', () => {
    const ceilings = Array.from({ length: 10 }, (_, i) => backoffDelay(i, () => 1));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(backoffDelay(1000, () => 1)).toBe(BACKOFF_MAX_MS);
  });

  it('never waits less than half its ceiling', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(3, () => 0)).toBe(2000);
    expect(backoffDelay(20, () => 0)).toBe(15000);
  });

  it('spreads clients between half and the whole ceiling', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, Math.random);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('treats odd input as the first attempt', () => {
    expect(backoffDelay(-3, () => 1)).toBe(500);
    expect(backoffDelay(0, () => 7)).toBe(500);
  });
});
