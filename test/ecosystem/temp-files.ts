/** A temporary directory for one test file, removed after it, and a writer of files in it. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export interface TempFiles {
  /** The directory (set before the first test runs). */
  dir(): string;
  /** Writes `text` at `name` (relative, parent folders made) and returns its path. */
  write(name: string, text?: string): string;
}

export function useTempFiles(prefix: string): TempFiles {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    write(name, text = '') {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}
