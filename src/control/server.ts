/**
 * The control socket server in the primary. It does work only when a request arrives, reads
 * at most {@link MAX_REQUEST_BYTES} per line, answers every bad request with an error reply
 * and never throws into the primary.
 */
import net from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { SmartworkersError } from '../errors';
import type { ClusterControl } from './types';
import {
  MAX_REQUEST_BYTES,
  encodeError,
  encodeResult,
  parseRequestLine,
  toRecycleTarget,
  toScaleSpec,
  type ControlRequest,
  type ReplyError,
} from './protocol';
import { prepareSocketDirectory } from './socket-path';

/** The subset of a pino logger the control and status servers use. */
export interface OperateLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ControlServerOptions {
  socketPath: string;
  control: ClusterControl;
  logger?: OperateLogger;
  /** At most this many connections at once: a new one beyond it evicts the oldest idle one. Default 64. */
  maxConnections?: number;
  /** A connection with no request in flight is closed after this long without a byte, ms. Default 5 s. */
  idleTimeoutMs?: number;
  /** A request line must be complete this long after its first byte, ms. Default 5 s. */
  requestTimeoutMs?: number;
  /** How long `close()` lets in-flight replies finish before cutting connections, ms. Default 2 s. */
  closeGraceMs?: number;
}

export interface ControlServer {
  readonly socketPath: string;
  /** Stops accepting, removes the socket file, ends connections. Call it last when the primary stops:
   * `smartworkers stop` waits for its connection to close to report that the cluster is gone. */
  close(): Promise<void>;
}

/** How long the liveness probe of an existing socket may take before it counts as live. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Listens on `socketPath` (mode 0600; its directory created 0700). A socket left by a dead
 * primary is replaced; a live one makes this throw `SW_ALREADY_RUNNING`.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { socketPath, control, logger } = options;
  const limits: ConnectionLimits = {
    idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
  };
  const maxConnections = options.maxConnections ?? 64;
  prepareSocketDirectory(socketPath);
  await removeStaleSocket(socketPath);

  // Insertion order = age: the first idle one is the one to evict. Idle connections must never
  // lock the CLI out (they did at 32), and the cost per connection stays bounded.
  const connections = new Set<MarkedSocket>();
  let evicted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket: MarkedSocket) => {
    if (connections.size >= maxConnections) {
      let oldestIdle: MarkedSocket | undefined;
      for (const c of connections) {
        if (!c.busy && !c.heldUntilExit) {
          oldestIdle = c;
          break;
        }
      }
      if (!oldestIdle) {
        logger?.warn({ maxConnections }, 'control socket: every connection is busy with a command; new connection refused');
        socket.destroy();
        return;
      }
      oldestIdle.destroy();
      connections.delete(oldestIdle);
      evicted += 1;
      // One line for the first, then one per thousand: a flood must not flood the log.
      if (evicted === 1 || evicted % 1000 === 0) {
        logger?.warn({ maxConnections, evicted }, 'control socket full: closed the oldest idle connection');
      }
    }
    serveConnection(socket, control, logger, limits, connections);
  });
  server.on('error', (error) => logger?.warn({ err: error, socketPath }, 'control socket error'));
  await listenOwnerOnly(server, socketPath);
  const boundInode = lstatSync(socketPath).ino;
  logger?.debug({ socketPath }, 'control socket listening');

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= closeServer(server, connections, socketPath, boundInode, options.closeGraceMs ?? 2000);
      return closing;
    },
  };
}

// ---------------------------------------------------------------- claiming the path

async function removeStaleSocket(socketPath: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(socketPath).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot inspect ${socketPath}: ${(error as Error).message}`);
  }
  if (!isSocket) {
    throw new SmartworkersError('SW_CONTROL_SOCKET', `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  const state = await probeSocket(socketPath);
  if (state === 'live') {
    throw new SmartworkersError(
      'SW_ALREADY_RUNNING',
      `a cluster is already running on control socket ${socketPath}; not starting a second one`,
    );
  }
  if (state === 'stale') {
    try {
      unlinkSync(socketPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot remove the stale socket ${socketPath}: ${(error as Error).message}`);
      }
    }
  }
}

/** 'live' when something accepts connections there, 'stale' when nothing listens, 'gone' when it vanished. */
export function probeSocket(socketPath: string): Promise<'live' | 'stale' | 'gone'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => finish('live'), PROBE_TIMEOUT_MS); // a primary too busy to accept is still alive
    function finish(state: 'live' | 'stale' | 'gone' | Error): void {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      if (state instanceof Error) reject(state);
      else resolve(state);
    }
    socket.once('connect', () => finish('live'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish('stale');
      else if (error.code === 'ENOENT') finish('gone');
      else if (error.code === 'EAGAIN') finish('live'); // backlog full: someone is listening
      else finish(new SmartworkersError('SW_CONTROL_SOCKET', `cannot check control socket ${socketPath}: ${error.message}`));
    });
  });
}

