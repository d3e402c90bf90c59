import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { convertEcosystem, splitPm2List } from '../../src/ecosystem/convert';
import type { ScriptInput } from '../../src/ecosystem/resolve-script';
import { PM2_FIELDS, PM2_FIELD_BY_SPELLING, SMARTWORKERS_APP_KEYS } from '../../src/ecosystem/fields';
import { SmartworkersError } from '../../src/errors';

const cwd = '/srv/project';
// The mapping of fields, apart from the file system: every `script` is taken for a file in the app's
// cwd (what a script resolves to is tested in resolve-script.test.ts, on real files).
const asFile = (input: ScriptInput) => ({ script: path.resolve(input.cwd, input.script), args: [...input.args], nodeArgs: [], env: {} });
const convert = (ecosystem: unknown, options: { env?: string; cpus?: number } = {}) =>
  convertEcosystem(ecosystem, { cwd, cpus: 4, resolveScript: asFile, ...options });

function conversionError(ecosystem: unknown, options: { env?: string; cpus?: number } = {}): SmartworkersError {
  try {
    convert(ecosystem, options);
  } catch (err) {
    expect(err).toBeInstanceOf(SmartworkersError);
    expect((err as SmartworkersError).message).not.toContain('\n');
    return err as SmartworkersError;
  }
  throw new Error('expected the conversion to fail');
}

