/**
 * Reading a cluster's log files for `smartworkers logs`: the last lines of each file and a live
 * tail that follows rotations (the path gets a new inode: the old file is read to its end first,
 * then the new one from its start, as `tail -F`), merged across files in time order. A file's own
 * order is never changed: lines without a parseable time keep the time of the line before them.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { AppLogs } from './query';
import type { LogFile, StreamName } from './targets';
import { prefixParser } from './timestamp';

export interface LogLine {
  app: string;
  /** null: a merged file, whose lines do not say which slot wrote them (unless json). */
  slot: number | null;
  stream: StreamName;
  /** epoch ms, or null when neither this line nor one before it in its file had a time. */
  time: number | null;
  /** The line as written (with its timestamp prefix, or the JSON object). */
  text: string;
  /** The message without prefix (json: its `message`). */
  message: string;
}

interface Source {
  file: LogFile;
  parse: (text: string) => { time: number | null; message: string; slot?: number; stream?: StreamName };
  lastTime: number | null;
}

/** The files to read for the apps: a combined file only where no out/err file covers that slot. */
export function filesToRead(apps: readonly AppLogs[], app?: string, slot?: number): Array<{ file: LogFile; app: AppLogs }> {
  const out: Array<{ file: LogFile; app: AppLogs }> = [];
  for (const entry of apps) {
    if (app !== undefined && entry.name !== app) continue;
    const own = entry.files.filter((f) => f.stream !== 'combined');
    for (const file of entry.files) {
      if (slot !== undefined && file.slot !== null && file.slot !== slot) continue;
      if (file.stream === 'combined' && own.some((o) => o.slot === file.slot || o.slot === null)) {
        // Both streams have their own file: the combined one would show every line twice.
        const streams = new Set(own.filter((o) => o.slot === file.slot || o.slot === null).map((o) => o.stream));
        if (streams.has('out') && streams.has('err')) continue;
      }
      out.push({ file, app: entry });
    }
  }
  return out;
}

function makeSource(file: LogFile, app: AppLogs): Source {
  const stamped = app.dateFormat === undefined ? undefined : prefixParser(app.dateFormat);
  const parse: Source['parse'] = (text) => {
    if (app.json) {
      try {
        const o = JSON.parse(text) as { message?: unknown; timestamp?: unknown; process_id?: unknown; type?: unknown };
        const time = typeof o.timestamp === 'string' ? (stamped?.(`${o.timestamp}: `)?.time ?? Date.parse(o.timestamp)) : NaN;
        return {
          time: Number.isFinite(time) ? time : null,
          message: typeof o.message === 'string' ? o.message : text,
          slot: typeof o.process_id === 'number' ? o.process_id : undefined,
          stream: o.type === 'err' ? 'err' : o.type === 'out' ? 'out' : undefined,
        };
      } catch {
        return { time: null, message: text };
      }
    }
    const parsed = stamped?.(text);
    return parsed ? { time: parsed.time, message: parsed.rest } : { time: null, message: text };
  };
  return { file, parse, lastTime: null };
}

function toLine(source: Source, text: string): LogLine {
  const parsed = source.parse(text);
  if (parsed.time !== null) source.lastTime = parsed.time;
  return {
    app: source.file.app,
    slot: parsed.slot ?? source.file.slot,
    stream: parsed.stream ?? source.file.stream,
    time: parsed.time ?? source.lastTime,
    text,
    message: parsed.message,
  };
}

/** Merges per-file lists (each kept in its order) by time; lines without a time come first. */
export function mergeByTime(lists: LogLine[][]): LogLine[] {
  const heads = lists.map(() => 0);
  const out: LogLine[] = [];
  const key = (l: LogLine): number => l.time ?? -Infinity;
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (heads[i] >= lists[i].length) continue;
      if (best === -1 || key(lists[i][heads[i]]) < key(lists[best][heads[best]])) best = i;
    }
    if (best === -1) return out;
    out.push(lists[best][heads[best]++]);
  }
}

/** The last `count` lines of a file (reads backwards in chunks; a missing file has none). */
export function lastLines(path: string, count: number): { lines: string[]; size: number; ino: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { lines: [], size: 0, ino: -1 };
  }
  try {
    const { size, ino } = fstatSync(fd);
    if (count <= 0) return { lines: [], size, ino };
    const chunk = 64 * 1024;
    let pos = size;
    let text = '';
    while (pos > 0) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, pos);
      text = buf.toString('utf8') + text;
      if (text.split('\n').length > count + 1) break;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return { lines: lines.slice(-count), size, ino };
  } finally {
    closeSync(fd);
  }
}

