/**
 * ProcessHost on node:cluster. Each worker runs the app's own script as its main module,
 * with the smartworkers runtime preloaded (`--require`), so the app needs no change.
 * stdio is inherited: workers' logs never cross IPC or the primary's event loop.
 */
import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createProcessTree, type KilledProcess, type ProcessTree } from '../host/processTree';
import { APP_READY, ENV, isTagged, parseWorkerMessage, type PrimaryMessage, routeOf, type RuntimeOptions } from '../protocol';
import type { ForkSpec, HostEvent, ProcessHost } from './host';
import { LOGS_ENV, workerLogConfig } from '../logs/targets';

/** Heartbeat and report cadence passed to every worker. */
export const REPORT_INTERVAL_MS = 200;

/**
 * An idle worker's heartbeat: four per `timeout`, at most one every 10 s. A worker with something
 * to report sends within REPORT_INTERVAL_MS anyway; a heartbeat only proves its loop turns, and each
 * one costs the primary (the accept loop) a wake-up, a parse and a step: at one a second, 64 idle
 * workers took 3-4 % of a core.
 */
export function heartbeatIntervalFor(timeoutMs: number): number {
  return Math.max(50, Math.min(10_000, Math.floor(timeoutMs / 4)));
}

/** How long after its channel closed a worker must still run to count as disconnected (not exiting). */
const DISCONNECT_SETTLE_MS = 100;

/** The process runs (on Linux: is not a zombie waiting to be reaped). */
function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** The primary's systemd channel: a worker must not be able to report READY=1 for the service. */
const PRIMARY_ONLY_ENV = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']);

export function workerEnv(spec: ForkSpec, base: NodeJS.ProcessEnv): Record<string, string> {
  const runtime: RuntimeOptions = {
    heartbeatMs: heartbeatIntervalFor(spec.app.timeout),
    reportIntervalMs: REPORT_INTERVAL_MS,
    requestLimit: spec.requestLimit,
    gracefulTimeoutMs: spec.app.gracefulTimeout,
    idleGraceMs: spec.app.drainIdleGrace,
    drainTimeoutMs: spec.app.drainTimeout,
  };
  // Task settings only when there are some: a worker without them runs the unmanaged fast path.
  if (spec.app.taskTypes !== undefined && Object.keys(spec.app.taskTypes).length > 0) runtime.taskTypes = { ...spec.app.taskTypes };
  if (spec.app.taskHistory !== undefined) runtime.taskHistory = spec.app.taskHistory;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !PRIMARY_ONLY_ENV.has(k)) env[k] = v;
  // What pm2 puts in every process's env and apps commonly read; the app's own `env` wins.
  env.name = spec.app.name;
  env.pm_id = String(spec.pmId);
  env.instances = String(spec.instances);
  env.exec_mode = 'cluster_mode';
  Object.assign(env, spec.app.env);
  if (spec.app.incrementVar !== undefined) {
    // pm2's increment_var: the base value (from `env` or the primary's env) plus the slot.
    const start = Number.parseInt(env[spec.app.incrementVar] ?? '', 10);
    env[spec.app.incrementVar] = String((Number.isNaN(start) ? 0 : start) + spec.slot);
  }
  env[ENV.workerId] = String(spec.slot);
  // pm2's NODE_APP_INSTANCE, under the name `instance_var` gives it.
  env[spec.app.instanceVar] = String(spec.slot);
  env[ENV.generation] = String(spec.generation);
  env[ENV.appName] = spec.app.name;
  env[ENV.runtime] = JSON.stringify(runtime);
  // Log files: the worker writes its own output to them (src/logs/writer.ts).
  const logs = workerLogConfig(spec.app, spec.slot);
  if (logs !== undefined) env[LOGS_ENV] = JSON.stringify(logs);
  else delete env[LOGS_ENV];
  return env;
}

export interface ClusterHostOptions {
  /** Absolute path of the compiled worker runtime (dist/worker/runtime.js). */
  runtimePath: string;
  env?: NodeJS.ProcessEnv;
  /** Ends what each worker leaves running after it exits (default: the /proc reaper). */
  processTree?: ProcessTree;
  /** A worker answered `reopen-logs` (src/logs/rotate.ts); like `sync`, the policy never sees it. */
  onLogsReopened?: (id: number, seq: number) => void;
}

