import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDockerfile, type Instruction } from './dockerfile';
import { exampleFile, loadExampleConfig, readText, readYaml } from './helpers';

const instructions = parseDockerfile(readText('docker', 'Dockerfile'));
const only = (name: string): Instruction => {
  const found = instructions.filter((i) => i.name === name);
  expect(found, name).toHaveLength(1);
  return found[0];
};
const config = readYaml('docker', 'workers.yaml');
const settings = loadExampleConfig('docker', 'workers.yaml');
const app = settings.apps[0];

/** `docker stop` waits this long by default before SIGKILL. */
const DOCKER_STOP_DEFAULT_MS = 10_000;

describe('examples/docker', () => {
  it('builds on an official Node >= 20 image', () => {
    const from = /^node:(\d+)/.exec(instructions[0].args);
    expect(instructions[0].name).toBe('FROM');
    expect(Number(from?.[1])).toBeGreaterThanOrEqual(20);
  });

  it('runs smartworkers as PID 1 in exec form, where pm2-runtime used to be', () => {
    const cmd = only('CMD');
    expect(cmd.exec).toEqual(['node', 'node_modules/smartworkers/bin/smartworkers', 'start', '--config', 'workers.yaml']);
    expect(only('STOPSIGNAL').args).toBe('SIGTERM');
    expect(instructions.some((i) => /pm2/.test(i.args))).toBe(false);
    expect(readText('docker', 'Dockerfile')).toMatch(/^# Was: CMD \["pm2-runtime"/m);
    expect(instructions.some((i) => i.name === 'ENTRYPOINT')).toBe(false);
  });

  it('copies the config and app the CMD names, installs dependencies and drops root', () => {
    expect(instructions.map((i) => i.name)).toEqual(expect.arrayContaining(['WORKDIR', 'COPY', 'RUN', 'USER']));
    expect(only('USER').args).not.toBe('root');
    expect(instructions.find((i) => i.name === 'RUN')!.args).toMatch(/npm ci --omit=dev/);
    expect(existsSync(exampleFile('docker', 'workers.yaml'))).toBe(true);
    expect(existsSync(exampleFile('docker', String(config.app)))).toBe(true);
    const pkg = JSON.parse(readText('docker', 'package.json')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(['smartworkers']);
  });

  it('checks health on the status server it configures', () => {
    const probe = only('HEALTHCHECK');
    expect(probe.args).toMatch(/^--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \[/);
    expect(probe.exec?.join(' ')).toContain(`http://${settings.statusListen}/healthz`);
    expect(settings.statusListen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(settings.statusToken).toBeUndefined();
  });

  it("drains within docker stop's default 10 s", () => {
    expect(app.gracefulTimeout).toBe(8000);
    expect(app.gracefulTimeout).toBeLessThan(DOCKER_STOP_DEFAULT_MS);
    expect(app.maxTaskWait).toBeLessThanOrEqual(app.gracefulTimeout);
  });

  it('exposes the port the app listens on', () => {
    expect(only('EXPOSE').args.split(/\s+/)).toContain(app.env.PORT);
  });

  it('keeps node_modules and the git history out of the build context', () => {
    const ignored = readText('docker', '.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git']));
  });
});
