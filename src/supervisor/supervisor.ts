/**
 * The supervisor loop: the one place that performs the policy's effects.
 *
 * Events (signals, worker messages, exits, ticks) are queued and handled one at a time:
 * policy.step(state, event) → (state, effects), then each effect is performed. Signal
 * handlers only enqueue. Nothing here runs per request: the primary is also the accept
 * loop for every connection in round-robin mode.
 */
import type { Settings } from '../config/types';
import { isPolicyMessage, routeOf, type SupervisorMessageKind, TAG, type TaskInfo, type WorkerMessage } from '../protocol';
import { QueueBoard } from '../bullmq/board';
import type { QueueAction, QueueActionResult } from '../bullmq/types';
import type { Clock, HostEvent, ProcessHost } from './host';
import { initialState, step } from './policy';
import { createSampler, type Usage } from './procstat';
import { activeSettings, liveWorkers } from './queries';
import type { ClusterState, Effect, MemorySample, PrimarySignal, SupervisorEvent } from './state';
import { TaskBroker } from './task-broker';

/** How often deadlines, backoffs and heartbeats are checked. */
export const TICK_MS = 100;

export interface SupervisorLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SupervisorDeps {
  settings: Settings;
  host: ProcessHost;
  clock: Clock;
  logger: SupervisorLogger;
  random?: () => number;
  /** Re-reads the config (SIGHUP / reload). Throws a one-line error when it is invalid. */
  reloadSettings?: () => Settings;
  /** Samples RSS and CPU of these pids; defaults to /proc (pidusage elsewhere). */
  sampleMemory?: (pids: number[]) => Promise<Usage>;
  /** Called once with the exit code when every worker is gone after a stop. */
  onExit: (code: number) => void;
}

type StepListener = (state: ClusterState, event: SupervisorEvent, effects: readonly Effect[]) => void;

/** What the supervisor does with each message of route `supervisor` (protocol.ts); the compiler asks for a row per kind. */
type SupervisorHandlers = { [K in SupervisorMessageKind]: (id: number, m: Extract<WorkerMessage, { [TAG]: K }>) => void };

export class Supervisor {
  private current: ClusterState;
  private readonly queue: SupervisorEvent[] = [];
  private draining = false;
  private readonly timers: unknown[] = [];
  private readonly stepListeners = new Set<StepListener>();
  private readonly badMessages = new Map<number, number>();
  private readonly taskRequests = new Map<number, (tasks: TaskInfo[], id: number) => void>();
  private nextRequestId = 1;
  /** BullMQ queues' hosts and counts, as workers report them (`smartworkers/bullmq`); shown, never acted on. */
  readonly queues = new QueueBoard();
  private readonly queueRequests = new Map<number, (results: QueueActionResult[]) => void>();
  private exited = false;
  private sampling = false;
  private sampler: ((pids: number[]) => Promise<Usage>) | null = null;
  /** Permits of limited task types and the `tasks` operations (see task-broker.ts). */
  readonly taskBroker: TaskBroker;

  constructor(private readonly deps: SupervisorDeps) {
    this.current = initialState(deps.settings, deps.clock.now());
    this.taskBroker = new TaskBroker(deps.host, () => this.current, () => deps.clock.now());
    this.onStep((_state, event) => {
      if (event.type === 'settings') this.taskBroker.settingsChanged();
      // A new worker starts with the task types paused before it was forked.
      else if (event.type === 'message' && event.message.$sw === 'hello') this.taskBroker.handle(event.id, event.message);
    });
    deps.host.onEvent((e) => this.onHostEvent(e));
  }

  get state(): ClusterState {
    return this.current;
  }

  get activeSettings(): Settings {
    return activeSettings(this.current);
  }

  start(): void {
    this.dispatch({ type: 'start' });
    this.timers.push(this.deps.clock.setInterval(() => this.dispatch({ type: 'tick' }), TICK_MS));
    const interval = Math.min(...Object.values(this.current.apps).map((a) => a.settings.memoryCheckInterval));
    this.timers.push(this.deps.clock.setInterval(() => void this.sampleMemory(), interval));
  }

