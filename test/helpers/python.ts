/**
 * python3 for the process-app tests. Looked up on the PATH and run once (a pyenv shim without a
 * selected version exists but fails): when it cannot run, the test fails with what to do, it is
 * never skipped. `.ci/run` installs it (Debian package python3).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

let found: string | undefined;

export function python3(): string {
  if (found !== undefined) return found;
  const candidates = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'python3'));
  const tried: string[] = [];
  for (const candidate of [...candidates, '/usr/bin/python3', '/usr/local/bin/python3']) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
    } catch {
      continue;
    }
    try {
      // The interpreter itself, not a shim in front of it (pyenv's takes a second to start on a
      // busy machine, which a test of boot failures would read as a slow boot).
      const executable = execFileSync(candidate, ['-c', 'import http.server, json, signal, socket, sys; print(sys.executable)'], { encoding: 'utf8', timeout: 30_000 }).trim();
      found = executable === '' ? candidate : executable;
      return found;
    } catch (error) {
      tried.push(`${candidate} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  throw new Error(
    `python3 is needed by the process-app tests and none runs here${tried.length > 0 ? `: tried ${tried.join(', ')}` : ' (none on the PATH)'}; install it (\`apt-get install python3\`, as .ci/run does)`,
  );
}
