/**
 * Prometheus metrics, built at scrape time from one {@link StatusSnapshot}: nothing is counted
 * on a hot path, and the registry is private (not prom-client's global one).
 *
 * Names are stable and prefixed `smartworkers_`; units are base units (seconds, bytes).
 * Per-worker series carry `app`, `slot` and `worker_id`; a worker that has exited drops out
 * of the next scrape.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ClusterControl } from '../control/types';
import { registerQueueMetrics } from '../bullmq/metrics';
import { registerTaskMetrics } from './task-metrics';
import { RECYCLE_REASONS, SLOT_STOP_REASONS, type StatusSnapshot, type WorkerStateName, type WorkerStatus } from './snapshot';

export const WORKER_STATES: readonly WorkerStateName[] = [
  'starting', 'ready', 'retiring', 'waiting-for-tasks', 'stopping', 'failed-boot',
];

export const PRIMARY_PHASES = ['running', 'reloading', 'stopping'] as const;

const WORKER_LABELS = ['app', 'slot', 'worker_id'] as const;
type WorkerLabel = (typeof WORKER_LABELS)[number];

export interface StatusMetrics {
  readonly registry: Registry;
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string;
  /** Takes one snapshot and renders every metric from it. */
  render(): Promise<string>;
}

export interface StatusMetricsOptions {
  /** The primary's current event-loop lag, ms (from the status server's loop monitor). */
  primaryLoopLagMs?: () => number | null;
}

/** Per-worker gauges: name, help, and how to read the value (null = no sample yet, no series). */
const WORKER_GAUGES: ReadonlyArray<[string, string, (w: WorkerStatus) => number | null]> = [
  ['smartworkers_worker_generation', 'Generation of the worker in its slot (increases with each replacement).', (w) => w.generation],
  ['smartworkers_worker_uptime_seconds', 'Seconds since the worker was forked.', (w) => w.uptimeMs / 1000],
  ['smartworkers_worker_request_limit', "The worker's request limit (max_requests plus its jitter draw); 0 = none.", (w) => w.requestLimit],
  ['smartworkers_worker_inflight_requests', 'HTTP requests the worker is handling now.', (w) => w.inflight],
  ['smartworkers_worker_connections', 'Open HTTP connections of the worker.', (w) => w.connections],
  ['smartworkers_worker_idle_connections', 'Keep-alive connections of the worker with nothing in flight.', (w) => w.idleConnections ?? null],
  ['smartworkers_worker_upgraded_connections', 'Upgraded connections (WebSocket) the worker holds open.', (w) => w.upgradedConnections ?? null],
  ['smartworkers_worker_streaming_responses', 'Responses of the worker whose headers went out and which have not ended (SSE, downloads).', (w) => w.streamingResponses ?? null],
  ['smartworkers_worker_drain_left_seconds', "A draining worker: seconds until the long-lived connections it still holds are cut (drain_timeout).", (w) => secondsOrNull(w.drainLeftMs ?? null)],
  ['smartworkers_worker_active_tasks', 'Background tasks the worker is running now.', (w) => w.activeTasks],
  ['smartworkers_worker_rss_bytes', 'Resident set size of the worker process, bytes (last sample).', (w) => w.rssBytes],
  ['smartworkers_worker_cpu_percent', 'CPU use of the worker process, percent of one core (last sample).', (w) => w.cpuPercent],
  ['smartworkers_worker_event_loop_delay_seconds', "p99 event-loop delay the worker last reported, seconds.", (w) => secondsOrNull(w.loopDelayMs)],
  ['smartworkers_worker_heartbeat_age_seconds', "Seconds since the worker's last heartbeat.", (w) => secondsOrNull(w.heartbeatAgeMs)],
  ['smartworkers_worker_slot_restarts', "Restarts of the worker's slot so far.", (w) => w.restarts],
];

