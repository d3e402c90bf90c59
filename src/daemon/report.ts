/**
 * The daemon's side of `start --daemon`: the launching CLI passed a pipe as fd 3 and its number in
 * `SMARTWORKERS_DAEMON_FD`; once every app is ready the primary writes one JSON line there and
 * closes it, and the CLI returns. A start that fails never writes it: the CLI sees the primary
 * exit, with the exit code a foreground start would have had.
 */
import { createWriteStream } from 'node:fs';
import { allReady, readyCount } from '../supervisor/queries';
import type { Supervisor } from '../supervisor/supervisor';

export const DAEMON_FD_ENV = 'SMARTWORKERS_DAEMON_FD';
export const DAEMON_LOGS_ENV = 'SMARTWORKERS_DAEMON_LOGS';

export interface DaemonReady {
  ready: true;
  pid: number;
  socket: string;
  apps: { name: string; ready: number }[];
}

/** Takes the launcher's fd out of the env (workers must not inherit it); undefined when not a daemon. */
export function takeDaemonFd(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[DAEMON_FD_ENV];
  delete env[DAEMON_FD_ENV];
  const fd = Number(text);
  return text !== undefined && Number.isSafeInteger(fd) && fd > 2 ? fd : undefined;
}

export function reportReadyToLauncher(supervisor: Supervisor, fd: number, socket: string): void {
  const stream = createWriteStream('', { fd, autoClose: true });
  stream.on('error', () => {}); // the launcher went away (Ctrl-C): the daemon keeps running
  const off = supervisor.onStep((state) => {
    if (state.phase !== 'running' || !allReady(state)) return;
    off();
    const message: DaemonReady = {
      ready: true,
      pid: process.pid,
      socket,
      apps: Object.keys(state.apps).map((name) => ({ name, ready: readyCount(state, name) })),
    };
    stream.end(`${JSON.stringify(message)}\n`);
  });
}
