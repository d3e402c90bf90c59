/** Reading what a log file gained since a mark (a failed start's error, a deploy's). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** How much of a log, at most, is shown after a failed start. */
const TAIL_BYTES = 16 * 1024;

/** What a file gained since `from`, its last {@link TAIL_BYTES} at most ('' when it cannot be read). */
export function readFrom(file: string, from: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - TAIL_BYTES);
    if (size <= start) return '';
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
