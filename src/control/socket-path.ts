/**
 * Where the control socket lives, and the directory around it.
 *
 * By default: `$XDG_RUNTIME_DIR/smartworkers/<name>.sock`, else `<dir>/.smartworkers/<name>.sock`,
 * where `<dir>` is the config file's directory (or the working directory without one) and
 * `<name>` is that directory's base name plus a short hash of its absolute path, so two
 * projects never share a socket while `smartworkers status` finds the cluster started from
 * the same directory. A path too long for a Unix socket (108 bytes on Linux, 104 on macOS)
 * falls back to `<tmpdir>/smartworkers-<uid>/<name>.sock`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, lstatSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SmartworkersError } from '../errors';

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
  const dir = base.configFile ? path.dirname(path.resolve(base.cwd, base.configFile)) : path.resolve(base.cwd);
  const name = socketName(dir);
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const preferred =
    runtimeDir && path.isAbsolute(runtimeDir)
      ? path.join(runtimeDir, 'smartworkers', name)
      : path.join(dir, '.smartworkers', name);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH_BYTES) return preferred;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(tmpdir(), `smartworkers-${uid}`, name);
}

function socketName(dir: string): string {
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 10);
  const label = path.basename(dir).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 32) || 'root';
  return `${label}-${hash}.sock`;
}

/**
 * Makes sure the socket's directory exists. A directory created here gets mode 0700. An
 * existing directory smartworkers manages (`smartworkers`, `.smartworkers`, `smartworkers-<uid>`)
 * must be ours and is put back to 0700; any other existing directory (one the user chose
 * through `control.socket`) is left as it is — the socket itself is 0600 either way.
 */
export function prepareSocketDirectory(socketPath: string): void {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SmartworkersError(
      'SW_CONTROL_SOCKET',
      `control socket path is ${Buffer.byteLength(socketPath)} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ${socketPath}`,
    );
  }
  const dir = path.dirname(socketPath);
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot create the control socket directory ${dir}: ${(error as Error).message}`);
  }
  if (created !== undefined) {
    chmodSync(dir, 0o700); // mkdir's mode is filtered by the umask; the leaf must be exactly 0700
    return;
  }
  if (!MANAGED_DIRECTORY.test(path.basename(dir))) return;
  const stat = lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : stat.uid;
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw new SmartworkersError(
      'SW_CONTROL_SOCKET',
      `${dir} is not a directory owned by this user (uid ${uid}); refusing to put the control socket there`,
    );
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