/** Binds with a 0177 umask so the socket is 0600 from its first instant (bind is synchronous in the primary). */
function listenOwnerOnly(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(new SmartworkersError('SW_ALREADY_RUNNING', `another process took control socket ${socketPath} while this one started`));
      } else {
        reject(new SmartworkersError('SW_CONTROL_SOCKET', `cannot listen on control socket ${socketPath}: ${error.message}`));
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(); // no chmod afterwards: it would follow a symlink put in the socket's place

    };
    server.once('error', onError);
    server.once('listening', onListening);
    const previous = process.umask(0o177);
    try {
      server.listen(socketPath);
    } finally {
      process.umask(previous);
    }
  });
}

async function closeServer(
  server: net.Server,
  connections: Set<net.Socket>,
  socketPath: string,
  boundInode: number,
  graceMs: number,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    if (lstatSync(socketPath).ino === boundInode) unlinkSync(socketPath);
  } catch {
    // already removed
  }
  for (const socket of connections) {
    if (!(socket as MarkedSocket).busy) socket.end();
  }
  const cut = setTimeout(() => {
    for (const socket of connections) socket.destroy();
  }, graceMs);
  cut.unref();
  await closed;
  clearTimeout(cut);
}

// ---------------------------------------------------------------- one connection

interface MarkedSocket extends net.Socket {
  /** A request is being answered on it. */
  busy?: boolean;
  /** After a stop reply the client waits for this connection to close with the primary. */
  heldUntilExit?: boolean;
}

interface ConnectionLimits {
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}

