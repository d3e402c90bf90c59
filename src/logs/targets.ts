/**
 * Which files an app's workers write, from its settings (pure). pm2's naming: without
 * `merge_logs` each slot has its own file, `out.log` → `out-0.log`, `out-1.log`; the slot (not
 * the process) names it, so a replacement appends to its predecessor's file.
 */
import type { AppSettings } from '../config/types';

/** The environment variable carrying a worker's {@link WorkerLogConfig} (JSON). */
export const LOGS_ENV = 'SMARTWORKERS_LOGS';

/** `/dev/null`: the stream is discarded, no file is opened. */
export const DISCARD = '/dev/null';

export type StreamName = 'out' | 'err' | 'combined';

/** What one worker does with its output; a stream without a path is inherited from the primary. */
export interface WorkerLogConfig {
  app: string;
  slot: number;
  out?: string;
  err?: string;
  combined?: string;
  /** dayjs-style format of the line prefix; unset = no timestamp (raw) or ISO (json). */
  date?: string;
  json: boolean;
}

/** ISO 8601 with milliseconds and offset: sortable and parsed back by `smartworkers logs`. */
export const DEFAULT_DATE_FORMAT = 'YYYY-MM-DDTHH:mm:ss.SSSZ';

/** `out.log` → `out-3.log`; `out` → `out-3` (pm2's per-instance name). */
export function slotPath(path: string, slot: number): string {
  if (path === DISCARD) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot > slash + 1) return `${path.slice(0, dot)}-${slot}${path.slice(dot)}`;
  return `${path}-${slot}`;
}

export function logsToFiles(app: AppSettings): boolean {
  return app.outFile !== undefined || app.errorFile !== undefined || app.logFile !== undefined;
}

export function dateFormatOf(app: AppSettings): string | undefined {
  return app.logDateFormat ?? (app.time ? DEFAULT_DATE_FORMAT : undefined);
}

/** The worker's config, or undefined when the app writes no file (its stdio is inherited). */
export function workerLogConfig(app: AppSettings, slot: number): WorkerLogConfig | undefined {
  if (!logsToFiles(app)) return undefined;
  const path = (file: string | undefined): string | undefined =>
    file === undefined ? undefined : app.mergeLogs ? file : slotPath(file, slot);
  const config: WorkerLogConfig = { app: app.name, slot, json: app.logType === 'json' };
  const out = path(app.outFile);
  const err = path(app.errorFile);
  const combined = path(app.logFile);
  if (out !== undefined) config.out = out;
  if (err !== undefined) config.err = err;
  if (combined !== undefined) config.combined = combined;
  const date = dateFormatOf(app);
  if (date !== undefined) config.date = date;
  return config;
}

/** One file an app writes, for rotation and `smartworkers logs`. */
export interface LogFile {
  app: string;
  /** null: merged (every slot writes it). */
  slot: number | null;
  stream: StreamName;
  path: string;
}

/** Every file the app's slots 0..workers-1 write (no `/dev/null`), each once. */
export function appLogFiles(app: AppSettings, slots: number = app.workers): LogFile[] {
  const files: LogFile[] = [];
  const seen = new Set<string>();
  const add = (stream: StreamName, file: string | undefined): void => {
    if (file === undefined || file === DISCARD) return;
    const paths: Array<[number | null, string]> = app.mergeLogs ? [[null, file]] : Array.from({ length: slots }, (_, slot) => [slot, slotPath(file, slot)]);
    for (const [slot, path] of paths) {
      if (seen.has(path)) continue; // out_file and error_file may name the same file, as in pm2
      seen.add(path);
      files.push({ app: app.name, slot, stream, path });
    }
  };
  add('out', app.outFile);
  add('err', app.errorFile);
  add('combined', app.logFile);
  return files;
}

/** pm2's default names, `<dir>/<name>-out.log` and `<dir>/<name>-error.log` (daemon mode: logs must go somewhere). */
export function defaultLogPaths(appName: string, dir: string): { outFile: string; errorFile: string } {
  const safe = appName.replace(/[^A-Za-z0-9._-]/g, '_');
  return { outFile: `${dir.replace(/\/+$/, '')}/${safe}-out.log`, errorFile: `${dir.replace(/\/+$/, '')}/${safe}-error.log` };
}

/**
 * The apps with pm2's default log files under `dir` for every stream the config left to the
 * inherited stdio (a detached primary has no terminal to inherit). Apps that set a path keep it.
 * Process apps are left as they are: their output is not written by the worker runtime, it stays
 * the primary's (the daemon's own files).
 */
export function withDefaultLogFiles(apps: readonly AppSettings[], dir: string): AppSettings[] {
  return apps.map((app) => {
    if (app.kind === 'process' || (app.outFile !== undefined && app.errorFile !== undefined)) return app;
    const defaults = defaultLogPaths(app.name, dir);
    return Object.freeze({ ...app, outFile: app.outFile ?? defaults.outFile, errorFile: app.errorFile ?? defaults.errorFile });
  });
}
