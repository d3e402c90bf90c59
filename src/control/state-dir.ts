/**
 * The per-user state directory: where every cluster's control socket (by default), its registry
 * record and a daemon's log files live, so the CLI finds clusters from any directory and nothing
 * is written inside the project.
 *
 * `$SMARTWORKERS_STATE_DIR`, else `/run/smartworkers` for root, else
 * `$XDG_RUNTIME_DIR/smartworkers`, else `~/.smartworkers`.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { currentUid } from './socket-safety';

export const STATE_DIR_ENV = 'SMARTWORKERS_STATE_DIR';

export function stateDirectory(env: NodeJS.ProcessEnv = process.env, uid: number = currentUid()): string {
  const chosen = env[STATE_DIR_ENV];
  if (chosen && path.isAbsolute(chosen)) return chosen;
  if (uid === 0) return '/run/smartworkers';
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir && path.isAbsolute(runtimeDir)) return path.join(runtimeDir, 'smartworkers');
  return path.join(env.HOME && path.isAbsolute(env.HOME) ? env.HOME : homedir(), '.smartworkers');
}
