import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, loadSettingsFromObject, type LoadInput } from '../../src/config/load';
import { SmartworkersError, type ErrorCode } from '../../src/errors';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sw-config-'));
  writeFileSync(join(dir, 'app.js'), '');
  writeFileSync(join(dir, 'other.mjs'), '');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

function load(input: Partial<LoadInput>) {
  return loadSettings({ flags: {}, env: {}, cwd: dir, ...input });
}

/** The error `run` throws; fails the test when it throws none or another kind. */
function failure(run: () => unknown): SmartworkersError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SmartworkersError);
    return error as SmartworkersError;
  }
  throw new Error('expected a SmartworkersError, nothing was thrown');
}

function expectError(run: () => unknown, code: ErrorCode, message: string): void {
  const error = failure(run);
  expect({ code: error.code, message: error.message }).toEqual({ code, message });
  expect(error.message).not.toContain('\n');
}

describe('defaults', () => {
  it('a script alone gives one app with every default', () => {
    const settings = load({ script: 'app.js' });
    expect(settings).toEqual({
      apps: [
        {
          name: 'app',
          script: join(dir, 'app.js'),
          args: [],
          nodeArgs: [],
          env: {},
          cwd: dir,
          workers: availableParallelism(),
          maxRequests: 0,
          maxRequestsJitter: 0,
          maxMemory: 0,
          maxMemoryHard: 0,
          memoryCheckInterval: 1000,
          timeout: 30_000,
          gracefulTimeout: 30_000,
          maxTaskWait: 300_000,
          bootTimeout: 30_000,
          waitReady: false,
          restartDelay: 100,
          maxRestartDelay: 15_000,
          minUptime: 10_000,
          maxRetiring: availableParallelism(),
          drainTimeout: 30_000,
          drainIdleGrace: 1000,
          readyOn: 'listening',
          maxRestarts: 0,
          autorestart: true,
          instanceVar: 'NODE_APP_INSTANCE',
          watch: [],
          ignoreWatch: [],
          shutdownWithMessage: false,
          mergeLogs: false,
          time: false,
          logType: 'raw',
          logMaxSize: 10 * 1024 * 1024,
          logRetain: 10,
          logCompress: false,
          kind: 'cluster',
          interpreterArgs: [],
          stopSignal: 'SIGTERM',
          maxTasks: 0,
          maxTasksJitter: 0,
          taskTypes: {},
          taskHistory: 100,
        },
      ],
      logFormat: 'json',
      logLevel: 'info',
      minReady: 1,
      summaryInterval: 30_000,
    });
  });

  it('names the app after the script without its extension', () => {
    expect(load({ script: 'other.mjs' }).apps[0].name).toBe('other');
  });

  it('resolves log_format auto by whether stdout is a terminal', () => {
    expect(load({ script: 'app.js', isTTY: true }).logFormat).toBe('pretty');
    expect(load({ script: 'app.js', isTTY: false }).logFormat).toBe('json');
    expect(load({ script: 'app.js', isTTY: true, flags: { logFormat: 'json' } }).logFormat).toBe('json');
  });

  it('workers auto is the available CPUs, and max_retiring auto the app workers', () => {
    const auto = load({ script: 'app.js', flags: { workers: 'auto' } }).apps[0];
    expect(auto.workers).toBe(availableParallelism());
    const three = load({ script: 'app.js', flags: { workers: '3' } }).apps[0];
    expect(three).toMatchObject({ workers: 3, maxRetiring: 3 });
    const capped = load({ script: 'app.js', flags: { workers: '3', maxRetiring: '1' } }).apps[0];
    expect(capped.maxRetiring).toBe(1);
  });
});

