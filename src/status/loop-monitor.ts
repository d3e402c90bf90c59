/**
 * Measures how late the primary's event loop runs a timer. The primary is the accept loop of
 * every connection in round-robin mode, so a lagging loop is a sick cluster: `/healthz` turns
 * 503 when the lag passes its bound.
 */
import { performance } from 'node:perf_hooks';

export interface LoopMonitor {
  /** The current lag, ms: the last timer's lateness, or how overdue the next one already is. */
  lagMs(): number;
  stop(): void;
}

export function startLoopMonitor(intervalMs = 500): LoopMonitor {
  let expected = performance.now() + intervalMs;
  let lastLagMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    lastLagMs = Math.max(0, now - expected);
    expected = now + intervalMs;
  }, intervalMs);
  timer.unref();
  return {
    lagMs() {
      // A request handled in the same loop turn as a late timer, but before it, still sees the lag.
      const overdue = Math.max(0, performance.now() - expected);
      return Math.max(lastLagMs, overdue);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