function serveConnection(
  socket: MarkedSocket,
  control: ClusterControl,
  logger: OperateLogger | undefined,
  limits: ConnectionLimits,
  connections: Set<MarkedSocket>,
): void {
  connections.add(socket);
  let pending: Buffer = Buffer.alloc(0);
  /** When the first byte of the unfinished line arrived. */
  let partialSince = 0;
  let inFlight = 0;
  let refused = false;
  let queue: Promise<void> = Promise.resolve();

  socket.setTimeout(limits.idleTimeoutMs);
  socket.on('timeout', () => {
    if (inFlight === 0 && !socket.heldUntilExit) socket.destroy();
  });
  socket.on('error', (error) => logger?.debug({ err: error }, 'control connection error'));
  socket.on('close', () => connections.delete(socket));

  const enqueue = (produce: () => Promise<string>, thenEnd = false): void => {
    inFlight += 1;
    socket.busy = true;
    queue = queue.then(async () => {
      const reply = await produce();
      inFlight -= 1;
      socket.busy = inFlight > 0;
      if (socket.destroyed || socket.writableEnded) return;
      socket.write(reply);
      if (thenEnd) socket.end();
    });
  };

  const refuseOversized = (): void => {
    refused = true;
    pending = Buffer.alloc(0);
    logger?.warn({ limitBytes: MAX_REQUEST_BYTES }, 'control request too large; connection closed');
    enqueue(
      async () =>
        encodeError(null, {
          code: 'SW_CONTROL_REQUEST_TOO_LARGE',
          message: `request line is longer than ${MAX_REQUEST_BYTES} bytes; send one JSON object per line, ended by a newline`,
        }),
      true,
    );
  };

  socket.on('data', (chunk: Buffer) => {
    if (refused) return;
    const now = Date.now();
    if (pending.length === 0) partialSince = now;
    else if (now - partialSince > limits.requestTimeoutMs) {
      logger?.debug({ requestTimeoutMs: limits.requestTimeoutMs }, 'control request line too slow; connection closed');
      socket.destroy();
      return;
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let newline: number;
    while ((newline = pending.indexOf(10)) !== -1) {
      const lineBytes = pending.subarray(0, newline);
      pending = pending.subarray(newline + 1);
      partialSince = now; // what is left began in this chunk
      if (lineBytes.length > MAX_REQUEST_BYTES) return refuseOversized();
      const line = lineBytes.toString('utf8').replace(/\r$/, '');
      if (line.trim() === '') continue;
      enqueue(async () => {
        const { reply, isStop } = await answer(line, control, logger);
        if (isStop) socket.heldUntilExit = true;
        return reply;
      });
    }
    if (pending.length > MAX_REQUEST_BYTES) refuseOversized();
  });
  socket.on('end', () => {
    // The client has sent everything; reply to what is queued, then close our side.
    queue = queue.then(() => {
      if (!socket.destroyed && !socket.heldUntilExit) socket.end();
    });
  });
}

async function answer(
  line: string,
  control: ClusterControl,
  logger: OperateLogger | undefined,
): Promise<{ reply: string; isStop: boolean }> {
  const parsed = parseRequestLine(line);
  if (!parsed.ok) {
    logger?.warn({ code: parsed.code, reason: parsed.message }, 'bad control request');
    return { reply: encodeError(parsed.id, { code: parsed.code, message: parsed.message }), isStop: false };
  }
  const { request } = parsed;
  logger?.debug({ cmd: request.cmd, args: request.args }, 'control request');
  try {
    const result = await execute(request, control);
    return { reply: encodeResult(request.id, result), isStop: request.cmd === 'stop' };
  } catch (error) {
    const replyError = toReplyError(error);
    logger?.warn({ cmd: request.cmd, code: replyError.code, reason: replyError.message }, 'control command failed');
    return { reply: encodeError(request.id, replyError), isStop: false };
  }
}

async function execute(request: ControlRequest, control: ClusterControl): Promise<unknown> {
  switch (request.cmd) {
    case 'status':
      return control.snapshot();
    case 'tasks': {
      const tasks = await control.listTasks();
      return { now: Date.now(), tasks };
    }
    case 'reload':
      return control.reload(request.args.app, request.args.wait ?? true);
    case 'recycle':
      return control.recycle(toRecycleTarget(request.args), request.args.force ?? false, request.args.wait ?? true);
    case 'scale':
      return control.scale(toScaleSpec(request.args), request.args.wait ?? true);
    case 'stop':
      return control.stop(request.args.force ?? false);
    case 'deploy':
      if (!control.deploy) throw new SmartworkersError('SW_CONTROL_BAD_REQUEST', 'this primary cannot deploy (it was not started by `smartworkers start`)');
      return control.deploy(request.args.config, request.args.env, request.args.wait ?? true);
    case 'queues':
      if (!control.queues) return { ok: false, message: 'this primary does not know BullMQ queues', queues: [] };
      return control.queues(request.args.action ?? 'list', request.args.queue);
    case 'logs':
      if (!control.logs) throw new SmartworkersError('SW_CONTROL_ACTION_FAILED', 'this primary does not list its log files');
      return control.logs();
    case 'task-cancel':
      return need(control.cancelTask, 'task-cancel').call(control, request.args.id);
    case 'task-history':
      return need(control.taskHistory, 'task-history').call(control, request.args);
    case 'task-pause':
      return need(control.pauseTasks, 'task-pause').call(control, request.args.app, request.args.type, true);
    case 'task-resume':
      return need(control.pauseTasks, 'task-resume').call(control, request.args.app, request.args.type, false);
  }
}

function need<F>(method: F | undefined, cmd: string): F {
  if (method === undefined) throw new Error(`'${cmd}' is not supported by this primary`);
  return method;
}

function toReplyError(error: unknown): ReplyError {
  if (error instanceof SmartworkersError) return { code: error.code, message: error.message, fix: error.fix };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'SW_CONTROL_ACTION_FAILED', message };
}