  /** Queue a signal; called from the process's signal handlers (which do nothing else). */
  signal(signal: PrimarySignal): void {
    this.dispatch({ type: 'signal', signal });
  }

  dispatch(event: SupervisorEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue.shift()!;
        this.handle(next);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Called after every step (control waiters, status). */
  onStep(listener: StepListener): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  /** Asks each live worker for its active tasks; a worker silent past `timeoutMs` is skipped. */
  listTasks(timeoutMs = 1_000): Promise<Array<{ workerId: number; tasks: TaskInfo[] }>> {
    // A process worker has no task runtime to answer: asking it would only wait out the timeout.
    const targets = liveWorkers(this.current).filter((w) => w.pid !== null && w.state !== 'failed-boot' && this.current.apps[w.app]?.settings.kind !== 'process');
    return Promise.all(
      targets.map(
        (w) =>
          new Promise<{ workerId: number; tasks: TaskInfo[] }>((resolve) => {
            const requestId = this.nextRequestId++;
            const timer = setTimeout(() => {
              this.taskRequests.delete(requestId);
              resolve({ workerId: w.id, tasks: [] });
            }, timeoutMs);
            this.taskRequests.set(requestId, (tasks) => {
              clearTimeout(timer);
              this.taskRequests.delete(requestId);
              resolve({ workerId: w.id, tasks });
            });
            this.deps.host.send(w.id, { [TAG]: 'list-tasks', requestId });
          }),
      ),
    );
  }

  /**
   * Pauses or resumes queues in Redis through one live worker that processes each (the first
   * that answers within `timeoutMs`). A queue no worker processes gets an error result.
   */
  async queueCommand(action: QueueAction, names: string[], timeoutMs = 5_000): Promise<QueueActionResult[]> {
    const byWorker = new Map<number, string[]>();
    const results: QueueActionResult[] = [];
    for (const name of names) {
      const host = this.queues.hostsOf(name).find((id) => {
        const w = this.current.workers[id];
        return w !== undefined && w.pid !== null && w.state === 'ready';
      });
      if (host === undefined) results.push({ queue: name, ok: false, error: 'no ready worker processes this queue' });
      else byWorker.set(host, [...(byWorker.get(host) ?? []), name]);
    }
    const replies = await Promise.all(
      [...byWorker].map(
        ([id, queues]) =>
          new Promise<QueueActionResult[]>((resolve) => {
            const requestId = this.nextRequestId++;
            const timer = setTimeout(() => {
              this.queueRequests.delete(requestId);
              resolve(queues.map((queue) => ({ queue, ok: false, error: `worker ${id} did not answer within ${timeoutMs} ms` })));
            }, timeoutMs);
            this.queueRequests.set(requestId, (got) => {
              clearTimeout(timer);
              this.queueRequests.delete(requestId);
              resolve(got);
            });
            this.deps.host.send(id, { [TAG]: 'queue-command', requestId, action, queues });
          }),
      ),
    );
    return [...results, ...replies.flat()].sort((a, b) => a.queue.localeCompare(b.queue));
  }

  /**
   * Route `supervisor` (protocol.ts): answers to requests this supervisor made, what it only shows
   * (queues), and the task broker's own messages.
   */
  private readonly handlers: SupervisorHandlers = {
    tasks: (id, m) => this.taskRequests.get(m.requestId)?.(m.tasks, id),
    queues: (id, m) => this.queues.update(id, m.hosted, m.counts, m.sampledAt, Date.now()),
    'queue-reply': (_id, m) => this.queueRequests.get(m.requestId)?.(m.results),
    permits: (id, m) => this.taskBroker.handle(id, m),
    'task-reply': (id, m) => this.taskBroker.handle(id, m),
    history: (id, m) => this.taskBroker.handle(id, m),
  };

  private handle(event: SupervisorEvent): void {
    let effects: Effect[];
    try {
      const result = step(this.current, event, { now: this.deps.clock.now(), random: this.deps.random ?? Math.random });
      this.current = result.state;
      effects = result.effects;
    } catch (err) {
      // A bug in the policy must not take the primary (and every connection) down.
      this.deps.logger.error({ err, event: event.type }, 'internal error handling an event; state unchanged');
      return;
    }
    for (const effect of effects) this.perform(effect);
    for (const listener of this.stepListeners) {
      try {
        listener(this.current, event, effects);
      } catch (err) {
        this.deps.logger.error({ err }, 'internal error in a step listener');
      }
    }
  }

  private perform(effect: Effect): void {
    const { host, logger } = this.deps;
    switch (effect.type) {
      case 'fork': {
        const app = this.current.apps[effect.app]?.settings;
        if (!app) return;
        let pid: number;
        try {
          pid = host.fork({
            id: effect.id,
            app,
            slot: effect.slot,
            generation: effect.generation,
            requestLimit: effect.requestLimit,
            pmId: effect.pmId,
            instances: effect.instances,
          });
        } catch (err) {
          logger.error({ err, app: effect.app, slot: effect.slot }, 'fork failed');
          this.dispatch({ type: 'exit', id: effect.id, code: null, signal: null });
          return;
        }
        this.dispatch({ type: 'forked', id: effect.id, pid });
        return;
      }
      case 'send':
        host.send(effect.id, effect.message);
        return;
      case 'app-message':
        host.sendToApp(effect.id, effect.message);
        return;
      case 'kill':
        host.kill(effect.id, effect.signal);
        return;
      case 'log':
        logger[effect.level](effect.fields ?? {}, effect.msg);
        return;
      case 'rejected':
        logger.warn({ command: effect.command }, effect.reason);
        return;
      case 'reload-settings':
        this.reloadSettings();
        return;
      case 'exit':
        if (this.exited) return;
        this.exited = true;
        for (const t of this.timers) this.deps.clock.clearInterval(t);
        this.deps.onExit(effect.code);
        return;
    }
  }

  private reloadSettings(): void {
    if (!this.deps.reloadSettings) {
      this.dispatch({ type: 'settings', settings: activeSettings(this.current) });
      return;
    }
    try {
      const next = this.deps.reloadSettings();
      this.dispatch({ type: 'settings', settings: next });
    } catch (err) {
      this.dispatch({ type: 'settings-error', error: err instanceof Error ? err.message : String(err) });
    }
  }

  private onHostEvent(e: HostEvent): void {
    if (e.type === 'bad-message') {
      const count = (this.badMessages.get(e.id) ?? 0) + 1;
      this.badMessages.set(e.id, count);
      // Log the first few, then one line per thousand: a flood must not flood the log.
      if (count <= 3 || count % 1000 === 0) {
        this.deps.logger.warn({ worker: e.id, count, code: 'SW_IPC_MALFORMED' }, `dropped a malformed smartworkers message: ${e.error}`);
      }
      return;
    }
    if (e.type === 'message') {
      const m = e.message;
      if (isPolicyMessage(m)) this.dispatch({ type: 'message', id: e.id, message: m });
      else if (routeOf(m) === 'supervisor') (this.handlers[m.$sw as SupervisorMessageKind] as (id: number, m: WorkerMessage) => void)(e.id, m);
      return;
    }
    if (e.type === 'exit') {
      this.badMessages.delete(e.id);
      this.queues.forget(e.id);
      this.taskBroker.workerGone(e.id);
    }
    this.dispatch(e);
  }

  private async sampleMemory(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const byPid = new Map<number, number>();
      for (const w of liveWorkers(this.current)) if (w.pid !== null && w.pid > 0) byPid.set(w.pid, w.id);
      if (byPid.size === 0) return;
      const sample = (this.sampler ??= this.deps.sampleMemory ?? createSampler());
      const stats = await sample([...byPid.keys()]);
      const samples: MemorySample[] = [];
      for (const [pid, stat] of stats) {
        const id = byPid.get(pid);
        if (id !== undefined) samples.push({ id, rssBytes: stat.rss, cpuPercent: stat.cpu });
      }
      if (samples.length > 0) this.dispatch({ type: 'memory', samples });
    } catch (err) {
      this.deps.logger.debug({ err }, 'memory sample failed');
    } finally {
      this.sampling = false;
    }
  }
}
