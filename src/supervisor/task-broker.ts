/**
 * The primary's side of managed background tasks: the permits of limited types (held here for
 * every worker of an app), the `tasks` CLI operations (cancel, history, pause, resume) fanned
 * out to the workers, and the history of workers that have exited.
 *
 * Outside the policy on purpose: a permit request is not a lifecycle event, and at thousands
 * a second it must cost a Map lookup, not a state copy. What the policy must decide on (a hard
 * time limit recycles a worker, an overdue task is logged) still goes through it as a message.
 * Nothing here runs for a task type without a limit: those never send a message.
 */
import { TAG, type TaskHistoryEntry, type TaskInfo, type TaskOp, type WorkerMessage } from '../protocol';
import type { ProcessHost } from './host';
import { PermitPools, type TypePermitStats } from './permits';
import { liveWorkers } from './queries';
import type { ClusterState } from './state';

/** Bounds of a permit wait, seconds (Prometheus histogram buckets). */
export const PERMIT_WAIT_BUCKETS = [0.001, 0.01, 0.1, 1, 10, 60] as const;

export interface PermitWaits {
  /** Cumulative counts per bucket of PERMIT_WAIT_BUCKETS, then +Inf. */
  buckets: number[];
  count: number;
  sumSeconds: number;
}

/** What `status`, `/status` and `/metrics` show of managed tasks, per app. */
export interface TaskManagementStatus {
  /** Limited types: permits, in use, queued in the primary. */
  permits: Record<string, TypePermitStats>;
  /** Types paused now (`*` = every type). */
  paused: string[];
  permitWaits: PermitWaits;
  /** Managed counters of live and exited workers. */
  queuedByType: Record<string, number>;
  overdue: number;
  softLimitHits: number;
  hardLimitHits: number;
  retries: number;
}

export interface WorkerAnswer {
  workerId: number;
  result: unknown;
}

interface PauseState {
  all: boolean;
  types: Set<string>;
}

type ExitedCounts = { overdue: number; softLimitHits: number; hardLimitHits: number; retries: number };

export class TaskBroker {
  private readonly pools = new Map<string, PermitPools>();
  private readonly waits = new Map<string, PermitWaits>();
  private readonly paused = new Map<string, PauseState>();
  private readonly exitedHistory = new Map<string, Array<TaskHistoryEntry & { workerId: number; slot: number }>>();
  private readonly exitedCounts = new Map<string, ExitedCounts>();
  private readonly replies = new Map<number, (answer: unknown) => void>();
  private nextRequestId = 1;

  constructor(
    private readonly host: Pick<ProcessHost, 'send'>,
    private readonly state: () => ClusterState,
    private readonly now: () => number,
  ) {}

  /** Handles the messages that are this module's alone; false = the policy's. */
  handle(id: number, message: WorkerMessage): boolean {
    switch (message[TAG]) {
      case 'permits':
        this.onPermits(id, message.acquire, message.release);
        return true;
      case 'task-reply':
        this.replies.get(message.requestId)?.(message.result);
        return true;
      case 'history':
        this.onHistory(id, message.entries);
        return true;
      case 'hello':
        this.sendPauses(id);
        return false;
      default:
        return false;
    }
  }

  /** Before the policy sees the exit: what the worker held comes back, its counters are kept. */
  workerGone(id: number): void {
    const w = this.state().workers[id];
    if (!w) return;
    this.pools.get(w.app)?.workerGone(id);
    const managed = w.tasks.managed;
    if (managed) {
      const kept = this.exitedCounts.get(w.app) ?? { overdue: 0, softLimitHits: 0, hardLimitHits: 0, retries: 0 };
      kept.overdue += managed.overdue;
      kept.softLimitHits += managed.softLimitHits;
      kept.hardLimitHits += managed.hardLimitHits;
      kept.retries += managed.retries;
      this.exitedCounts.set(w.app, kept);
    }
    this.flush(w.app);
  }