describe('precedence: flag > env > file > default', () => {
  const config = () => file('workers.yaml', 'app: app.js\nmax_requests: 100\ntimeout: 10s\nworkers: 2\nlog_level: warn\n');

  it('a file value beats the default', () => {
    const settings = load({ configFile: config() });
    expect(settings.apps[0]).toMatchObject({ maxRequests: 100, timeout: 10_000, workers: 2, gracefulTimeout: 30_000 });
    expect(settings.logLevel).toBe('warn');
  });

  it('an env var beats the file', () => {
    const settings = load({
      configFile: config(),
      env: { SMARTWORKERS_MAX_REQUESTS: '200', SMARTWORKERS_LOG_LEVEL: 'debug' },
    });
    expect(settings.apps[0]).toMatchObject({ maxRequests: 200, timeout: 10_000 });
    expect(settings.logLevel).toBe('debug');
  });

  it('a flag beats the env var and the file', () => {
    const settings = load({
      configFile: config(),
      env: { SMARTWORKERS_MAX_REQUESTS: '200', SMARTWORKERS_TIMEOUT: '20s' },
      flags: { maxRequests: '300', logLevel: 'error' },
    });
    expect(settings.apps[0]).toMatchObject({ maxRequests: 300, timeout: 20_000, workers: 2 });
    expect(settings.logLevel).toBe('error');
  });

  it('the script argument beats `app` in the file, a flag and the env var', () => {
    const settings = load({
      configFile: config(),
      script: 'other.mjs',
      flags: { app: 'app.js' },
      env: { SMARTWORKERS_APP: 'app.js' },
    });
    expect(settings.apps[0].script).toBe(join(dir, 'other.mjs'));
    expect(settings.apps[0].name).toBe('other');
  });

  it('flags may carry typed values (programmatic callers) and other options are ignored', () => {
    const settings = load({ script: 'app.js', flags: { workers: 4, waitReady: true, config: 'x.yaml', json: true } });
    expect(settings.apps[0]).toMatchObject({ workers: 4, waitReady: true });
  });

  it('`--no-wait-ready` (false) beats `wait_ready: true` in the file', () => {
    file('ready.yaml', 'app: app.js\nwait_ready: true\n');
    expect(load({ configFile: 'ready.yaml' }).apps[0].waitReady).toBe(true);
    expect(load({ configFile: 'ready.yaml', flags: { waitReady: false } }).apps[0].waitReady).toBe(false);
    expect(load({ configFile: 'ready.yaml', env: { SMARTWORKERS_WAIT_READY: 'no' } }).apps[0].waitReady).toBe(false);
  });

  it('nested keys come from the file, the env and flags', () => {
    file('status.yaml', 'app: app.js\nstatus:\n  listen: 127.0.0.1:9100\n  token: s3cret\ncontrol:\n  socket: run/sw.sock\n');
    const fromFile = load({ configFile: 'status.yaml' });
    expect(fromFile).toMatchObject({ statusListen: '127.0.0.1:9100', statusToken: 's3cret', controlSocket: join(dir, 'run/sw.sock') });
    const fromEnv = load({ configFile: 'status.yaml', env: { SMARTWORKERS_STATUS_LISTEN: '[::1]:9200' } });
    expect(fromEnv.statusListen).toBe('[::1]:9200');
    const fromFlag = load({ configFile: 'status.yaml', flags: { statusListen: '0.0.0.0:9300', statusToken: 't' } });
    expect(fromFlag).toMatchObject({ statusListen: '0.0.0.0:9300', statusToken: 't' });
  });

  it('leaves optional settings out when nothing sets them', () => {
    const settings = load({ script: 'app.js' });
    expect('statusListen' in settings).toBe(false);
    expect('controlSocket' in settings).toBe(false);
    expect('statusToken' in settings).toBe(false);
    expect('configFile' in settings).toBe(false);
  });
});

describe('values of every kind from env vars and flags', () => {
  it('parses durations, sizes, counts, booleans, lists, maps and enums', () => {
    const settings = load({
      script: 'app.js',
      env: {
        SMARTWORKERS_MAX_MEMORY: '1.5GB',
        SMARTWORKERS_MAX_MEMORY_HARD: '2G',
        SMARTWORKERS_NODE_ARGS: '--max-old-space-size=512 --inspect',
        SMARTWORKERS_ARGS: '["--title", "two words"]',
        SMARTWORKERS_ENV: '{"NODE_ENV": "production", "PORT": 3000}',
        SMARTWORKERS_WAIT_READY: 'yes',
        SMARTWORKERS_SUMMARY_INTERVAL: '0',
        SMARTWORKERS_MIN_READY: '2',
      },
      flags: { maxTaskWait: '90', restartDelay: '250ms', maxRestartDelay: '1h', logFormat: 'pretty' },
    });
    expect(settings.apps[0]).toMatchObject({
      maxMemory: 1.5 * 1024 ** 3,
      maxMemoryHard: 2 * 1024 ** 3,
      nodeArgs: ['--max-old-space-size=512', '--inspect'],
      args: ['--title', 'two words'],
      env: { NODE_ENV: 'production', PORT: '3000' },
      waitReady: true,
      maxTaskWait: 90_000,
      restartDelay: 250,
      maxRestartDelay: 3_600_000,
    });
    expect(settings).toMatchObject({ summaryInterval: 0, minReady: 2, logFormat: 'pretty' });
  });

  it('takes the env map from a repeated `--worker-env KEY=VALUE`', () => {
    const settings = load({ script: 'app.js', flags: { workerEnv: ['A=1', 'B=x=y'] } });
    expect(settings.apps[0].env).toEqual({ A: '1', B: 'x=y' });
  });

  it('ignores empty env vars and SMARTWORKERS_* vars that are not settings', () => {
    const settings = load({
      script: 'app.js',
      env: { SMARTWORKERS_WORKER_ID: '3', SMARTWORKERS_GENERATION: '7', SMARTWORKERS_MAX_REQUEST: '5', SMARTWORKERS_TIMEOUT: '' },
    });
    expect(settings.apps[0]).toMatchObject({ maxRequests: 0, timeout: 30_000 });
  });

  it('takes durations and sizes as YAML numbers (seconds, bytes)', () => {
    file('numbers.yaml', 'app: app.js\ntimeout: 2.5\nmax_memory: 1048576\nenv: {PORT: 8080, DEBUG: true}\nargs: [--port, 80]\n');
    expect(load({ configFile: 'numbers.yaml' }).apps[0]).toMatchObject({
      timeout: 2500,
      maxMemory: 1024 * 1024,
      env: { PORT: '8080', DEBUG: 'true' },
      args: ['--port', '80'],
    });
  });
});

