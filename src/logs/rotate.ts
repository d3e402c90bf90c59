/**
 * The primary's side of log files: it never writes a worker's line (the workers do, see
 * writer.ts); it checks the files, rotates them and tells the workers to reopen.
 *
 * A rotation of a file, by size (checked every second, less often for a file far from its limit,
 * see MAX_RECHECK_MS) or on the app's cron schedule:
 *   1. rename `out-0.log` → `out-0__2026-12-02_14-05-09-123.log`. Workers keep appending to the
 *      renamed file through their open fd: no line is lost.
 *   2. send `reopen-logs` to every live worker of the app; each writes what it queued to the
 *      old file, closes it, opens the path (a new file) and answers `logs-reopened`. A line goes
 *      to exactly one of the two files: none doubled.
 *   3. once every worker answered (or exited), gzip the renamed file when `log_compress`, and
 *      delete the oldest beyond `log_retain`. A worker that does not answer within
 *      REOPEN_TIMEOUT_MS (a blocked event loop) leaves its file uncompressed: it may still write.
 * SIGUSR1 (an external logrotate moved the files) is step 2 alone.
 */
import { createReadStream, createWriteStream, closeSync, mkdirSync, openSync, promises as fsp, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { AppSettings } from '../config/types';
import { nextCronTime, parseCron } from '../config/cron';
import type { ReopenLogsMessage } from '../protocol';
import { appLogFiles, type LogFile } from './targets';

const CHECK_INTERVAL_MS = 1_000;
/**
 * The size check's bound. A file is stat'ed again after half the time its growth since the last
 * stat predicts until `log_max_size`, at least 1 s and at most MAX_RECHECK_MS later; and at most
 * MAX_STATS_PER_CHECK files (the ones due first) per second. The primary's cost is then bounded
 * whatever the number of workers and files; a file far from its limit, or idle, is stat'ed every
 * few seconds, and a burst is caught within MAX_RECHECK_MS.
 */
const MAX_RECHECK_MS = 5_000;
const MAX_STATS_PER_CHECK = 32;
const REOPEN_TIMEOUT_MS = 30_000;
const REOPEN_POLL_MS = 50;

export interface LogFilesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What the rotation needs from the primary (the daemon mode and tests can give their own). */
export interface LogFilesDeps {
  /** The apps as currently configured (a reload may change them). */
  apps(): readonly AppSettings[];
  /** Ids of the app's workers that run now (forked, not exited). */
  liveWorkers(app: string): number[];
  /** How many slots the app has now (scaling changes it). */
  slots(app: string): number;
  send(id: number, message: ReopenLogsMessage): void;
  logger: LogFilesLogger;
  now?: () => number;
}

export interface LogFiles {
  /** A worker answered `reopen-logs` (wire to the cluster host's `onLogsReopened`). */
  reopened(id: number, seq: number): void;
  /** SIGUSR1: every worker reopens its files (after an external logrotate moved them). */
  reopenAll(): void;
  /** Rotate these files now; resolves with the rotated names, once compressed and pruned. */
  rotate(files: readonly LogFile[], why: string): Promise<string[]>;
  /** One size and cron check (the timer runs it every second). */
  check(): Promise<void>;
  /** Every file of every app. */
  files(): LogFile[];
  /** No more checks; resolves once the rotations under way are done (compressed, pruned). */
  stop(): Promise<void>;
}

/** Why a log path cannot be written, or undefined when it can (the parent is created). */
export function checkLogPath(path: string): string | undefined {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (statSafe(path)?.isDirectory()) return 'EISDIR (it is a directory)';
    closeSync(openSync(path, 'a', 0o644));
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // mkdir of a path whose parent is a file says EEXIST.
    if (e.code === 'EEXIST' || e.code === 'ENOTDIR') return 'ENOTDIR (a parent is not a directory)';
    const causes: Record<string, string> = { EACCES: 'permission denied', EROFS: 'read-only file system', ENOTDIR: 'a parent is not a directory', ENOSPC: 'no space left on device', EEXIST: 'a parent is a file' };
    return `${e.code ?? 'error'} (${(e.code && causes[e.code]) ?? e.message})`;
  }
}

