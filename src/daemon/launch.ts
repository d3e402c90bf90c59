/**
 * `smartworkers start --daemon`: runs the same `start` command detached (its own session, stdio to
 * the log files), and returns only when every app is ready — exit 0 — or when the start failed:
 * then it prints the app's error (from its error files, see app-logs.ts) and the primary's own error
 * lines, and exits with the daemon's exit code (3 for a boot failure, 2 for a bad config), as a
 * foreground start would.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { OutputStream } from '../cli/commands/io';
import { EXIT } from '../errors';
import { DAEMON_FD_ENV, DAEMON_LOGS_ENV, type DaemonReady } from './report';
import { appLogDir, prepareDaemonLogs, type DaemonLogs } from './paths';
import type { AppSettings } from '../config/types';
import { markErrors, readErrorsSince } from './app-logs';
import { readFrom } from './read';

export { readFrom };

export interface LaunchInput {
  /** The command line to run detached: `[node options…, bin, 'start', …]` without `--daemon`. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  logs: DaemonLogs;
  /** The apps it starts (as the CLI loaded them): where their errors will be written. */
  apps?: readonly AppSettings[];
  /** Shown in the lines printed: the cluster's name. */
  name: string;
  stdout: OutputStream;
  stderr: OutputStream;
}

export interface LaunchOutcome {
  code: number;
  ready?: DaemonReady;
}

export async function launchDaemon(input: LaunchInput): Promise<LaunchOutcome> {
  prepareDaemonLogs(input.stateDir, input.logs);
  const out = openSync(input.logs.out, 'a', 0o600);
  const err = openSync(input.logs.err, 'a', 0o600);
  const outStart = fstatSync(out).size;
  const errors = markErrors(input.apps ?? [], input.logs);
  const child = spawn(process.execPath, input.args, {
    cwd: input.cwd,
    env: { ...input.env, [DAEMON_FD_ENV]: '3', [DAEMON_LOGS_ENV]: JSON.stringify(input.logs) },
    stdio: ['ignore', out, err, 'pipe'],
    detached: true, // its own session: the terminal's Ctrl-C and hang-up do not reach it
  });
  closeSync(out);
  closeSync(err);

  const outcome = await new Promise<{ ready?: DaemonReady; exit?: { code: number | null; signal: string | null } }>((resolve) => {
    let text = '';
    const pipe = child.stdio[3] as Readable;
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      try {
        resolve({ ready: JSON.parse(text.slice(0, newline)) as DaemonReady });
      } catch {
        // not ours: wait for the exit
      }
    });
    pipe.on('error', () => {});
    child.once('exit', (code, signal) => resolve({ exit: { code, signal } }));
    child.once('error', (error) => {
      input.stderr.write(`smartworkers: cannot start the daemon: ${error.message}\n`);
      resolve({ exit: { code: EXIT.failure, signal: null } });
    });
  });

  if (outcome.ready) {
    (child.stdio[3] as Readable).destroy();
    child.unref();
    const apps = outcome.ready.apps.map((a) => `${a.name} ${a.ready} ready`).join(', ');
    input.stdout.write(
      `smartworkers: ${input.name} started in the background (primary pid ${outcome.ready.pid}): ${apps}\n` +
        `  logs: ${appLogDir(input.logs)}/ (smartworkers logs); the primary's own: ${input.logs.out}, ${input.logs.err}\n` +
        `  control socket: ${outcome.ready.socket}\n`,
    );
    return { code: EXIT.ok, ready: outcome.ready };
  }

  const exit = outcome.exit!;
  const code = exit.code ?? EXIT.failure;
  // The app's own error (from its error files), then the primary's error lines.
  const appError = readErrorsSince(errors);
  if (appError) input.stderr.write(`${appError}\n`);
  for (const line of primaryErrors(readFrom(input.logs.out, outStart))) input.stderr.write(`smartworkers: ${line}\n`);
  input.stderr.write(
    `smartworkers: the daemon exited with ${exit.signal ?? `code ${code}`} before every app was ready; logs: ${appLogDir(input.logs)}/, ${input.logs.out}, ${input.logs.err}\n`,
  );
  return { code: exit.signal ? EXIT.failure : code };
}

/** The primary's JSON log lines at level error or above: "msg (fix: …)". */
function primaryErrors(text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const line = JSON.parse(raw) as { level?: number | string; msg?: string; fix?: string; slot?: number; code?: number | null; signal?: string | null };
      const level = typeof line.level === 'number' ? line.level : line.level === 'error' || line.level === 'fatal' ? 50 : 0;
      if (level < 50 || typeof line.msg !== 'string') continue;
      // A worker's line names its slot and how it ended; the cluster's names the fix.
      const exit = line.signal ? `signal ${line.signal}` : typeof line.code === 'number' ? `exit code ${line.code}` : '';
      const where = typeof line.slot === 'number' ? ` (slot ${line.slot}${exit ? `, ${exit}` : ''})` : '';
      lines.push(`${line.msg}${where}${line.fix ? ` (fix: ${line.fix})` : ''}`);
    } catch {
      // not a log line of the primary
    }
  }
  return lines;
}
