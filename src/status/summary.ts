/**
 * The periodic one-line summary in the primary's log (`summary_interval`, default 30 s;
 * 0 turns it off):
 *
 *     workers 4/4 ready · 12 in flight · 3 tasks (email 2, sms 1) · recycles +2 (max_requests 1, reload 1)
 */
import { describeQueue } from '../bullmq/board';
import { RECYCLE_REASONS, type RecycleReason, type StatusSnapshot } from './snapshot';

export interface SummaryFields {
  workersReady: number;
  /** Live workers (every state but exited and failed-boot). */
  workersTotal: number;
  workersRetiring: number;
  inflight: number;
  activeTasks: number;
  activeTasksByType: Record<string, number>;
  /** Recycles since the previous summary (since start for the first one). */
  recycles: number;
  recyclesByReason: Partial<Record<RecycleReason, number>>;
  tasksLost: number;
  /** WebSockets (upgraded) and streaming responses open now, in every worker. */
  upgraded: number;
  streaming: number;
  /** Of those, held by draining workers, and the longest time left before they are cut, ms. */
  drainingLongLived: number;
  drainLeftMs: number;
  /** Connections cut since the previous summary. */
  connectionsCut: number;
  /** BullMQ queues' latest counts (`smartworkers/bullmq`), when any. */
  queues?: StatusSnapshot['queues'];
}

/** The numbers behind the line, for structured logs. */
export function summaryFields(prev: StatusSnapshot | null, now: StatusSnapshot): SummaryFields {
  const live = now.workers.filter((w) => w.state !== 'failed-boot');
  const recyclesByReason: Partial<Record<RecycleReason, number>> = {};
  let recycles = 0;
  for (const reason of RECYCLE_REASONS) {
    const delta = (now.totals.recyclesByReason[reason] ?? 0) - (prev?.totals.recyclesByReason[reason] ?? 0);
    if (delta > 0) {
      recyclesByReason[reason] = delta;
      recycles += delta;
    }
  }
  const activeTasksByType = { ...now.totals.activeTasksByType };
  const draining = live.filter((w) => w.drainLeftMs != null);
  return {
    workersReady: live.filter((w) => w.state === 'ready').length,
    workersTotal: live.length,
    workersRetiring: live.filter((w) => w.state === 'retiring' || w.state === 'waiting-for-tasks' || w.state === 'stopping').length,
    inflight: live.reduce((sum, w) => sum + w.inflight, 0),
    activeTasks: Object.values(activeTasksByType).reduce((sum, n) => sum + n, 0),
    activeTasksByType,
    recycles,
    recyclesByReason,
    tasksLost: Math.max(0, now.totals.tasksLost - (prev?.totals.tasksLost ?? 0)),
    upgraded: live.reduce((sum, w) => sum + (w.upgradedConnections ?? 0), 0),
    streaming: live.reduce((sum, w) => sum + (w.streamingResponses ?? 0), 0),
    drainingLongLived: draining.reduce((sum, w) => sum + (w.upgradedConnections ?? 0) + (w.streamingResponses ?? 0), 0),
    drainLeftMs: draining.reduce((ms, w) => Math.max(ms, w.drainLeftMs ?? 0), 0),
    connectionsCut: Math.max(0, (now.totals.connectionsCutTotal ?? 0) - (prev?.totals.connectionsCutTotal ?? 0)),
    ...(now.queues ? { queues: now.queues } : {}),
  };
}

/** One line: workers ready / total, in-flight requests, active tasks, recycles since `prev`. */
export function formatSummaryLine(prev: StatusSnapshot | null, now: StatusSnapshot): string {
  const f = summaryFields(prev, now);
  const parts = [`workers ${f.workersReady}/${f.workersTotal} ready${f.workersRetiring > 0 ? ` (${f.workersRetiring} retiring)` : ''}`];
  parts.push(`${f.inflight} in flight`);
  if (f.upgraded + f.streaming > 0) {
    let longLived = `${f.upgraded} ws · ${f.streaming} streaming`;
    if (f.drainingLongLived > 0) longLived += ` (${f.drainingLongLived} draining, cut in ${Math.ceil(f.drainLeftMs / 1000)}s at most)`;
    parts.push(longLived);
  }
  parts.push(`${f.activeTasks} ${f.activeTasks === 1 ? 'task' : 'tasks'}${f.activeTasks > 0 ? ` (${breakdown(f.activeTasksByType)})` : ''}`);
  parts.push(`recycles +${f.recycles}${f.recycles > 0 ? ` (${breakdown(f.recyclesByReason)})` : ''}`);
  if (f.tasksLost > 0) parts.push(`${f.tasksLost} ${f.tasksLost === 1 ? 'task' : 'tasks'} lost`);
  if (f.connectionsCut > 0) parts.push(`${f.connectionsCut} connection(s) cut`);
  for (const q of f.queues ?? []) parts.push(`queue ${describeQueue(q)}`);
  return parts.join(' · ');
}

function breakdown(counts: Record<string, number | undefined>): string {
  return Object.entries(counts)
    .filter((entry): entry is [string, number] => (entry[1] ?? 0) > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

export interface SummaryScheduleOptions {
  /** ms between lines; 0 = off. */
  intervalMs: number;
  snapshot: () => StatusSnapshot;
  /** Receives the line and its numbers, e.g. `(line, fields) => logger.info({ summary: fields }, line)`. */
  log: (line: string, fields: SummaryFields) => void;
}

export interface SummarySchedule {
  stop(): void;
}

/**
 * Logs a summary line every `intervalMs` (the timer is unref'd: it never keeps the primary
 * alive). A snapshot that throws skips that line.
 */
export function scheduleSummary(options: SummaryScheduleOptions): SummarySchedule {
  if (!(options.intervalMs > 0)) return { stop() {} };
  let prev: StatusSnapshot | null = null;
  const timer = setInterval(() => {
    let now: StatusSnapshot;
    try {
      now = options.snapshot();
    } catch {
      return;
    }
    options.log(formatSummaryLine(prev, now), summaryFields(prev, now));
    prev = now;
  }, options.intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
