/**
 * Leaving without dropping anything: stop taking traffic, let requests finish, wait for
 * background tasks, then exit.
 *
 *   serving ──retire / primary lost──► draining ──no request, no connection──► waiting-for-tasks
 *      │                                                 (sends `drained`)            │ no task
 *      └──────────── abandon (sends `lost`) ──────────────► exiting ◄────────────────┘ (final report)
 *
 * A retire waits for tasks without a bound of its own: the primary owns `max_task_wait`
 * and ends it with `abandon`. When the primary is gone nobody will, so that drain is
 * bounded by `gracefulTimeoutMs`.
 *
 * Long-lived connections (WebSockets, streams) have their own bound, `drain_timeout`, kept
 * here because the worker holds the sockets: the app is told the deadline at once (`onDrain`),
 * and whatever it has not closed by then is cut, and reported (`cut`) to the primary.
 */
import { TAG } from '../protocol';
import type { CutReason, TaskInfo } from '../protocol';
import type { CutResult, RequestTracker } from './requests';
import { startDrain } from './drain-api';
import type { TaskRegistry } from './tasks';
import type { Reporter } from './reporter';
import { connected, sendToPrimary } from './ipc';

export type DrainPhase = 'serving' | 'draining' | 'waiting-for-tasks' | 'exiting';

export interface DrainDeps {
  requests: RequestTracker;
  tasks: TaskRegistry;
  reporter: Reporter;
  /** One line to stderr. */
  log(line: string): void;
  exit(code: number): void;
  /**
   * The exit barrier: calls `done` once the primary has answered a round trip, so a connection
   * its round-robin handed over just before the listening handle closed is handed back rather
   * than stranded (see `SyncMessage`). Default: no barrier.
   */
  sync?(done: () => void): void;
}

export class Drain {
  private phase: DrainPhase = 'serving';
  private deadline: NodeJS.Timeout | null = null;
  private cutTimer: NodeJS.Timeout | null = null;
  private unsubscribeTasks: (() => void) | null = null;
  private lostLogged = false;

  constructor(private readonly deps: DrainDeps) {}

  get current(): DrainPhase {
    return this.phase;
  }

  /**
   * The primary retires this worker (recycle, reload, stop). `drainTimeoutMs` bounds the
   * long-lived connections (undefined from an older primary: no bound of the worker's own).
   */
  retire(idleGraceMs: number, drainTimeoutMs?: number, reason = 'retire'): void {
    // The app hears of the drain before it begins: a drain with nothing open ends at once.
    if (drainTimeoutMs !== undefined) this.boundConnections(drainTimeoutMs, reason);
    this.begin(idleGraceMs);
  }

  /**
   * The IPC channel closed: the primary exited or was killed. No new connection can
   * arrive; finish what is running, within `gracefulTimeoutMs`, and exit.
   */
  primaryLost(idleGraceMs: number, gracefulTimeoutMs: number, drainTimeoutMs = gracefulTimeoutMs): void {
    if (this.phase === 'exiting' || this.deadline !== null) return;
    const { inflight } = this.deps.requests.counts();
    const running = this.deps.tasks.stats().active;
    if (inflight > 0 || running > 0) {
      this.deps.log(
        `disconnected from the primary; finishing ${inflight} request(s) and ${running} task(s) ` +
          `(up to ${gracefulTimeoutMs} ms), then exiting`,
      );
    }
    // Ref'd on purpose: even if the app's work hangs on nothing, the worker exits
    // deliberately and says what it lost.
    this.deadline = setTimeout(() => this.giveUp(gracefulTimeoutMs), gracefulTimeoutMs);
    this.boundConnections(Math.min(drainTimeoutMs, gracefulTimeoutMs), 'primary-lost');
    this.begin(idleGraceMs);
  }

  /** The primary gives up on this worker's tasks: report them lost and exit at once. */
  abandon(): void {
    if (this.phase === 'exiting') return;
    this.phase = 'exiting';
    this.clearDeadline();
    this.cutConnections('abandoned');
    const tasks = this.deps.tasks.active();
    sendToPrimary({ [TAG]: 'lost', tasks });
    this.barrier(() => this.deps.exit(0));
  }

