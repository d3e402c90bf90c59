/**
 * Where a daemon's output goes by default: `<state dir>/logs/<id>.out.log` and `.err.log` (pm2's
 * `~/.pm2/logs/<name>-out.log`). One small function, so log files of their own (src/logs/) can
 * take its place.
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

/** Creates the state directory (0700, checked) and its `logs/` (0700). */
export function prepareDaemonLogs(stateDir: string, logs: DaemonLogs): void {
  prepareStateDirectory(stateDir);
  mkdirSync(path.dirname(logs.out), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(logs.err), { recursive: true, mode: 0o700 });
}
