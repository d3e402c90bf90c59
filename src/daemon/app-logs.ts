/**
 * A daemon's apps write log files (pm2's behaviour when daemonized): every cluster app without
 * `out_file`/`error_file` gets the default files in the daemon's app log directory (paths.ts), so
 * its lines are rotated and read by `smartworkers logs`; the primary's own lines stay in the
 * daemon's out/err files. And the reverse, for the CLI that launched it (or deploys to it): which
 * files hold an app's error, so a failed start prints it.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { AppSettings, Settings } from '../config/types';
import { appLogFiles, withDefaultLogFiles } from '../logs/targets';
import { appLogDir, type DaemonLogs } from './paths';
import { readFrom } from './read';

/** The settings a daemon runs: the default log files filled in for its cluster apps. */
export function withDaemonLogFiles(settings: Settings, logs: DaemonLogs): Settings {
  return Object.freeze({ ...settings, apps: Object.freeze(withDefaultLogFiles(settings.apps, appLogDir(logs))) });
}

/** A loader whose settings have the daemon's default log files (what SIGHUP, reload and deploy re-read too). */
export function daemonLoader(load: () => Settings, logs: DaemonLogs): () => Settings {
  return () => withDaemonLogFiles(load(), logs);
}

/** Files and their sizes before a start or a deploy: what they gain is what it wrote. */
export interface ErrorMark {
  /** The apps' error files (and combined files where an app has no error file). */
  apps: Array<{ path: string; from: number }>;
  /** The daemon's own stderr: process apps, and what Node itself prints of a crash. */
  daemon: { path: string; from: number };
}

function sizeOf(file: string): number {
  try {
    const fd = openSync(file, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** The files an app's error lands in when it runs under the daemon with `logs`. */
export function appErrorFiles(apps: readonly AppSettings[], logs: DaemonLogs): string[] {
  const paths: string[] = [];
  for (const app of withDefaultLogFiles(apps, appLogDir(logs))) {
    const files = appLogFiles(app);
    const err = files.filter((f) => f.stream === 'err');
    for (const file of err.length > 0 ? err : files.filter((f) => f.stream === 'combined')) {
      if (!paths.includes(file.path)) paths.push(file.path);
    }
  }
  return paths;
}

export function markErrors(apps: readonly AppSettings[], logs: DaemonLogs): ErrorMark {
  return {
    apps: appErrorFiles(apps, logs).map((path) => ({ path, from: sizeOf(path) })),
    daemon: { path: logs.err, from: sizeOf(logs.err) },
  };
}

/**
 * What the apps wrote to their error files since the mark, each file's text once (every slot of
 * an app that cannot boot fails the same way). When they hold nothing (a process app, a crash
 * before the worker's runtime took over its output), what the daemon's own stderr gained: Node
 * prints an uncaught error there as well, so reading both would show it twice.
 */
export function readErrorsSince(mark: ErrorMark): string {
  const texts: string[] = [];
  for (const file of mark.apps) {
    const text = readFrom(file.path, file.from).trimEnd();
    if (text && !texts.includes(text)) texts.push(text);
  }
  if (texts.length === 0) return readFrom(mark.daemon.path, mark.daemon.from).trimEnd();
  return texts.join('\n');
}
