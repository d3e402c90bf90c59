/**
 * Log files with the real CLI and real files: per-worker and merged files, timestamps, json,
 * rotation by size under load with every numbered line accounted for, SIGUSR1 after an external
 * `mv`, `logs --follow` across a recycle and a rotation, and the bad inputs (a directory, a path
 * under a file, a full device).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cleanup, FIXTURES, get, isMsg, load, run, tempDir, type Cluster } from '../e2e/harness';

const LOGGER = path.join(FIXTURES, 'logger.cjs');

afterEach(cleanup);

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function writeConfig(dir: string, extra: string): string {
  const file = path.join(dir, 'workers.yaml');
  fs.writeFileSync(file, `app: ${LOGGER}\nsummary_interval: 0\nlog_format: json\n${extra}\n`);
  return file;
}

async function start(config: string, workers = 2): Promise<{ cluster: Cluster; port: number }> {
  const cluster = run(['start', '-c', config]);
  await cluster.waitForCount(isMsg('worker ready'), workers, 20_000, `${workers} workers ready`);
  return { cluster, port: await cluster.port() };
}

async function stop(cluster: Cluster): Promise<void> {
  cluster.signal('SIGTERM');
  expect((await cluster.exited).code).toBe(0);
}

const read = (file: string): string[] => {
  const data = fs.readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8').split('\n').filter((l) => l !== '');
};

/** Waits (polling a file, which has no event to wait on) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every `<pid> <n>` line, grouped by pid: the numbers each process wrote. */
function numbersByPid(lines: string[], strip: (line: string) => string = (l) => l): Map<string, number[]> {
  const byPid = new Map<string, number[]>();
  for (const line of lines) {
    const m = /^(\d+) (\d+)$/.exec(strip(line));
    if (!m) continue;
    if (!byPid.has(m[1])) byPid.set(m[1], []);
    byPid.get(m[1])!.push(Number(m[2]));
  }
  return byPid;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}: /;

