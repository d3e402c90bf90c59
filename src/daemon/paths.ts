/**
 * Where a daemon's output goes: the primary's own stdout and stderr to `<state dir>/logs/<id>.out.log`
 * and `.err.log`; its apps' workers (those without log files of their own) to pm2's default names
 * in `<state dir>/logs/<id>/` (`api-out-0.log`, `api-error-0.log`; pm2: `~/.pm2/logs/api-out-0.log`),
 * rotated and read by `smartworkers logs` like any log file. A directory per cluster: two projects
 * with an app of the same name never share a file.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { prepareStateDirectory } from '../control/socket-path';

export interface DaemonLogs {
  out: string;
  err: string;
}

export function daemonLogPaths(stateDir: string, id: string): DaemonLogs {
  const dir = path.join(stateDir, 'logs');
  return { out: path.join(dir, `${id}.out.log`), err: path.join(dir, `${id}.err.log`) };
}

/** The directory of a daemon's app log files, from its own log paths (also found from a registry record). */
export function appLogDir(logs: DaemonLogs): string {
  return logs.out.replace(/\.out\.log$/, '');
}

/** Creates the state directory (0700, checked) and its `logs/` (0700). */
export function prepareDaemonLogs(stateDir: string, logs: DaemonLogs): void {
  prepareStateDirectory(stateDir);
  mkdirSync(path.dirname(logs.out), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(logs.err), { recursive: true, mode: 0o700 });
  mkdirSync(appLogDir(logs), { recursive: true, mode: 0o700 });
}
