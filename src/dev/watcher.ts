/**
 * Watches directory trees for changes, debounced: one `onChange` with every changed path once
 * the tree has been quiet for `debounceMs` (an editor's save is often several events: a temp
 * file, a rename, a chmod).
 *
 * One non-recursive `fs.watch` per directory, walked here, rather than `fs.watch(dir,
 * { recursive: true })`: Node 20 does support `recursive` on Linux, but it watches every
 * directory of the tree — `node_modules` included, often tens of thousands of inotify watches
 * and a long synchronous walk — with no way to leave a directory out. Walking ourselves skips
 * ignored directories before they are ever watched, and adds directories created later.
 *
 * Watchers are not persistent: they never keep the process alive.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createIgnoreMatcher } from './ignore';

export const DEFAULT_DEBOUNCE_MS = 300;

export interface TreeWatcherOptions {
  /** Absolute paths: directories (watched with everything under them) or single files. */
  roots: readonly string[];
  /** `ignore_watch` patterns (see ignore.ts); node_modules, .git and *.log always are. */
  ignore?: readonly string[];
  debounceMs?: number;
  /** The changed paths (absolute, sorted, each once), after a quiet `debounceMs`. */
  onChange(changed: string[]): void;
  /** A root that cannot be watched (missing, no permission): reported once, the rest still work. */
  onError?(error: Error): void;
}

export interface TreeWatcher {
  /** Directories being watched now. */
  directories(): string[];
  close(): void;
}

interface Root {
  /** The directory walked. */
  dir: string;
  /** For a file root: the only path of `dir` that counts. */
  file: string | null;
}

export function watchTree(options: TreeWatcherOptions): TreeWatcher {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const ignored = createIgnoreMatcher(options.ignore ?? []);
  const watchers = new Map<string, fs.FSWatcher>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const roots: Root[] = [];
  for (const root of options.roots) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(root);
    } catch (err) {
      options.onError?.(new Error(`cannot watch ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      continue;
    }
    roots.push(stat.isDirectory() ? { dir: root, file: null } : { dir: path.dirname(root), file: root });
  }

  /** The root a path is under, and whether the path is ignored there. */
  function counts(absolute: string): boolean {
    for (const root of roots) {
      if (root.file !== null) {
        if (absolute === root.file) return true;
        continue;
      }
      const rel = path.relative(root.dir, absolute);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      if (rel === '' || !ignored(rel, absolute)) return true;
    }
    return false;
  }

  function watchDir(dir: string, fileRoot: boolean): void {
    if (closed || watchers.has(dir)) return;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: false }, (_event, filename) => onEvent(dir, filename, fileRoot));
    } catch {
      return; // gone meanwhile, or not readable: nothing to watch
    }
    watcher.on('error', () => unwatch(dir));
    watchers.set(dir, watcher);
    if (fileRoot) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      if (counts(child)) watchDir(child, false);
    }
  }

  /** Stops watching `dir` and every directory under it (it was removed or renamed). */
  function unwatch(dir: string): void {
    for (const [watched, watcher] of watchers) {
      if (watched === dir || watched.startsWith(dir + path.sep)) {
        watcher.close();
        watchers.delete(watched);
      }
    }
  }

  function onEvent(dir: string, filename: string | Buffer | null, fileRoot: boolean): void {
    if (closed) return;
    // Without a name (rare: some platforms), the directory itself changed.
    const changed = filename ? path.join(dir, filename.toString()) : dir;
    if (!counts(changed)) return;
    if (!fileRoot) {
      // A directory created (or moved in) is watched from now on; one removed is let go.
      let isDir = false;
      try {
        isDir = fs.statSync(changed).isDirectory();
      } catch {
        if (watchers.has(changed)) unwatch(changed);
      }
      if (isDir && !watchers.has(changed)) watchDir(changed, false);
    }
    pending.add(changed);
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
    timer.unref();
  }

  function flush(): void {
    timer = null;
    if (closed || pending.size === 0) return;
    const changed = [...pending].sort();
    pending.clear();
    options.onChange(changed);
  }

  // Directory roots first: a file root's directory, when also under a directory root, is walked.
  for (const root of roots) if (root.file === null) watchDir(root.dir, false);
  for (const root of roots) if (root.file !== null) watchDir(root.dir, true);

  return {
    directories: () => [...watchers.keys()].sort(),
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
