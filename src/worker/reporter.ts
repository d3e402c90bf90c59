/**
 * The worker's only regular message: a `report` of cumulative counters, which is also
 * the heartbeat.
 *
 * - A change (request, task) only marks the reporter dirty: one boolean test per event.
 * - A dirty reporter sends at most every `reportIntervalMs`; a clean one still sends
 *   every `heartbeatMs`. A blocked event loop runs no timers and so sends nothing:
 *   the silence is what the primary's hang detection watches.
 * - Reaching `requestLimit` sends at once, so the replacement starts without waiting
 *   for the window.
 * Timers are unref'd: reporting never keeps a worker alive.
 */
import { PROTOCOL_VERSION, TAG } from '../protocol';
import type { ReportMessage, TaskCounters } from '../protocol';
import type { RequestCounts } from './requests';
import { LoopDelayMonitor } from './loop-delay';
import { sendToPrimary } from './ipc';

export interface ReporterSources {
  requests(): RequestCounts;
  tasks(): TaskCounters;
}

export interface ReporterOptions {
  heartbeatMs: number;
  reportIntervalMs: number;
  requestLimit: number;
}

export class Reporter {
  private dirty = false;
  private lastSentAt = 0;
  private coalesceTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly loopDelay = new LoopDelayMonitor();

  constructor(
    private readonly sources: ReporterSources,
    private readonly options: ReporterOptions,
  ) {}

  /** Sends `hello` and starts the heartbeat. */
  start(): void {
    sendToPrimary({ [TAG]: 'hello', protocol: PROTOCOL_VERSION, pid: process.pid, node: process.version });
    this.loopDelay.start();
    this.lastSentAt = Date.now();
    this.heartbeatTimer = setTimeout(() => this.flush(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** Something changed: report it within the coalescing window. */
  markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    const wait = Math.max(0, this.lastSentAt + this.options.reportIntervalMs - Date.now());
    this.coalesceTimer = setTimeout(() => this.flush(), wait);
    this.coalesceTimer.unref();
  }

  /** A request started; `served` is the new total. */
  onRequest(served: number): void {
    if (served === this.options.requestLimit) this.flush();
    else this.markDirty();
  }

  /** Sends a report now; `done` runs once it is on its way (or cannot be sent). */
  flush(done?: () => void): void {
    if (this.coalesceTimer !== null) {
      clearTimeout(this.coalesceTimer);
      this.coalesceTimer = null;
    }
    this.dirty = false;
    this.lastSentAt = Date.now();
    // refresh() restarts the heartbeat countdown without allocating a new timer.
    this.heartbeatTimer?.refresh();
    sendToPrimary(this.report(), done);
  }

  /** Stops every timer (before exit). */
  stop(): void {
    if (this.coalesceTimer !== null) clearTimeout(this.coalesceTimer);
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.coalesceTimer = null;
    this.heartbeatTimer = null;
    this.loopDelay.stop();
  }

  private report(): ReportMessage {
    const { served, inflight, connections, idle, upgraded, streaming } = this.sources.requests();
    return {
      [TAG]: 'report',
      served,
      inflight,
      connections,
      idle,
      upgraded,
      streaming,
      tasks: this.sources.tasks(),
      loopDelayMs: this.loopDelay.takeP99Ms(),
    };
  }
}
