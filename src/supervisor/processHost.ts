/**
 * ProcessHost for process apps: any program (Python, shell, a binary, a package manager) as plain
 * child processes, no node:cluster and no runtime inside. Each worker is spawned in a process
 * group of its own (`detached`), so a stop or replacement signals the whole group (a shell and
 * its children, Celery's pool) and nothing the terminal sends reaches it behind the primary's back.
 *
 * The supervisor's protocol becomes signals here: `retire` (a recycle or a stop) sends the app's
 * `stop_signal` to the group; the policy sends SIGKILL after `graceful_timeout`. Readiness: the
 * process started (`online`), Node's `process.send('ready')` over an IPC channel (given to Node
 * programs only), or `ready_probe` answering (a TCP connect or an HTTP status below 500), both
 * reported as `app-ready`. stdout/stderr are inherited, stdin is not (a daemon has none).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { createProcessTree, type KilledProcess, type ProcessTree } from '../host/processTree';
import { ENV, type PrimaryMessage } from '../protocol';
import { workerEnv } from './clusterHost';
import type { ForkSpec, HostEvent, ProcessHost } from './host';

/** How often a readiness probe is tried until it answers (or the worker exits or is killed). */
export const PROBE_INTERVAL_MS = 200;
/** A process app's worker counts as started once it has run this long. */
export const STARTED_SETTLE_MS = 2_000;
/** One probe attempt's bound: a server that accepts but never answers is not ready. */
const PROBE_TIMEOUT_MS = 1_000;

export interface ProcessHostOptions {
  env?: NodeJS.ProcessEnv;
  processTree?: ProcessTree;
  /** Where a process that could not be started at all is reported (ENOENT, EACCES). */
  onSpawnError?: (info: { app: string; slot: number; command: string; error: string }) => void;
}

interface Running {
  child: ChildProcess;
  spec: ForkSpec;
  exited: boolean;
  probe: NodeJS.Timeout | null;
}

/** The program and arguments a process app's worker runs. */
export function processCommand(app: ForkSpec['app']): { file: string; args: string[] } {
  if (app.interpreter === undefined) return { file: app.script, args: [...app.args] };
  return { file: app.interpreter, args: [...app.interpreterArgs, app.script, ...app.args] };
}

/** pm2's env for a forked process, the app's env, the slot variables; never the cluster runtime's options. */
function processEnv(spec: ForkSpec, base: NodeJS.ProcessEnv): Record<string, string> {
  const env = workerEnv(spec, base);
  delete env[ENV.runtime];
  if (spec.app.env.exec_mode === undefined) env.exec_mode = 'fork_mode';
  return env;
}

