import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, globToRegExp } from '../../src/dev/ignore';

describe('ignore_watch patterns', () => {
  const ignored = createIgnoreMatcher(['logs', '*.tmp', 'public/build', 'src/**/*.test.js', '/var/cache']);
  const at = (rel: string) => ignored(rel, `/srv/app/${rel}`);

  it('always ignores node_modules, .git and *.log, at any depth', () => {
    const none = createIgnoreMatcher([]);
    expect(none('node_modules/x/index.js', '/a/node_modules/x/index.js')).toBe(true);
    expect(none('lib/node_modules', '/a/lib/node_modules')).toBe(true);
    expect(none('.git/HEAD', '/a/.git/HEAD')).toBe(true);
    expect(none('out.log', '/a/out.log')).toBe(true);
    expect(none('src/app.js', '/a/src/app.js')).toBe(false);
    expect(none('.github/ci.yml', '/a/.github/ci.yml')).toBe(false);
  });

  it('matches a plain name or a glob without / against every segment', () => {
    expect(at('logs')).toBe(true);
    expect(at('logs/today.txt')).toBe(true);
    expect(at('src/logs/x.js')).toBe(true);
    expect(at('logsy/x.js')).toBe(false);
    expect(at('a/b.tmp')).toBe(true);
    expect(at('a/b.tmpx')).toBe(false);
  });

  it('matches a pattern with / against the relative path or a directory containing it', () => {
    expect(at('public/build')).toBe(true);
    expect(at('public/build/app.css')).toBe(true);
    expect(at('public/index.html')).toBe(false);
    expect(at('other/public/build/x')).toBe(false);
    expect(at('src/a/b/c.test.js')).toBe(true);
    expect(at('src/c.test.js')).toBe(true);
    expect(at('src/c.js')).toBe(false);
  });

  it('matches an absolute pattern against the absolute path', () => {
    expect(ignored('x', '/var/cache/x')).toBe(true);
    expect(ignored('x', '/var/cachex/x')).toBe(false);
  });

  it('turns globs into anchored expressions', () => {
    expect(globToRegExp('*.js').test('a.js')).toBe(true);
    expect(globToRegExp('*.js').test('a/b.js')).toBe(false);
    expect(globToRegExp('a/**').test('a/b/c')).toBe(true);
    expect(globToRegExp('a/**/c').test('a/c')).toBe(true);
    expect(globToRegExp('a?c').test('abc')).toBe(true);
    expect(globToRegExp('a.c').test('abc')).toBe(false);
    expect(globToRegExp('(x)+').test('(x)+')).toBe(true);
  });
});