describe('convertEcosystem: the fields smartworkers honours', () => {
  it('converts a full pm2 app, pm2 numbers being milliseconds', () => {
    const { raw, warnings } = convert(
      {
        apps: [
          {
            name: 'api',
            script: 'server.js',
            args: '--port 3000 --name "my app"',
            cwd: 'services/api',
            instances: 2,
            exec_mode: 'cluster',
            env: { NODE_ENV: 'development', DEBUG: false },
            env_production: { NODE_ENV: 'production' },
            node_args: '--max-old-space-size=512 --enable-source-maps',
            max_memory_restart: '300M',
            kill_timeout: 5000,
            wait_ready: true,
            listen_timeout: 8000,
            min_uptime: '10s',
            max_restarts: 10,
            exp_backoff_restart_delay: 100,
            instance_var: 'INSTANCE_ID',
            increment_var: 'PORT',
            autorestart: true,
            cron_restart: '0 3 * * *',
            watch: ['src'],
            ignore_watch: 'node_modules logs',
            shutdown_with_message: true,
          },
        ],
      },
      { env: 'production' },
    );
    expect(warnings).toEqual([]);
    expect(raw).toEqual({
      apps: [
        {
          name: 'api',
          app: '/srv/project/services/api/server.js',
          cwd: '/srv/project/services/api',
          args: ['--port', '3000', '--name', 'my app'],
          node_args: ['--max-old-space-size=512', '--enable-source-maps'],
          workers: 2,
          env: { NODE_ENV: 'production', DEBUG: 'false' },
          max_memory: '300MB',
          graceful_timeout: '5000ms',
          wait_ready: true,
          boot_timeout: '8000ms',
          min_uptime: '10000ms',
          max_restarts: 10,
          restart_delay: '100ms',
          max_restart_delay: '15s',
          instance_var: 'INSTANCE_ID',
          increment_var: 'PORT',
          autorestart: true,
          cron_restart: '0 3 * * *',
          watch: ['src'],
          ignore_watch: ['node_modules', 'logs'],
          shutdown_with_message: true,
        },
      ],
    });
  });

  it('gives an app with only a script pm2 defaults: its file name, one worker, the current directory', () => {
    expect(convert({ apps: [{ script: './bin/www.js' }] }).raw).toEqual({
      apps: [{ name: 'www', app: '/srv/project/bin/www.js', cwd: '/srv/project', workers: 1 }],
    });
  });

  it.each([
    [0, 'auto'],
    ['0', 'auto'],
    ['max', 'auto'],
    [-1, 3],
    ['-1', 3],
    [-8, 1],
    [3, 3],
    ['3', 3],
  ])('reads instances %j as pm2 does → workers %j (4 CPUs)', (instances, workers) => {
    expect(convert({ apps: [{ script: 'a.js', instances }] }).raw.apps[0].workers).toBe(workers);
  });

  it('rejects an instances value pm2 cannot read', () => {
    expect(conversionError({ apps: [{ name: 'a', script: 'a.js', instances: 'many' }] }).message).toBe(
      'app a: expected `instances` to be a whole number, 0, -1 or "max", got "many"',
    );
    expect(conversionError({ apps: [{ name: 'a', script: 'a.js', instances: 1.5 }] }).code).toBe('SW_ECOSYSTEM_INVALID');
  });

  it('merges env as pm2 does: deploy.<env>.env < env < env_<env>, objects JSON-encoded, port as PORT', () => {
    const ecosystem = {
      apps: [
        {
          name: 'api',
          script: 'a.js',
          port: 8080,
          env: { A: 'env', B: 'env', NUM: 1, OBJ: { x: 1 } },
          env_production: { B: 'production', C: true },
          env_staging: { B: 'staging' },
        },
      ],
      deploy: { production: { env: { A: 'deploy', D: 'deploy' } } },
    };
    const production = convert(ecosystem, { env: 'production' });
    expect(production.raw.apps[0].env).toEqual({ A: 'env', B: 'production', C: 'true', D: 'deploy', NUM: '1', OBJ: '{"x":1}', PORT: '8080' });
    expect(production.warnings).toEqual(['`deploy` is ignored: smartworkers does not deploy code; use your CI/CD. Its `env` for `--env` is still applied.']);
    // Without --env, env_* sections and deploy envs are not applied.
    expect(convert(ecosystem).raw.apps[0].env).toEqual({ A: 'env', B: 'env', NUM: '1', OBJ: '{"x":1}', PORT: '8080' });
  });

  it('warns once when --env names a section some apps do not have', () => {
    const { raw, warnings } = convert(
      { apps: [{ name: 'a', script: 'a.js', env: { X: '1' } }, { name: 'b', script: 'b.js' }, { name: 'c', script: 'c.js', env_qa: { X: 'qa' } }] },
      { env: 'qa' },
    );
    expect(raw.apps.map((a) => a.env)).toEqual([{ X: '1' }, undefined, { X: 'qa' }]);
    expect(warnings).toEqual(['--env qa: a, b have no `env_qa`; using `env` only (as pm2 does).']);
  });

  it.each([
    ['300M', '300MB'],
    ['1G', '1GB'],
    ['200K', '200KB'],
    ['1048576', 1048576],
    [1048576, 1048576],
    ['512MB', '512MB'],
  ])('converts max_memory_restart %j → max_memory %j', (value, expected) => {
    expect(convert({ apps: [{ script: 'a.js', max_memory_restart: value }] }).raw.apps[0].max_memory).toBe(expected);
  });

  it.each([
    ['kill_timeout', 1600, 'graceful_timeout', '1600ms'],
    ['kill_timeout', '3000', 'graceful_timeout', '3000ms'],
    ['listen_timeout', 3000, 'boot_timeout', '3000ms'],
    ['min_uptime', 1000, 'min_uptime', '1000ms'],
    ['min_uptime', '2h', 'min_uptime', '7200000ms'],
    ['min_uptime', '1m', 'min_uptime', '60000ms'],
    ['min_uptime', '250ms', 'min_uptime', '250ms'],
  ])('converts %s %j → %s %j', (field, value, key, expected) => {
    expect(convert({ apps: [{ script: 'a.js', [field]: value }] }).raw.apps[0][key]).toBe(expected);
  });

  it.each([
    ['kill_timeout', 'soon', 'app a: expected `kill_timeout` to be a number of milliseconds or a duration like "30s", got "soon"'],
    ['min_uptime', -5, 'app a: expected `min_uptime` to be a number of milliseconds or a duration like "30s", got -5'],
    ['max_memory_restart', 'lots', 'app a: expected `max_memory_restart` to be a number of bytes or a size like "300M", got "lots"'],
    ['max_restarts', -1, 'app a: expected `max_restarts` to be a whole number >= 0, got -1'],
    ['wait_ready', 'yes', 'app a: expected `wait_ready` to be true or false, got "yes"'],
    ['args', { a: 1 }, 'app a: expected `args` to be a string or a list of strings, got {"a":1}'],
    ['env', 'A=1', 'app a: expected `env` to be an object of environment variables, got "A=1"'],
    ['exec_mode', 'threads', 'app a: expected `exec_mode` to be "cluster" or "fork", got "threads"'],
  ])('rejects %s %j in one line', (field, value, message) => {
    const error = conversionError({ apps: [{ name: 'a', script: 'a.js', [field]: value }] });
    expect(error.code).toBe('SW_ECOSYSTEM_INVALID');
    expect(error.message).toBe(message);
  });

  it('keeps restart_delay fixed, as pm2 does, and lets exp_backoff_restart_delay win over it', () => {
    const fixed = convert({ apps: [{ script: 'a.js', restart_delay: 2000 }] });
    expect(fixed.raw.apps[0]).toMatchObject({ restart_delay: '2000ms', max_restart_delay: '2000ms' });
    expect(fixed.warnings).toEqual([]);
    const both = convert({ apps: [{ name: 'a', script: 'a.js', restart_delay: 2000, exp_backoff_restart_delay: 100 }] });
    expect(both.raw.apps[0]).toMatchObject({ restart_delay: '100ms', max_restart_delay: '15s' });
    expect(both.warnings).toEqual(['`restart_delay` (app a) is ignored: `exp_backoff_restart_delay` is set and wins, as in pm2.']);
  });

  it('accepts the camelCase spellings and aliases pm2 accepts', () => {
    const { raw, warnings } = convert({
      apps: [{ name: 'a', exec: 'a.js', maxMemoryRestart: '1G', killTimeout: 3000, interpreterArgs: ['--trace-warnings'], cron: '*/5 * * * *', instanceVar: 'ID' }],
    });
    expect(raw.apps[0]).toMatchObject({
      app: '/srv/project/a.js',
      max_memory: '1GB',
      graceful_timeout: '3000ms',
      node_args: ['--trace-warnings'],
      cron_restart: '*/5 * * * *',
      instance_var: 'ID',
    });
    expect(warnings).toEqual([]);
  });

  it('accepts the shapes pm2 accepts: {apps: [...]}, {apps: {...}}, a list, one app', () => {
    const expected = [{ name: 'a', app: '/srv/project/a.js', cwd: '/srv/project', workers: 1 }];
    expect(convert({ apps: [{ script: 'a.js' }] }).raw.apps).toEqual(expected);
    expect(convert({ apps: { script: 'a.js' } }).raw.apps).toEqual(expected);
    expect(convert([{ script: 'a.js' }]).raw.apps).toEqual(expected);
    expect(convert({ script: 'a.js' }).raw.apps).toEqual(expected);
  });

  it('resolves cwd against the start directory and the script against the app cwd; absolute paths stay', () => {
    const { raw } = convert({ apps: [{ name: 'a', script: 'index.js', cwd: '../other' }, { name: 'b', script: '/opt/b/main.mjs', cwd: '/opt/b' }] });
    expect(raw.apps.map((a) => [a.cwd, a.app])).toEqual([
      ['/srv/other', '/srv/other/index.js'],
      ['/opt/b', '/opt/b/main.mjs'],
    ]);
  });
});

