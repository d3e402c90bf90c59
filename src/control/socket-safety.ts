/**
 * Who may have put the control socket where it is. A Unix socket's peer cannot be trusted by
 * its name alone: anyone who can write its directory can replace it with their own socket and
 * answer `stop` with "stopped" while the cluster keeps running. So both sides check, before
 * anything is sent:
 *
 * - the socket's own directory is owned by this user (or root) and writable by no one else —
 *   sticky `/tmp` included: its sticky bit stops others deleting our file, not creating theirs
 *   first;
 * - every directory above it is owned by this user or root, and writable by others only when
 *   sticky (others could rename a non-sticky one away and put their own in its place);
 * - (the CLI) the socket itself is a socket, not a symlink, owned by this user or root.
 *
 * Then nobody but this user and root can swap the socket between the check and the connect.
 */
import { constants, closeSync, fchmodSync, lstatSync, openSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { SmartworkersError } from '../errors';

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** S_ISVTX (not in fs.constants' types). */
const STICKY = 0o1000;
const mode = (stat: Stats): string => (stat.mode & 0o7777).toString(8).padStart(4, '0');
const trusted = (owner: number, uid: number): boolean => owner === uid || owner === 0;
const ACCEPTS = 'put control.socket in a directory owned by you, mode 0700 or 0755 (e.g. $XDG_RUNTIME_DIR, or a directory you create)';

/**
 * Throws `SW_CONTROL_SOCKET` unless `dir` and every directory above it are safe for a control
 * socket (see the module comment). `ENOENT` errors are left to the caller (nothing listens there).
 */
export function checkSocketDirectory(dir: string, uid: number = currentUid()): void {
  const real = realpathSync(dir);
  const own = lstatSync(real);
  if (!own.isDirectory()) refuse(`${dir} is not a directory`);
  if (!trusted(own.uid, uid)) {
    refuse(`control socket directory ${dir} belongs to uid ${own.uid}, not to this user (uid ${uid}) or root; another user could replace the socket`);
  }
  if ((own.mode & 0o022) !== 0) {
    refuse(`control socket directory ${dir} is writable by other users (mode ${mode(own)}); another user could replace the socket`);
  }
  for (let above = path.dirname(real); ; above = path.dirname(above)) {
    const stat = lstatSync(above);
    if (!trusted(stat.uid, uid)) {
      refuse(`${above}, above the control socket ${dir}, belongs to uid ${stat.uid}, not to this user (uid ${uid}) or root`);
    }
    if ((stat.mode & 0o022) !== 0 && (stat.mode & STICKY) === 0) {
      refuse(`${above}, above the control socket ${dir}, is writable by other users and not sticky (mode ${mode(stat)})`);
    }
    if (above === path.dirname(above)) return;
  }
}

/**
 * Before the CLI connects: the socket is a real socket (not a symlink) owned by this user or
 * root, in a safe directory. Throws `SW_NOT_RUNNING` when there is nothing there.
 */
export function checkSocketBeforeConnect(socketPath: string, uid: number = currentUid()): void {
  let stat: Stats;
  try {
    checkSocketDirectory(path.dirname(socketPath), uid);
    stat = lstatSync(socketPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SmartworkersError('SW_NOT_RUNNING', `no cluster is running at ${socketPath}`);
    throw error;
  }
  if (stat.isSymbolicLink()) refuse(`control socket ${socketPath} is a symbolic link; refusing to follow it`);
  if (!stat.isSocket()) refuse(`${socketPath} is not a socket`);
  if (!trusted(stat.uid, uid)) {
    throw new SmartworkersError(
      'SW_CONTROL_SOCKET',
      `control socket ${socketPath} belongs to uid ${stat.uid}, not to this user (uid ${uid}) or root; not sending it anything (run the command as the cluster's user)`,
    );
  }
}

/** chmod of a directory that never follows a symlink (O_NOFOLLOW, then fchmod on what was opened). */
export function chmodDirectoryNoFollow(dir: string, wanted: number): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, wanted);
  } finally {
    closeSync(fd);
  }
}

function refuse(message: string): never {
  throw new SmartworkersError('SW_CONTROL_SOCKET', `${message}; ${ACCEPTS}`);
}
