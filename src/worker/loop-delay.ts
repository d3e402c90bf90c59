/**
 * Event-loop delay, p99 per report window, from the drift of an unref'd timer.
 *
 * Not `monitorEventLoopDelay`: its `reset()` also drops the next sample, so a block
 * starting right after a report (reports are sent from a timer) would go unseen.
 * Here the previous tick's time survives the window reset, so every stall is counted.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';

const SAMPLE_EVERY_MS = 20;

export class LoopDelayMonitor {
  private readonly histogram: RecordableHistogram = createHistogram();
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;

  start(): void {
    if (this.timer !== null) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** p99 of the delays sampled since the previous call, ms; 0 when none were sampled. */
  takeP99Ms(): number {
    // A stall still in progress shows as the time since the last tick.
    const pendingMs = Math.max(0, performance.now() - this.lastTick - SAMPLE_EVERY_MS);
    const p99Ms = this.histogram.count > 0 ? this.histogram.percentile(99) / 1000 : 0;
    this.histogram.reset();
    const value = Math.max(p99Ms, pendingMs);
    return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
  }

  private sample(): void {
    const now = performance.now();
    const delayMs = now - this.lastTick - SAMPLE_EVERY_MS;
    this.lastTick = now;
    // The histogram takes positive integers: record microseconds, at least 1.
    this.histogram.record(Math.max(1, Math.round(delayMs * 1000)));
  }
}