export interface ReadOptions {
  apps: readonly AppLogs[];
  app?: string;
  slot?: number;
  lines: number;
}

/** The last lines of every file, merged by time; the last `lines` of the merge. */
export function readLast(options: ReadOptions): { lines: LogLine[]; positions: Map<string, { size: number; ino: number }> } {
  const lists: LogLine[][] = [];
  const positions = new Map<string, { size: number; ino: number }>();
  for (const { file, app } of filesToRead(options.apps, options.app, options.slot)) {
    const source = makeSource(file, app);
    const { lines, size, ino } = lastLines(file.path, options.lines);
    positions.set(file.path, { size, ino });
    lists.push(lines.map((text) => toLine(source, text)).filter((l) => options.slot === undefined || l.slot === null || l.slot === options.slot));
  }
  const merged = mergeByTime(lists);
  return { lines: merged.slice(Math.max(0, merged.length - options.lines)), positions };
}

interface Tailed {
  source: Source;
  fd: number | null;
  ino: number;
  pos: number;
  partial: string;
}

/**
 * Follows the files from `positions` (where `readLast` stopped): every `intervalMs`, what was
 * appended since, merged by time, goes to `emit`. A rotated file is read to its end before the
 * new one. Stops when `signal` aborts.
 */
export function follow(
  options: ReadOptions & { positions: Map<string, { size: number; ino: number }>; intervalMs?: number; signal: AbortSignal },
  emit: (lines: LogLine[]) => void,
): Promise<void> {
  const tailed: Tailed[] = filesToRead(options.apps, options.app, options.slot).map(({ file, app }) => {
    const start = options.positions.get(file.path) ?? { size: 0, ino: -1 };
    let fd: number | null = null;
    let ino = -1;
    try {
      fd = openSync(file.path, 'r');
      ino = fstatSync(fd).ino;
    } catch {
      fd = null;
    }
    // The file changed between the last lines and now (rotated): start at its beginning.
    const pos = fd !== null && ino === start.ino ? start.size : 0;
    return { source: makeSource(file, app), fd, ino, pos, partial: '' };
  });

  const readNew = (t: Tailed, out: LogLine[]): void => {
    if (t.fd === null) return;
    const size = fstatSync(t.fd).size;
    if (size < t.pos) t.pos = 0; // truncated (copytruncate): read it again from the start
    while (t.pos < size) {
      const len = Math.min(256 * 1024, size - t.pos);
      const buf = Buffer.alloc(len);
      const n = readSync(t.fd, buf, 0, len, t.pos);
      if (n <= 0) break;
      t.pos += n;
      const text = t.partial + buf.subarray(0, n).toString('utf8');
      const parts = text.split('\n');
      t.partial = parts.pop() ?? '';
      for (const part of parts) {
        const line = toLine(t.source, part);
        if (options.slot === undefined || line.slot === null || line.slot === options.slot) out.push(line);
      }
    }
  };

  const poll = (): void => {
    const lists: LogLine[][] = [];
    for (const t of tailed) {
      const out: LogLine[] = [];
      readNew(t, out);
      // Rotated or created: the path names another file now. The old one is read to its end above.
      let current: number | undefined;
      try {
        current = statSync(t.source.file.path).ino;
      } catch {
        current = undefined;
      }
      if (current !== undefined && current !== t.ino) {
        if (t.fd !== null) closeSync(t.fd);
        try {
          t.fd = openSync(t.source.file.path, 'r');
          t.ino = fstatSync(t.fd).ino;
          t.pos = 0;
          t.partial = '';
          readNew(t, out);
        } catch {
          t.fd = null;
          t.ino = -1;
        }
      }
      lists.push(out);
    }
    const merged = mergeByTime(lists);
    if (merged.length > 0) emit(merged);
  };

  return new Promise((resolve) => {
    const timer = setInterval(poll, options.intervalMs ?? 200);
    const finish = (): void => {
      clearInterval(timer);
      poll();
      for (const t of tailed) if (t.fd !== null) closeSync(t.fd);
      resolve();
    };
    if (options.signal.aborted) finish();
    else options.signal.addEventListener('abort', finish, { once: true });
  });
}