describe('convertEcosystem: what it cannot honour', () => {
  const unsupported = PM2_FIELDS.filter((f) => f.key === null && !['autostart', 'exec_mode', 'exec_interpreter'].includes(f.name));

  it('warns exactly once per unsupported field, naming it and every app that sets it', () => {
    const fields = Object.fromEntries(unsupported.map((f) => [f.name, 'x']));
    const { raw, warnings } = convert({ apps: [{ name: 'a', script: 'a.js', ...fields }, { name: 'b', script: 'b.js', ...fields }] });
    expect(warnings).toHaveLength(unsupported.length);
    for (const field of unsupported) {
      const naming = warnings.filter((w) => w.startsWith(`\`${field.name}\` `));
      expect(naming, field.name).toEqual([`\`${field.name}\` (apps a, b) is ignored: ${field.note}`]);
    }
    for (const app of raw.apps) for (const field of unsupported) expect(app).not.toHaveProperty(field.name);
  });

  it('names a field by the spelling the file uses (alias, camelCase)', () => {
    const { warnings } = convert({ apps: [{ name: 'a', script: 'a.js', pid: 'a.pid', watchOptions: {} }] });
    expect(warnings.map((w) => w.split(' ')[0])).toEqual(['`pid`', '`watchOptions`']);
  });

  it("converts pm2's log fields, by any spelling, paths relative to the app's cwd", () => {
    const { raw, warnings } = convert({ apps: [{ name: 'a', script: 'a.js', cwd: '/srv/a', out: 'out.log', errFile: '/var/log/a.err', log: 'all.log', combine_logs: true, time: true, log_date_format: 'YYYY', log_type: 'json' }] });
    expect(warnings).toEqual([]);
    expect(raw.apps[0]).toMatchObject({ out_file: '/srv/a/out.log', error_file: '/var/log/a.err', log_file: '/srv/a/all.log', merge_logs: true, time: true, log_date_format: 'YYYY', log_type: 'json' });
    expect(convert({ apps: [{ name: 'b', script: 'b.js', disable_logs: true }] }).raw.apps[0]).toMatchObject({ out_file: '/dev/null', error_file: '/dev/null' });
  });

  it('warns once per unknown field and drops it', () => {
    const { raw, warnings } = convert({ apps: [{ name: 'a', script: 'a.js', max_requets: 10 }], colour: 'blue' });
    expect(warnings).toEqual([
      '`max_requets` (app a) is ignored: it is neither a pm2 nor a smartworkers field (did you mean `max_requests`?).',
      '`colour` (top level) is ignored: it is neither a pm2 nor a smartworkers setting.',
    ]);
    expect(raw.apps[0]).not.toHaveProperty('max_requets');
  });

  it('runs fork-mode apps as cluster workers and says so', () => {
    const { raw, warnings } = convert({ apps: [{ name: 'q', script: 'q.js', exec_mode: 'fork_mode', instances: 2 }] });
    expect(raw.apps[0].workers).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^`exec_mode` \(app q\) is fork: it runs as node:cluster workers/);
  });

  it('hands script, args, interpreter and cwd to the script resolver, and takes what it resolved', () => {
    const seen: ScriptInput[] = [];
    const resolver = (input: ScriptInput) => {
      seen.push(input);
      return { script: '/srv/project/server.js', args: ['--port', '1'], nodeArgs: ['-r', 'dotenv/config'], env: { NODE_ENV: 'production', KEPT: 'x' }, via: '`npm start` → package.json script "start": "node server.js"' };
    };
    const { raw, notes, warnings } = convertEcosystem(
      { apps: [{ name: 'web', script: 'npm', args: 'start', interpreter: 'node', node_args: '--inspect', env: { NODE_ENV: 'development' } }] },
      { cwd, cpus: 4, resolveScript: resolver },
    );
    expect(seen).toEqual([{ app: 'web', script: 'npm', args: ['start'], interpreter: { field: 'interpreter', value: 'node' }, cwd }]);
    expect(raw.apps[0]).toMatchObject({
      app: '/srv/project/server.js',
      args: ['--port', '1'],
      node_args: ['-r', 'dotenv/config', '--inspect'],
      // The app's env wins over what the command line set.
      env: { NODE_ENV: 'development', KEPT: 'x' },
    });
    expect(warnings).toEqual([]);
    expect(notes).toEqual(['app "web": `npm start` → package.json script "start": "node server.js" → runs /srv/project/server.js --port 1 as cluster workers']);
  });

  it('leaves out an app with autostart: false, with a warning', () => {
    const { raw, warnings } = convert({ apps: [{ name: 'a', script: 'a.js' }, { name: 'b', script: 'b.js', autostart: false }] });
    expect(raw.apps.map((a) => a.name)).toEqual(['a']);
    expect(warnings).toEqual(['`autostart` (app b) is false: the app is left out; smartworkers starts every app it is given.']);
    expect(conversionError({ apps: [{ name: 'b', script: 'b.js', autostart: false }] }).message).toMatch(/every app has `autostart: false`/);
  });

  it.each([
    [{ apps: [] }, 'Expected `apps` to list at least one app, got an empty list'],
    [{ apps: 'api' }, 'Expected `apps` to be a list of apps, got "api"'],
    [{ applications: [] }, 'Expected the ecosystem file to have `apps` (a list of apps, each with a `script`), got keys ["applications"]'],
    [42, 'Expected the ecosystem file to export an object with `apps`, got 42'],
    [{ apps: ['a.js'] }, 'Expected app #1 to be an object, got "a.js"'],
    [{ apps: [{ name: 'api' }] }, "app api: expected `script` to be the path of the app's entry file or a command, got undefined"],
    [{ apps: [{ name: 'api', script: 'a.js' }, { name: 'api', script: 'b.js' }] }, 'Expected app names to be unique, got "api" twice (smartworkers addresses apps by name)'],
  ])('rejects %j', (ecosystem, message) => {
    expect(conversionError(ecosystem).message).toBe(message);
  });
});