export function createStatusMetrics(control: ClusterControl, options: StatusMetricsOptions = {}): StatusMetrics {
  const registry = new Registry();
  let current: StatusSnapshot | null = null;
  /** prom-client calls every collect() synchronously at the start of metrics(): one snapshot serves them all. */
  const snapshot = (): StatusSnapshot => current ?? control.snapshot();
  const registers = [registry];

  const workerLabels = (w: WorkerStatus): Record<WorkerLabel, string> => ({
    app: w.app,
    slot: String(w.slot),
    worker_id: String(w.id),
  });

  // ------------------------------------------------------------ per worker
  new Gauge({
    name: 'smartworkers_worker_state',
    help: 'Lifecycle state of each worker: 1 for its current state, 0 for the others.',
    labelNames: [...WORKER_LABELS, 'state'],
    registers,
    collect() {
      this.reset();
      for (const w of snapshot().workers) {
        for (const state of WORKER_STATES) this.set({ ...workerLabels(w), state }, w.state === state ? 1 : 0);
      }
    },
  });
  for (const [name, help, read] of WORKER_GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: WORKER_LABELS,
      registers,
      collect() {
        this.reset();
        for (const w of snapshot().workers) {
          const value = read(w);
          if (value !== null && Number.isFinite(value)) this.set(workerLabels(w), value);
        }
      },
    });
  }
  new Counter({
    name: 'smartworkers_worker_requests_served_total',
    help: 'HTTP requests the worker has started since it was forked.',
    labelNames: WORKER_LABELS,
    registers,
    collect() {
      this.reset();
      for (const w of snapshot().workers) this.inc(workerLabels(w), w.served);
    },
  });

  // ------------------------------------------------------------ cluster
  const counter = (name: string, help: string, read: (s: StatusSnapshot) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(snapshot()));
      },
    });
  };
  registerTaskMetrics(registers, snapshot);
  counter('smartworkers_requests_served_total', 'HTTP requests served by all workers, including exited ones.', (s) => s.totals.requestsServed);
  counter('smartworkers_tasks_started_total', 'Background tasks started in all workers.', (s) => s.totals.tasksStarted);
  new Counter({
    name: 'smartworkers_tasks_finished_total',
    help: 'Background tasks that ended, by outcome (lost = still running when its worker exited).',
    labelNames: ['outcome'],
    registers,
    collect() {
      const { totals } = snapshot();
      this.reset();
      this.inc({ outcome: 'completed' }, totals.tasksCompleted);
      this.inc({ outcome: 'failed' }, totals.tasksFailed);
      this.inc({ outcome: 'cancelled' }, totals.tasksCancelled);
      this.inc({ outcome: 'lost' }, totals.tasksLost);
    },
  });
  new Counter({
    name: 'smartworkers_recycles_total',
    help: 'Workers recycled, by reason.',
    labelNames: ['reason'],
    registers,
    collect() {
      const { recyclesByReason } = snapshot().totals;
      this.reset();
      for (const reason of RECYCLE_REASONS) this.inc({ reason }, recyclesByReason[reason] ?? 0);
    },
  });
  counter(
    'smartworkers_recycles_delayed_by_tasks_total',
    'Recycles whose worker waited for background tasks before exiting.',
    (s) => s.totals.recyclesDelayedByTasks,
  );
  counter(
    'smartworkers_recycle_task_wait_seconds_total',
    'Total seconds retired workers spent waiting for background tasks.',
    (s) => s.totals.taskWaitTotalMs / 1000,
  );
  new Counter({
    name: 'smartworkers_connections_cut_total',
    help: 'Requests, streams and upgraded connections smartworkers ended before the app did, by kind (request, stream, upgraded) and reason (drain_timeout, abandoned, killed).',
    labelNames: ['kind', 'reason'],
    registers,
    collect() {
      const cut = snapshot().totals.connectionsCut ?? {};
      this.reset();
      for (const [kind, byReason] of Object.entries(cut)) {
        for (const [reason, n] of Object.entries(byReason)) this.inc({ kind, reason }, n);
      }
    },
  });
  counter(
    'smartworkers_processes_killed_total',
    'Processes workers left running after they exited, ended by the primary (SIGTERM, then SIGKILL).',
    (s) => s.totals.processesKilled,
  );
  new Gauge({
    name: 'smartworkers_active_tasks',
    help: 'Background tasks running now in all workers, by type.',
    labelNames: ['type'],
    registers,
    collect() {
      this.reset();
      for (const [type, count] of Object.entries(snapshot().totals.activeTasksByType)) this.set({ type }, count);
    },
  });
  registerQueueMetrics(registers, snapshot);
  new Gauge({
    name: 'smartworkers_workers_desired',
    help: 'Workers each app should run.',
    labelNames: ['app'],
    registers,
    collect() {
      this.reset();
      for (const app of snapshot().apps) this.set({ app: app.name }, app.desiredWorkers);
    },
  });
  new Gauge({
    name: 'smartworkers_workers_ready',
    help: 'Workers of each app that are ready and taking traffic.',
    labelNames: ['app'],
    registers,
    collect() {
      this.reset();
      for (const app of snapshot().apps) this.set({ app: app.name }, app.readyWorkers);
    },
  });
  new Gauge({
    name: 'smartworkers_slots_stopped',
    help: 'Slots of each app left empty until the next reload (autorestart off, or max_restarts reached).',
    labelNames: ['app', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const app of snapshot().apps) {
        for (const reason of SLOT_STOP_REASONS) {
          this.set({ app: app.name, reason }, app.stoppedSlots.filter((s) => s.reason === reason).length);
        }
      }
    },
  });
  new Gauge({
    name: 'smartworkers_app_info',
    help: 'Always 1: what each app is (`kind`: cluster or process) and what its workers run (`command`).',
    labelNames: ['app', 'kind', 'command'],
    registers,
    collect() {
      this.reset();
      for (const app of snapshot().apps) this.set({ app: app.name, kind: app.kind ?? 'cluster', command: app.command ?? app.script }, 1);
    },
  });
  new Gauge({
    name: 'smartworkers_app_failed',
    help: 'Per app: 1 when it was given up because its first workers could not boot (the other apps keep running), else 0.',
    labelNames: ['app'],
    registers,
    collect() {
      this.reset();
      for (const app of snapshot().apps) this.set({ app: app.name }, app.failure === undefined ? 0 : 1);
    },
  });
  counter(
    'smartworkers_apps_failed_total',
    'Apps given up because their first workers could not boot, over the primary\'s life.',
    (s) => s.totals.appsFailed ?? 0,
  );
  new Gauge({
    name: 'smartworkers_workers',
    help: 'Live workers of each app, by lifecycle state.',
    labelNames: ['app', 'state'],
    registers,
    collect() {
      const s = snapshot();
      this.reset();
      for (const app of s.apps) {
        for (const state of WORKER_STATES) {
          this.set({ app: app.name, state }, s.workers.filter((w) => w.app === app.name && w.state === state).length);
        }
      }
    },
  });

  // ------------------------------------------------------------ primary
  new Gauge({
    name: 'smartworkers_primary_uptime_seconds',
    help: 'Seconds since the primary started.',
    registers,
    collect() {
      this.set(snapshot().primary.uptimeMs / 1000);
    },
  });
  new Gauge({
    name: 'smartworkers_primary_rss_bytes',
    help: 'Resident set size of the primary process, bytes.',
    registers,
    collect() {
      this.set(snapshot().primary.rssBytes);
    },
  });
  new Gauge({
    name: 'smartworkers_primary_phase',
    help: "The primary's phase: 1 for the current one (running, reloading, stopping), 0 for the others.",
    labelNames: ['phase'],
    registers,
    collect() {
      const { phase } = snapshot().primary;
      this.reset();
      for (const known of PRIMARY_PHASES) this.set({ phase: known }, phase === known ? 1 : 0);
    },
  });
  if (options.primaryLoopLagMs) {
    const read = options.primaryLoopLagMs;
    new Gauge({
      name: 'smartworkers_primary_event_loop_lag_seconds',
      help: "How late the primary's event loop last ran a timer, seconds (it is every connection's accept loop).",
      registers,
      collect() {
        this.reset();
        const lag = read();
        if (lag !== null) this.set(lag / 1000);
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      current = control.snapshot();
      try {
        const rendering = registry.metrics(); // runs every collect() before it first awaits
        current = null;
        return await rendering;
      } finally {
        current = null;
      }
    },
  };
}

function secondsOrNull(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}
