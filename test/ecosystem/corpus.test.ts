/**
 * The corpus: ecosystem files shaped like the ones pm2 users write (test/fixtures/ecosystems/),
 * each read, converted and validated as `start` and `check` do, with the outcome it must have:
 * what each app runs, or every error at once.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeTypeStripping } from '../../src/config/entry-file';
import { loadEcosystemSettingsSync } from '../../src/ecosystem/settings';
import { SmartworkersError, SmartworkersErrors } from '../../src/errors';

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'ecosystems');
const NPM_APP = path.join(CORPUS, 'npm-app');
const TS_APP = path.join(CORPUS, 'ts-app');
const ROOT = path.resolve(__dirname, '..', '..');
/** What the running Node needs for a .ts file (none where it strips types by default). */
const TS_FLAGS =
  nativeTypeStripping() === 'default'
    ? []
    : nativeTypeStripping() === 'flag'
      ? ['--experimental-strip-types']
      : ['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href];
const TSX_FLAGS = ['--import', pathToFileURL(require.resolve('tsx', { paths: [ROOT] })).href];

// pm2 resolves relative paths against the directory it is started from: the corpus directory here.
const read = (file: string, envName?: string) =>
  loadEcosystemSettingsSync({ file: path.join(CORPUS, file), envName, flags: {}, env: {}, cwd: CORPUS });

function errorsOf(file: string): { codes: string[]; messages: string[]; warnings: readonly string[] } {
  try {
    read(file);
  } catch (error) {
    expect(error).toBeInstanceOf(SmartworkersError);
    const all = error instanceof SmartworkersErrors ? error.errors : [error as SmartworkersError];
    for (const e of all) expect(e.message).not.toContain('\n');
    return { codes: all.map((e) => e.code), messages: all.map((e) => e.message), warnings: error instanceof SmartworkersErrors ? error.warnings : [] };
  }
  throw new Error(`expected ${file} to fail`);
}

const summary = (file: string, envName?: string) =>
  read(file, envName).settings.apps.map((app) => ({ name: app.name, script: app.script, args: app.args, nodeArgs: app.nodeArgs, workers: app.workers, cwd: app.cwd }));

describe('the ecosystem corpus', () => {
  it('npm-app/ecosystem.config.js: `npm start` → server.js as 2 cluster workers, with npm\'s variables', () => {
    const { settings, notes } = read('npm-app/ecosystem.config.js', 'production');
    expect(summary('npm-app/ecosystem.config.js')).toEqual([
      { name: 'npm app', script: path.join(NPM_APP, 'server.js'), args: [], nodeArgs: [], workers: 2, cwd: NPM_APP },
    ]);
    expect(settings.apps[0].env).toMatchObject({ PORT: '0', NODE_ENV: 'production', npm_lifecycle_event: 'start', npm_package_name: 'npm-app', npm_package_version: '1.4.2' });
    expect(settings.apps[0].maxRequests).toBe(400);
    expect(notes).toEqual([`app "npm app": \`npm start\` → package.json script "start": "node server.js" → runs ${path.join(NPM_APP, 'server.js')} as cluster workers`]);
  });

  it('commented.json: comments, trailing commas, a name with a space, instance_var with a hyphen, its log fields honoured', () => {
    const { settings, warnings } = read('commented.json', 'production');
    expect(settings.apps[0]).toMatchObject({ name: 'My API', instanceVar: 'INSTANCE-ID', env: { NODE_ENV: 'production', PORT: '8080' } });
    expect(warnings).toEqual([]);
    expect(settings.apps[0]).toMatchObject({ mergeLogs: expect.any(Boolean), logDateFormat: expect.any(String), outFile: expect.stringMatching(/^\//), errorFile: expect.stringMatching(/^\//) });
  });

  it('commands.config.js: yarn, pnpm, a command line, tsx, npx tsx and a .ts entry, each to the file it runs', () => {
    expect(summary('commands.config.js')).toEqual([
      { name: 'yarn start', script: path.join(NPM_APP, 'server.js'), args: [], nodeArgs: [], workers: 1, cwd: NPM_APP },
      { name: 'pnpm prod', script: path.join(NPM_APP, 'server.js'), args: ['--mode', 'prod'], nodeArgs: ['--max-old-space-size=256'], workers: 1, cwd: NPM_APP },
      { name: 'command line', script: path.join(NPM_APP, 'server.js'), args: ['--port-from-env'], nodeArgs: [], workers: 1, cwd: NPM_APP },
      { name: 'tsx', script: path.join(TS_APP, 'src', 'server.ts'), args: [], nodeArgs: TSX_FLAGS, workers: 1, cwd: TS_APP },
      { name: 'npx tsx', script: path.join(TS_APP, 'src', 'server.ts'), args: [], nodeArgs: TSX_FLAGS, workers: 1, cwd: TS_APP },
      { name: 'ts entry', script: path.join(TS_APP, 'src', 'server.ts'), args: [], nodeArgs: TS_FLAGS, workers: 1, cwd: TS_APP },
    ]);
    expect(read('commands.config.js').settings.apps[1].env).toMatchObject({ NODE_ENV: 'production', npm_lifecycle_event: 'prod' });
  });

  it('mixed.config.js: the Node API as cluster workers; Python, a shell worker, a binary and an npm script that needs a shell as process apps', () => {
    const { settings, warnings, notes } = read('mixed.config.js');
    const [api, python, worker, binary, deploy] = settings.apps;
    expect(api).toMatchObject({ name: 'api', kind: 'cluster', workers: 2 });
    expect(python).toMatchObject({
      name: 'python',
      kind: 'process',
      script: path.join(CORPUS, '..', 'process', 'server.py'),
      interpreterArgs: ['-u'],
      stopSignal: 'SIGINT',
      gracefulTimeout: 5000,
      readyProbe: 'http://127.0.0.1:8000/',
      readyOn: 'message',
    });
    expect(path.basename(python.interpreter!)).toBe('python3');
    expect(worker).toMatchObject({ kind: 'process', workers: 2, maxMemory: 200 * 1024 ** 2, readyOn: 'online', stopSignal: 'SIGTERM' });
    expect(path.basename(worker.interpreter!)).toBe('bash');
    expect(binary).toMatchObject({ kind: 'process', args: ['1000'] });
    expect(path.basename(binary.script)).toBe('sleep');
    expect(binary.interpreter).toBeUndefined();
    expect(deploy).toMatchObject({ kind: 'process', args: ['run', 'deploy'], cwd: NPM_APP });
    expect(path.basename(deploy.script)).toBe('npm');
    expect(warnings).toEqual([
      expect.stringMatching(/^app deploy: `npm run deploy` runs through npm as one plain process per worker, not as cluster workers: the package.json script "deploy" is "npm run build && node server.js", which needs a shell \(&&\)/),
    ]);
    expect(notes.find((n) => n.startsWith('app "deploy"'))).toMatch(/as a process app$/);
  });

  it('bad-input.config.js: a missing interpreter, a script nowhere, a missing npm script, an invalid package.json: one line each', () => {
    const { codes, messages } = errorsOf('bad-input.config.js');
    expect(codes.sort()).toEqual(['SW_INTERPRETER_NOT_FOUND', 'SW_PACKAGE_SCRIPT', 'SW_PACKAGE_SCRIPT', 'SW_SCRIPT_NOT_FOUND']);
    const all = messages.join('\n');
    expect(all).toMatch(/app "no interpreter": the interpreter "python9" for ".*server\.py" is not installed \(not an executable on the PATH\); accepted: /);
    expect(all).toMatch(/app "nowhere": `script` "no-such-program-anywhere" runs "no-such-program-anywhere", which is neither a file/);
    expect(all).toMatch(/app "missing npm script": `npm run serve` runs the script "serve", which .*package\.json does not have; accepted: "start", "prod", "build", "deploy"/);
    expect(all).toMatch(/app "bad package.json": `npm start` reads its script from .*bad-package\/package\.json, which is not valid JSON/);
  });

  it('broken.config.js: every error and warning at once', () => {
    const { codes, messages, warnings } = errorsOf('broken.config.js');
    expect(codes.sort()).toEqual(['SW_CONFIG_INVALID', 'SW_ECOSYSTEM_INVALID', 'SW_ECOSYSTEM_INVALID', 'SW_PACKAGE_SCRIPT', 'SW_SCRIPT_NOT_FOUND']);
    expect(messages.join('\n')).toContain('expected `instances` to be a whole number');
    expect(messages.join('\n')).toContain('`npm run serve` runs the script "serve"');
    expect(messages.join('\n')).toContain('./does-not-exist.js');
    expect(messages.join('\n')).toContain('expected `kill_timeout`');
    expect(messages.join('\n')).toMatch(/`apps\[0\]\.max_requests` \(from .*broken\.config\.js, app "jobs"\)/);
    expect(warnings.map((w) => /^`(\w+)`/.exec(w)?.[1])).toEqual(['pid_file', 'watch_delay']);
  });

  it('process.yml: pm2\'s YAML, the Node app as cluster workers and an `interpreter: none` cron job as a process app', () => {
    const [web, cron] = read('process.yml').settings.apps;
    expect(web).toMatchObject({ name: 'web', kind: 'cluster', workers: 2 });
    expect(cron).toMatchObject({ name: 'cron', kind: 'process', script: path.join(CORPUS, 'cleanup.sh'), autorestart: false, cronRestart: '0 3 * * *' });
    expect(cron.interpreter).toBeUndefined();
  });

  it('esm-mismatch: CommonJS in a "type": "module" package says what to rename', () => {
    const { codes, messages } = errorsOf('esm-mismatch/ecosystem.config.js');
    expect(codes).toEqual(['SW_ECOSYSTEM_FILE']);
    expect(messages[0]).toMatch(/rename it to ecosystem\.config\.cjs/);
  });
});
