/**
 * The tree watcher on a real file system: every test waits for the watcher's own callback
 * (never a sleep), and a change that must NOT be reported is checked by making a reported
 * change after it and looking at what came with it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchTree, type TreeWatcher } from '../../src/dev/watcher';

let dir: string;
const open: TreeWatcher[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-watch-'));
  fs.mkdirSync(path.join(dir, 'src', 'deep'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.writeFileSync(path.join(dir, 'app.js'), '1');
  fs.writeFileSync(path.join(dir, 'src', 'deep', 'a.js'), '1');
});

afterEach(() => {
  for (const w of open.splice(0)) w.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A watcher whose batches are awaited one by one. */
function watch(roots: string[], ignore: string[] = [], debounceMs = 50) {
  const batches: string[][] = [];
  const waiting: Array<(batch: string[]) => void> = [];
  const errors: string[] = [];
  const watcher = watchTree({
    roots,
    ignore,
    debounceMs,
    onChange: (changed) => {
      const next = waiting.shift();
      if (next) next(changed);
      else batches.push(changed);
    },
    onError: (err) => errors.push(err.message),
  });
  open.push(watcher);
  const nextBatch = (timeoutMs = 5_000): Promise<string[]> =>
    batches.length > 0
      ? Promise.resolve(batches.shift()!)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no change reported')), timeoutMs);
          waiting.push((batch) => {
            clearTimeout(timer);
            resolve(batch);
          });
        });
  return { watcher, nextBatch, errors };
}

const rel = (paths: string[]) => paths.map((p) => path.relative(dir, p));

describe('watchTree', () => {
  it('reports a change deep in the tree, debounced into one batch', async () => {
    const { nextBatch } = watch([dir]);
    fs.writeFileSync(path.join(dir, 'src', 'deep', 'a.js'), '2');
    fs.writeFileSync(path.join(dir, 'app.js'), '2');
    fs.writeFileSync(path.join(dir, 'app.js'), '3');
    expect(rel(await nextBatch())).toEqual(['app.js', 'src/deep/a.js']);
  });

  it('never watches node_modules, .git or ignored directories, and ignores changes there', async () => {
    const { watcher, nextBatch } = watch([dir], ['logs']);
    expect(rel(watcher.directories())).toEqual(['', 'src', 'src/deep']);
    fs.writeFileSync(path.join(dir, 'logs', 'x.txt'), 'x');
    fs.writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), 'x');
    fs.writeFileSync(path.join(dir, 'server.log'), 'x');
    fs.writeFileSync(path.join(dir, 'logs2.txt'), 'x');
    expect(rel(await nextBatch())).toEqual(['logs2.txt']);
  });

  it('watches directories created after it started, and lets removed ones go', async () => {
    const { watcher, nextBatch } = watch([dir]);
    fs.mkdirSync(path.join(dir, 'lib'));
    expect(rel(await nextBatch())).toEqual(['lib']);
    expect(rel(watcher.directories())).toContain('lib');
    fs.writeFileSync(path.join(dir, 'lib', 'b.js'), '1');
    expect(rel(await nextBatch())).toEqual(['lib/b.js']);
    fs.rmSync(path.join(dir, 'src'), { recursive: true });
    await nextBatch();
    expect(rel(watcher.directories())).toEqual(['', 'lib', 'logs']);
  });

  it('watches a single file root without reporting its neighbours', async () => {
    const { nextBatch } = watch([path.join(dir, 'app.js')]);
    fs.writeFileSync(path.join(dir, 'other.js'), '1');
    fs.writeFileSync(path.join(dir, 'app.js'), '2');
    expect(rel(await nextBatch())).toEqual(['app.js']);
  });

  it('reports a root that cannot be watched and watches the others', async () => {
    const { nextBatch, errors } = watch([path.join(dir, 'missing'), path.join(dir, 'src')]);
    expect(errors).toEqual([`cannot watch ${path.join(dir, 'missing')}: ENOENT`]);
    fs.writeFileSync(path.join(dir, 'src', 'c.js'), '1');
    expect(rel(await nextBatch())).toEqual(['src/c.js']);
  });

  it('reports nothing once closed', async () => {
    const first = watch([dir]);
    first.watcher.close();
    const second = watch([dir]);
    fs.writeFileSync(path.join(dir, 'app.js'), '2');
    expect(rel(await second.nextBatch())).toEqual(['app.js']);
    await expect(first.nextBatch(300)).rejects.toThrow('no change reported');
  });
});