function statSafe(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Checks every log file of the apps once (at start and after a reload): each one that cannot be
 * written gets one warning naming the path and the cause. The app still starts: its workers send
 * those lines to the inherited stdout/stderr and retry (writer.ts).
 */
export function checkLogFiles(apps: readonly AppSettings[], logger: LogFilesLogger): number {
  let bad = 0;
  for (const app of apps) {
    for (const file of appLogFiles(app)) {
      const problem = checkLogPath(file.path);
      if (problem === undefined) continue;
      bad += 1;
      logger.warn(
        { code: 'SW_LOG_FILE', app: app.name, path: file.path, cause: problem },
        `log file ${file.path} of app ${app.name} cannot be written: ${problem}; the app runs and its lines go to the primary's stdout/stderr until it can [SW_LOG_FILE]`,
      );
    }
  }
  return bad;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `out-0.log` → `out-0__2026-12-02_14-05-09-123.log` (sorts by time, as pm2-logrotate names them). */
export function rotatedName(path: string, at: Date): string {
  const ext = extname(path);
  const stem = basename(path, ext);
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}_${pad(at.getHours())}-${pad(at.getMinutes())}-${pad(at.getSeconds())}-${pad(at.getMilliseconds(), 3)}`;
  return join(dirname(path), `${stem}__${stamp}${ext}`);
}

/** The rotated files of `path`, oldest first. */
export async function rotatedFiles(path: string): Promise<string[]> {
  const ext = extname(path);
  const stem = basename(path, ext);
  let names: string[];
  try {
    names = await fsp.readdir(dirname(path));
  } catch {
    return [];
  }
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}__\\d{4}-\\d{2}-\\d{2}_\\d{2}-\\d{2}-\\d{2}-\\d{3}(?:-\\d+)?${ext.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:\\.gz)?$`);
  return names.filter((n) => re.test(n)).sort().map((n) => join(dirname(path), n));
}

