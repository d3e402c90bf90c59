/**
 * The worker's side of log files: the worker writes its own stdout and stderr to its files,
 * so no line crosses IPC or the primary's event loop (the primary is every connection's accept
 * loop).
 *
 * - `process.stdout.write` / `process.stderr.write` are replaced: text is cut into whole lines,
 *   each prefixed (timestamp) or wrapped (json) as configured, and queued per file.
 * - A queue is written with one `writeSync` of whole lines to an fd opened with O_APPEND, at the
 *   end of the current turn of the event loop (or at once past 64 KiB). The kernel appends each
 *   write at the end of the file as a unit, so workers sharing a file (`merge_logs`) never
 *   interleave inside a line, and a worker's lines stay in the order it wrote them.
 * - Everything queued is written at exit (a recycle's `process.exit`, a crash): nothing is lost
 *   but what a SIGKILL cuts in the current turn. A crash's stack trace goes to the error file.
 * - `reopen()` writes what is queued to the old file, closes it and opens the path again:
 *   rotation (the primary renamed the file, then asks) and SIGUSR1 after an external `mv`.
 * - A file that cannot be opened or written (EACCES, EISDIR, ENOSPC…) never throws into the app:
 *   one line on the inherited stderr names the path and the cause, its lines go to the inherited
 *   stream meanwhile, and writing is retried every second.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { DISCARD, type WorkerLogConfig } from './targets';
import { cachedFormatter } from './timestamp';

const FLUSH_AT_BYTES = 64 * 1024;
/** A line longer than this without a newline is written as it is (an app writing a huge blob). */
const MAX_PARTIAL = 64 * 1024;
const RETRY_MS = 1_000;

type Kind = 'out' | 'err';

interface Sink {
  path: string;
  fd: number | null;
  /** Whole lines not written yet (a string built by `+=`: V8 joins it once, at the write). */
  queue: string;
  bytes: number;
  /** Set while the file cannot be written: the error, and when to try again. */
  failure: { code: string; retryAt: number } | null;
}

interface StreamState {
  kind: Kind;
  sinks: Sink[];
  /** Its own file is unset: the text still goes to the inherited stream, as before. */
  inherit: boolean;
  write: (chunk: string | Uint8Array) => boolean;
  partial: string;
}

export interface LogWriter {
  /** Writes everything queued now (synchronously). */
  flush(): void;
  /** Flush, close and open every file again (rotation, SIGUSR1). */
  reopen(): void;
  /** Restore the original streams (tests). */
  uninstall(): void;
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const causes: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent is not a directory',
    ENOENT: 'its directory does not exist',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EFBIG: 'file too large',
  };
  return e?.code ? `${e.code} (${causes[e.code] ?? e.message})` : String(err);
}

/**
 * Installs the writer in this process. `notice` gets the lines about files that cannot be written
 * (default: the inherited stderr, which the primary's own log shares).
 */
