/**
 * The worker runtime, preloaded with `node --require` before the app's own script
 * (CommonJS or ESM), which then runs unchanged as the main module.
 *
 * It does nothing at all unless this process is a node:cluster worker started by
 * smartworkers (`SMARTWORKERS_RUNTIME` set): a child process the app forks inherits
 * `--require` and the environment, but is not a cluster worker.
 *
 * What it does in a worker:
 * - counts requests and connections from diagnostics_channel (no patching);
 * - sends `hello`, then coalesced `report`s that double as the heartbeat, and `servers`
 *   whenever a server starts or stops listening (the primary's readiness rule);
 * - answers `retire`, `abandon` and `list-tasks`; leaves every other message to the app;
 * - survives its primary: node:cluster would `process.exit(0)` the moment the IPC
 *   channel closes, cutting background tasks when the primary is SIGKILLed or
 *   OOM-killed, or when the app calls `process.disconnect()`; instead the worker drains
 *   on its own within `gracefulTimeoutMs`, and exits 0 only if no task was lost (the
 *   exit code is all a primary without a channel can learn);
 * - never dies from SIGTERM/SIGINT sent to it directly (Ctrl-C reaches the whole
 *   process group, systemd signals every process of the unit): it tells the primary,
 *   which decides; SIGHUP/SIGTTIN/SIGTTOU are the primary's controls and are ignored.
 */
import cluster from 'node:cluster';
import { ENV, MAX_SERVERS, TAG, isTagged, parsePrimaryMessage } from '../protocol';
import type { PrimaryMessage, RuntimeOptions, TaskInfo } from '../protocol';
import { connected, onSyncAck, sendToPrimary, syncWithPrimary } from './ipc';
import { parseRuntimeOptions } from './options';
import { RequestTracker } from './requests';
import { Reporter } from './reporter';
import { Drain } from './drain';
import { runAbandon, runLeave } from './leave-hooks';
import { installLogWriter, type LogWriter } from '../logs/writer';
import { LOGS_ENV, type WorkerLogConfig } from '../logs/targets';
import { taskRegistry, type TaskRegistry } from './tasks';
import { RemotePermits } from './permits-client';
import { answerTaskOp } from './task-ops';

/** How often running tasks are checked against their stale threshold (overdue, logged once). */
const OVERDUE_SWEEP_MS = 500;

/** Set once a copy of the runtime has started, so a second preload does not start another. */
const STARTED_KEY = Symbol.for('smartworkers.runtime');

function log(line: string): void {
  process.stderr.write(`smartworkers worker ${process.pid}: ${line}\n`);
}

function shouldStart(): boolean {
  const store = globalThis as unknown as Record<symbol, unknown>;
  return (
    process.env[ENV.runtime] !== undefined &&
    cluster.isWorker &&
    cluster.worker != null &&
    typeof process.send === 'function' &&
    store[STARTED_KEY] !== true
  );
}

function start(): void {
  (globalThis as unknown as Record<symbol, unknown>)[STARTED_KEY] = true;
  // Log files first, so the app's first line (and the runtime's own) lands in them.
  const logs = startLogWriter();
  const { options, warnings } = parseRuntimeOptions(process.env[ENV.runtime] ?? '');
  for (const warning of warnings) log(`${ENV.runtime}: ${warning}`);

  const tasks = taskRegistry();
  tasks.configure({ taskTypes: options.taskTypes, historySize: options.taskHistory });
  const permits = new RemotePermits();
  let grant: (ref: number) => void = () => {};
  tasks.setPermits((granted) => {
    grant = granted;
    return permits;
  });
  tasks.onAlert((kind, task) => sendToPrimary({ [TAG]: 'task-alert', kind, task }));
  setInterval(() => tasks.sweepOverdue(), OVERDUE_SWEEP_MS).unref();
  // The tracker's hooks run only once requests arrive, after everything below exists.
  const requests: RequestTracker = new RequestTracker({
    onRequest: (served) => reporter.onRequest(served),
    onSettle: () => {
      reporter.markDirty();
      drain.check();
    },
    onServers: () => serversChanged(),
  });
  const reporter = new Reporter({ requests: () => requests.counts(), tasks: () => tasks.counters() }, options);
  // Before the exit barrier: pending permit returns, and the last ended tasks for `tasks history`.
  const syncBeforeExit = (done: () => void): void => {
    permits.flush();
    sendToPrimary({ [TAG]: 'history', entries: tasks.history() });
    syncWithPrimary(done);
  };
  const drain = new Drain({ requests, tasks, reporter, log, exit: (code) => process.exit(code), sync: syncBeforeExit });

  // Servers listen in bursts (an app opening several at once): one message per burst.
  let serversPending = false;
  const serversChanged = (): void => {
    if (serversPending) return;
    serversPending = true;
    setImmediate(() => {
      serversPending = false;
      sendToPrimary({ [TAG]: 'servers', listening: requests.listening().slice(0, MAX_SERVERS) });
    }).unref();
  };

  tasks.onChange(() => reporter.markDirty());
  reportBeforeDisconnect(reporter);
  requests.start();
  installLifecycle(drain, options, tasks, logs, (refs) => {
    for (const ref of refs) grant(ref);
  });
  reporter.start();
}

