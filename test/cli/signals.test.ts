/**
 * Signals a person or a tool may send the primary, besides the supervisor's own: each is
 * answered with a log line and the cluster keeps serving (SIGUSR2 used to end the primary at
 * once, SIGUSR1 to open Node's inspector on 127.0.0.1:9229). The real CLI, real signals, load.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OTHER_SIGNALS, SUPERVISOR_SIGNALS } from '../../src/cli/signals';
import { alive, cleanup, clientLoad, FIXTURES, isMsg, run } from '../e2e/harness';

afterEach(cleanup);

/** True when process `pid` itself has a listening TCP socket on `port` (another process's does not count). */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .some((f) => f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A' && inodes.has(f[9])),
  );
}

describe('signals the primary handles or ignores', () => {
  it('SIGUSR1, SIGUSR2, SIGPIPE, SIGWINCH and the rest leave it serving, with a log line each', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--log-format', 'json', '--log-level', 'debug']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const traffic = clientLoad(port, { connections: 4 });
    for (const { signal } of OTHER_SIGNALS) {
      cluster.signal(signal);
      await cluster.waitFor(isMsg(`${signal}: `), 10_000, `the ${signal} line`);
    }
    expect(alive(cluster.pid)).toBe(true);
    expect(listensOn(cluster.pid, 9229), "the primary opened Node's inspector").toBe(false);
    const before = traffic.ok();
    await expect.poll(() => traffic.ok(), { timeout: 20_000, message: 'responses after the signals' }).toBeGreaterThan(before + 50);
    const result = await traffic.stop();
    expect(result).toMatchObject({ failed: 0 });
    expect(result.ok).toBeGreaterThan(before);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  }, 60_000);
});

describe('the README documents every signal', () => {
  it('names each handled signal in its Signals section', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- signals:start -->'), readme.indexOf('<!-- signals:end -->'));
    for (const signal of [...SUPERVISOR_SIGNALS, ...OTHER_SIGNALS.map((s) => s.signal)]) {
      expect(section, signal).toContain(`\`${signal}\``);
    }
  });
});

describe('SIGPROF under a profiler', () => {
  it('is left to V8 when the primary runs with --cpu-prof or --prof, and handled otherwise', async () => {
    const { profilerOwnsSigprof } = await import('../../src/cli/signals');
    expect(profilerOwnsSigprof(['--cpu-prof'], '')).toBe(true);
    expect(profilerOwnsSigprof(['--cpu-prof-dir=/tmp'], '')).toBe(false); // only with --cpu-prof itself
    expect(profilerOwnsSigprof([], '--max-old-space-size=512 --prof')).toBe(true);
    expect(profilerOwnsSigprof(['--profile-x'], '--cpu-profiler')).toBe(false);
    expect(profilerOwnsSigprof([], '')).toBe(false);
  });
});
