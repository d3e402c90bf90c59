/**
 * The process-tree reaper against real processes: a stand-in worker (a node process with a
 * worker's mark in its environment) starts children the ways apps do — attached, detached,
 * a grandchild under a shell, a double-forked daemon in its own session, one that ignores
 * SIGTERM — and exits. Everything carrying its mark must be gone after `reap`, and nothing else.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessTree, TREE_ENV } from '../../src/host/processTree';

const started = new Set<number>();

/** Pids whose command line contains `marker` (what `pgrep -f` does), zombies excluded. */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(marker) && stat[stat.lastIndexOf(')') + 2] !== 'Z') out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

afterEach(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  started.clear();
});

/** Runs a stand-in worker with `env`, which starts `script`'s children, prints their pids and exits. */
async function standInWorker(env: Record<string, string>, marker: string): Promise<number[]> {
  const script = `
    const { spawn } = require('node:child_process');
    const m = ${JSON.stringify(marker)};
    const pids = [];
    const keep = (c) => { pids.push(c.pid); c.unref(); };
    keep(spawn('sleep', [m], { stdio: 'ignore' }));
    keep(spawn('sleep', [m], { stdio: 'ignore', detached: true }));
    keep(spawn('sh', ['-c', 'sleep ' + m + ' & wait'], { stdio: 'ignore' }));
    keep(spawn('sh', ['-c', 'setsid sleep ' + m + ' &'], { stdio: 'ignore' }));
    keep(spawn('sh', ['-c', "trap '' TERM; while :; do sleep 0.05; done # " + m], { stdio: 'ignore', detached: true }));
    // Give the shells a moment to start their own children, then leave them behind.
    setTimeout(() => { process.stdout.write(JSON.stringify(pids)); process.exit(0); }, 300);
  `;
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  await new Promise((resolve) => child.once('exit', resolve));
  const pids = JSON.parse(out) as number[];
  for (const pid of pids) started.add(pid);
  return pids;
}

const marker = (): string => `1000.${Math.floor(Math.random() * 1e9)}`;

describe('process tree', () => {
  it('ends every process a worker left (children, grandchildren, detached, daemons), SIGKILL for one that ignores SIGTERM', async () => {
    const tree = createProcessTree({ graceMs: 500 });
    expect(tree.supported).toBe(true);
    const mine = marker();
    const other = marker();
    await standInWorker(tree.envFor(1), mine);
    // Worker 12's processes (a mark that starts like worker 1's) are not worker 1's to end.
    await standInWorker(tree.envFor(12), other);
    const before = pidsWith(mine);
    // sleep ×4 (one a grandchild, one in its own session) and the TERM-ignoring shell.
    expect(before.length).toBeGreaterThanOrEqual(5);

    const killed = await tree.reap(1);

    expect(pidsWith(mine)).toEqual([]);
    expect(pidsWith(other).length).toBeGreaterThanOrEqual(5);
    expect(killed.map((k) => k.pid).sort()).toEqual(expect.arrayContaining(before.sort()));
    const stubborn = killed.find((k) => k.command.includes(`# ${mine}`));
    expect(stubborn?.signal).toBe('SIGKILL');
    expect(killed.filter((k) => k.command === `sleep ${mine}`).every((k) => k.signal === 'SIGTERM')).toBe(true);

    await tree.reap(12);
    expect(pidsWith(other)).toEqual([]);
  });

  it('finds nothing when the worker left nothing, and nothing from another primary', async () => {
    const tree = createProcessTree();
    const stranger = createProcessTree();
    const m = marker();
    await standInWorker(stranger.envFor(1), m);
    expect(await tree.reap(1)).toEqual([]);
    expect(pidsWith(m).length).toBeGreaterThanOrEqual(5);
    await stranger.reap(1);
  });

  it('reaps a burst of exits together, each worker its own processes (one scan serves many exits)', async () => {
    const tree = createProcessTree({ graceMs: 500 });
    const marks = [marker(), marker(), marker()];
    await Promise.all(marks.map((m, i) => standInWorker(tree.envFor(i + 1), m)));
    // Three at once on a busy machine: wait until every shell has started its own children.
    let before = marks.map((m) => pidsWith(m));
    for (let settled = false; !settled; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const now = marks.map((m) => pidsWith(m));
      settled = now.every((pids, i) => pids.length === before[i]!.length);
      before = now;
    }
    for (const pids of before) expect(pids.length).toBeGreaterThanOrEqual(5);

    const killed = await Promise.all([tree.reap(1), tree.reap(2), tree.reap(3)]);

    for (const [i, m] of marks.entries()) {
      expect(pidsWith(m)).toEqual([]);
      expect(killed[i]!.map((k) => k.pid).sort()).toEqual(expect.arrayContaining(before[i]!.sort()));
      expect(killed[i]!.every((k) => k.command.includes(m))).toBe(true);
    }
  });

  it('is a no-op off Linux', async () => {
    const tree = createProcessTree({ platform: 'darwin' });
    expect(tree.supported).toBe(false);
    expect(tree.envFor(1)).toEqual({});
    expect(await tree.reap(1)).toEqual([]);
  });

  it('marks with one variable, distinct per worker', () => {
    const tree = createProcessTree();
    expect(Object.keys(tree.envFor(1))).toEqual([TREE_ENV]);
    expect(tree.envFor(1)[TREE_ENV]).not.toBe(tree.envFor(2)[TREE_ENV]);
  });
});
