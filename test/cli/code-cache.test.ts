import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWithCodeCache } from '../../src/cli/code-cache';

const bundleSource = (answer: number): string => `
exports.answer = ${answer};
exports.dir = __dirname;
exports.file = __filename;
exports.resolved = require.resolve('./dep.js');
exports.dep = require('./dep.js');
exports.isModule = module.exports === exports;
`;

describe('loadWithCodeCache', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sw-cache-'));
    file = path.join(dir, 'bundle.js');
    writeFileSync(file, bundleSource(42));
    writeFileSync(path.join(dir, 'dep.js'), 'module.exports = "dep";');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the file as a CommonJS module: __dirname, require and require.resolve as usual', () => {
    const loaded = loadWithCodeCache(file);
    expect(loaded.cacheUsed).toBe(false); // no cache yet
    const e = loaded.exports as Record<string, unknown>;
    expect(e).toMatchObject({ answer: 42, dir, file, resolved: path.join(dir, 'dep.js'), dep: 'dep', isModule: true });
  });

  it('uses the cache it wrote', () => {
    loadWithCodeCache(file).writeCache();
    const again = loadWithCodeCache(file);
    expect(again.cacheUsed).toBe(true);
    expect((again.exports as { answer: number }).answer).toBe(42);
  });

  it('ignores a cache made from other source of the same length (V8 would only compare lengths)', () => {
    loadWithCodeCache(file).writeCache();
    writeFileSync(file, bundleSource(43));
    const rebuilt = loadWithCodeCache(file);
    expect(rebuilt.cacheUsed).toBe(false);
    expect((rebuilt.exports as { answer: number }).answer).toBe(43);
  });

  it('ignores a cache file that is truncated or garbage', () => {
    writeFileSync(`${file}.cache`, 'not a cache');
    const loaded = loadWithCodeCache(file);
    expect(loaded.cacheUsed).toBe(false);
    expect((loaded.exports as { answer: number }).answer).toBe(42);
  });
});