/** The app's stdout/stderr to its log files, when the primary set any (src/logs/writer.ts). */
function startLogWriter(): LogWriter | undefined {
  const raw = process.env[LOGS_ENV];
  if (raw === undefined) return undefined;
  // Not for the app's own child processes, which inherit the environment.
  delete process.env[LOGS_ENV];
  try {
    return installLogWriter(JSON.parse(raw) as WorkerLogConfig);
  } catch (err) {
    log(`${LOGS_ENV}: ${(err as Error).message}; output goes to the inherited stdout/stderr`);
    return undefined;
  }
}

/**
 * An app that calls `process.disconnect()` closes the channel with its latest counts perhaps not
 * sent yet (reports are coalesced): the primary would not know which tasks it leaves untracked.
 * The one wrapper the runtime puts on the process: send a report first (it is queued on the
 * channel ahead of the close), then disconnect as asked.
 */
function reportBeforeDisconnect(reporter: Reporter): void {
  const disconnect = process.disconnect;
  if (typeof disconnect !== 'function') return;
  process.disconnect = function (this: NodeJS.Process): void {
    if (connected()) reporter.flush();
    disconnect.call(this);
  };
}

function installLifecycle(drain: Drain, options: RuntimeOptions, tasks: TaskRegistry, logs: LogWriter | undefined, onGrant: (refs: number[]) => void): void {
  const activeTasks = (): TaskInfo[] => tasks.active();
  // Keep node:cluster from exiting the worker when the channel closes (see the header).
  cluster.worker!.exitedAfterDisconnect = true;
  process.once('disconnect', () => {
    runLeave('primary-lost');
    drain.primaryLost(options.idleGraceMs, options.gracefulTimeoutMs, options.drainTimeoutMs);
  });
  // Exit 0 tells a primary that lost the channel that every task finished: never say it over lost ones.
  process.on('exit', (code) => {
    if (drain.lostAtExit() && code === 0) process.exitCode = 1;
  });

  process.on('message', (value: unknown) => {
    // Untagged messages (the app's own, pm2's 'shutdown') belong to the app.
    if (!isTagged(value)) return;
    const parsed = parsePrimaryMessage(value);
    // A malformed message from a mismatched primary is dropped: guessing could kill work.
    if (parsed.ok) handle(parsed.message);
  });

  function handle(message: PrimaryMessage): void {
    switch (message[TAG]) {
      case 'retire':
        runLeave(message.reason);
        drain.retire(message.idleGraceMs, message.drainTimeoutMs, message.reason);
        return;
      case 'abandon':
        // A forced stop: tell the tasks through their signals; integrations hand their work back
        // first (bounded), then the tasks are reported lost.
        tasks.abortAll('forced_stop');
        runAbandon(() => drain.abandon());
        return;
      case 'grant':
        onGrant(message.refs);
        return;
      case 'task-op': {
        const result = answerTaskOp(tasks, message);
        if (message.requestId !== 0) sendToPrimary({ [TAG]: 'task-reply', requestId: message.requestId, result });
        return;
      }
      case 'list-tasks':
        sendToPrimary({ [TAG]: 'tasks', requestId: message.requestId, tasks: activeTasks() });
        return;
      case 'sync-ack':
        onSyncAck(message.seq);
        return;
      case 'reopen-logs':
        logs?.reopen();
        sendToPrimary({ [TAG]: 'logs-reopened', seq: message.seq });
        return;
    }
  }

  const onTermination = (signal: 'SIGTERM' | 'SIGINT'): void => {
    // The primary decides: during its own stop this is a no-op, otherwise it recycles
    // this worker surge-then-retire. Without a primary, drain on our own.
    if (connected()) sendToPrimary({ [TAG]: 'signal', signal });
    else drain.primaryLost(options.idleGraceMs, options.gracefulTimeoutMs, options.drainTimeoutMs);
  };
  process.on('SIGTERM', () => onTermination('SIGTERM'));
  process.on('SIGINT', () => onTermination('SIGINT'));
  // A listener replaces only the default action; the app's own listeners still run.
  for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(signal, () => {});
}

if (shouldStart()) start();
