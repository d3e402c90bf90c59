/**
 * The real CLI on the corpus: an npm-script app as cluster workers recycling under load, a
 * TypeScript entry file, names with spaces and quotes through status, control commands and
 * /metrics, `check` printing every error at once, and reads that end (device, FIFO, a loop, a
 * getter that throws) — one line each, exit 2, nothing started.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeTypeStripping } from '../../src/config/entry-file';
import { parsePrometheusText } from '../status/prometheus-text';
import { BIN, cleanup, get, isMsg, load, run, tempDir, type LogLine } from '../e2e/harness';

afterEach(cleanup);

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'ecosystems');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd = CORPUS): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The parent pid of a process, from /proc. */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const fixture = (name: string) => (l: LogLine) => l.fixture === name;

describe('an npm-script app from an ecosystem file', () => {
  it('`script: npm, args: start` runs server.js as 2 cluster workers sharing a port, recycling under load with 0 failed requests', async () => {
    const cluster = run(['start', path.join(CORPUS, 'npm-app', 'ecosystem.config.js'), '--env', 'production', '--log-format', 'json'], {}, CORPUS);
    const started = await cluster.waitForCount(fixture('npm-app'), 2, 20_000, 'both workers started');
    await cluster.waitForCount(isMsg('worker ready'), 2, 20_000, '2 workers ready');
    // Run directly by the primary as cluster workers (no npm in between), with what npm would give them.
    for (const line of started) {
      expect(line).toMatchObject({ lifecycle: 'start', version: '1.4.2', nodeEnv: 'production', args: [] });
      expect(parentOf(line.pid as number)).toBe(cluster.pid);
    }
    expect(cluster.stderr()).toContain('smartworkers: app "npm app": `npm start` → package.json script "start": "node server.js" → runs');
    const port = await cluster.port();
    const ports = new Set(cluster.lines.filter(fixture('listening')).map((l) => l.port));
    expect(ports).toEqual(new Set([port]));

    const recycles = cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'max_requests', 4, 60_000, '4 recycles');
    const result = await load(port, { seconds: 60, connections: 50, until: recycles });
    expect(result.requests).toBeGreaterThan(1_000);
    expect(result).toMatchObject({ failed: 0, errors: 0, non2xx: 0, timeouts: 0 });
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });
});

describe('a TypeScript entry file', () => {
  it('`start app.ts` serves, through Node\'s type stripping where this Node has it, else tsx', async () => {
    const cluster = run(['start', path.join(CORPUS, 'ts-app', 'src', 'server.ts'), '--workers', '2', '--log-format', 'json'], {}, path.join(CORPUS, 'ts-app'));
    await cluster.waitForCount(isMsg('worker ready'), 2, 30_000, '2 TypeScript workers ready');
    const port = await cluster.port();
    expect(JSON.parse((await get(port)).body)).toMatchObject({ ok: true, typescript: true });
    const loaders = cluster.lines.filter(fixture('listening')).map((l) => l.loaders as string[]);
    const native = nativeTypeStripping();
    for (const used of loaders) {
      if (native === 'default') expect(used).toEqual([]);
      else if (native === 'flag') expect(used).toEqual(['--experimental-strip-types']);
      else expect(used).toEqual([expect.stringMatching(/\/node_modules\/tsx\/dist\/loader\.mjs$/)]);
    }
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });
});

describe('app names as pm2 accepts them', () => {
  it('a name with spaces, quotes and a backslash works in status, reload, recycle and /metrics', async () => {
    const name = 'My "API" \\ v2';
    const dir = tempDir();
    const file = path.join(dir, 'workers.yaml');
    fs.writeFileSync(file, `apps:\n  - name: ${JSON.stringify(name)}\n    app: ${JSON.stringify(path.join(CORPUS, 'npm-app', 'server.js'))}\n    workers: 2\n`);
    const cluster = run(['start', '--config', file, '--status-listen', '127.0.0.1:0', '--summary-interval', '0', '--log-format', 'json'], {}, dir);
    const ready = await cluster.waitFor(isMsg('control socket ready'), 20_000, 'control socket ready');
    await cluster.waitForCount(isMsg('worker ready'), 2, 20_000, '2 workers ready');
    const socket = ['--socket', cluster.controlSocket];

    const table = await cli(['status', ...socket]);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toContain(name);
    expect(await cli(['reload', name, ...socket])).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['recycle', `${name}:0`, ...socket])).toMatchObject({ code: 0, stderr: '' });

    const metrics = parsePrometheusText(await (await fetch(`${ready.statusUrl as string}/metrics`)).text());
    const desired = metrics.get('smartworkers_workers_desired')!;
    expect(desired.samples.map((s) => s.labels.app)).toContain(name);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });
});

