/** `smartworkers status [--watch] [--json]` */
import { describeQueue } from '../../bullmq/board';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendCommand } from '../../control/client';
import { EXIT, SmartworkersError } from '../../errors';
import { RECYCLE_REASONS, type StatusSnapshot, type WorkerStatus } from '../../status/snapshot';
import { formatBytes, formatCounts, formatDelay, formatDuration, formatPercent, renderTable } from './format';
import { runReportingErrors, timeoutMs, type CommandIO, type ConnectionOptions } from './io';
import { resolveSocketPath } from './socket';

export interface StatusOptions extends ConnectionOptions {
  json?: boolean;
  watch?: boolean;
}

const STATUS_TIMEOUT_MS = 5000;

/** Prints the status once. Exit code 0, or the error's code when no cluster answers. */
export function runStatus(options: StatusOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    let socketPath: string;
    try {
      socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    } catch (error) {
      // Several clusters and none named: list them, as `pm2 ls` would.
      if (!(error instanceof SmartworkersError) || error.code !== 'SW_SEVERAL_CLUSTERS' || options.name) throw error;
      const { runList } = require('./list') as typeof import('./list');
      return runList(options, io);
    }
    const snapshot = await sendCommand(socketPath, 'status', {}, timeoutMs(options, STATUS_TIMEOUT_MS));
    io.stdout.write(options.json ? `${JSON.stringify(snapshot, null, 2)}\n` : `${renderStatus(snapshot)}\n`);
    return EXIT.ok;
  });
}

// ANSI: move home, clear to end of line, clear to end of screen, hide / show the cursor.
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const CLEAR_SCREEN = '\x1b[2J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

export interface WatchOptions {
  intervalMs?: number;
  /** Stops the view (Ctrl-C in the CLI). */
  signal: AbortSignal;
}

/**
 * Redraws the status in place every second until `signal` aborts. With `--json`, prints one
 * snapshot per line instead. A cluster that goes away is shown as such; the view keeps trying.
 */
export function watchStatus(options: StatusOptions, io: CommandIO, watch: WatchOptions): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const intervalMs = watch.intervalMs ?? 1000;
    const drawing = !options.json;
    if (drawing) io.stdout.write(`${HIDE_CURSOR}${CLEAR_SCREEN}`);
    try {
      while (!watch.signal.aborted) {
        let body: string;
        try {
          const snapshot = await sendCommand(socketPath, 'status', {}, timeoutMs(options, STATUS_TIMEOUT_MS));
          body = options.json ? JSON.stringify(snapshot) : renderStatus(snapshot);
        } catch (error) {
          if (!(error instanceof SmartworkersError)) throw error;
          if (options.json) {
            io.stderr.write(`${error.toLine()}\n`);
            body = '';
          } else {
            body = `${error.toLine()}\nretrying every ${formatDuration(intervalMs)}…`;
          }
        }
        if (drawing) {
          const header = `smartworkers status · ${new Date().toLocaleTimeString()} · every ${formatDuration(intervalMs)} · Ctrl-C to quit`;
          const frame = [header, '', ...body.split('\n')].map((line) => `${line}${CLEAR_LINE}`).join('\n');
          io.stdout.write(`${HOME}${frame}\n${CLEAR_BELOW}`);
        } else if (body) {
          io.stdout.write(`${body}\n`);
        }
        try {
          await sleep(intervalMs, undefined, { signal: watch.signal });
        } catch {
          break; // aborted
        }
      }
    } finally {
      if (drawing) io.stdout.write(SHOW_CURSOR);
    }
    return EXIT.ok;
  });
}