  /**
   * The process is exiting (its `exit` event). Without a primary — it died, or the app called
   * `process.disconnect()` — nobody else can account for tasks still running: they are logged
   * here, one by one, and the primary learns the outcome from the exit code alone. Returns true
   * when tasks were lost, so that the exit code is never 0 over them.
   */
  lostAtExit(): boolean {
    if (this.lostLogged || connected()) return false;
    const lost = this.deps.tasks.active();
    if (lost.length === 0) return false;
    this.lostLogged = true;
    this.deps.log(`exiting without a primary with ${lost.length} task(s) still running, lost:`);
    for (const task of lost) this.deps.log(`  lost task ${describe(task)}`);
    return true;
  }

  /** Re-evaluates progress; called whenever a request, connection or task ends. */
  check(): void {
    if (this.phase === 'serving' || this.phase === 'exiting') return;
    if (this.phase === 'draining') {
      if (!this.deps.requests.isIdle()) return;
      this.phase = 'waiting-for-tasks';
      sendToPrimary({ [TAG]: 'drained', activeTasks: this.deps.tasks.stats().active });
    }
    if (!this.deps.tasks.hasActive()) this.finish();
  }

  private begin(idleGraceMs: number): void {
    if (this.phase === 'exiting') return;
    this.deps.requests.drain(idleGraceMs);
    if (this.phase !== 'serving') return;
    this.phase = 'draining';
    this.unsubscribeTasks = this.deps.tasks.onChange(() => this.check());
    this.check();
  }

  /**
   * Tells the app at once (`onDrain`) and cuts what it has left open at the deadline. Only
   * the first call counts: the app was given one deadline.
   */
  private boundConnections(ms: number, reason: string): void {
    if (this.cutTimer !== null || this.phase === 'exiting') return;
    startDrain(Date.now() + ms, reason);
    // Unref'd: open sockets keep the worker alive, the timer alone must not.
    this.cutTimer = setTimeout(() => {
      if (this.phase === 'draining') this.cutConnections('drain_timeout');
    }, ms);
    this.cutTimer.unref();
  }

  /** Ends what the app left open and reports it: to the primary, or to stderr without one. */
  private cutConnections(reason: CutReason): CutResult {
    const cut = this.deps.requests.cut();
    const total = cut.counts.request + cut.counts.stream + cut.counts.upgraded;
    if (total === 0) return cut;
    if (connected()) {
      sendToPrimary({ [TAG]: 'cut', reason, counts: cut.counts, connections: cut.connections });
    } else {
      this.deps.log(`cut ${total} connection(s) the app had not closed (${reason}):`);
      for (const c of cut.connections) this.deps.log(`  cut ${c.kind} open ${c.openMs} ms${c.path ? ` path=${c.path}` : ''}`);
    }
    return cut;
  }

  private finish(): void {
    this.phase = 'exiting';
    this.clearDeadline();
    this.unsubscribeTasks?.();
    this.deps.reporter.stop();
    // The final counts (every task completed) go out before the exit, after the barrier: their
    // send callback also means every earlier reply (a handed-back connection) is on its way.
    this.barrier(() => this.deps.reporter.flush(() => this.deps.exit(0)));
  }

  private barrier(done: () => void): void {
    if (this.deps.sync) this.deps.sync(done);
    else done();
  }

  private giveUp(gracefulTimeoutMs: number): void {
    if (this.phase === 'exiting') return;
    this.phase = 'exiting';
    const lost = this.deps.tasks.active();
    const { inflight } = this.deps.requests.counts();
    this.cutConnections('abandoned');
    this.lostLogged = true;
    this.deps.log(
      `graceful timeout (${gracefulTimeoutMs} ms) passed without the primary; exiting with ` +
        `${inflight} request(s) in flight and ${lost.length} task(s) lost${lost.length ? ':' : ''}`,
    );
    for (const task of lost) this.deps.log(`  lost task ${describe(task)}`);
    this.deps.exit(lost.length > 0 || inflight > 0 ? 1 : 0);
  }

  private clearDeadline(): void {
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
    if (this.cutTimer !== null) clearTimeout(this.cutTimer);
  }

}

function describe(task: TaskInfo): string {
  const age = Date.now() - task.startedAt;
  return `${task.id} type=${task.type}${task.description ? ` description=${JSON.stringify(task.description)}` : ''} running ${age} ms`;
}