describe('log files', () => {
  it('per-worker out/error/combined files with timestamps, a line written in two writes kept whole', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'workers: 2\nout_file: logs/out.log\nerror_file: logs/err.log\nlog_file: logs/all.log\ntime: true');
    const { cluster, port } = await start(config);
    for (let i = 0; i < 20; i++) await get(port, i % 5 === 0 ? '/err' : i % 5 === 1 ? '/partial' : '/');
    await stop(cluster);

    const logs = path.join(dir, 'logs');
    expect(fs.readdirSync(logs).sort()).toEqual(['all-0.log', 'all-1.log', 'err-0.log', 'err-1.log', 'out-0.log', 'out-1.log']);
    let outLines = 0;
    for (const slot of [0, 1]) {
      const out = read(path.join(logs, `out-${slot}.log`));
      const err = read(path.join(logs, `err-${slot}.log`));
      const all = read(path.join(logs, `all-${slot}.log`));
      for (const line of [...out, ...err, ...all]) expect(line).toMatch(ISO);
      const strip = (l: string): string => l.replace(ISO, '');
      // One process per slot wrote 1..k with no gap: nothing lost, the split line whole.
      for (const numbers of numbersByPid(out, strip).values()) expect(numbers).toEqual(numbers.map((_, i) => i + 1));
      expect(err.every((l) => / err \d+$/.test(strip(l)))).toBe(true);
      expect(all.length).toBe(out.length + err.length);
      outLines += out.filter((l) => /^\d+ \d+$/.test(strip(l))).length;
    }
    expect(outLines).toBe(20);
  });

  it('merge_logs with log_type json: one file for both workers, a JSON object per line with its slot', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'workers: 2\nout_file: logs/out.log\nmerge_logs: true\nlog_type: json');
    const { cluster, port } = await start(config);
    // New connections: node:cluster's round-robin spreads them over both workers.
    for (let i = 0; i < 20; i++) await get(port);
    await stop(cluster);

    expect(fs.readdirSync(path.join(dir, 'logs'))).toEqual(['out.log']);
    const objects = read(path.join(dir, 'logs', 'out.log')).map((l) => JSON.parse(l) as { message: string; timestamp: string; type: string; process_id: number; app_name: string });
    expect(new Set(objects.map((o) => o.process_id))).toEqual(new Set([0, 1]));
    expect(objects.every((o) => o.type === 'out' && o.app_name === 'logger' && Number.isFinite(Date.parse(o.timestamp)))).toBe(true);
    const numbers = numbersByPid(objects.map((o) => o.message));
    expect([...numbers.values()].reduce((sum, list) => sum + list.length, 0)).toBe(20);
    for (const list of numbers.values()) expect(list).toEqual(list.map((_, i) => i + 1));
  });

  it('rotation by size under load: every numbered line is in exactly one file, gzipped rotations included', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'workers: 2\nout_file: logs/out.log\ntime: true\nlog_max_size: 64KB\nlog_compress: true\nlog_retain: 1000');
    const { cluster, port } = await start(config);
    const rotated = cluster.waitForCount(isMsg('rotated'), 3, 30_000, 'three rotations');
    const result = await load(port, { seconds: 20, connections: 20, until: rotated });
    await rotated;
    await stop(cluster);

    const files = fs.readdirSync(path.join(dir, 'logs')).map((f) => path.join(dir, 'logs', f));
    expect(files.filter((f) => f.endsWith('.gz')).length).toBeGreaterThanOrEqual(3);
    const lines = files.flatMap(read);
    const byPid = numbersByPid(lines, (l) => l.replace(ISO, ''));
    let total = 0;
    for (const numbers of byPid.values()) {
      numbers.sort((a, b) => a - b);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1)); // none missing, none doubled
      total += numbers.length;
    }
    // Each request writes its line before it is answered: at least every answered request is there.
    expect(total).toBeGreaterThanOrEqual(result.requests - result.failed);
    expect(result.failed).toBe(0);
  });

  it('log_rotate_cron rotates every file of the app on its schedule, keeping log_retain of them', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, "workers: 1\nout_file: logs/out.log\nlog_max_size: 0\nlog_rotate_cron: '* * * * * *'\nlog_retain: 2");
    const { cluster, port } = await start(config, 1);
    for (let round = 1; round <= 3; round++) {
      await get(port);
      await cluster.waitForCount((l) => l.msg === 'rotated 1 log file(s) of logger (log_rotate_cron * * * * * *)', round, 10_000, `rotation ${round}`);
    }
    await get(port);
    await stop(cluster);
    const names = fs.readdirSync(path.join(dir, 'logs')).sort();
    // The 2 newest rotated files, and out-0.log unless a rotation came last, during the stop.
    expect(names.filter((n) => n !== 'out-0.log')).toHaveLength(2);
    expect(names.filter((n) => /^out-0__\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-\d{3}\.log$/.test(n))).toHaveLength(2);
    const lines = names.flatMap((n) => read(path.join(dir, 'logs', n)));
    // What is kept is the newest part of the history, without a gap; older rotations were deleted.
    const numbers = [...numbersByPid(lines).values()].flat().sort((a, b) => a - b);
    expect(numbers.at(-1)).toBe(4);
    expect(numbers).toEqual(numbers.map((_, i) => 4 - numbers.length + 1 + i));
  });

  it('SIGUSR1 after an external mv: the workers write to a new file, none of their lines lost', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'workers: 1\nout_file: logs/out.log\nmerge_logs: true\nlog_max_size: 0');
    const { cluster, port } = await start(config, 1);
    for (let i = 0; i < 5; i++) await get(port);
    const file = path.join(dir, 'logs', 'out.log');
    fs.renameSync(file, `${file}.1`);
    cluster.signal('SIGUSR1');
    await cluster.waitFor(isMsg('reopening log files'), 10_000, 'SIGUSR1 handled');
    await until(() => fs.existsSync(file), 'the reopened file');
    for (let i = 0; i < 5; i++) await get(port);
    await stop(cluster);

    const before = numbersByPid(read(`${file}.1`));
    const after = numbersByPid(read(file));
    const pid = [...before.keys()][0];
    expect(before.get(pid)).toEqual([1, 2, 3, 4, 5]);
    expect(after.get(pid)).toEqual([6, 7, 8, 9, 10]);
  });

  it('logs --follow across a recycle and a rotation, labelled app:slot; logs on a name not running lists what runs', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, 'workers: 1\nout_file: logs/out.log\ntime: true\nlog_max_size: 0');
    const { cluster, port } = await start(config, 1);
    await get(port);

    const follower = spawn(process.execPath, [BIN, 'logs', 'logger:0', '--follow', '--lines', '5', '--socket', cluster.controlSocket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout.setEncoding('utf8').on('data', (chunk: string) => (followed += chunk));
    try {
      await until(() => /logger:0 out \| \S+: \d+ 1\n/.test(followed), 'the last lines');
      const firstPid = /: (\d+) 1\n/.exec(followed)![1];
      await get(port);
      const recycled = await cli('recycle', '0', '--socket', cluster.controlSocket);
      expect(recycled.code).toBe(0);
      await get(port);
      await get(port);
      // A rotation by hand (as the cron schedule does): mv, then SIGUSR1.
      const file = path.join(dir, 'logs', 'out-0.log');
      fs.renameSync(file, `${file}.old`);
      cluster.signal('SIGUSR1');
      await cluster.waitFor(isMsg('reopening log files'), 10_000, 'SIGUSR1 handled');
      await until(() => fs.existsSync(file), 'the reopened file');
      await get(port);
      await until(() => (followed.match(/logger:0 out \| \S+: \d+ \d+\n/g) ?? []).length >= 5, 'five request lines');
      const pids = numbersByPid(followed.split('\n'), (l) => l.replace(/^logger:0 out \| \S+: /, ''));
      expect(pids.get(firstPid)).toEqual([1, 2]);
      const second = [...pids.keys()].find((p) => p !== firstPid)!;
      expect(pids.get(second)).toEqual([1, 2, 3]);
      // In time order.
      const times = followed.split('\n').filter((l) => l.startsWith('logger:0')).map((l) => Date.parse(l.split(' | ')[1].split(': ')[0]));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    } finally {
      follower.kill('SIGINT');
    }
    const missing = await cli('logs', 'nope', '--socket', cluster.controlSocket);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no app named 'nope' is running; running: logger \(1 workers\)/)]);
    await stop(cluster);
  });

  it('bad paths: a directory, a path under a file, a full device — one line naming path and cause, the app serves, no worker killed', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'adir'));
    fs.writeFileSync(path.join(dir, 'afile'), '');
    const config = writeConfig(dir, `workers: 1\nout_file: /dev/full\nerror_file: ${dir}/adir\nlog_file: ${dir}/afile/all.log\nmerge_logs: true`);
    const { cluster, port } = await start(config, 1);
    await cluster.waitFor((l) => l.code === 'SW_LOG_FILE' && l.path === `${dir}/adir` && /EISDIR/.test(String(l.msg)), 5_000, 'the directory named');
    await cluster.waitFor((l) => l.code === 'SW_LOG_FILE' && l.path === `${dir}/afile/all.log` && /ENOTDIR/.test(String(l.msg)), 5_000, 'the path under a file named');
    for (let i = 0; i < 10; i++) expect((await get(port)).status).toBe(200);
    await get(port, '/err');
    // The full device: one line on the inherited stderr; its lines go to the inherited stdout instead.
    await until(() => /cannot write log file \/dev\/full: ENOSPC \(no space left on device\)/.test(cluster.stderr()), 'the ENOSPC line');
    expect(cluster.stderr().match(/cannot write log file \/dev\/full/g)).toHaveLength(1);
    await cluster.waitFor((l) => typeof l.raw === 'string' && /^\d+ 11$/.test(l.raw), 5_000, 'a spilled line on stdout');
    const status = JSON.parse((await cli('status', '--json', '--socket', cluster.controlSocket)).stdout) as { workers: Array<{ generation: number; state: string }> };
    expect(status.workers.map((w) => [w.generation, w.state])).toEqual([[0, 'ready']]);
    await stop(cluster);
  });
});