/** One probe: resolves true when the target answers. */
function probeOnce(target: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (target.startsWith('tcp://')) {
      const { hostname, port } = new URL(target.replace(/^tcp:/, 'http:'));
      const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
      socket.setTimeout(PROBE_TIMEOUT_MS);
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
      return;
    }
    const get = target.startsWith('https:') ? https.get : http.get;
    const req = get(target, { timeout: PROBE_TIMEOUT_MS, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export function createProcessHost(options: ProcessHostOptions = {}): ProcessHost & { owns(pid: number): boolean } {
  const running = new Map<number, Running>();
  const pids = new Set<number>();
  const tree = options.processTree ?? createProcessTree();
  const listeners: Array<(e: HostEvent) => void> = [];
  const emit = (e: HostEvent): void => {
    for (const l of listeners) l(e);
  };

  // Process groups of their own do not die with the primary: if it exits with workers still
  // running (an internal error, process.exit elsewhere), they go with it. (A SIGKILLed primary
  // cannot do this; systemd's KillMode=control-group can.)
  process.once('exit', () => {
    for (const r of running.values()) signalGroup(r, 'SIGKILL');
  });

  const signalGroup = (r: Running, signal: NodeJS.Signals): void => {
    const pid = r.child.pid;
    if (pid === undefined || r.exited) return;
    try {
      // The whole group: a shell's children, a pool's workers.
      process.kill(-pid, signal);
    } catch {
      try {
        r.child.kill(signal);
      } catch {
        // Already gone: the exit event follows.
      }
    }
  };

  const startProbe = (id: number, target: string): void => {
    const attempt = (): void => {
      const r = running.get(id);
      if (!r || r.exited) return;
      r.probe = null;
      void probeOnce(target).then((ok) => {
        const now = running.get(id);
        if (!now || now.exited) return;
        if (ok) emit({ type: 'app-ready', id });
        else now.probe = setTimeout(attempt, PROBE_INTERVAL_MS);
      });
    };
    attempt();
  };

  return {
    owns(pid) {
      return pids.has(pid);
    },
    fork(spec) {
      const { file, args } = processCommand(spec.app);
      // Node programs get an IPC channel for `process.send('ready')`; others none (a stray fd confuses nobody then).
      const node = spec.app.interpreter === process.execPath;
      const child = spawn(file, args, {
        cwd: spec.app.cwd,
        env: { ...processEnv(spec, options.env ?? process.env), ...tree.envFor(spec.id) },
        stdio: node ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
        detached: true,
      });
      const id = spec.id;
      const r: Running = { child, spec, exited: false, probe: null };
      running.set(id, r);
      if (child.pid !== undefined) pids.add(child.pid);
      child.once('spawn', () => {
        // "Started" means still running a moment later: a script that dies at once (a syntax
        // error, a missing module) is a failed boot, not a ready worker that crashed.
        const settle = setTimeout(() => {
          if (!r.exited) emit({ type: 'online', id });
        }, STARTED_SETTLE_MS);
        settle.unref();
        if (spec.app.readyProbe !== undefined) startProbe(id, spec.app.readyProbe);
      });
      child.on('message', (message: unknown) => {
        if (message === 'ready') emit({ type: 'app-ready', id });
      });
      const exited = (code: number | null, signal: string | null): void => {
        if (r.exited) return;
        r.exited = true;
        if (r.probe) clearTimeout(r.probe);
        running.delete(id);
        if (child.pid !== undefined) pids.delete(child.pid);
        emit({ type: 'exit', id, code, signal, reaping: tree.supported });
        if (!tree.supported) return;
        // What the group left running (a daemonized child) is ended as for cluster workers.
        const reaped = (leftovers: KilledProcess[]): void =>
          emit({ type: 'reaped', id, app: spec.app.name, slot: spec.slot, pid: child.pid ?? null, leftovers });
        tree.reap(id).then(reaped, () => reaped([]));
      };
      child.once('error', (error) => {
        // ENOENT / EACCES: no process ever ran; no exit event comes.
        options.onSpawnError?.({ app: spec.app.name, slot: spec.slot, command: file, error: error.message });
        if (child.pid === undefined) setImmediate(() => exited(127, null));
      });
      child.once('exit', exited);
      return child.pid ?? -1;
    },
    send(id, message: PrimaryMessage) {
      const r = running.get(id);
      if (!r) return;
      // A process app has no runtime: retiring it is its stop signal; the rest of the protocol has no meaning here.
      if (message.$sw === 'retire') signalGroup(r, r.spec.app.stopSignal);
    },
    sendToApp(id, message) {
      const r = running.get(id);
      if (!r || !r.child.connected) return;
      try {
        r.child.send(message);
      } catch {
        // The channel closed meanwhile.
      }
    },
    kill(id, signal) {
      const r = running.get(id);
      if (r) signalGroup(r, signal);
    },
    onEvent(listener) {
      listeners.push(listener);
    },
  };
}

/** Routes each worker to the host of its app's kind: node:cluster for cluster apps, plain processes for process apps. */
export function createAppHost(cluster: ProcessHost, processes: ProcessHost): ProcessHost {
  const hostOf = new Map<number, ProcessHost>();
  return {
    fork(spec) {
      const host = spec.app.kind === 'process' ? processes : cluster;
      hostOf.set(spec.id, host);
      return host.fork(spec);
    },
    send: (id, message) => hostOf.get(id)?.send(id, message),
    sendToApp: (id, message) => hostOf.get(id)?.sendToApp(id, message),
    kill: (id, signal) => hostOf.get(id)?.kill(id, signal),
    onEvent(listener) {
      const forward = (e: HostEvent): void => {
        if (e.type === 'exit') hostOf.delete(e.id);
        listener(e);
      };
      cluster.onEvent(forward);
      processes.onEvent(forward);
    },
  };
}
