/**
 * The CLI side of the control socket: one connection per command, one request, one reply.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { ERRORS, SmartworkersError, type ErrorCode } from '../errors';
import {
  encodeRequest,
  parseReplyLine,
  type CommandArgs,
  type CommandName,
  type CommandResults,
  type ControlReply,
} from './protocol';
import { checkSocketBeforeConnect } from './socket-safety';

let nextRequestId = 1;

/**
 * Sends one command and resolves with its result. `timeoutMs` bounds the wait for the reply
 * (0 = no bound: the primary answers an action once it has completed).
 *
 * Throws `SW_NOT_RUNNING` when nothing listens at `socketPath`, `SW_CONTROL_SOCKET` when the
 * socket or its directory could belong to another user (nothing is sent then),
 * `SW_CONTROL_NO_REPLY` on a timeout or a connection closed early, and the primary's own error
 * code when it refuses.
 */
export async function sendCommand<C extends CommandName>(
  socketPath: string,
  cmd: C,
  args: CommandArgs[C],
  timeoutMs: number,
): Promise<CommandResults[C]> {
  const { reply } = await exchange(socketPath, encodeRequest(nextRequestId++, cmd, args), { timeoutMs, holdUntilClosed: false });
  return unwrap(reply) as CommandResults[C];
}

export interface StopOutcome {
  result: CommandResults['stop'];
  /** True when the primary closed the connection (it is gone) within `exitTimeoutMs`. */
  exited: boolean;
}

/**
 * Sends `stop`; with `waitForExit`, then keeps the connection open until the primary closes it
 * as it exits (bounded by `exitTimeoutMs`, 0 = no bound).
 */
export async function stopCluster(
  socketPath: string,
  force: boolean,
  options: { timeoutMs: number; waitForExit: boolean; exitTimeoutMs: number },
): Promise<StopOutcome> {
  const { reply, closed } = await exchange(socketPath, encodeRequest(nextRequestId++, 'stop', { force }), {
    timeoutMs: options.timeoutMs,
    holdUntilClosed: options.waitForExit,
    closeTimeoutMs: options.exitTimeoutMs,
  });
  const result = unwrap(reply) as CommandResults['stop'];
  // The primary closes the socket first, then flushes its logs and notifications and exits: wait
  // for the process itself (same host: the socket is local), within what is left of the bound.
  const pid = result.details?.pid;
  if (closed && typeof pid === 'number' && pid > 0) {
    const deadline = options.exitTimeoutMs > 0 ? Date.now() + options.exitTimeoutMs : Infinity;
    while (processRuns(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return { result, exited: !processRuns(pid) };
  }
  return { result, exited: closed };
}

/**
 * True while `pid` runs (EPERM: it runs, as another user). A zombie has exited: its reaper (init,
 * or a container's PID 1 that never reaps) is not ours to wait for.
 */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) is all we know
  }
}

function unwrap(reply: ControlReply): unknown {
  if (reply.ok) return reply.result;
  const code = isErrorCode(reply.error.code) ? reply.error.code : 'SW_CONTROL_ACTION_FAILED';
  const message = code === reply.error.code ? reply.error.message : `${reply.error.code}: ${reply.error.message}`;
  throw new SmartworkersError(code, message);
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code);
}

interface ExchangeOptions {
  timeoutMs: number;
  holdUntilClosed: boolean;
  closeTimeoutMs?: number;
}

/** How long the CLI retries a connect refused with EAGAIN (the primary's backlog is full: it is busy or flooded). */
const CONNECT_RETRY_MS = 3_000;

/** Connects, retrying while the backlog is full; rejects with the error a user can act on otherwise. */
function connectSocket(socketPath: string): Promise<net.Socket> {
  const giveUpAt = Date.now() + CONNECT_RETRY_MS;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = net.connect(socketPath);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        if (error.code === 'EAGAIN' && Date.now() < giveUpAt) setTimeout(attempt, 20);
        else reject(connectionError(socketPath, error));
      });
    };
    attempt();
  });
}

async function exchange(socketPath: string, requestLine: string, options: ExchangeOptions): Promise<{ reply: ControlReply; closed: boolean }> {
  checkSocketBeforeConnect(socketPath); // nothing is sent to a socket another user could have put there
  const socket = await connectSocket(socketPath);
  return new Promise((resolve, reject) => {
    let received = '';
    let reply: ControlReply | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const arm = (ms: number | undefined, onTimeout: () => void): void => {
      if (timer) clearTimeout(timer);
      timer = ms && ms > 0 ? setTimeout(onTimeout, ms) : undefined;
    };
    const settle = (outcome: { reply: ControlReply; closed: boolean } | Error): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.on('error', () => {});
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };

    arm(options.timeoutMs, () =>
      settle(new SmartworkersError('SW_CONTROL_NO_REPLY', `no reply from the cluster at ${socketPath} within ${formatSeconds(options.timeoutMs)}`)),
    );
    socket.setEncoding('utf8');
    socket.write(requestLine);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // After the reply, a reset only means the primary has gone, which is what a stop waits for.
      settle(reply ? { reply, closed: true } : connectionError(socketPath, error));
    });
    socket.on('data', (chunk: string) => {
      if (reply) return; // after the reply only the close matters
      received += chunk;
      const newline = received.indexOf('\n');
      if (newline === -1) return;
      const parsed = parseReplyLine(received.slice(0, newline));
      if (!parsed.ok) {
        settle(new SmartworkersError('SW_CONTROL_NO_REPLY', `the cluster at ${socketPath} sent an unreadable reply: ${parsed.message}`));
        return;
      }
      reply = parsed.reply;
      if (!options.holdUntilClosed || !reply.ok) {
        settle({ reply, closed: false });
        return;
      }
      const got = reply;
      arm(options.closeTimeoutMs, () => settle({ reply: got, closed: false }));
    });
    socket.on('close', () => {
      if (reply) settle({ reply, closed: true });
      else settle(new SmartworkersError('SW_CONTROL_NO_REPLY', `the cluster at ${socketPath} closed the connection before answering`));
    });
  });
}

function connectionError(socketPath: string, error: NodeJS.ErrnoException): SmartworkersError {
  switch (error.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTDIR':
      return new SmartworkersError('SW_NOT_RUNNING', `no cluster is running at ${socketPath}`);
    case 'EACCES':
    case 'EPERM':
      return new SmartworkersError('SW_CONTROL_SOCKET', `no permission to use control socket ${socketPath} (does it belong to another user?)`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new SmartworkersError('SW_CONTROL_NO_REPLY', `the cluster at ${socketPath} closed the connection before answering`);
    default:
      return new SmartworkersError('SW_CONTROL_SOCKET', `cannot connect to control socket ${socketPath}: ${error.message}`);
  }
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
}