export function startLogFiles(deps: LogFilesDeps): LogFiles {
  const now = deps.now ?? Date.now;
  let seq = 0;
  const waiting = new Map<number, Set<number>>();
  const rotating = new Set<string>();
  const underWay = new Set<Promise<unknown>>();
  const nextCron = new Map<string, { source: string | undefined; at: number | null }>();
  let stopped = false;

  const files = (): LogFile[] => deps.apps().flatMap((app) => filesOf(app));

  function reopenWorkers(app: string | undefined): { seq: number; ids: Set<number> } {
    seq += 1;
    const apps = app === undefined ? deps.apps().map((a) => a.name) : [app];
    const ids = new Set(apps.flatMap((name) => deps.liveWorkers(name)));
    for (const id of ids) deps.send(id, { $sw: 'reopen-logs', seq });
    return { seq, ids };
  }

  /** Resolves true once every worker in `ids` answered `seq` or exited; false at the timeout. */
  function awaitReopened(app: string, request: { seq: number; ids: Set<number> }): Promise<boolean> {
    if (request.ids.size === 0) return Promise.resolve(true);
    waiting.set(request.seq, request.ids);
    const started = now();
    return new Promise((resolve) => {
      const poll = (): void => {
        const live = new Set(deps.liveWorkers(app));
        for (const id of request.ids) if (!live.has(id)) request.ids.delete(id);
        if (request.ids.size === 0) {
          waiting.delete(request.seq);
          resolve(true);
        } else if (now() - started > REOPEN_TIMEOUT_MS) {
          waiting.delete(request.seq);
          resolve(false);
        } else setTimeout(poll, REOPEN_POLL_MS).unref();
      };
      poll();
    });
  }

  async function compress(path: string): Promise<string> {
    // Written aside, then renamed: a primary that exits meanwhile leaves the plain file whole and
    // no truncated .gz beside it (which would hold some of its lines twice).
    const target = `${path}.gz`;
    const partial = `${target}.tmp`;
    try {
      await pipeline(createReadStream(path), createGzip(), createWriteStream(partial, { mode: 0o644 }));
      await fsp.rename(partial, target);
    } catch (err) {
      await fsp.unlink(partial).catch(() => {});
      throw err;
    }
    await fsp.unlink(path);
    return target;
  }

  async function prune(path: string, retain: number): Promise<void> {
    const rotated = await rotatedFiles(path);
    for (const old of rotated.slice(0, Math.max(0, rotated.length - retain))) await fsp.unlink(old).catch(() => {});
  }

  async function rotateApp(app: AppSettings, list: readonly LogFile[], why: string): Promise<string[]> {
    const renamed: Array<{ file: LogFile; to: string }> = [];
    for (const file of list) {
      if (rotating.has(file.path)) continue;
      const stats = await fsp.stat(file.path).catch(() => undefined);
      if (!stats || !stats.isFile() || stats.size === 0) continue;
      let to = rotatedName(file.path, new Date(now()));
      for (let n = 1; statSafe(to) !== undefined || statSafe(`${to}.gz`) !== undefined; n++) {
        to = rotatedName(file.path, new Date(now())).replace(/(\.[^./]*)?$/, `-${n}$1`);
      }
      try {
        await fsp.rename(file.path, to);
      } catch (err) {
        deps.logger.warn({ code: 'SW_LOG_FILE', app: app.name, path: file.path, cause: (err as Error).message }, `log file ${file.path} cannot be rotated: ${(err as Error).message} [SW_LOG_FILE]`);
        continue;
      }
      rotating.add(file.path);
      renamed.push({ file, to });
    }
    if (renamed.length === 0) return [];
    try {
      const everyone = await awaitReopened(app.name, reopenWorkers(app.name));
      const done: string[] = [];
      for (const { file, to } of renamed) {
        let final = to;
        if (app.logCompress && everyone) {
          final = await compress(to).catch((err: Error) => {
            deps.logger.warn({ code: 'SW_LOG_FILE', path: to, cause: err.message }, `rotated log file ${to} cannot be compressed: ${err.message} [SW_LOG_FILE]`);
            return to;
          });
        } else if (app.logCompress) {
          deps.logger.warn({ code: 'SW_LOG_FILE', path: to }, `rotated log file ${to} left uncompressed: a worker of ${app.name} did not reopen its files within ${REOPEN_TIMEOUT_MS / 1000}s (blocked?) and may still write to it [SW_LOG_FILE]`);
        }
        await prune(file.path, app.logRetain);
        done.push(final);
      }
      deps.logger.info({ app: app.name, files: done, why }, `rotated ${done.length} log file(s) of ${app.name} (${why})`);
      return done;
    } finally {
      for (const { file } of renamed) rotating.delete(file.path);
    }
  }

  function track<T>(work: Promise<T>): Promise<T> {
    underWay.add(work);
    const done = (): void => {
      underWay.delete(work);
    };
    work.then(done, done);
    return work;
  }

  async function rotate(list: readonly LogFile[], why: string): Promise<string[]> {
    const out: string[] = [];
    for (const app of deps.apps()) {
      const mine = list.filter((f) => f.app === app.name);
      if (mine.length > 0) out.push(...(await track(rotateApp(app, mine, why))));
    }
    return out;
  }

  /** Each app's files, computed again only when its settings (a reload) or its slots change. */
  const listed = new WeakMap<AppSettings, { slots: number; files: LogFile[] }>();
  const filesOf = (app: AppSettings): LogFile[] => {
    const slots = Math.max(app.workers, deps.slots(app.name));
    let entry = listed.get(app);
    if (entry === undefined || entry.slots !== slots) {
      entry = { slots, files: appLogFiles(app, slots) };
      listed.set(app, entry);
    }
    return entry.files;
  };
  /** Per path: when to stat it next, and its size then (for its growth rate). */
  const sizes = new Map<string, { due: number; size: number; at: number }>();

  /** When a file of `size` bytes, grown `grew` bytes in `ms`, is due again. */
  function nextDue(t: number, size: number, grew: number, ms: number, max: number): number {
    if (grew <= 0 || ms <= 0) return t + MAX_RECHECK_MS;
    const untilFull = ((max - size) / grew) * ms;
    return t + Math.min(MAX_RECHECK_MS, Math.max(CHECK_INTERVAL_MS, untilFull / 2));
  }

  let checking = false;
  async function check(): Promise<void> {
    if (checking || stopped) return;
    checking = true;
    try {
      const t = now();
      const due: Array<{ app: AppSettings; file: LogFile; due: number }> = [];
      const current = new Set<string>();
      for (const app of deps.apps()) {
        const list = filesOf(app);
        if (list.length === 0) continue;
        // Cron: computed from the schedule as configured now (a reload may change it).
        let cron = nextCron.get(app.name);
        if (cron === undefined || cron.source !== app.logRotateCron) {
          const parsed = app.logRotateCron === undefined ? undefined : parseCron(app.logRotateCron);
          cron = { source: app.logRotateCron, at: parsed?.ok ? nextCronTime(parsed.schedule, t) : null };
          nextCron.set(app.name, cron);
        }
        if (cron.at !== null && t >= cron.at) {
          const parsed = parseCron(app.logRotateCron!);
          cron.at = parsed.ok ? nextCronTime(parsed.schedule, t) : null;
          for (const file of list) sizes.set(file.path, { due: t + CHECK_INTERVAL_MS, size: 0, at: t });
          await track(rotateApp(app, list, `log_rotate_cron ${app.logRotateCron}`));
          continue;
        }
        if (app.logMaxSize <= 0) continue;
        for (const file of list) {
          current.add(file.path);
          const known = sizes.get(file.path);
          if (known === undefined || known.due <= t) due.push({ app, file, due: known?.due ?? 0 });
        }
      }
      for (const path of sizes.keys()) if (!current.has(path)) sizes.delete(path); // an app removed or shrunk
      // The files due first, a bounded number of them, stat'ed at once.
      due.sort((a, b) => a.due - b.due);
      const batch = due.slice(0, MAX_STATS_PER_CHECK);
      const stats = await Promise.all(batch.map(({ file }) => fsp.stat(file.path).catch(() => undefined)));
      const big = new Map<AppSettings, LogFile[]>();
      batch.forEach(({ app, file }, i) => {
        const size = stats[i]?.size ?? 0;
        if (size >= app.logMaxSize) {
          if (!big.has(app)) big.set(app, []);
          big.get(app)!.push(file);
          sizes.set(file.path, { due: t + CHECK_INTERVAL_MS, size: 0, at: t }); // a new file after the rotation
          return;
        }
        const known = sizes.get(file.path);
        const grew = known === undefined ? 0 : size - known.size;
        const ms = known === undefined ? 0 : t - known.at;
        // Unknown growth (first look, or the file shrank: rotated outside) is checked again next second.
        const next = known === undefined || grew < 0 ? t + CHECK_INTERVAL_MS : nextDue(t, size, grew, ms, app.logMaxSize);
        sizes.set(file.path, { due: next, size, at: t });
      });
      for (const [app, files] of big) await track(rotateApp(app, files, `log_max_size ${app.logMaxSize} bytes`));
    } finally {
      checking = false;
    }
  }

  // Not awaited: a slow disk delays the next check, never the primary's loop.
  const timer = setInterval(() => void check().catch((err: Error) => deps.logger.warn({ code: 'SW_LOG_FILE', cause: err.message }, `log rotation check failed: ${err.message} [SW_LOG_FILE]`)), CHECK_INTERVAL_MS);
  timer.unref();

  return {
    reopened(id, s) {
      waiting.get(s)?.delete(id);
    },
    reopenAll() {
      const request = reopenWorkers(undefined);
      deps.logger.info({ workers: request.ids.size }, `reopening log files in ${request.ids.size} worker(s)`);
    },
    rotate,
    check,
    files,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...underWay]);
    },
  };
}