  /** Settings were reloaded: limits change for the workers forked from now on, and the queue. */
  settingsChanged(): void {
    for (const [app, pools] of this.pools) {
      const settings = this.state().apps[app]?.settings;
      if (settings) pools.setLimits(limitsOf(settings.taskTypes));
      this.flush(app);
    }
  }

  private poolsOf(app: string): PermitPools {
    let pools = this.pools.get(app);
    if (pools === undefined) {
      pools = new PermitPools(limitsOf(this.state().apps[app]?.settings.taskTypes ?? {}));
      this.pools.set(app, pools);
    }
    return pools;
  }

  private onPermits(id: number, acquire: Array<[number, string, number]>, release: number[]): void {
    const w = this.state().workers[id];
    if (!w) return;
    const pools = this.poolsOf(w.app);
    // Returns first: a permit given back in the same batch can go to one of the new requests.
    for (const ref of release) pools.release(id, ref);
    const now = this.now();
    for (const [ref, type, priority] of acquire) pools.acquire(id, ref, type, priority, now);
    this.flush(w.app);
  }

  /** Sends the grants that are due, one message per worker. */
  private flush(app: string): void {
    const pools = this.pools.get(app);
    if (!pools) return;
    const grants = pools.grants(this.now());
    if (grants.length === 0) return;
    const waits = this.waitsOf(app);
    const byWorker = new Map<number, number[]>();
    for (const g of grants) {
      let refs = byWorker.get(g.worker);
      if (refs === undefined) byWorker.set(g.worker, (refs = []));
      refs.push(g.ref);
      observe(waits, g.waitedMs / 1000);
    }
    for (const [worker, refs] of byWorker) this.host.send(worker, { [TAG]: 'grant', refs });
  }

  private waitsOf(app: string): PermitWaits {
    let waits = this.waits.get(app);
    if (waits === undefined) {
      waits = { buckets: new Array<number>(PERMIT_WAIT_BUCKETS.length + 1).fill(0), count: 0, sumSeconds: 0 };
      this.waits.set(app, waits);
    }
    return waits;
  }

  private onHistory(id: number, entries: TaskHistoryEntry[]): void {
    const w = this.state().workers[id];
    if (!w) return;
    const bound = Math.max(0, this.state().apps[w.app]?.settings.taskHistory ?? 100);
    // Per app, the last `task_history` × workers entries of exited workers: bounded whatever the churn.
    const limit = bound * Math.max(1, this.state().apps[w.app]?.desired ?? 1);
    const kept = [...(this.exitedHistory.get(w.app) ?? []), ...entries.map((e) => ({ ...e, workerId: id, slot: w.slot }))];
    this.exitedHistory.set(w.app, kept.slice(-limit));
  }

  // ---------------------------------------------------------------- operations

  /** Sends `op` to every live worker (of `app`, or all) and collects the answers; silent ones are skipped. */
  ask(op: TaskOp, fields: { id?: string; type?: string }, app?: string, timeoutMs = 1_000): Promise<WorkerAnswer[]> {
    const state = this.state();
    // Process workers (no task runtime) never answer: skipped, not waited for.
    const targets = liveWorkers(state, app).filter((w) => w.pid !== null && w.state !== 'failed-boot' && !w.untracked && state.apps[w.app]?.settings.kind !== 'process');
    return Promise.all(
      targets.map(
        (w) =>
          new Promise<WorkerAnswer | null>((resolve) => {
            const requestId = this.nextRequestId++;
            const timer = setTimeout(() => {
              this.replies.delete(requestId);
              resolve(null);
            }, timeoutMs);
            this.replies.set(requestId, (result) => {
              clearTimeout(timer);
              this.replies.delete(requestId);
              resolve({ workerId: w.id, result });
            });
            this.host.send(w.id, { [TAG]: 'task-op', requestId, op, ...fields });
          }),
      ),
    ).then((answers) => answers.filter((a): a is WorkerAnswer => a !== null));
  }

  /** Remembers a pause or resume, so that workers forked later start with it. */
  setPaused(app: string, type: string | undefined, paused: boolean): void {
    const state = this.paused.get(app) ?? { all: false, types: new Set<string>() };
    if (type === undefined) {
      state.all = paused;
      if (!paused) state.types.clear();
    } else if (paused) state.types.add(type);
    else state.types.delete(type);
    this.paused.set(app, state);
  }

