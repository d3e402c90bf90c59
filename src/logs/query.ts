/**
 * What `smartworkers logs` asks the primary (control command `logs`): each app's files, how its
 * lines are stamped, and — for streams inherited from the primary — where they go instead
 * (systemd's journal, Docker's log).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AppSettings } from '../config/types';
import { appLogFiles, dateFormatOf, type LogFile } from './targets';

export interface AppLogs {
  name: string;
  /** Slots 0..slots-1 run now. */
  slots: number;
  files: LogFile[];
  /** dayjs-style format of the line prefix; unset = lines are not stamped. */
  dateFormat?: string;
  json: boolean;
  /** Streams written to no file: they go to the primary's own stdout/stderr. */
  inherited: Array<'out' | 'err'>;
}

export interface LogsResult {
  apps: AppLogs[];
  /** Where the primary's own stdout goes, when known. */
  stdout: { kind: 'systemd'; unit: string | null } | { kind: 'docker' } | { kind: 'unknown' };
}

/** The systemd unit this process runs in, from its cgroup (`/system.slice/api.service`). */
function systemdUnit(): string | null {
  try {
    const cgroup = readFileSync('/proc/self/cgroup', 'utf8');
    const match = /\/([^/\n]+\.service)(?:\/|$)/m.exec(cgroup);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

export function primaryStdout(env: NodeJS.ProcessEnv): LogsResult['stdout'] {
  if (env.INVOCATION_ID !== undefined || env.JOURNAL_STREAM !== undefined) return { kind: 'systemd', unit: systemdUnit() };
  if (existsSync('/.dockerenv') || env.container === 'docker') return { kind: 'docker' };
  return { kind: 'unknown' };
}

export function describeLogs(apps: readonly AppSettings[], slots: (app: string) => number, env: NodeJS.ProcessEnv = process.env): LogsResult {
  return {
    apps: apps.map((app) => {
      const n = Math.max(1, slots(app.name));
      const inherited: Array<'out' | 'err'> = [];
      if (app.outFile === undefined) inherited.push('out');
      if (app.errorFile === undefined) inherited.push('err');
      const entry: AppLogs = { name: app.name, slots: n, files: appLogFiles(app, n), json: app.logType === 'json', inherited };
      const date = dateFormatOf(app);
      if (date !== undefined) entry.dateFormat = date;
      return entry;
    }),
    stdout: primaryStdout(env),
  };
}
