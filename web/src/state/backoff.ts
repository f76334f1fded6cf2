// The reconnect schedule of the event stream.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

/**
 * The wait before reconnect attempt number `attempt` (0 for the first after a loss).
 * The ceiling doubles from 500 ms up to 30 s; the wait is drawn between half the ceiling
 * and the ceiling ("equal jitter"), so that a server restart is not met by every client at
 * the same instant while no client waits less than half its turn.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt));
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(n, 16));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}
