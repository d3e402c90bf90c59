/**
 * Reading a file the user named (a config file, an ecosystem file, a package.json) with bounds:
 * regular files only — a FIFO would block the read forever, `/dev/zero` would fill the memory —
 * and at most {@link MAX_CONFIG_BYTES}. Opened with O_NONBLOCK so that opening a FIFO cannot block
 * either; the kind is then checked on the open descriptor (no race with a swapped path).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** The largest config, ecosystem or package.json file read: 1 MiB (real ones are a few KB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Why a file could not be read, as a phrase: "it is a FIFO, not a regular file". */
export class FileReadError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'FileReadError';
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory, not a regular file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  if (code === 'ELOOP') return 'too many symbolic links';
  return ((error as Error).message ?? String(error)).split('\n')[0].trim();
}

/** Opens `path`, checks it is a regular file of at most `maxBytes`, and returns the descriptor. */
function openRegular(path: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new FileReadError(reasonOf(error));
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new FileReadError(`it is ${kindOf(stats)}, not a regular file`);
    if (stats.size > maxBytes) throw new FileReadError(tooLarge(stats.size, maxBytes));
    return { fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    throw error instanceof FileReadError ? error : new FileReadError(reasonOf(error));
  }
}

function tooLarge(size: number | undefined, maxBytes: number): string {
  const limit = `${maxBytes / 1024} KiB`;
  return size === undefined ? `it is larger than ${limit}, the limit` : `it is ${size} bytes, larger than ${limit}, the limit`;
}

/**
 * The text of a regular file of at most `maxBytes` (UTF-8). Reads at most `maxBytes + 1` bytes,
 * so a file that grows while read, or reports no size (/proc), is still bounded.
 */
export function readRegularFile(path: string, maxBytes = MAX_CONFIG_BYTES): string {
  const { fd } = openRegular(path, maxBytes);
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw new FileReadError(tooLarge(undefined, maxBytes));
    }
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    throw error instanceof FileReadError ? error : new FileReadError(reasonOf(error));
  } finally {
    closeSync(fd);
  }
}

/** Checks, without reading it, that `path` is a regular file of at most `maxBytes` (before a require()). */
export function checkRegularFile(path: string, maxBytes = MAX_CONFIG_BYTES): void {
  closeSync(openRegular(path, maxBytes).fd);
}

/** The first `bytes` bytes of a regular file (a shebang line), or '' when it cannot be read. */
export function readFileHead(path: string, bytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return '';
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    return buffer.toString('utf8', 0, n);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
