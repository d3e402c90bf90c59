/**
 * sd_notify for the primary: tells systemd (Type=notify) when the cluster is ready, reloading or
 * stopping, a one-line status, the main pid, and watchdog keep-alives.
 *
 * The notify socket named by `NOTIFY_SOCKET` is a Unix *datagram* socket. Node cannot write one:
 * `dgram` only speaks UDP and `net` only stream sockets. So a message is handed to a tiny helper
 * program, chosen once, in this fixed order:
 *
 * 1. `systemd-notify` (Debian/Ubuntu/Fedora package `systemd`). The most dependable: whenever
 *    systemd set NOTIFY_SOCKET, systemd itself is installed and so is this program, which speaks
 *    the protocol of that very systemd version (abstract socket names, credentials, and the
 *    `BARRIER=1` handshake that keeps the sender alive until systemd has read the message — without
 *    it systemd may drop a message whose short-lived sender has already exited, because it can no
 *    longer tell which unit the sender belonged to).
 * 2. `python3` with its `socket` module: present on most hosts and images that lack systemd's tools
 *    (a container started by systemd-nspawn or podman with `--sdnotify`, a minimal distro). The
 *    script below performs the same barrier handshake as `systemd-notify`.
 *
 * `socat` was considered and left out: it is rarely installed, and it cannot perform the barrier
 * handshake, so on a busy host its messages can be dropped — the failure this file exists to avoid.
 * When neither program is found, each message is reported once through `onError` and dropped: the
 * cluster keeps running, systemd times out the start (`TimeoutStartSec`) and says why.
 *
 * Without `NOTIFY_SOCKET` every method is a no-op that resolves at once.
 * Messages are sent one at a time, in order; a message never throws, it resolves `false` on failure.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SmartworkersError } from '../errors';

export type NotifyTransportName = 'systemd-notify' | 'python3';

/** The fallback order: the first program found on PATH is used. */
export const NOTIFY_TRANSPORTS: readonly NotifyTransportName[] = ['systemd-notify', 'python3'];

/** One notify field, `KEY=VALUE`, in the order given. */
export type NotifyFields = ReadonlyArray<readonly [string, string | number]>;

export interface Notifier {
  /** True when NOTIFY_SOCKET is set (messages are attempted). */
  readonly enabled: boolean;
  /** The helper program in use, or null (disabled, or none found). */
  readonly transport: NotifyTransportName | null;
  /** Sends raw fields; resolves true once the helper reported success. */
  send(fields: NotifyFields): Promise<boolean>;
  /** `READY=1` (+ `STATUS=` when given). */
  ready(status?: string): Promise<boolean>;
  /** `RELOADING=1` + `MONOTONIC_USEC=` (+ `STATUS=`); send `ready()` when the reload is over. */
  reloading(status?: string): Promise<boolean>;
  /** `STOPPING=1` (+ `STATUS=`). */
  stopping(status?: string): Promise<boolean>;
  /** `STATUS=<one line>`. */
  status(text: string): Promise<boolean>;
  /** `MAINPID=<pid>` (default: this process). */
  mainPid(pid?: number): Promise<boolean>;
  /** `WATCHDOG=1`. Coalesced: never more than one waits in the queue. */
  watchdog(): Promise<boolean>;
  /** Resolves once every message queued so far has been handled. */
  flush(): Promise<void>;
}

export interface NotifierOptions {
  /** Override the fallback order (tests force one transport). */
  transports?: readonly NotifyTransportName[];
  /** Called for each failed message, with a one-line error. */
  onError?: (error: SmartworkersError) => void;
  /** Kill a helper still running after this long, ms (default 10 s; the barrier waits at most 5 s). */
  helperTimeoutMs?: number;
}

/**
 * The python3 sender: connects to NOTIFY_SOCKET (an `@` prefix names an abstract socket), sends the
 * message given as argv[1] byte for byte, then `BARRIER=1` with the write end of a pipe attached and
 * waits (at most 5 s) until the receiver has closed it — the handshake `sd_notify_barrier()` does.
 */
const PYTHON_SENDER = [
  'import array, os, select, socket, sys',
  "addr = os.environ['NOTIFY_SOCKET']",
  "addr = '\\0' + addr[1:] if addr.startswith('@') else addr",
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  's.connect(addr)',
  's.send(os.fsencode(sys.argv[1]))',
  'r, w = os.pipe()',
  "s.sendmsg([b'BARRIER=1'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [w]))])",
  'os.close(w)',
  'p = select.poll()',
  'p.register(r, select.POLLHUP)',
  'p.poll(5000)',
].join('\n');

