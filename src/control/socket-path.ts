/**
 * Where the control socket lives, and the directory around it.
 *
 * By default: `<state dir>/<id>.sock` (see state-dir.ts), where `<id>` is the base name of the
 * config file's directory (or the working directory without one) plus a short hash of its
 * absolute path, so two projects never share a socket and nothing is written inside the project.
 * A path too long for a Unix socket (108 bytes on Linux, 104 on macOS) falls back to
 * `<tmpdir>/smartworkers-<uid>/<id>.sock`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SmartworkersError } from '../errors';
import { checkSocketDirectory, chmodDirectoryNoFollow, currentUid } from './socket-safety';
import { stateDirectory } from './state-dir';

/** sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

/** Names of the directories smartworkers creates for sockets and keeps at mode 0700. */
const MANAGED_DIRECTORY = /^(smartworkers|\.smartworkers|smartworkers-\d+)$/;

export interface SocketLocationBase {
  /** Absolute or relative path of the config file, when one is used. */
  configFile?: string;
  /** The working directory (used without a config file, and to resolve a relative one). */
  cwd: string;
}

/** The control socket of the cluster started with this config file (or from this directory). */
export function defaultSocketPath(base: SocketLocationBase, env: NodeJS.ProcessEnv = process.env): string {
  const name = `${clusterId(base)}.sock`;
  const preferred = path.join(stateDirectory(env), name);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH_BYTES) return preferred;
  return path.join(tmpdir(), `smartworkers-${currentUid()}`, name);
}

/** The directory a cluster belongs to: the config file's, or the working directory without one. */
export function projectDirectory(base: SocketLocationBase): string {
  return base.configFile ? path.dirname(path.resolve(base.cwd, base.configFile)) : path.resolve(base.cwd);
}

/** `<label>-<hash>`: the project directory's base name and a short hash of its path. */
export function clusterId(base: SocketLocationBase): string {
  const dir = projectDirectory(base);
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 10);
  return `${clusterLabel(dir)}-${hash}`;
}

/** The short name a person types to pick a cluster: the project directory's base name. */
export function clusterLabel(dir: string): string {
  return path.basename(dir).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 32) || 'root';
}

/**
 * Makes sure the socket's directory exists and is safe (see socket-safety.ts). A directory
 * created here gets mode 0700. An existing directory smartworkers manages (`smartworkers`,
 * `.smartworkers`, `smartworkers-<uid>`) must be ours and is put back to 0700; any other
 * existing directory (one the user chose through `control.socket`) keeps its mode, but is
 * refused when other users can write it. Modes are never set through a symlink.
 */
export function prepareSocketDirectory(socketPath: string): void {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SmartworkersError(
      'SW_CONTROL_SOCKET',
      `control socket path is ${Buffer.byteLength(socketPath)} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ${socketPath}`,
    );
  }
  prepareStateDirectory(path.dirname(socketPath));
}

/** The same rules for a directory smartworkers keeps files in (the state directory, a socket's). */
export function prepareStateDirectory(dir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot create the control socket directory ${dir}: ${(error as Error).message}`);
  }
  const uid = currentUid();
  if (created !== undefined) {
    setModeNoFollow(dir, 0o700); // mkdir's mode is filtered by the umask; the leaf must be exactly 0700
  } else if (MANAGED_DIRECTORY.test(path.basename(dir))) {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== uid) {
      throw new SmartworkersError(
        'SW_CONTROL_SOCKET',
        `${dir} is not a directory owned by this user (uid ${uid}); refusing to put the control socket there`,
      );
    }
    if ((stat.mode & 0o077) !== 0) setModeNoFollow(dir, 0o700);
  }
  checkSocketDirectory(dir, uid);
}

function setModeNoFollow(dir: string, mode: number): void {
  try {
    chmodDirectoryNoFollow(dir, mode);
  } catch (error) {
    throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot set mode ${mode.toString(8)} on ${dir}: ${(error as Error).message}`);
  }
}