describe('smartworkers check', () => {
  it('prints every error and warning of a file at once, exit 2', async () => {
    const result = await cli(['check', 'broken.config.js']);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('smartworkers: warning: '))).toHaveLength(2);
    const errors = lines.filter((l) => /\[SW_[A-Z_]+\]$/.test(l));
    expect(errors.map((l) => /\[(SW_[A-Z_]+)\]$/.exec(l)![1]).sort()).toEqual(['SW_CONFIG_INVALID', 'SW_ECOSYSTEM_INVALID', 'SW_ECOSYSTEM_INVALID', 'SW_PACKAGE_SCRIPT', 'SW_SCRIPT_NOT_FOUND']);
    expect(lines).toHaveLength(7);
    expect(result.stdout).toBe('broken.config.js: 5 errors, 2 warnings; nothing would start\n');
  });

  it('prints what each app resolved to, for an ecosystem file with --env and for a workers.yaml', async () => {
    const result = await cli(['check', 'npm-app/ecosystem.config.js', '--env', 'production']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')).toEqual([
      'npm-app/ecosystem.config.js: 1 app, 0 errors, 0 warnings',
      `app "npm app": cluster · 2 workers · node ${path.join(CORPUS, 'npm-app', 'server.js')} · cwd ${path.join(CORPUS, 'npm-app')} · ready when listening`,
      `  resolved: app "npm app": \`npm start\` → package.json script "start": "node server.js" → runs ${path.join(CORPUS, 'npm-app', 'server.js')} as cluster workers`,
      '',
    ]);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'workers.yaml'), `app: ${JSON.stringify(path.join(CORPUS, 'npm-app', 'server.js'))}\nworkers: 3\nnode_args: [--max-old-space-size=128]\n`);
    const yaml = await cli(['check', 'workers.yaml'], dir);
    expect(yaml).toMatchObject({ code: 0, stderr: '' });
    expect(yaml.stdout).toContain(`app "server": cluster · 3 workers · node --max-old-space-size=128 ${path.join(CORPUS, 'npm-app', 'server.js')} · cwd ${dir} · ready when listening`);
  });
});

describe('smartworkers check: process apps and bad input', () => {
  it('a missing interpreter, a script nowhere, a missing npm script, an invalid package.json: one line each, exit 2', async () => {
    const result = await cli(['check', 'bad-input.config.js']);
    expect(result.code).toBe(2);
    const errors = result.stderr.trim().split('\n').filter((l) => /\[SW_[A-Z_]+\]$/.test(l));
    expect(errors.map((l) => /\[(SW_[A-Z_]+)\]$/.exec(l)![1]).sort()).toEqual(['SW_INTERPRETER_NOT_FOUND', 'SW_PACKAGE_SCRIPT', 'SW_PACKAGE_SCRIPT', 'SW_SCRIPT_NOT_FOUND']);
    for (const app of ['no interpreter', 'nowhere', 'missing npm script', 'bad package.json']) expect(errors.some((l) => l.includes(`app "${app}"`))).toBe(true);
    expect(result.stdout).toBe('bad-input.config.js: 4 errors, 0 warnings; nothing would start\n');
  });

  it('prints each app\'s kind, command, workers, cwd and readiness for a mixed file', async () => {
    const result = await cli(['check', 'mixed.config.js']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('mixed.config.js: 5 apps, 0 errors, 1 warning');
    expect(lines[1]).toMatch(/^app "api": cluster · 2 workers · node .*npm-app\/server\.js · cwd .* · ready when listening$/);
    expect(lines[2]).toMatch(/^app "python": process · 1 worker · \S*python3 -u .*process\/server\.py · cwd .* · ready when http:\/\/127\.0\.0\.1:8000\/ answers · stop SIGINT, SIGKILL after 5s$/);
    expect(lines[3]).toMatch(/^app "worker": process · 2 workers · \S*bash .*process\/worker\.sh · cwd .* · ready once started · stop SIGTERM, SIGKILL after 30s$/);
    expect(lines[4]).toMatch(/^app "binary": process · 1 worker · \S*\/sleep 1000 · /);
    expect(lines[5]).toMatch(/^app "deploy": process · 1 worker · \S*npm run deploy · cwd .*npm-app · /);
    expect(result.stderr).toMatch(/^smartworkers: warning: app deploy: `npm run deploy` runs through npm as one plain process per worker/);
  });
});

describe('reads that end (issue 17, item 12)', () => {
  it('a device, a FIFO, an endless loop and a throwing getter: one line each, exit 2, nothing started', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')]);
    fs.writeFileSync(path.join(dir, 'app.js'), '');
    fs.writeFileSync(path.join(dir, 'loop.config.js'), 'while (true) {}\n');
    fs.writeFileSync(path.join(dir, 'getter.config.js'), "module.exports = { get apps() { throw new Error('no apps today'); } };\n");
    const cases: Array<[string[], RegExp]> = [
      [['start', 'app.js', '--config', '/dev/zero'], /^smartworkers: config: cannot read \/dev\/zero: it is a character device, not a regular file \(\/dev\/zero\) \[SW_CONFIG_FILE\]$/],
      [['start', 'app.js', '--config', 'pipe.yaml'], /^smartworkers: config: cannot read pipe\.yaml: it is a FIFO \(named pipe\), not a regular file .*\[SW_CONFIG_FILE\]$/],
      [['start', 'loop.config.js'], /^smartworkers: Cannot load ecosystem file loop\.config\.js: evaluating it did not finish within 10s \(an endless loop\?\) \[SW_ECOSYSTEM_FILE\]$/],
      [['start', 'getter.config.js'], /^smartworkers: Cannot load ecosystem file getter\.config\.js: no apps today \[SW_ECOSYSTEM_FILE\]$/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args, dir)));
    results.forEach((result, i) => {
      expect(result.code, cases[i][0].join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd()).toMatch(cases[i][1]);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }, 60_000);
});