describe("convertEcosystem: smartworkers' own keys beside pm2's", () => {
  it('passes them through untouched (their units are smartworkers units)', () => {
    const { raw, warnings } = convert({
      apps: [{ name: 'a', script: 'a.js', max_requests: 10_000, max_requests_jitter: 500, max_memory_hard: '1GB', max_task_wait: '5m', timeout: 30, drain_idle_grace: '250ms', max_retiring: 2 }],
      log_format: 'pretty',
    });
    expect(warnings).toEqual([]);
    expect(raw).toMatchObject({
      log_format: 'pretty',
      apps: [{ max_requests: 10_000, max_requests_jitter: 500, max_memory_hard: '1GB', max_task_wait: '5m', timeout: 30, drain_idle_grace: '250ms', max_retiring: 2 }],
    });
  });

  it('lets them win over the pm2 field they replace, with a warning naming it', () => {
    const { raw, warnings } = convert({
      apps: [{ name: 'a', script: 'a.js', kill_timeout: 1600, graceful_timeout: '60s', instances: 4, workers: 'auto', max_memory_restart: '300M', max_memory: '400MB' }],
    });
    expect(raw.apps[0]).toMatchObject({ graceful_timeout: '60s', workers: 'auto', max_memory: '400MB' });
    expect(warnings.sort()).toEqual([
      '`instances` (app a) is overridden by `workers`, set in the same app.',
      '`kill_timeout` (app a) is overridden by `graceful_timeout`, set in the same app.',
      '`max_memory_restart` (app a) is overridden by `max_memory`, set in the same app.',
    ]);
  });

  it('takes `app` as the script when there is no `script`', () => {
    expect(convert({ apps: [{ name: 'a', app: 'main.js' }] }).raw.apps[0].app).toBe('/srv/project/main.js');
  });
});

describe('splitPm2List', () => {
  it('splits on whitespace, keeping quoted words together as pm2 does', () => {
    expect(splitPm2List('  a  b\t"c d" \'e f\' --x="g h" --y=\'i j\' ')).toEqual(['a', 'b', 'c d', 'e f', '--x="g h"', "--y='i j'"]);
    expect(splitPm2List('')).toEqual([]);
  });
});

describe('the pm2 field table', () => {
  it('maps every spelling to one field, and every key it converts to is a smartworkers setting', () => {
    expect(PM2_FIELD_BY_SPELLING.get('maxMemoryRestart')?.name).toBe('max_memory_restart');
    expect(PM2_FIELD_BY_SPELLING.get('err_log')?.name).toBe('error_file');
    expect(new Set(PM2_FIELDS.map((f) => f.name)).size).toBe(PM2_FIELDS.length);
    for (const field of PM2_FIELDS) if (field.key !== null) expect(SMARTWORKERS_APP_KEYS, field.name).toContain(field.key);
  });
});