export function createClusterHost(options: ClusterHostOptions): ProcessHost {
  const workers = new Map<number, Worker>();
  const tree = options.processTree ?? createProcessTree();
  const listeners: Array<(e: HostEvent) => void> = [];
  const emit = (e: HostEvent): void => {
    for (const l of listeners) l(e);
  };
  // Workers exit in bursts (a boot that fails everywhere, a stop, a kill storm), each exit its own
  // callback: they are gathered until the loop's check phase and emitted together, every one but
  // the last marked `more`, so the policy reconciles the cluster once per burst, not once per exit.
  const exits: Array<(more: boolean) => void> = [];
  const flushExits = (): void => {
    const burst = exits.splice(0);
    burst.forEach((emitOne, i) => emitOne(i < burst.length - 1));
  };
  const queueExit = (emitOne: (more: boolean) => void): void => {
    if (exits.push(emitOne) === 1) setImmediate(flushExits);
  };
  const disconnects = new Map<number, Worker>();
  const settleDisconnects = (): void => {
    const settled = [...disconnects];
    disconnects.clear();
    for (const [id, worker] of settled) if (workers.get(id) === worker && isRunning(worker.process.pid)) emit({ type: 'disconnect', id });
  };

  return {
    fork(spec) {
      // Settings are global to node:cluster and read at fork time: set them for each fork.
      // `exec` must always be set (it defaults to process.argv[1], wrong under loaders).
      cluster.setupPrimary({
        exec: spec.app.script,
        args: [...spec.app.args],
        execArgv: [...spec.app.nodeArgs, '--require', options.runtimePath],
        cwd: spec.app.cwd,
        silent: false,
      });
      const worker = cluster.fork({ ...workerEnv(spec, options.env ?? process.env), ...tree.envFor(spec.id) });
      const id = spec.id;
      workers.set(id, worker);
      worker.on('online', () => emit({ type: 'online', id }));
      worker.on('listening', () => emit({ type: 'listening', id }));
      // node:cluster adds a worker to the port's round-robin when the worker asks for the handle
      // (`queryServer`, handled in this same turn by node:cluster's own listener): connections may
      // reach it before its `listening` arrives. A stop must drain such a worker, not kill it.
      worker.process.on('internalMessage', (message: unknown) => {
        const m = message as { cmd?: unknown; act?: unknown } | null;
        if (m?.cmd === 'NODE_CLUSTER' && m.act === 'queryServer') emit({ type: 'listen-requested', id });
      });
      worker.on('message', (message: unknown) => {
        if (message === APP_READY) {
          emit({ type: 'app-ready', id });
          return;
        }
        if (!isTagged(message)) return; // the app's own message: not ours
        const parsed = parseWorkerMessage(message);
        if (parsed.ok && routeOf(parsed.message) === 'host' && parsed.message.$sw === 'sync') {
          // The exit barrier (see SyncMessage): answered here, at once, behind anything already sent.
          if (worker.isConnected()) {
            try {
              worker.send({ $sw: 'sync-ack', seq: parsed.message.seq } satisfies PrimaryMessage);
            } catch {
              // The channel closed meanwhile; the worker's own timeout lets it exit.
            }
          }
          return;
        }
        if (parsed.ok && parsed.message.$sw === 'logs-reopened') {
          options.onLogsReopened?.(id, parsed.message.seq);
          return;
        }
        if (parsed.ok) emit({ type: 'message', id, message: parsed.message });
        else emit({ type: 'bad-message', id, error: parsed.error });
      });
      worker.on('disconnect', () => {
        // The channel also closes when a worker exits: only one that still runs a moment later
        // disconnected on purpose (the app called `process.disconnect()`). One timer for a burst.
        if (disconnects.set(id, worker).size === 1) setTimeout(settleDisconnects, DISCONNECT_SETTLE_MS).unref();
      });
      worker.on('error', () => {
        // EPIPE and the like on a dying worker's channel: the exit event follows.
      });
      worker.on('exit', (code, signal) => {
        workers.delete(id);
        // The exit goes out at the end of this turn of the loop, with the others of its burst (a
        // crashed worker is still replaced within the turn); what the worker left running is ended
        // meanwhile and reported with `reaped` (one /proc scan for the burst).
        queueExit((more) => {
          emit({ type: 'exit', id, code, signal, reaping: tree.supported, more });
          if (!tree.supported) return;
          const reaped = (leftovers: KilledProcess[]): void =>
            emit({ type: 'reaped', id, app: spec.app.name, slot: spec.slot, pid: worker.process.pid ?? null, leftovers });
          tree.reap(id).then(reaped, () => reaped([]));
        });
      });
      return worker.process.pid ?? -1;
    },
    send(id, message: PrimaryMessage) {
      const worker = workers.get(id);
      if (!worker || !worker.isConnected()) return;
      try {
        worker.send(message);
      } catch {
        // The channel closed between the check and the send; the exit event follows.
      }
    },
    sendToApp(id, message: string) {
      const worker = workers.get(id);
      if (!worker || !worker.isConnected()) return;
      try {
        worker.send(message);
      } catch {
        // As in send.
      }
    },
    kill(id, signal) {
      const worker = workers.get(id);
      try {
        worker?.process.kill(signal);
      } catch {
        // Already gone.
      }
    },
    onEvent(listener) {
      listeners.push(listener);
    },
  };
}

