/**
 * Loads the bundled CLI with a V8 code cache written at build time, so the primary skips most of
 * parsing and compiling its own code and forks its workers sooner (see the README's Performance).
 * Node 22+ has `module.enableCompileCache()`; this does the same for one file on Node 20.
 *
 * The cache file starts with the SHA-1 of the source it was made from: V8 itself only checks the
 * source's length, so a bundle rebuilt without its cache must not be run with the old one. A cache
 * that is missing, stale, or made by another Node/V8 is ignored and the file loads as usual.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const HASH_BYTES = 20;

export interface LoadedBundle {
  exports: unknown;
  /** Whether V8 used the cache (false: none, stale, or rejected). */
  cacheUsed: boolean;
  /** Writes a cache of everything compiled so far (for the build). */
  writeCache(): void;
}

function sha1(source: string): Buffer {
  return createHash('sha1').update(source).digest();
}

/** Runs `file` as a CommonJS module, with `${file}.cache` as its code cache when that matches. */
export function loadWithCodeCache(file: string, cacheFile = `${file}.cache`): LoadedBundle {
  const source = readFileSync(file, 'utf8');
  const hash = sha1(source);
  let cachedData: Buffer | undefined;
  try {
    const cache = readFileSync(cacheFile);
    if (cache.length > HASH_BYTES && cache.subarray(0, HASH_BYTES).equals(hash)) cachedData = cache.subarray(HASH_BYTES);
  } catch {
    // No cache: compile as usual.
  }
  // No `import()` can run in this script (that needs an experimental flag on Node 20): the
  // build refuses a bundle that contains one.
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return {
    exports: mod.exports,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    writeCache: () => writeFileSync(cacheFile, Buffer.concat([hash, script.createCachedData()])),
  };
}
