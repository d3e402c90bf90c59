/**
 * The published package as a user gets it: `npm pack`, then `npm install <tarball>` into a
 * scratch project and `npm install -g --prefix` into a scratch prefix. The tarball is built
 * (prepack), installing runs no script, and the installed CLI starts a real app and stops it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string>; files: string[] };
const scratch = mkdtempSync(path.join(tmpdir(), 'sw-pack-'));

/** npm without the npm_* variables of the `npm test` that runs this (they would steer it to this project). */
function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return new Promise((resolve, reject) => {
    execFile('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, env, timeout: 240_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npm ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

function run(file: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }));
  });
}

let tarball = '';
beforeAll(async () => {
  // `npm test` has just built dist/; --ignore-scripts skips prepack's second build (checked below).
  const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
  tarball = path.join(scratch, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
}, 300_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the published package', () => {
  it('is built by prepack, not by an install script', () => {
    expect(pkg.scripts.prepack).toBe('npm run build');
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[hook], hook).toBeUndefined();
  });

  it('holds what bin/ loads: the bundled CLI, its code cache and the library', async () => {
    const { stdout } = await npm(['pack', '--ignore-scripts', '--dry-run', '--json'], ROOT);
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/smartworkers', 'dist/cli/code-cache.js', 'dist/cli/smartworkers.js', 'dist/cli/smartworkers.js.cache', 'dist/index.js', 'dist/index.d.ts', 'index.mjs', 'package.json', 'dist/status/dashboard/public/index.html', 'dist/status/dashboard/public/app.js', 'dist/status/dashboard/public/vendor/uPlot.iife.min.js', 'dist/status/dashboard/public/vendor/uPlot.LICENSE']));
    expect(files.filter((f) => /^(src|test|scripts|bench)\//.test(f))).toEqual([]);
  });

  it('installs into a project without a script, and its CLI starts an app that uses it, then stops with exit 0', async () => {
    const project = path.join(scratch, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), '{"name":"scratch-app","private":true}\n');
    const installed = await npm(['install', tarball, '--foreground-scripts'], project);
    expect(`${installed.stdout}${installed.stderr}`).not.toMatch(/install-scripts|> smartworkers@|prepare|postinstall/);

    const bin = path.join(project, 'node_modules', '.bin', 'smartworkers');
    expect(await run(bin, ['--version'], project)).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });

    // An app as users write it: the package's task API, and a server on a port the OS picks.
    writeFileSync(
      path.join(project, 'app.js'),
      [
        "const http = require('node:http');",
        "const { tasks } = require('smartworkers');",
        "const server = http.createServer((req, res) => { tasks.run(async () => {}, { type: 'noop' }); res.end('ok'); });",
        "server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ app: 'listening', port: server.address().port })));",
      ].join('\n'),
    );
    const child = spawn(bin, ['start', 'app.js', '--workers', '1', '--log-format', 'json', '--summary-interval', '0'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no worker ready within 120 s; stdout: ${out}\nstderr: ${err}`)), 120_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c;
          const listening = /\{"app":"listening","port":(\d+)\}/.exec(out);
          if (listening && /"msg":"worker ready/.test(out)) {
            clearTimeout(timer);
            resolve(Number(listening[1]));
          }
        });
        void exited.then((code) => reject(new Error(`exited (${code}) before a worker was ready; stdout: ${out}\nstderr: ${err}`)));
      });
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
      child.kill('SIGTERM');
      expect(await exited, `stdout: ${out}\nstderr: ${err}`).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);

  it('installs globally (npm i -g --prefix) and runs from the prefix', async () => {
    const prefix = path.join(scratch, 'global');
    await npm(['install', '-g', '--prefix', prefix, tarball], scratch);
    expect(await run(path.join(prefix, 'bin', 'smartworkers'), ['--version'], scratch)).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  }, 300_000);
});