export function installLogWriter(config: WorkerLogConfig, notice?: (line: string) => void): LogWriter {
  const stamp = config.date === undefined ? undefined : cachedFormatter(config.date);
  const isoStamp = (): string => new Date().toISOString();
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const inheritedWrite = (kind: Kind) => {
    const stream = kind === 'out' ? process.stdout : process.stderr;
    const write = originals[kind];
    return (chunk: string | Uint8Array): boolean => write.call(stream, chunk);
  };
  const tell = notice ?? ((line: string) => inheritedWrite('err')(`${line}\n`));
  const label = `smartworkers worker ${process.pid} (${config.app}:${config.slot})`;

  const sinks = new Map<string, Sink>();
  const sinkFor = (path: string | undefined): Sink | null | undefined => {
    if (path === undefined) return undefined;
    if (path === DISCARD) return null;
    let sink = sinks.get(path);
    if (!sink) {
      sink = { path, fd: null, queue: '', bytes: 0, failure: null };
      sinks.set(path, sink);
      open(sink);
    }
    return sink;
  };

  function fail(sink: Sink, err: unknown, doing: string): void {
    const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
    if (sink.failure === null) tell(`${label}: cannot ${doing} log file ${sink.path}: ${describeError(err)}; its lines go to the inherited ${sink.path === config.err ? 'stderr' : 'stdout/stderr'} until it can be written (retried every second)`);
    sink.failure = { code, retryAt: Date.now() + RETRY_MS };
  }

  function open(sink: Sink): boolean {
    try {
      try {
        sink.fd = openSync(sink.path, 'a', 0o644);
      } catch (err) {
        // A directory removed since the primary checked it (a cleanup job): make it again once.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(dirname(sink.path), { recursive: true });
        sink.fd = openSync(sink.path, 'a', 0o644);
      }
      if (sink.failure !== null) tell(`${label}: log file ${sink.path} is written again`);
      sink.failure = null;
      return true;
    } catch (err) {
      sink.fd = null;
      fail(sink, err, 'open');
      return false;
    }
  }

  const streams: Record<Kind, StreamState> = {
    out: makeStream('out', config.out),
    err: makeStream('err', config.err),
  };

  function makeStream(kind: Kind, own: string | undefined): StreamState {
    const list: Sink[] = [];
    const ownSink = sinkFor(own);
    if (ownSink) list.push(ownSink);
    const combined = sinkFor(config.combined);
    if (combined && combined !== ownSink) list.push(combined);
    return { kind, sinks: list, inherit: own === undefined, write: inheritedWrite(kind), partial: '' };
  }

  /** `line` ends with its newline (a write of one whole line is queued without being cut). */
  function format(kind: Kind, line: string): string {
    if (config.json) {
      return `${JSON.stringify({ message: line.slice(0, -1), timestamp: stamp ? stamp() : isoStamp(), type: kind, process_id: config.slot, app_name: config.app })}\n`;
    }
    return stamp ? `${stamp()}: ${line}` : line;
  }

  let scheduled = false;
  const scheduleFlush = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  /** Queues one line, given with its newline. */
  function queueLine(state: StreamState, line: string): void {
    if (state.sinks.length === 0) return;
    const text = format(state.kind, line);
    let accepted = false;
    for (const sink of state.sinks) {
      if (sink.failure !== null && Date.now() < sink.failure.retryAt) continue;
      accepted = true;
      sink.queue += text;
      sink.bytes += text.length;
      if (sink.bytes >= FLUSH_AT_BYTES) writeSink(sink);
    }
    // No file takes it: the inherited stream does (unless it has it already), so it is not lost.
    if (!accepted && !state.inherit) state.write(line);
    scheduleFlush();
  }

  function take(state: StreamState, text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    // The usual write (console.log): one whole line, queued as it is.
    if (newline === text.length - 1 && state.partial === '') {
      queueLine(state, text);
      return;
    }
    if (newline === -1) {
      state.partial += text;
      if (state.partial.length > MAX_PARTIAL) {
        queueLine(state, `${state.partial}\n`);
        state.partial = '';
      }
      return;
    }
    // First line completes what earlier writes left without a newline.
    queueLine(state, state.partial + text.slice(0, newline + 1));
    state.partial = '';
    start = newline + 1;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      queueLine(state, text.slice(start, newline + 1));
      start = newline + 1;
    }
    if (start < text.length) state.partial = text.slice(start);
  }

  function writeSink(sink: Sink): void {
    if (sink.queue.length === 0) return;
    const text = sink.queue;
    sink.queue = '';
    sink.bytes = 0;
    if (sink.fd === null) {
      const retry = sink.failure === null || Date.now() >= sink.failure.retryAt;
      if (!retry || !open(sink)) {
        spill(sink, text);
        return;
      }
    }
    // The string is written as it is (no Buffer made per write); a short write (rare: a disk
    // filling up, a signal) goes on from the byte it stopped at.
    let data: Buffer | undefined;
    let offset = 0;
    try {
      offset = writeSync(sink.fd!, text);
      if (offset < Buffer.byteLength(text)) {
        data = Buffer.from(text, 'utf8');
        while (offset < data.length) offset += writeSync(sink.fd!, data, offset, data.length - offset);
      }
      if (sink.failure !== null) {
        tell(`${label}: log file ${sink.path} is written again`);
        sink.failure = null;
      }
    } catch (err) {
      fail(sink, err, 'write');
      // A short write (a disk filling up) may have cut a line: spill from that line's start.
      if (offset === 0) spill(sink, text);
      else {
        data ??= Buffer.from(text, 'utf8');
        spill(sink, data.subarray(data.lastIndexOf(10, offset - 1) + 1).toString('utf8'));
      }
    }
  }

  /**
   * Lines a file could not take go to the inherited stream, so they are not lost — unless another
   * file of the stream works (it has them) or the stream is inherited anyway.
   */
  function spill(sink: Sink, text: string): void {
    for (const state of [streams.out, streams.err]) {
      if (!state.sinks.includes(sink) || state.inherit) continue;
      if (state.sinks.some((other) => other !== sink && other.failure === null)) continue;
      state.write(text);
      return;
    }
  }

  function flush(): void {
    scheduled = false;
    for (const sink of sinks.values()) writeSink(sink);
  }

  function flushPartials(): void {
    for (const state of [streams.out, streams.err]) {
      if (state.partial !== '') {
        const rest = state.partial;
        state.partial = '';
        queueLine(state, `${rest}\n`);
      }
    }
  }

  function patch(state: StreamState): void {
    const stream = state.kind === 'out' ? process.stdout : process.stderr;
    const own = state.inherit ? originals[state.kind] : null;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
      const cb = typeof encoding === 'function' ? encoding : callback;
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk as Uint8Array).toString('utf8') : String(chunk);
      take(state, text);
      if (own) return own.call(stream, chunk as string, encoding as BufferEncoding, callback as () => void);
      if (typeof cb === 'function') process.nextTick(cb as () => void);
      return true;
    } as typeof stream.write;
  }
  if (streams.out.sinks.length > 0 || config.out === DISCARD) patch(streams.out);
  if (streams.err.sinks.length > 0 || config.err === DISCARD) patch(streams.err);

  // A crash: Node prints the stack to the inherited fd 2 itself; the error file gets it too.
  const onCrash = (err: unknown, origin: string): void => {
    const handled = origin === 'unhandledRejection' ? process.listenerCount('unhandledRejection') > 0 : process.listenerCount('uncaughtException') > 0;
    if (handled) return;
    const text = err instanceof Error && err.stack ? err.stack : `Uncaught ${String(err)}`;
    take(streams.err, `${text}\n`);
    flushPartials();
    flush();
  };
  const onExit = (): void => {
    flushPartials();
    flush();
  };
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('exit', onExit);

  return {
    flush,
    reopen() {
      flush();
      for (const sink of sinks.values()) {
        if (sink.fd !== null) {
          try {
            closeSync(sink.fd);
          } catch {
            // Already closed: opened again below.
          }
          sink.fd = null;
        }
        open(sink);
      }
    },
    uninstall() {
      onExit();
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
      process.off('uncaughtExceptionMonitor', onCrash);
      process.off('exit', onExit);
      for (const sink of sinks.values()) if (sink.fd !== null) closeSync(sink.fd);
    },
  };
}