/** The readable status: primary line, one row per worker, apps and cluster totals. */
export function renderStatus(s: StatusSnapshot): string {
  const p = s.primary;
  const lines = [
    `primary ${p.pid} · ${p.phase} · up ${formatDuration(p.uptimeMs)} · node ${p.node} · rss ${formatBytes(p.rssBytes)}`,
    `config ${p.configSource}`,
    '',
  ];
  const { workers } = s;
  if (workers.length === 0) {
    lines.push('no workers');
  } else {
    const headers = ['APP', 'SLOT', 'ID', 'PID', 'GEN', 'STATE', 'UPTIME', 'SERVED', 'IN-FLIGHT', 'STREAMS', 'WS', 'IDLE', 'TASKS', 'RSS', 'CPU', 'LOOP', 'HEARTBEAT', 'RESTARTS'];
    const right = new Set([1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17]);
    lines.push(renderTable(headers, workers.sort(byAppSlotId).map(workerRow), right));
  }
  lines.push('');
  const d = s.draining;
  // The old generation after a reload: its drain goes on in the open, and says when it ends.
  if (d && d.workers > 0) {
    lines.push(
      `draining: ${d.workers} worker(s) · ${d.connections} connection(s) left (${d.longLived} long-lived) · ${d.tasks} task(s) · connections cut in ${formatDuration(d.msLeft)} at most`,
    );
  }
  for (const app of s.apps) {
    // `kind` and `command` are absent from an older primary: it ran cluster apps only.
    lines.push(`app ${app.name}: ${app.kind ?? 'cluster'} · ${app.readyWorkers}/${app.desiredWorkers} ready · ${app.command ?? app.script}`);
    if (app.failure !== undefined) lines.push(`  FAILED: ${app.failure}; \`smartworkers reload ${app.name}\` tries again`);
    // A slot that gave up explains a missing worker: say so rather than leave a silent gap.
    // `?? []`: a primary started by an older version sends no stoppedSlots.
    for (const { slot, reason } of app.stoppedSlots ?? []) {
      if (reason === 'boot_failed') continue; // said once above, for the app
      lines.push(`  slot ${slot} stopped (${reason === 'max_restarts' ? 'max_restarts reached' : 'autorestart is off'}) until the next reload`);
    }
  }
  const t = s.totals;
  const active = formatCounts(t.activeTasksByType);
  lines.push(
    `tasks: ${t.tasksStarted} started · ${t.tasksCompleted} completed · ${t.tasksFailed} failed · ${t.tasksCancelled} cancelled · ${t.tasksLost} lost · active: ${active || 'none'}`,
  );
  const recycles = RECYCLE_REASONS.filter((reason) => (t.recyclesByReason[reason] ?? 0) > 0)
    .map((reason) => `${reason} ${t.recyclesByReason[reason]}`)
    .join(' · ');
  lines.push(
    `recycles: ${recycles || 'none'} · ${t.recyclesDelayedByTasks} waited on tasks (${formatDuration(t.taskWaitTotalMs)} in total)`,
  );
  lines.push(`requests served: ${t.requestsServed}`);
  if ((t.connectionsCutTotal ?? 0) > 0) {
    const parts: string[] = [];
    for (const [kind, byReason] of Object.entries(t.connectionsCut ?? {})) {
      for (const [reason, n] of Object.entries(byReason)) if (n > 0) parts.push(`${kind} ${reason} ${n}`);
    }
    lines.push(`connections cut: ${t.connectionsCutTotal} (${parts.join(' · ')})`);
  }
  for (const q of s.queues ?? []) lines.push(`queue ${describeQueue(q)}`);
  // Managed tasks (task_types): one line per app that has them.
  for (const [app, m] of Object.entries(s.taskManagement ?? {})) {
    const permits = Object.entries(m.permits).map(([type, p]) => `${type} ${p.inUse}/${p.limit} (${p.queued} waiting)`);
    const queued = formatCounts(m.queuedByType);
    lines.push(
      `managed tasks ${app}: permits ${permits.join(', ') || 'none'} · queued: ${queued || 'none'}${m.paused.length ? ` · paused: ${m.paused.join(', ')}` : ''} · ` +
        `time limits ${m.softLimitHits} soft / ${m.hardLimitHits} hard · ${m.overdue} overdue · ${m.retries} retries`,
    );
  }
  return lines.join('\n');
}

function workerRow(w: WorkerStatus): string[] {
  const tasks = formatCounts(w.activeTasksByType);
  return [
    w.app,
    String(w.slot),
    String(w.id),
    w.pid === null ? '-' : String(w.pid),
    String(w.generation),
    stateCell(w),
    formatDuration(w.uptimeMs),
    w.requestLimit > 0 ? `${w.served}/${w.requestLimit}` : String(w.served),
    String(w.inflight),
    String(w.streamingResponses ?? 0),
    String(w.upgradedConnections ?? 0),
    String(w.idleConnections ?? 0),
    tasks ? `${w.activeTasks} (${tasks})` : String(w.activeTasks),
    formatBytes(w.rssBytes),
    formatPercent(w.cpuPercent),
    formatDelay(w.loopDelayMs),
    formatDuration(w.heartbeatAgeMs),
    String(w.restarts),
  ];
}

/** `retiring (reload) · cut in 25s` while a drain holds long-lived connections. */
function stateCell(w: WorkerStatus): string {
  const base = w.retireReason ? `${w.state} (${w.retireReason})` : w.state;
  const longLived = (w.upgradedConnections ?? 0) + (w.streamingResponses ?? 0);
  return w.drainLeftMs != null && longLived > 0 ? `${base} · cut in ${formatDuration(w.drainLeftMs)}` : base;
}

function byAppSlotId(a: WorkerStatus, b: WorkerStatus): number {
  return a.app.localeCompare(b.app) || a.slot - b.slot || a.id - b.id;
}
