/**
 * What a worker leaves behind: processes it started (children, grandchildren, detached or
 * double-forked daemons) that still run after the worker itself has exited.
 *
 * node:cluster cannot fork a worker into its own process group or cgroup, and a child that
 * outlives its parent is re-parented to PID 1, so neither the group nor the ppid chain finds
 * it after the worker is gone. Instead every worker's environment carries a mark of its own
 * (`SMARTWORKERS_TREE`, as Jenkins' ProcessTreeKiller does); every process it starts inherits
 * it, whatever it does with its session or group. Once the worker has exited, `/proc/<pid>/environ`
 * names the processes carrying its mark: they get a moment to exit by themselves (a helper whose
 * stdin just closed), then SIGTERM, then SIGKILL after a grace. Each signal is sent only after
 * checking the process's start time again, so a reused pid is never signalled.
 *
 * Limits: a process that starts with an environment of its own (`env -i`, an explicit `env`
 * option without `process.env`) is not found; processes of another user cannot be read or
 * signalled. The work is one scan of /proc per burst of worker exits (a few ms of CPU, in small
 * chunks), never periodic. Linux only:
 * elsewhere `reap` finds nothing.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, promises as fsp, openSync, readFileSync, readSync } from 'node:fs';

/** The environment variable that marks a worker's processes. */
export const TREE_ENV = 'SMARTWORKERS_TREE';
/** How long leftovers get to exit by themselves before SIGTERM. */
export const SETTLE_MS = 250;
/** How long after SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 2_000;
const POLL_MS = 50;
const COMMAND_MAX = 200;
/**
 * Processes read per turn of the event loop. The scan reads each environ synchronously into one
 * buffer, a few dozen per turn: with `fs.promises` (open, fstat, reads, close, each a promise and
 * a thread-pool job) one scan of ~400 processes cost the primary 70–100 ms of CPU, during a kill
 * storm once per kill, right while the replacement booted on the same cores and the primary
 * accepted every connection. Synchronous reads cost ~5 ms for the whole scan; in chunks the accept
 * loop waits at most about a millisecond at a time.
 */
const SCAN_CHUNK = 32;
const ENVIRON_BUFFER = 64 * 1024;
let environBuffer: Buffer | null = null;

/** A process's environment (valid until the next call), or null when it is gone or not ours to read. */
function readEnviron(file: string): Buffer | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = (environBuffer ??= Buffer.allocUnsafe(ENVIRON_BUFFER));
    const n = readSync(fd, buffer, 0, buffer.length, null);
    // Longer than the buffer (rare): the whole of it.
    return n < buffer.length ? buffer.subarray(0, n) : readFileSync(file);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One process the primary had to end. */
export interface KilledProcess {
  pid: number;
  command: string;
  /** The signal that ended it (SIGKILL: it outlived the SIGTERM grace). */
  signal: 'SIGTERM' | 'SIGKILL';
}

export interface ProcessTree {
  /** False where leftovers cannot be found (not Linux): `reap` then resolves with nothing. */
  readonly supported: boolean;
  /** The environment entry that marks every process of this worker. */
  envFor(workerId: number): Record<string, string>;
  /** After the worker has exited: ends every process still carrying its mark; resolves with them. */
  reap(workerId: number): Promise<KilledProcess[]>;
}

export interface ProcessTreeOptions {
  platform?: NodeJS.Platform;
  procDir?: string;
  settleMs?: number;
  graceMs?: number;
}

interface Found {
  pid: number;
  /** /proc/<pid>/stat field 22: with the pid, the identity of a process. */
  startTime: string;
  command: string;
}

