/**
 * What an app's `script` runs, on real files: package.json scripts read (never run), package
 * binaries followed to their JavaScript file, TypeScript loaders resolved from the app's cwd, and
 * one clear error for everything a cluster worker cannot run.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTypeScriptLoader, nativeTypeStripping, typescriptNodeArgs } from '../../src/config/entry-file';
import { resolveScript, type ScriptInput } from '../../src/ecosystem/resolve-script';
import { SmartworkersError } from '../../src/errors';

const ROOT = path.resolve(__dirname, '..', '..');
let dir: string;
let fakeBin: string;
const ranMarker = () => path.join(dir, 'package-manager-ran');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-resolve-'));
  // Package managers on the PATH that leave a mark if anything ever runs them.
  fakeBin = path.join(dir, 'fake-bin');
  mkdirSync(fakeBin);
  for (const name of ['npm', 'yarn', 'pnpm', 'npx']) {
    const file = path.join(fakeBin, name);
    writeFileSync(file, `#!/bin/sh\necho ran > ${JSON.stringify(ranMarker())}\n`);
    chmodSync(file, 0o755);
  }
  const python = path.join(fakeBin, 'python3');
  writeFileSync(python, '\x7fELF not really');
  chmodSync(python, 0o755);
});
afterAll(() => {
  expect(existsSync(ranMarker())).toBe(false);
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text = ''): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function project(name: string, scripts: Record<string, string>, files: string[] = ['server.js']): string {
  const root = path.join(dir, name);
  write(`${name}/package.json`, JSON.stringify({ name, version: '1.2.3', scripts }));
  for (const file of files) write(`${name}/${file}`);
  return root;
}

const env = () => ({ PATH: `${fakeBin}:/usr/bin:/bin` });
const resolve = (input: Partial<ScriptInput> & { cwd: string; script: string }) =>
  resolveScript({ app: 'web', args: [], env: env(), ...input });

function failure(input: Partial<ScriptInput> & { cwd: string; script: string }): SmartworkersError {
  try {
    resolve(input);
  } catch (error) {
    expect(error).toBeInstanceOf(SmartworkersError);
    expect((error as SmartworkersError).message).not.toContain('\n');
    return error as SmartworkersError;
  }
  throw new Error('expected the resolution to fail');
}

describe('npm / yarn / pnpm scripts, read from package.json', () => {
  it('`npm` with args `start` → the file `node` runs, flags → node_args, its args → args, npm\'s variables → env', () => {
    const cwd = project('npm-start', { start: 'NODE_ENV=production node --max-old-space-size=512 -r ./setup.js server.js --port 3000' }, ['server.js', 'setup.js']);
    expect(resolve({ cwd, script: 'npm', args: ['start'] })).toEqual({
      script: path.join(cwd, 'server.js'),
      args: ['--port', '3000'],
      nodeArgs: ['--max-old-space-size=512', '-r', './setup.js'],
      env: { NODE_ENV: 'production', npm_lifecycle_event: 'start', npm_lifecycle_script: expect.any(String), npm_package_name: 'npm-start', npm_package_version: '1.2.3' },
      via: '`npm start` → package.json script "start": "NODE_ENV=production node --max-old-space-size=512 -r ./setup.js server.js --port 3000"',
    });
  });

  it.each([
    ['npm', ['run', 'prod']],
    ['npm', ['run-script', 'prod']],
    ['yarn', ['prod']],
    ['yarn', ['run', 'prod']],
    ['pnpm', ['prod']],
    ['pnpm', ['run', 'prod']],
    ['npm run prod', []],
    ['yarn prod', []],
  ])('%s %j → the script "prod", its cross-env variables and extra args after --', (script, args) => {
    const cwd = project(`pm-${script.replace(/\W/g, '')}-${args.join('')}`, { prod: 'cross-env NODE_ENV=production node dist/main.js' }, ['dist/main.js']);
    const resolved = resolve({ cwd, script, args: [...args, '--', '--verbose'] });
    expect(resolved.script).toBe(path.join(cwd, 'dist', 'main.js'));
    expect(resolved.args).toEqual(['--verbose']);
    expect(resolved.env.NODE_ENV).toBe('production');
  });

  it('follows a script that runs another (`start` → `npm run serve` → node)', () => {
    const cwd = project('nested', { start: 'npm run serve', serve: 'node server.js' });
    expect(resolve({ cwd, script: 'npm', args: ['start'] }).script).toBe(path.join(cwd, 'server.js'));
  });

  it("uses npm's default start, `node server.js`, when there is no start script", () => {
    const cwd = project('default-start', {});
    expect(resolve({ cwd, script: 'npm', args: ['start'] }).script).toBe(path.join(cwd, 'server.js'));
  });

  it('runs a package binary whose target is a JavaScript file (next start)', () => {
    const cwd = project('next-app', { start: 'next start -p 3000' }, []);
    const target = write('next-app/node_modules/next/dist/bin/next', '#!/usr/bin/env node\nrequire("../server")\n');
    mkdirSync(path.join(cwd, 'node_modules', '.bin'), { recursive: true });
    symlinkSync('../next/dist/bin/next', path.join(cwd, 'node_modules', '.bin', 'next'));
    const resolved = resolve({ cwd, script: 'npm', args: ['start'] });
    expect(resolved).toMatchObject({ script: target, args: ['start', '-p', '3000'], nodeArgs: [] });
    expect(resolved.via).toContain(`package binary next: ${target}`);
    // `yarn next start`: a binary, not a script.
    expect(resolve({ cwd, script: 'yarn', args: ['next', 'start'] }).script).toBe(target);
  });

  it('resolves tsx and ts-node files with the loader installed for the app (this project has tsx)', () => {
    const cwd = path.join(ROOT, 'test', 'fixtures', 'apps');
    const resolved = resolve({ cwd, script: 'npx', args: ['tsx', 'http.mjs'] });
    expect(resolved.script).toBe(path.join(cwd, 'http.mjs'));
    expect(resolved.nodeArgs).toEqual(['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href]);
    expect(resolve({ cwd, script: 'tsx http.mjs' }).nodeArgs[0]).toBe('--import');
  });

  it('never runs the package manager: fake npm/yarn/pnpm/npx on the PATH are never called', () => {
    const cwd = project('never-run', { start: 'node server.js' });
    for (const script of ['npm', 'yarn', 'pnpm']) resolve({ cwd, script, args: ['start'] });
    expect(existsSync(ranMarker())).toBe(false);
  });
});

describe('what cluster workers cannot run becomes a process app, and says so', () => {
  it.each([
    [{ start: 'node server.js', prestart: 'npm run build' }, /`npm start` runs through npm as one plain process per worker, not as cluster workers: it also runs the package.json script "prestart" \("npm run build"\)/],
    [{ start: 'npm run build && node server.js' }, /the package.json script "start" is "npm run build && node server.js", which needs a shell \(&&\)/],
    [{ start: 'node server.js > out.log' }, /needs a shell \(>\)/],
    [{ start: 'node $ENTRY' }, /needs a shell \(\$ expansion\)/],
    [{ start: 'nodemon server.js' }, /runs nodemon, which is not installed/],
  ])('%j → npm runs it, as a process app, with a warning naming the app and why', (scripts, message) => {
    const cwd = project(`pm-${Object.values(scripts).join('').replace(/\W/g, '')}`, scripts, ['server.js', 'app.py']);
    const resolved = resolve({ cwd, script: 'npm', args: ['start'] });
    expect(resolved).toMatchObject({ kind: 'process', script: path.join(fakeBin, 'npm'), args: ['start'], interpreter: 'none' });
    expect(resolved.warning).toMatch(/^app web: /);
    expect(resolved.warning).toMatch(message);
    expect(resolved.via).toMatch(/through npm .* as a process app/);
  });

  it('a package script that runs another program runs that program, not npm', () => {
    const cwd = project('runs-python', { start: 'python3 app.py --workers 2', watch: 'node --watch server.js' }, ['server.js', 'app.py']);
    const python = resolve({ cwd, script: 'npm', args: ['start'] });
    expect(python).toMatchObject({ kind: 'process', script: path.join(fakeBin, 'python3'), args: ['app.py', '--workers', '2'], interpreter: 'none' });
    expect(python.warning).toBeUndefined();
    expect(python.env.npm_package_name).toBe('runs-python');
    const watch = resolve({ cwd, script: 'npm', args: ['run', 'watch'] });
    expect(watch).toMatchObject({ kind: 'process', script: process.execPath, args: ['--watch', 'server.js'] });
  });

  it('a command line that needs a shell runs under /bin/sh -c', () => {
    write('shell/x.txt');
    const resolved = resolve({ cwd: path.join(dir, 'shell'), script: 'cat x.txt | wc -l' });
    expect(resolved).toMatchObject({ kind: 'process', script: '/bin/sh', args: ['-c', 'cat x.txt | wc -l'], interpreter: 'none' });
  });

  it.each([
    ['python3', 'worker.py'],
    ['none', 'worker.sh'],
    ['bash', 'worker.sh'],
    ['/usr/bin/env', 'worker.sh'],
  ])('interpreter %s → a process app running %s with it, never as JavaScript', (interpreter, file) => {
    write(`interp/${file}`, 'print(1)\n');
    const resolved = resolve({ cwd: path.join(dir, 'interp'), script: file, interpreter: { field: 'interpreter', value: interpreter } });
    expect(resolved).toMatchObject({ kind: 'process', script: path.join(dir, 'interp', file), interpreter });
  });

  it('accepts the node interpreter, by name or path', () => {
    write('interp/app.js');
    for (const value of ['node', '/usr/local/bin/node']) {
      const resolved = resolve({ cwd: path.join(dir, 'interp'), script: 'app.js', interpreter: { field: 'exec_interpreter', value } });
      expect(resolved.script).toBe(path.join(dir, 'interp', 'app.js'));
      expect(resolved.kind).toBeUndefined();
    }
  });

  it.each([
    ['worker.py', 'a .py file'],
    ['run.sh', 'a sh script'],
  ])('a script file that is not JavaScript is a process app: %s is %s', (file, what) => {
    write(`kinds/${file}`, file.endsWith('.sh') ? '#!/bin/sh\necho hi\n' : 'print(1)\n');
    const resolved = resolve({ cwd: path.join(dir, 'kinds'), script: file });
    expect(resolved).toMatchObject({ kind: 'process', script: path.join(dir, 'kinds', file) });
    expect(resolved.interpreter).toBeUndefined(); // the loader picks it from the file
    expect(resolved.via).toContain(what);
  });

  it('a program that is not JavaScript on the PATH runs as itself', () => {
    const resolved = resolve({ cwd: dir, script: 'python3', args: ['-m', 'http.server'] });
    expect(resolved).toMatchObject({ kind: 'process', script: path.join(fakeBin, 'python3'), args: ['-m', 'http.server'], interpreter: 'none' });
  });
});

describe('one clear error, never a guess', () => {
  it('a script that exists nowhere, an npm script not in package.json, a package.json that is not JSON: one line each', () => {
    const nowhere = failure({ cwd: dir, script: 'no-such-program' });
    expect(nowhere.code).toBe('SW_SCRIPT_NOT_FOUND');
    expect(nowhere.message).toMatch(/^app "web": `script` "no-such-program" runs "no-such-program", which is neither a file in .* nor a program in node_modules\/\.bin or on the PATH; accepted: /);
    expect(failure({ cwd: dir, script: './missing.js' }).message).toMatch(/names a file that does not exist/);

    const cwd = project('no-script', { build: 'tsc', test: 'vitest' });
    const missing = failure({ cwd, script: 'npm', args: ['run', 'prod'] });
    expect(missing.code).toBe('SW_PACKAGE_SCRIPT');
    expect(missing.message).toBe(`app "web": \`npm run prod\` runs the script "prod", which ${path.join(cwd, 'package.json')} does not have; accepted: "build", "test"`);

    write('broken-json/package.json', '{ "scripts": { "start": "node server.js", } ');
    const broken = failure({ cwd: path.join(dir, 'broken-json'), script: 'npm', args: ['start'] });
    expect(broken.code).toBe('SW_PACKAGE_SCRIPT');
    expect(broken.message).toMatch(/^app "web": `npm start` reads its script from .*broken-json\/package\.json, which is not valid JSON \(.*\); accepted: a package\.json with a "scripts" object$/);
  });
});

describe('TypeScript entry files', () => {
  it('knows which Node strips types by itself', () => {
    expect(nativeTypeStripping('20.20.2')).toBe('none');
    expect(nativeTypeStripping('22.5.0')).toBe('none');
    expect(nativeTypeStripping('22.6.0')).toBe('flag');
    expect(nativeTypeStripping('22.17.1')).toBe('flag');
    expect(nativeTypeStripping('22.18.0')).toBe('default');
    expect(nativeTypeStripping('23.5.0')).toBe('flag');
    expect(nativeTypeStripping('23.6.0')).toBe('default');
    expect(nativeTypeStripping('24.0.0')).toBe('default');
  });

  it('keeps a loader the app gives, uses Node\'s stripping, else tsx then ts-node installed for the app', () => {
    const input = { label: 'app "api"', script: '/x/main.ts', nodeArgs: [] as string[], cwd: ROOT };
    expect(hasTypeScriptLoader(['--import', 'tsx'])).toBe(true);
    expect(hasTypeScriptLoader(['-r', 'ts-node/register/transpile-only'])).toBe(true);
    expect(hasTypeScriptLoader(['--max-old-space-size=512'])).toBe(false);
    expect(typescriptNodeArgs({ ...input, nodeArgs: ['--import=tsx'] })).toEqual(['--import=tsx']);
    expect(typescriptNodeArgs({ ...input, nodeVersion: '22.18.0' })).toEqual([]);
    expect(typescriptNodeArgs({ ...input, nodeVersion: '22.6.0', nodeArgs: ['--inspect'] })).toEqual(['--experimental-strip-types', '--inspect']);
    expect(typescriptNodeArgs({ ...input, nodeVersion: '20.20.0' })).toEqual(['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href]);
    expect(typescriptNodeArgs({ ...input, script: '/x/main.js', nodeVersion: '20.20.0' })).toEqual([]);
  });

  it('names both ways when nothing can run it', () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'sw-no-loader-'));
    try {
      let caught: unknown;
      try {
        typescriptNodeArgs({ label: 'app "api"', script: path.join(bare, 'main.ts'), nodeArgs: [], cwd: bare, nodeVersion: '20.20.0' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SmartworkersError);
      expect((caught as SmartworkersError).code).toBe('SW_TYPESCRIPT');
      expect((caught as SmartworkersError).message).toBe(
        `app "api": ${JSON.stringify(path.join(bare, 'main.ts'))} is TypeScript, which Node 20.20.0 does not run by itself and neither tsx nor ts-node is installed for ${bare}; install one (\`npm install --save-dev tsx\`), or run Node >= 22.18, which strips types`,
      );
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