  private sendPauses(id: number): void {
    const w = this.state().workers[id];
    const state = w && this.paused.get(w.app);
    if (!state) return;
    if (state.all) this.host.send(id, { [TAG]: 'task-op', requestId: 0, op: 'pause' });
    for (const type of state.types) this.host.send(id, { [TAG]: 'task-op', requestId: 0, op: 'pause', type });
  }

  /** History of workers that have exited (newest last), with their worker id, slot and app. */
  exited(app?: string): Array<TaskHistoryEntry & { workerId: number; slot: number; app: string }> {
    const out: Array<TaskHistoryEntry & { workerId: number; slot: number; app: string }> = [];
    for (const [name, entries] of this.exitedHistory) {
      if (app === undefined || app === name) for (const e of entries) out.push({ ...e, app: name });
    }
    return out;
  }

  /** The app of a worker whose history is kept. */
  appOf(workerId: number): string | undefined {
    for (const [name, entries] of this.exitedHistory) if (entries.some((e) => e.workerId === workerId)) return name;
    return undefined;
  }

  /** Per app, for status and metrics. Empty for an app without task settings or managed tasks. */
  status(): Record<string, TaskManagementStatus> {
    const state = this.state();
    const out: Record<string, TaskManagementStatus> = {};
    for (const [name, app] of Object.entries(state.apps)) {
      const pools = this.pools.get(name);
      const paused = this.paused.get(name);
      const exited = this.exitedCounts.get(name);
      const live = liveWorkers(state, name).filter((w) => w.tasks.managed !== undefined);
      const configured = Object.keys(app.settings.taskTypes ?? {}).length > 0;
      if (!configured && !pools && !paused && !exited && live.length === 0) continue;
      const status: TaskManagementStatus = {
        permits: { ...limitedStats(app.settings.taskTypes ?? {}), ...(pools?.stats() ?? {}) },
        paused: paused ? [...(paused.all ? ['*'] : []), ...paused.types] : [],
        permitWaits: this.waits.get(name) ?? { buckets: new Array<number>(PERMIT_WAIT_BUCKETS.length + 1).fill(0), count: 0, sumSeconds: 0 },
        queuedByType: {},
        overdue: exited?.overdue ?? 0,
        softLimitHits: exited?.softLimitHits ?? 0,
        hardLimitHits: exited?.hardLimitHits ?? 0,
        retries: exited?.retries ?? 0,
      };
      for (const w of live) {
        const m = w.tasks.managed!;
        for (const [type, n] of Object.entries(m.queuedByType)) status.queuedByType[type] = (status.queuedByType[type] ?? 0) + n;
        status.overdue += m.overdue;
        status.softLimitHits += m.softLimitHits;
        status.hardLimitHits += m.hardLimitHits;
        status.retries += m.retries;
      }
      out[name] = status;
    }
    return out;
  }
}

function limitsOf(types: Readonly<Record<string, { concurrency: number }>>): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [type, settings] of Object.entries(types)) if (settings.concurrency > 0) limits[type] = settings.concurrency;
  return limits;
}

function limitedStats(types: Readonly<Record<string, { concurrency: number }>>): Record<string, TypePermitStats> {
  const out: Record<string, TypePermitStats> = {};
  for (const [type, limit] of Object.entries(limitsOf(types))) out[type] = { limit, inUse: 0, queued: 0 };
  return out;
}

function observe(waits: PermitWaits, seconds: number): void {
  waits.count++;
  waits.sumSeconds += seconds;
  for (let i = 0; i < PERMIT_WAIT_BUCKETS.length; i++) if (seconds <= PERMIT_WAIT_BUCKETS[i]!) waits.buckets[i]!++;
  waits.buckets[PERMIT_WAIT_BUCKETS.length]!++;
}

/** A task as the CLI lists it, with where it runs. */
export type { TaskInfo };
