/**
 * End-to-end harness: runs the real CLI (bin/smartworkers) in its own process group,
 * reads its JSON log lines and the fixtures' own stdout lines, and waits on them —
 * never on sleeps. Every cluster started here is killed (whole group) in `cleanup()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'smartworkers');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'apps');

export type LogLine = Record<string, unknown> & { msg?: string; fixture?: string };

export interface Cluster {
  child: ChildProcess;
  controlSocket: string;
  pid: number;
  lines: LogLine[];
  stderr: () => string;
  /** Resolves with the first line (past or future) matching; rejects on timeout or exit. */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Resolves when `count` lines match. */
  waitForCount(predicate: (line: LogLine) => boolean, count: number, timeoutMs?: number, what?: string): Promise<LogLine[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port(): Promise<number>;
  signal(sig: NodeJS.Signals): void;
  /** Signals the whole process group (as Ctrl-C does). */
  signalGroup(sig: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-e2e-'));
  tempDirs.push(dir);
  return dir;
}

export function run(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Cluster {
  // Each cluster gets its own control socket: clusters of one app in one folder would share the default.
  const controlSocket = path.join(tempDir(), 'control.sock');
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    // Its own state directory too: no registry record of a test lands in the user's (or /run/smartworkers).
    env: { ...process.env, SMARTWORKERS_CONTROL_SOCKET: controlSocket, SMARTWORKERS_STATE_DIR: tempDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: cleanup and "Ctrl-C" signal the group
  });
  running.add(child);
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ raw: text });
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });

  const waitForCount: Cluster['waitForCount'] = (predicate, count, timeoutMs = 60_000, what = 'log line') =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.filter(predicate);
        if (found.length >= count) {
          done();
          resolve(found);
          return true;
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`cluster exited (${child.exitCode ?? child.signalCode}) before ${count}× ${what}\nstderr: ${stderr}\nlog: ${tail(lines)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${count}× ${what}\nstderr: ${stderr}\nlog: ${tail(lines)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(listener);
      };
      const listener = () => void check();
      waiters.add(listener);
      check();
    });

  const cluster: Cluster = {
    child,
    controlSocket,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    waitFor: (predicate, timeoutMs, what) => waitForCount(predicate, 1, timeoutMs, what).then((found) => found[0]!),
    waitForCount,
    exited,
    port: async () => {
      const line = await cluster.waitFor((l) => l.fixture === 'listening', 60_000, 'fixture listening');
      return line.port as number;
    },
    signal: (sig) => child.kill(sig),
    signalGroup: (sig) => process.kill(-child.pid!, sig),
  };
  return cluster;
}

function tail(lines: LogLine[]): string {
  return lines
    .slice(-15)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

export const isMsg = (text: string) => (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith(text);

/** Kills every cluster still running (whole process groups) and removes temp dirs. */
export async function cleanup(): Promise<void> {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface LoadResult {
  requests: number;
  failed: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  resets: number;
}

/**
 * Keep-alive load on loopback, bounded in time (`seconds`), or stopped early once `until`
 * resolves (or rejects: the rejection is the caller's to report). `onResponse` runs on every
 * response. Failed = errors + non-2xx + timeouts.
 */
export async function load(
  port: number,
  opts: { seconds: number; connections?: number; path?: string; until?: Promise<unknown>; onResponse?: () => void },
): Promise<LoadResult> {
  const instance = autocannon({
    url: `http://127.0.0.1:${port}${opts.path ?? '/'}`,
    connections: opts.connections ?? 50,
    duration: opts.seconds,
    timeout: 10,
  });
  if (opts.onResponse) instance.on('response', opts.onResponse);
  opts.until?.then(() => instance.stop(), () => instance.stop());
  const result = await instance;
  return {
    requests: result.requests.total,
    failed: result.errors + result.non2xx + result.timeouts,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    resets: result.resets ?? 0,
  };
}

export { get } from '../helpers/http';

/** True while a process with this pid runs (a zombie awaiting its reaper counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the processes in a process group (Linux /proc). */
export function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function readTaskLog(file: string): { started: Set<string>; done: Set<string> } {
  const started = new Set<string>();
  const done = new Set<string>();
  if (!fs.existsSync(file)) return { started, done };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [kind, id] = line.split(' ');
    if (kind === 'start' && id) started.add(id);
    if (kind === 'done' && id) done.add(id);
  }
  return { started, done };
}

export interface ClientLoad {
  stop(): Promise<ClientLoadResult>;
  /** Responses so far. */
  ok(): number;
}

export interface ClientLoadResult {
  ok: number;
  /** A request sent on an accepted connection that got no (or a non-2xx) answer. */
  failed: number;
  /** Fresh connections refused or reset by a closing listener (after a stop): never reached the app. */
  refused: number;
  failures: string[];
}

/**
 * A keep-alive load client that tells refused connections (the cluster has stopped
 * listening: nothing was accepted, nothing lost) from failed requests (accepted, then
 * reset or answered with an error). `stop()` waits for every request in flight.
 */
export function clientLoad(port: number, opts: { connections?: number; path?: () => string } = {}): ClientLoad {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as typeof import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections ?? 20 });
  let running = true;
  let ok = 0;
  let failed = 0;
  let refused = 0;
  const failures: string[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: opts.path?.() ?? '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else {
            failed++;
            failures.push(`status ${res.statusCode}`);
          }
          resolve();
        });
        res.on('error', (err) => {
          failed++;
          failures.push(err.message);
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A fresh connection refused, or reset while the kernel still held it in the listen
        // backlog (the listener closed under it), never reached the app: the cluster stopped
        // listening. A reset on a reused keep-alive connection is a real failure.
        const neverAccepted = err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && !req.reusedSocket);
        if (neverAccepted) refused++;
        else {
          failed++;
          failures.push(`${err.code ?? ''} ${err.message}`);
        }
        resolve();
      });
    });
  const loops = Array.from({ length: opts.connections ?? 20 }, async () => {
    while (running) {
      const before = refused;
      await one();
      // Once refused, the listener is gone for good: stop this loop rather than spin.
      if (refused > before) return;
    }
  });
  return {
    ok: () => ok,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { ok, failed, refused, failures: failures.slice(0, 10) };
    },
  };
}