const FIELD_KEY = /^[A-Z_][A-Z0-9_]*$/;

/** `KEY=VALUE` lines joined by `\n`, as sd_notify expects. Values are made one line. */
export function formatNotifyMessage(fields: NotifyFields): string {
  return notifyAssignments(fields).join('\n');
}

function notifyAssignments(fields: NotifyFields): string[] {
  return fields.map(([key, value]) => {
    if (!FIELD_KEY.test(key)) {
      throw new SmartworkersError('SW_NOTIFY_FAILED', `Expected a notify field name like READY or STATUS, got ${JSON.stringify(key)}`);
    }
    return `${key}=${String(value).replace(/[\r\n]+/g, ' ')}`;
  });
}

/** The first executable named `name` on the PATH, or null. */
export function findProgram(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** CLOCK_MONOTONIC in µs (libuv's hrtime is CLOCK_MONOTONIC on Linux), for `MONOTONIC_USEC`. */
function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}

function withStatus(fields: Array<[string, string | number]>, status: string | undefined): NotifyFields {
  if (status !== undefined) fields.push(['STATUS', status]);
  return fields;
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env, options: NotifierOptions = {}): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const enabled = typeof socket === 'string' && socket.length > 0;
  const onError = options.onError ?? (() => {});
  const helperTimeoutMs = options.helperTimeoutMs ?? 10_000;

  let transport: NotifyTransportName | null = null;
  let program: string | null = null;
  if (enabled) {
    for (const name of options.transports ?? NOTIFY_TRANSPORTS) {
      program = findProgram(name, env.PATH ?? process.env.PATH);
      if (program) {
        transport = name;
        break;
      }
    }
  }
  // The helper gets a minimal environment: where the socket is, and a PATH for its own needs.
  const childEnv: NodeJS.ProcessEnv = { NOTIFY_SOCKET: socket, PATH: env.PATH ?? process.env.PATH ?? '' };

  let queue: Promise<unknown> = Promise.resolve();
  let watchdogQueued: Promise<boolean> | null = null;

  function runHelper(assignments: string[]): Promise<boolean> {
    return new Promise((resolve) => {
      const fail = (message: string): void => {
        onError(new SmartworkersError('SW_NOTIFY_FAILED', message));
        resolve(false);
      };
      if (!program || !transport) {
        fail(`Cannot notify systemd at NOTIFY_SOCKET=${socket}: neither systemd-notify nor python3 is on the PATH`);
        return;
      }
      const args = transport === 'systemd-notify' ? assignments : ['-c', PYTHON_SENDER, assignments.join('\n')];
      const child = spawn(program, args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (stderr.length < 2000) stderr += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), helperTimeoutMs);
      timer.unref();
      child.on('error', (err) => {
        clearTimeout(timer);
        fail(`Cannot run ${program} to notify systemd: ${err.message}`);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) {
          resolve(true);
          return;
        }
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const detail = stderr.trim().split('\n').pop() ?? '';
        fail(`${transport} could not notify systemd at NOTIFY_SOCKET=${socket} (${why})${detail ? `: ${detail}` : ''}`);
      });
    });
  }

  function send(fields: NotifyFields): Promise<boolean> {
    if (!enabled) return Promise.resolve(false);
    let assignments: string[];
    try {
      assignments = notifyAssignments(fields);
    } catch (err) {
      onError(err as SmartworkersError);
      return Promise.resolve(false);
    }
    if (assignments.length === 0) return Promise.resolve(true);
    const result = queue.then(() => runHelper(assignments));
    queue = result;
    return result;
  }

  return {
    enabled,
    transport,
    send,
    ready: (status) => send(withStatus([['READY', 1]], status)),
    reloading: (status) => send(withStatus([['RELOADING', 1], ['MONOTONIC_USEC', monotonicUsec()]], status)),
    stopping: (status) => send(withStatus([['STOPPING', 1]], status)),
    status: (text) => send([['STATUS', text]]),
    mainPid: (pid = process.pid) => send([['MAINPID', pid]]),
    watchdog: () => {
      if (!enabled) return Promise.resolve(false);
      if (watchdogQueued) return watchdogQueued;
      const sent = send([['WATCHDOG', 1]]);
      watchdogQueued = sent;
      void sent.finally(() => {
        if (watchdogQueued === sent) watchdogQueued = null;
      });
      return sent;
    },
    flush: () => queue.then(() => undefined),
  };
}
