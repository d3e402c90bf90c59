/**
 * Helpers for clusters started in the background (`start --daemon`, `deploy`): they are not
 * children of the test, so each test gets a state directory of its own, and `killDaemons()` ends
 * (whole process group, SIGKILL) every primary registered there.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, BIN } from './harness';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const stateDirs = new Set<string>();

export function useStateDir(dir: string): NodeJS.ProcessEnv {
  stateDirs.add(dir);
  return { SMARTWORKERS_STATE_DIR: dir, SMARTWORKERS_CONTROL_SOCKET: '' };
}

export function cli(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 90_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Pids of the primaries registered in the state directory (records present, live or not). */
export function registeredPids(stateDir: string): number[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(stateDir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((n) => (JSON.parse(fs.readFileSync(path.join(stateDir, n), 'utf8')) as { pid: number }).pid);
}

export function killDaemons(): void {
  for (const dir of stateDirs) {
    for (const pid of registeredPids(dir)) {
      if (!alive(pid)) continue;
      try {
        process.kill(-pid, 'SIGKILL'); // a daemon leads its own process group: its workers go with it
      } catch {
        // gone
      }
    }
  }
  stateDirs.clear();
}

export { freePort } from '../helpers/net';
