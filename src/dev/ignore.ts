/**
 * `ignore_watch` patterns: which paths the watcher leaves alone.
 *
 * - a plain name (`logs`, `.cache`) matches any segment of the path: the directory and all in it;
 * - a glob without `/` (`*.log`, `*.sw?`) matches any segment too;
 * - a pattern with `/` (`public/build`, `src/**\/*.test.js`) matches the path relative to the
 *   watched directory, or a directory that contains it; an absolute pattern, the absolute path.
 * `*` matches within a segment, `**` across segments, `?` one character.
 * `node_modules`, `.git` and `*.log` are always ignored (a log written inside a watched directory
 * would otherwise reload the app on every line).
 */

export const ALWAYS_IGNORED: readonly string[] = ['node_modules', '.git', '*.log'];

/** True when the path (relative to the watched root, `/`-separated, or absolute) is ignored. */
export type IgnoreMatcher = (relativePath: string, absolutePath: string) => boolean;

export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const segmentNames = new Set<string>();
  const segmentGlobs: RegExp[] = [];
  const relativeGlobs: RegExp[] = [];
  const absoluteGlobs: RegExp[] = [];
  for (const raw of [...ALWAYS_IGNORED, ...patterns]) {
    const pattern = raw.trim().replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (pattern === '' || pattern === '.') continue;
    const glob = /[*?]/.test(pattern);
    if (pattern.startsWith('/')) absoluteGlobs.push(globToRegExp(pattern));
    else if (pattern.includes('/')) relativeGlobs.push(globToRegExp(pattern));
    else if (glob) segmentGlobs.push(globToRegExp(pattern));
    else segmentNames.add(pattern);
  }
  return (relativePath, absolutePath) => {
    const rel = relativePath.split('\\').join('/');
    const segments = rel.split('/').filter((s) => s !== '');
    for (const segment of segments) {
      if (segmentNames.has(segment)) return true;
      if (segmentGlobs.some((re) => re.test(segment))) return true;
    }
    // A directory that matches ignores everything under it: test every leading part.
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      if (relativeGlobs.some((re) => re.test(prefix))) return true;
    }
    const abs = absolutePath.split('\\').join('/');
    const absSegments = abs.split('/');
    for (let i = 2; i <= absSegments.length; i++) {
      const prefix = absSegments.slice(0, i).join('/');
      if (absoluteGlobs.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

/** A glob over `/`-separated paths, anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` anything.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}