export function createProcessTree(options: ProcessTreeOptions = {}): ProcessTree {
  const supported = (options.platform ?? process.platform) === 'linux';
  const proc = options.procDir ?? '/proc';
  const settleMs = options.settleMs ?? SETTLE_MS;
  const graceMs = options.graceMs ?? KILL_GRACE_MS;
  // Unique to this primary: a mark never matches another cluster's processes, or a restarted primary's.
  const prefix = `${process.pid}.${randomBytes(6).toString('hex')}`;
  const value = (workerId: number): string => `${prefix}-${workerId}`;

  /** Start time and state of a process, or null once it is gone. */
  async function stat(pid: number): Promise<{ startTime: string; state: string } | null> {
    try {
      const text = await fsp.readFile(`${proc}/${pid}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
    } catch {
      return null;
    }
  }

  async function stillRunning(p: Found): Promise<boolean> {
    const s = await stat(p.pid);
    return s !== null && s.state !== 'Z' && s.startTime === p.startTime;
  }

  /**
   * Exits come in bursts (a crash storm, a stop): workers whose exit arrives while a scan runs wait
   * for the next one, so a burst of N exits costs a few scans of /proc, not N.
   */
  let pending = new Map<number, Array<(found: Found[]) => void>>();
  let scanning = false;

  function find(workerId: number): Promise<Found[]> {
    return new Promise((resolve) => {
      const waiters = pending.get(workerId) ?? [];
      waiters.push(resolve);
      pending.set(workerId, waiters);
      if (!scanning) void scanLoop();
    });
  }

  async function scanLoop(): Promise<void> {
    scanning = true;
    try {
      while (pending.size > 0) {
        const batch = pending;
        pending = new Map();
        const found = await scan(new Set(batch.keys()));
        for (const [id, waiters] of batch) for (const resolve of waiters) resolve(found.get(id) ?? []);
      }
    } finally {
      scanning = false;
    }
  }

  /** One pass over /proc: the live processes carrying the mark of any of these workers, by worker. */
  async function scan(ids: Set<number>): Promise<Map<number, Found[]>> {
    const needle = Buffer.from(`${TREE_ENV}=${prefix}-`);
    const out = new Map<number, Found[]>();
    let entries: string[];
    try {
      entries = await fsp.readdir(proc);
    } catch {
      return out;
    }
    const marked: Array<{ pid: number; workerId: number }> = [];
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && i % SCAN_CHUNK === 0) await nextTurn();
      const pid = Number(entries[i]);
      if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
      const environ = readEnviron(`${proc}/${pid}/environ`);
      if (environ === null) continue;
      const at = environ.indexOf(needle);
      if (at < 0 || (at > 0 && environ[at - 1] !== 0)) continue;
      const end = environ.indexOf(0, at);
      const workerId = Number(environ.subarray(at + needle.length, end < 0 ? undefined : end).toString());
      if (ids.has(workerId)) marked.push({ pid, workerId });
    }
    await Promise.all(
      marked.map(async ({ pid, workerId }) => {
        const s = await stat(pid);
        if (s === null || s.state === 'Z') return;
        const found: Found = { pid, startTime: s.startTime, command: await command(pid) };
        // After the last await: the other lookups run concurrently.
        out.set(workerId, [...(out.get(workerId) ?? []), found]);
      }),
    );
    return out;
  }

  async function command(pid: number): Promise<string> {
    try {
      const args = (await fsp.readFile(`${proc}/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean).join(' ');
      if (args) return args.length > COMMAND_MAX ? `${args.slice(0, COMMAND_MAX)}…` : args;
    } catch {
      // fall back to the name
    }
    try {
      const text = await fsp.readFile(`${proc}/${pid}/stat`, 'utf8');
      return text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    } catch {
      return '?';
    }
  }

  /** Waits until none of `processes` runs, or `ms` passed; resolves with those still running. */
  async function waitGone(processes: Found[], ms: number): Promise<Found[]> {
    const deadline = Date.now() + ms;
    let left = processes;
    for (;;) {
      const running = await Promise.all(left.map(stillRunning));
      left = left.filter((_, i) => running[i]);
      if (left.length === 0 || Date.now() >= deadline) return left;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  }

  async function signal(processes: Found[], sig: 'SIGTERM' | 'SIGKILL'): Promise<Found[]> {
    const sent: Found[] = [];
    // Checked again right before the signal (the pid may belong to another process by now), all at
    // once and then signalled in one synchronous pass: checking each just before its own signal let
    // a shell whose child had just been signalled exit in between, and go unreported.
    const running = await Promise.all(processes.map(stillRunning));
    for (const [i, p] of processes.entries()) {
      if (!running[i]) continue;
      try {
        process.kill(p.pid, sig);
        sent.push(p);
      } catch {
        // Exited meanwhile, or not ours to signal.
      }
    }
    return sent;
  }

  async function reap(workerId: number): Promise<KilledProcess[]> {
    if (!supported) return [];
    const found = await find(workerId);
    if (found.length === 0) return [];
    const left = await waitGone(found, settleMs);
    const termed = await signal(left, 'SIGTERM');
    if (termed.length === 0) return [];
    const stubborn = await waitGone(termed, graceMs);
    const killed = await signal(stubborn, 'SIGKILL');
    // SIGKILL cannot be ignored: this only waits for the kernel to have ended them.
    await waitGone(killed, graceMs);
    const byKill = new Set(killed.map((p) => p.pid));
    return termed.map((p) => ({ pid: p.pid, command: p.command, signal: byKill.has(p.pid) ? 'SIGKILL' : 'SIGTERM' }));
  }

  return {
    supported,
    envFor: (workerId): Record<string, string> => (supported ? { [TREE_ENV]: value(workerId) } : {}),
    reap,
  };
}
