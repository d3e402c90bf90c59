/**
 * A fake ClusterControl for the control socket, CLI and status server tests: it records
 * each call and answers from a snapshot the test can change.
 */
import type { ActionResult, ActiveTask, ClusterControl, RecycleTarget, ScaleSpec } from '../../src/control/types';
import type { StatusSnapshot, WorkerStatus } from '../../src/status/snapshot';

export function makeWorker(overrides: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    app: 'api',
    id: 1,
    slot: 0,
    pid: 4101,
    generation: 1,
    state: 'ready',
    uptimeMs: 61_000,
    served: 1234,
    requestLimit: 10_000,
    inflight: 3,
    connections: 5,
    idleConnections: 2,
    upgradedConnections: 0,
    streamingResponses: 0,
    drainLeftMs: null,
    activeTasks: 2,
    activeTasksByType: { email: 2 },
    rssBytes: 80 * 1024 * 1024,
    cpuPercent: 3.5,
    loopDelayMs: 1.2,
    heartbeatAgeMs: 400,
    restarts: 0,
    retireReason: null,
    ...overrides,
  };
}

export function makeSnapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    version: 1,
    primary: {
      pid: 4100,
      uptimeMs: 192_000,
      phase: 'running',
      configSource: '/srv/app/workers.yaml',
      node: 'v20.20.2',
      rssBytes: 45 * 1024 * 1024,
    },
    apps: [{ name: 'api', script: '/srv/app/server.js', desiredWorkers: 2, readyWorkers: 2, stoppedSlots: [] }],
    workers: [
      makeWorker(),
      makeWorker({ id: 2, slot: 1, pid: 4102, served: 99, inflight: 0, activeTasks: 0, activeTasksByType: {}, rssBytes: null, cpuPercent: null, loopDelayMs: null, heartbeatAgeMs: null }),
    ],
    totals: {
      tasksStarted: 120,
      tasksCompleted: 110,
      tasksFailed: 3,
      tasksCancelled: 4,
      tasksLost: 1,
      activeTasksByType: { email: 2 },
      recyclesByReason: { max_requests: 3, memory: 1, memory_hard: 0, timeout: 0, reload: 2, manual: 0, crash: 0, scale: 0, signal: 0 },
      recyclesDelayedByTasks: 2,
      processesKilled: 0,
      connectionsCutTotal: 0,
      connectionsCut: {},
      taskWaitTotalMs: 4100,
      requestsServed: 123_456,
    },
    ...overrides,
  };
}

export type ControlCall =
  | { method: 'snapshot' }
  | { method: 'listTasks' }
  | { method: 'reload'; app: string | undefined; wait: boolean }
  | { method: 'recycle'; target: RecycleTarget; force: boolean; wait: boolean }
  | { method: 'scale'; spec: ScaleSpec; wait: boolean }
  | { method: 'stop'; force: boolean };

export class FakeControl implements ClusterControl {
  calls: ControlCall[] = [];
  current: StatusSnapshot = makeSnapshot();
  tasks: ActiveTask[] = [];
  ready = true;
  /** Answer of the next action; a function may throw to test error replies. */
  actionResult: () => ActionResult | Promise<ActionResult> = () => ({ ok: true, message: 'done' });
  /** Called by `stop()`, e.g. to close the control server as the primary would. */
  onStop: () => void = () => {};

  snapshot(): StatusSnapshot {
    this.calls.push({ method: 'snapshot' });
    return this.current;
  }

  async listTasks(): Promise<ActiveTask[]> {
    this.calls.push({ method: 'listTasks' });
    return this.tasks;
  }

  async reload(app: string | undefined, wait: boolean): Promise<ActionResult> {
    this.calls.push({ method: 'reload', app, wait });
    return this.actionResult();
  }

  async recycle(target: RecycleTarget, force: boolean, wait: boolean): Promise<ActionResult> {
    this.calls.push({ method: 'recycle', target, force, wait });
    return this.actionResult();
  }

  async scale(spec: ScaleSpec, wait: boolean): Promise<ActionResult> {
    this.calls.push({ method: 'scale', spec, wait });
    return this.actionResult();
  }

  async stop(force: boolean): Promise<ActionResult> {
    this.calls.push({ method: 'stop', force });
    const result = await this.actionResult();
    setImmediate(() => this.onStop());
    return result;
  }

  isReady(minReady: number): boolean {
    return this.ready && this.current.workers.filter((w) => w.state === 'ready').length >= minReady;
  }

  /** The calls other than snapshot(), for assertions on actions. */
  actions(): ControlCall[] {
    return this.calls.filter((c) => c.method !== 'snapshot');
  }
}