describe('paths', () => {
  it('resolves file values against the config file directory', () => {
    mkdirSync(join(dir, 'conf'));
    mkdirSync(join(dir, 'work'));
    file('conf/workers.yaml', 'app: ../app.js\ncwd: ../work\n');
    const settings = load({ configFile: 'conf/workers.yaml' });
    expect(settings.apps[0]).toMatchObject({ script: join(dir, 'app.js'), cwd: join(dir, 'work') });
    expect(settings.configFile).toBe(join(dir, 'conf/workers.yaml'));
  });

  it('resolves the script argument, flags and env values against the working directory', () => {
    mkdirSync(join(dir, 'conf'));
    mkdirSync(join(dir, 'work'));
    file('conf/workers.yaml', 'workers: 1\n');
    const settings = load({ configFile: 'conf/workers.yaml', script: 'app.js', env: { SMARTWORKERS_CWD: 'work' } });
    expect(settings.apps[0]).toMatchObject({ script: join(dir, 'app.js'), cwd: join(dir, 'work') });
  });

  it('keeps absolute paths', () => {
    const settings = load({ script: join(dir, 'app.js'), cwd: '/' });
    expect(settings.apps[0].script).toBe(join(dir, 'app.js'));
  });
});

describe('several apps', () => {
  const multi = () =>
    file(
      'apps.yaml',
      [
        'max_requests: 1000',
        'timeout: 5s',
        'log_level: debug',
        'apps:',
        '  - name: api',
        '    app: app.js',
        '    workers: 4',
        '  - name: jobs',
        '    app: other.mjs',
        '    workers: 1',
        '    max_requests: 0',
        '',
      ].join('\n'),
    );

  it('gives each entry its keys, the top-level app keys as defaults', () => {
    const settings = load({ configFile: multi() });
    expect(settings.apps.map((app) => [app.name, app.script, app.workers, app.maxRequests, app.timeout, app.maxRetiring])).toEqual([
      ['api', join(dir, 'app.js'), 4, 1000, 5000, 4],
      ['jobs', join(dir, 'other.mjs'), 1, 0, 5000, 1],
    ]);
    expect(settings.logLevel).toBe('debug');
  });

  it('applies flags and env vars to every app', () => {
    const settings = load({ configFile: multi(), flags: { timeout: '1m' }, env: { SMARTWORKERS_MAX_REQUESTS: '7' } });
    expect(settings.apps.map((app) => [app.timeout, app.maxRequests])).toEqual([
      [60_000, 7],
      [60_000, 7],
    ]);
  });

  it('shares settings through `x-` anchors and merge keys', () => {
    file(
      'anchors.yaml',
      ['x-common: &common', '  workers: 2', '  timeout: 3s', 'apps:', '  - <<: *common', '    name: a', '    app: app.js', '  - <<: *common', '    name: b', '    app: app.js', '    workers: 5', ''].join('\n'),
    );
    expect(load({ configFile: 'anchors.yaml' }).apps.map((app) => [app.name, app.workers, app.timeout])).toEqual([
      ['a', 2, 3000],
      ['b', 5, 3000],
    ]);
  });

  it('requires a name in every entry', () => {
    file('noname.yaml', 'apps:\n  - name: api\n    app: app.js\n  - app: app.js\n');
    expectError(
      () => load({ configFile: 'noname.yaml' }),
      'SW_CONFIG_INVALID',
      'config: `apps[1].name` is missing in noname.yaml:4; every entry of `apps` needs a unique name',
    );
  });

  it('requires unique names', () => {
    file('dup.yaml', 'apps:\n  - name: api\n    app: app.js\n  - name: api\n    app: other.mjs\n');
    expectError(
      () => load({ configFile: 'dup.yaml' }),
      'SW_CONFIG_INVALID',
      'config: expected `apps[1].name` (from dup.yaml:4) to be unique, got "api", already the name of apps[0]',
    );
  });

  it('requires the script of every entry', () => {
    file('noapp.yaml', 'apps:\n  - name: api\n');
    expectError(
      () => load({ configFile: 'noapp.yaml' }),
      'SW_CONFIG_INVALID',
      'config: `apps[0].app` is missing; every entry of `apps` needs the script it runs',
    );
  });

  it('refuses a script argument, or a name from a flag, for a file with several apps', () => {
    expectError(
      () => load({ configFile: multi(), script: 'app.js' }),
      'SW_USAGE',
      'config: `app` is given by the command line, but apps.yaml lists several apps under `apps`; set `app` in each entry instead',
    );
    expectError(
      () => load({ configFile: multi(), env: { SMARTWORKERS_NAME: 'x' } }),
      'SW_USAGE',
      'config: `name` is given by SMARTWORKERS_NAME, but apps.yaml lists several apps under `apps`; set `name` in each entry instead',
    );
  });

  it('refuses a manager-wide key inside an entry', () => {
    file('global-in-app.yaml', 'apps:\n  - name: api\n    app: app.js\n    log_level: info\n');
    expectError(
      () => load({ configFile: 'global-in-app.yaml' }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: `apps[0].log_level` in global-in-app.yaml:4 applies to the whole manager, not to one app; move it to the top level',
    );
  });

  it('suggests the nearest per-app key for a typo inside an entry', () => {
    file('typo-in-app.yaml', 'apps:\n  - name: api\n    app: app.js\n    wokers: 2\n');
    expectError(
      () => load({ configFile: 'typo-in-app.yaml' }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: unknown key `apps[0].wokers` in typo-in-app.yaml:4; did you mean `workers`?',
    );
  });

  it('refuses an `apps` that is not a non-empty list of maps', () => {
    for (const value of ['[]', 'api', '[api]']) {
      file('bad-apps.yaml', `apps: ${value}\n`);
      const error = failure(() => load({ configFile: 'bad-apps.yaml' }));
      expect(error.code).toBe('SW_CONFIG_INVALID');
      expect(error.message).toMatch(/^config: expected `apps` \(from bad-apps\.yaml:1\) to be a non-empty list of maps, one per app, got /);
    }
  });
});

describe('errors: one line naming the key, its source, the value and what is accepted', () => {
  it('unknown key in the file, with the nearest key', () => {
    file('workers.yaml', 'app: app.js\nmax_request: 5\n');
    expectError(
      () => load({ configFile: 'workers.yaml' }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: unknown key `max_request` in workers.yaml:2; did you mean `max_requests`?',
    );
  });

  it.each([
    ['max_reqeusts', 'max_requests'],
    ['max-requests', 'max_requests'],
    ['maxRequests', 'max_requests'],
    ['gracefull_timeout', 'graceful_timeout'],
    ['status_listen', 'status.listen'],
    ['node_arg', 'node_args'],
  ])('suggests `%s` → `%s`', (typo, key) => {
    file('typo.yaml', `${typo}: 1\n`);
    const error = failure(() => load({ configFile: 'typo.yaml', script: 'app.js' }));
    expect(error.message).toBe(`config: unknown key \`${typo}\` in typo.yaml:1; did you mean \`${key}\`?`);
  });

  it('unknown key with nothing close', () => {
    file('far.yaml', 'frobnicate: 1\n');
    expectError(
      () => load({ configFile: 'far.yaml', script: 'app.js' }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: unknown key `frobnicate` in far.yaml:1; the accepted keys are in the configuration reference',
    );
  });

  it('unknown nested key', () => {
    file('nested.yaml', 'status:\n  listen: 127.0.0.1:1\n  tokn: x\n');
    expectError(
      () => load({ configFile: 'nested.yaml', script: 'app.js' }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: unknown key `status.tokn` in nested.yaml:3; did you mean `status.token`?',
    );
  });

  it('a group that is not a map', () => {
    file('group.yaml', 'status: 9100\n');
    expectError(
      () => load({ configFile: 'group.yaml', script: 'app.js' }),
      'SW_CONFIG_INVALID',
      'config: expected `status` (from group.yaml:1) to be a map with the keys `listen`, `token`, got 9100',
    );
  });

  it('invalid value from a flag', () => {
    expectError(
      () => load({ script: 'app.js', flags: { maxRequests: 'abc' } }),
      'SW_CONFIG_INVALID',
      'config: expected `max_requests` (from --max-requests) to be a whole number >= 0, got "abc"',
    );
  });

  it('invalid value from an env var', () => {
    expectError(
      () => load({ script: 'app.js', env: { SMARTWORKERS_TIMEOUT: '30 seconds' } }),
      'SW_CONFIG_INVALID',
      'config: expected `timeout` (from SMARTWORKERS_TIMEOUT) to be a duration of at least 2s (a loaded machine stalls healthy workers longer than that, and they would be killed), like `30s`, `10m`, `250ms` or a number of seconds, got "30 seconds"',
    );
  });

  it('invalid value in the file, with its line', () => {
    file('bad.yaml', 'app: app.js\n\nmax_memory: lots\n');
    expectError(
      () => load({ configFile: 'bad.yaml' }),
      'SW_CONFIG_INVALID',
      'config: expected `max_memory` (from bad.yaml:3) to be a size like `400MB`, `1.5GB`, `512KB` or a number of bytes, got "lots"',
    );
  });

  it('invalid value in an apps entry names the entry', () => {
    file('entry.yaml', 'apps:\n  - name: api\n    app: app.js\n    wait_ready: maybe\n');
    expectError(
      () => load({ configFile: 'entry.yaml' }),
      'SW_CONFIG_INVALID',
      'config: expected `apps[0].wait_ready` (from entry.yaml:4) to be true or false, got "maybe"',
    );
  });

  it.each<[Partial<LoadInput>, string]>([
    [{ flags: { workers: '0' } }, 'config: expected `workers` (from --workers) to be a whole number >= 1 or `auto` (available CPUs), got "0"'],
    [{ flags: { workers: 'many' } }, 'config: expected `workers` (from --workers) to be a whole number >= 1 or `auto` (available CPUs), got "many"'],
    [{ flags: { minReady: '0' } }, 'config: expected `min_ready` (from --min-ready) to be a whole number >= 1, got "0"'],
    [{ flags: { memoryCheckInterval: '10ms' } }, 'config: expected `memory_check_interval` (from --memory-check-interval) to be a duration of at least 100ms, like `30s`, `10m`, `250ms` or a number of seconds, got "10ms"'],
    [{ flags: { logLevel: 'verbose' } }, 'config: expected `log_level` (from --log-level) to be one of `fatal`, `error`, `warn`, `info`, `debug`, `trace`, got "verbose"'],
    [{ flags: { waitReady: 'maybe' } }, 'config: expected `wait_ready` (from --wait-ready) to be true or false (or yes/no, 1/0), got "maybe"'],
    [{ env: { SMARTWORKERS_ENV: 'production' } }, 'config: expected `env` (from SMARTWORKERS_ENV) to be a JSON object of strings or `KEY=VALUE`, got "production"'],
    [{ env: { SMARTWORKERS_NODE_ARGS: '[--inspect' } }, 'config: expected `node_args` (from SMARTWORKERS_NODE_ARGS) to be a JSON array of strings or space-separated words, got "[--inspect"'],
    [{ flags: { statusListen: '9100' } }, 'config: expected `status.listen` (from --status-listen) to be `host:port` like `127.0.0.1:9100` or `[::1]:9100`, got "9100"'],
    [{ flags: { name: 'a\tb' } }, 'config: expected `name` (from --name) to be a name of up to 200 characters, without control characters or spaces at either end, got "a\\tb"'],
    [{ flags: { name: 'a\nb' } }, 'config: expected `name` (from --name) to be a name of up to 200 characters, without control characters or spaces at either end, got "a\\nb"'],
  ])('%j', (input, message) => {
    expectError(() => load({ script: 'app.js', ...input }), 'SW_CONFIG_INVALID', message);
  });

  it('never echoes a secret', () => {
    expectError(
      () => load({ script: 'app.js', env: { SMARTWORKERS_STATUS_TOKEN: '   ' } }),
      'SW_CONFIG_INVALID',
      'config: expected `status.token` (from SMARTWORKERS_STATUS_TOKEN) to be a non-empty string, got a value not shown (it is a secret)',
    );
  });

  it('an empty YAML value', () => {
    file('empty-value.yaml', 'app: app.js\nmax_requests:\n');
    expectError(
      () => load({ configFile: 'empty-value.yaml' }),
      'SW_CONFIG_INVALID',
      'config: expected `max_requests` (from empty-value.yaml:2) to be a whole number >= 0, got an empty value',
    );
  });

  it('a hard memory ceiling at or below the soft one', () => {
    expectError(
      () => load({ script: 'app.js', flags: { maxMemory: '1GB', maxMemoryHard: '512MB' } }),
      'SW_CONFIG_INVALID',
      'config: expected `max_memory_hard` (from --max-memory-hard) to be above `max_memory` (1GB) or 0, got "512MB"',
    );
  });

  it('a backoff cap below the base delay, even when the cap is the default', () => {
    expectError(
      () => load({ script: 'app.js', flags: { restartDelay: '20s' } }),
      'SW_CONFIG_INVALID',
      'config: expected `max_restart_delay` (from the default) to be at least `restart_delay` (20s), got "15s"',
    );
  });

  it('a value that is wrong where a higher source overrides it is still an error', () => {
    file('shadowed.yaml', 'app: app.js\nmax_requests: abc\n');
    const error = failure(() => load({ configFile: 'shadowed.yaml', flags: { maxRequests: '5' } }));
    expect(error.message).toBe('config: expected `max_requests` (from shadowed.yaml:2) to be a whole number >= 0, got "abc"');
  });

  it('a missing config file', () => {
    expectError(
      () => load({ configFile: 'missing.yaml', script: 'app.js' }),
      'SW_CONFIG_FILE',
      `config: cannot read missing.yaml: no such file (${join(dir, 'missing.yaml')})`,
    );
  });

  it('a config file that is a directory', () => {
    mkdirSync(join(dir, 'folder.yaml'));
    expectError(
      () => load({ configFile: 'folder.yaml', script: 'app.js' }),
      'SW_CONFIG_FILE',
      `config: cannot read folder.yaml: it is a directory, not a regular file (${join(dir, 'folder.yaml')})`,
    );
  });

  it('a YAML syntax error, with line and column', () => {
    file('syntax.yaml', 'app: app.js\nworkers: [1,\ntimeout: 5s\n');
    const error = failure(() => load({ configFile: 'syntax.yaml' }));
    expect(error.code).toBe('SW_CONFIG_FILE');
    expect(error.message).toMatch(/^config: invalid YAML in syntax\.yaml:3:1: \S.*$/);
  });

  it('a duplicate key', () => {
    file('twice.yaml', 'app: app.js\nworkers: 1\nworkers: 2\n');
    expectError(() => load({ configFile: 'twice.yaml' }), 'SW_CONFIG_FILE', 'config: invalid YAML in twice.yaml:3:1: Map keys must be unique');
  });

  it('a file that is not a map', () => {
    file('list.yaml', '- app.js\n');
    expectError(
      () => load({ configFile: 'list.yaml', script: 'app.js' }),
      'SW_CONFIG_INVALID',
      'config: expected list.yaml to hold a map of settings, got ["app.js"]',
    );
  });

  it('an empty file or one with only comments is no setting at all', () => {
    file('empty.yaml', '');
    file('comments.yaml', '# nothing here\n');
    expect(load({ configFile: 'empty.yaml', script: 'app.js' }).apps[0].maxRequests).toBe(0);
    expect(load({ configFile: 'comments.yaml', script: 'app.js' }).apps[0].maxRequests).toBe(0);
  });

  it('a script that does not exist', () => {
    expectError(
      () => load({ script: 'missing.js' }),
      'SW_SCRIPT_NOT_FOUND',
      `config: \`app\` (from the command line) names a script that does not exist: "missing.js" (${join(dir, 'missing.js')})`,
    );
    file('missing-app.yaml', 'app: ./nope.js\n');
    expectError(
      () => load({ configFile: 'missing-app.yaml' }),
      'SW_SCRIPT_NOT_FOUND',
      `config: \`app\` (from missing-app.yaml:1) names a script that does not exist: "./nope.js" (${join(dir, 'nope.js')})`,
    );
  });

  it('a script that is a directory', () => {
    mkdirSync(join(dir, 'lib'));
    expectError(
      () => load({ script: 'lib' }),
      'SW_SCRIPT_NOT_FOUND',
      `config: \`app\` (from the command line) names a directory, not a script: "lib" (${join(dir, 'lib')})`,
    );
  });

  it('a working directory that does not exist', () => {
    expectError(
      () => load({ script: 'app.js', flags: { cwd: 'nowhere' } }),
      'SW_CONFIG_INVALID',
      `config: expected \`cwd\` (from --cwd) to be an existing directory (it resolves to ${join(dir, 'nowhere')}), got "nowhere"`,
    );
  });

  it('no app at all', () => {
    file('noapp.yaml', 'workers: 2\n');
    for (const input of [{}, { configFile: 'noapp.yaml' }]) {
      expectError(
        () => load(input),
        'SW_USAGE',
        'config: no app to run: give the script (`smartworkers start app.js`) or set `app` in the config file',
      );
    }
  });

  it('names an app after its script file, spaces and all, as pm2 does', () => {
    writeFileSync(join(dir, 'my app.js'), '');
    expect(load({ script: 'my app.js' }).apps[0].name).toBe('my app');
    expect(load({ script: 'my app.js', flags: { name: 'My API: "v2"' } }).apps[0].name).toBe('My API: "v2"');
  });

  it('every error carries exit code 2 and its fix', () => {
    const error = failure(() => load({ script: 'app.js', flags: { workers: 'x' } }));
    expect(error.exitCode).toBe(2);
    expect(error.fix).not.toBe('');
    expect(error.toLine()).toBe(`smartworkers: ${error.message} [SW_CONFIG_INVALID]`);
  });
});

describe('the result', () => {
  it('is deeply frozen', () => {
    const settings = load({ script: 'app.js', flags: { workerEnv: ['A=1'], nodeArgs: '--inspect' } });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.apps)).toBe(true);
    expect(Object.isFrozen(settings.apps[0])).toBe(true);
    expect(Object.isFrozen(settings.apps[0].env)).toBe(true);
    expect(Object.isFrozen(settings.apps[0].nodeArgs)).toBe(true);
    expect(() => {
      (settings.apps[0] as { workers: number }).workers = 99;
    }).toThrow(TypeError);
  });

  it('is the same when loaded twice (a SIGHUP reload re-reads the file)', () => {
    file('workers.yaml', 'app: app.js\nworkers: 2\n');
    expect(load({ configFile: 'workers.yaml' })).toEqual(load({ configFile: 'workers.yaml' }));
  });
});

describe('loadSettingsFromObject', () => {
  it('loads an already-parsed object as if it were the file', () => {
    mkdirSync(join(dir, 'deploy'));
    const settings = loadSettingsFromObject(
      { apps: [{ name: 'api', app: '../app.js', workers: 2, max_memory: '300MB', env: { PORT: 3000 } }] },
      'ecosystem.config.js',
      { flags: { timeout: '5s' }, env: {}, cwd: dir, configFile: 'deploy/ecosystem.config.js' },
    );
    expect(settings.apps[0]).toMatchObject({
      name: 'api',
      script: join(dir, 'app.js'),
      workers: 2,
      maxMemory: 300 * 1024 ** 2,
      env: { PORT: '3000' },
      timeout: 5000,
    });
    expect(settings.configFile).toBe(join(dir, 'deploy/ecosystem.config.js'));
  });

  it('resolves against the working directory without a config file, and names the source in errors', () => {
    expect(loadSettingsFromObject({ app: 'app.js' }, 'pm2 ecosystem', { flags: {}, env: {}, cwd: dir }).apps[0].script).toBe(join(dir, 'app.js'));
    expectError(
      () => loadSettingsFromObject({ app: 'app.js', max_requets: 1 }, 'ecosystem.config.js', { flags: {}, env: {}, cwd: dir }),
      'SW_CONFIG_UNKNOWN_KEY',
      'config: unknown key `max_requets` in ecosystem.config.js; did you mean `max_requests`?',
    );
    expectError(
      () => loadSettingsFromObject({ app: 'app.js', workers: () => 2 }, 'ecosystem.config.js', { flags: {}, env: {}, cwd: dir }),
      'SW_CONFIG_INVALID',
      'config: expected `workers` (from ecosystem.config.js) to be a whole number >= 1 or `auto` (available CPUs), got a function',
    );
  });
});

describe('pm2 conventions and non-HTTP groups', () => {
  it('reads max_restarts, autorestart, instance_var, increment_var, cron_restart and shutdown_with_message', () => {
    file(
      'workers.yaml',
      [
        'app: app.js',
        'max_restarts: 5',
        'autorestart: false',
        'instance_var: INSTANCE_ID',
        'increment_var: PORT',
        "cron_restart: '0 3 * * *'",
        'shutdown_with_message: true',
      ].join('\n'),
    );
    expect(load({ configFile: 'workers.yaml' }).apps[0]).toMatchObject({
      maxRestarts: 5,
      autorestart: false,
      instanceVar: 'INSTANCE_ID',
      incrementVar: 'PORT',
      cronRestart: '0 3 * * *',
      shutdownWithMessage: true,
    });
  });

  it('rejects an invalid cron expression and a bad env var name, in one line', () => {
    file('bad-cron.yaml', "app: app.js\ncron_restart: '61 * * * *'\n");
    expect(failure(() => load({ configFile: 'bad-cron.yaml' })).message).toMatch(
      /^config: expected `cron_restart` \(from bad-cron\.yaml:2\) to be a cron expression of 5 fields .*, got "61 \* \* \* \*"$/,
    );
    expect(failure(() => load({ script: 'app.js', flags: { instanceVar: 'A=B' } })).message).toMatch(/`instance_var`.*environment variable name/);
    // pm2 takes any name; one with a hyphen is in the field.
    expect(load({ script: 'app.js', flags: { instanceVar: 'INSTANCE-ID' } }).apps[0].instanceVar).toBe('INSTANCE-ID');
  });

  it('ready_on: listening by default, message with wait_ready, and online when asked', () => {
    expect(load({ script: 'app.js' }).apps[0].readyOn).toBe('listening');
    expect(load({ script: 'app.js', flags: { waitReady: true } }).apps[0].readyOn).toBe('message');
    expect(load({ script: 'app.js', env: { SMARTWORKERS_READY_ON: 'online' } }).apps[0].readyOn).toBe('online');
    file('two.yaml', 'apps:\n  - name: api\n    app: app.js\n  - name: jobs\n    app: app.js\n    ready_on: online\n');
    expect(load({ configFile: 'two.yaml' }).apps.map((a) => a.readyOn)).toEqual(['listening', 'online']);
  });

  it('refuses wait_ready: true with another ready_on', () => {
    file('both.yaml', 'app: app.js\nwait_ready: true\nready_on: online\n');
    expectError(
      () => load({ configFile: 'both.yaml' }),
      'SW_CONFIG_INVALID',
      'config: expected `ready_on` (from both.yaml:3) to be `message` or unset, since `wait_ready` is true (from both.yaml:2), got "online"',
    );
    file('agree.yaml', 'app: app.js\nwait_ready: true\nready_on: message\n');
    expect(load({ configFile: 'agree.yaml' }).apps[0].readyOn).toBe('message');
  });

  it("watch: true is the app's cwd; paths are relative to it; false and lists from flags and env", () => {
    mkdirSync(join(dir, 'srv'));
    file('w.yaml', 'app: app.js\ncwd: srv\nwatch: true\nignore_watch: [logs, "*.tmp"]\n');
    expect(load({ configFile: 'w.yaml' }).apps[0]).toMatchObject({ watch: [join(dir, 'srv')], ignoreWatch: ['logs', '*.tmp'] });
    file('l.yaml', 'app: app.js\ncwd: srv\nwatch: [lib, /etc/app]\n');
    expect(load({ configFile: 'l.yaml' }).apps[0].watch).toEqual([join(dir, 'srv', 'lib'), '/etc/app']);
    expect(load({ script: 'app.js', flags: { watch: true } }).apps[0].watch).toEqual([dir]);
    expect(load({ script: 'app.js', flags: { watch: false } }).apps[0].watch).toEqual([]);
    expect(load({ script: 'app.js', flags: { watch: 'src lib' } }).apps[0].watch).toEqual([join(dir, 'src'), join(dir, 'lib')]);
    expect(load({ script: 'app.js', env: { SMARTWORKERS_WATCH: 'yes' } }).apps[0].watch).toEqual([dir]);
    expect(failure(() => load({ script: 'app.js', flags: { watch: 3 } })).message).toMatch(/`watch`.*true or false, or a list of paths/);
  });

  it("a command's defaults sit below the config file and above the built-in defaults", () => {
    const defaults = { workers: '1', watch: true, logFormat: 'pretty' };
    expect(load({ script: 'app.js', defaults })).toMatchObject({ logFormat: 'pretty', apps: [{ workers: 1, watch: [dir] }] });
    file('four.yaml', 'app: app.js\nworkers: 4\nlog_format: json\n');
    expect(load({ configFile: 'four.yaml', defaults })).toMatchObject({ logFormat: 'json', apps: [{ workers: 4, watch: [dir] }] });
    expect(load({ script: 'app.js', defaults, flags: { workers: '2' } }).apps[0].workers).toBe(2);
  });
});
