// The three managers the bench compares, behind one small interface:
//   const inst = await PEERS[name].start({ app, workers, env, flags })
//   inst.port / inst.url / inst.primaryPid (pm2: its daemon) / inst.ready (entries {pid, t})
//   await inst.waitWorkers(n, {since}) / await inst.waitNewPid(oldPids) / await inst.reload()
//   inst.workerPids() / inst.signal(sig) / await inst.stop() → {code, signal, ms, forced, leftovers}
// A peer that cannot run here (smartworkers not built yet, pm2 not installable) throws
// NotAvailable; scenarios report "n/a" for it instead of failing.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as proc from './proc.mjs';
import { freePort, sleep } from './util.mjs';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(BENCH_DIR, '..');
export const APPS = path.join(BENCH_DIR, 'apps');
const PEERS_DIR = path.join(BENCH_DIR, 'peers');
const SW_BIN = path.join(REPO, 'bin', 'smartworkers');
const SW_MAIN = path.join(REPO, 'dist', 'cli', 'smartworkers.js');
const PM2_BIN = path.join(PEERS_DIR, 'node_modules', 'pm2', 'bin', 'pm2');

export class NotAvailable extends Error {}

const live = new Set(); // instances not stopped yet, for cleanup on exit

export function appPath(name) {
  return path.join(APPS, name.endsWith('.cjs') || name.endsWith('.mjs') || name.endsWith('.js') ? name : `${name}.cjs`);
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const kebab = (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

async function waitFor(check, timeoutMs, what, intervalMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

class Instance {
  constructor(peer, { port, dir, workers }) {
    this.peer = peer;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.dir = dir;
    this.workers = workers;
    this.readyFile = path.join(dir, 'ready.log');
    this.taskLog = path.join(dir, 'tasks.log');
    this.bootFile = path.join(dir, 'boot.log');
    fs.writeFileSync(this.readyFile, '');
    this.ready = [];
    this.readOffset = 0;
    this.seenPids = new Set();
    this.primaryPid = null;
    this.stopped = false;
    live.add(this);
  }

  /** Reads new lines of the ready file into `this.ready`. */
  poll() {
    let buf;
    try {
      buf = fs.readFileSync(this.readyFile);
    } catch {
      return this.ready;
    }
    if (buf.length > this.readOffset) {
      const text = buf.subarray(this.readOffset).toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end >= 0) {
        for (const line of text.slice(0, end).split('\n')) {
          const [pid, t] = line.trim().split(' ').map(Number);
          if (pid) {
            this.ready.push({ pid, t });
            this.seenPids.add(pid);
          }
        }
        this.readOffset += Buffer.byteLength(text.slice(0, end + 1));
      }
    }
    return this.ready;
  }

  /** Resolves with the time (epoch ms) at which `n` distinct workers were listening, counting from `since`. */
  async waitWorkers(n, { since = 0, timeoutMs = 30000 } = {}) {
    const r = await waitFor(() => {
      const pids = new Map();
      for (const e of this.poll()) if (e.t >= since && !pids.has(e.pid)) pids.set(e.pid, e.t);
      return pids.size >= n ? Math.max(...[...pids.values()].sort((a, b) => a - b).slice(0, n)) : null;
    }, timeoutMs, `${n} workers listening (${this.peer})`);
    return r;
  }

  /** Resolves with the first ready entry whose pid is not in `oldPids` (a replacement), or null on timeout. */
  async waitNewPid(oldPids, { timeoutMs = 30000, since = 0 } = {}) {
    try {
      return await waitFor(() => this.poll().find((e) => !oldPids.has(e.pid) && e.t >= since), timeoutMs, 'a new worker');
    } catch {
      return null;
    }
  }

  /** Pids of the live workers (live node children of the primary / pm2 daemon). */
  workerPids() {
    if (!this.primaryPid) return [];
    const pids = proc.children(this.primaryPid).filter((pid) => /node/.test(proc.stat(pid)?.comm || '') || proc.cmdline(pid).some((a) => a.includes('node')));
    for (const p of pids) this.seenPids.add(p);
    return pids;
  }

  /** Worker pids that are ready right now: listening workers that are still alive. */
  readyPids() {
    this.poll();
    const alive = new Set(this.workerPids());
    return [...new Set(this.ready.map((e) => e.pid))].filter((p) => alive.has(p));
  }

  primaryAlive() {
    return this.primaryPid !== null && proc.alive(this.primaryPid);
  }

  signal(sig) {
    if (this.primaryPid) {
      try {
        process.kill(this.primaryPid, sig);
      } catch {
        /* gone */
      }
    }
  }

  /** Every worker's start as the app saw it: {pid, startedAt (process start), appAt (app code start)}, epoch ms. */
  boots() {
    let text = '';
    try {
      text = fs.readFileSync(this.bootFile, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((line) => {
      const [pid, startedAt, appAt] = line.split(' ').map(Number);
      return { pid, startedAt, appAt };
    });
  }

  /** Tasks started / completed from the app's task log (lost = started − completed). */
  taskCounts() {
    let text = '';
    try {
      text = fs.readFileSync(this.taskLog, 'utf8');
    } catch {
      return { started: 0, completed: 0, lost: 0 };
    }
    let started = 0;
    let completed = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('S ')) started++;
      else if (line.startsWith('C ')) completed++;
    }
    return { started, completed, lost: started - completed };
  }

  /** After the stop: processes left behind (alive or zombie), then killed so nothing leaks from the bench. */
  async collectLeftovers(pgid) {
    this.poll();
    await sleep(300);
    let left = proc.leftovers([...this.seenPids, this.primaryPid].filter(Boolean), pgid);
    const deadline = Date.now() + 2000;
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(100);
      left = proc.leftovers([...this.seenPids, this.primaryPid].filter(Boolean), pgid);
    }
    for (const l of left) {
      try {
        process.kill(l.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    return left;
  }

  cleanupDir() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ child-process primaries

class ChildInstance extends Instance {
  constructor(peer, opts) {
    super(peer, opts);
    this.child = null;
    this.stdoutLines = [];
    this.logs = [];
    this.stderr = '';
    this.exit = null;
  }

  launch(argv, env) {
    const child = spawn(process.execPath, argv, {
      cwd: REPO,
      env: { ...process.env, ...env, PORT: String(this.port), BENCH_READY_FILE: this.readyFile, BENCH_TASK_LOG: this.taskLog, BENCH_BOOT_FILE: this.bootFile },
      detached: true, // its own process group: pgid = its pid, checked for leftovers after the stop
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.primaryPid = child.pid;
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (this.stdoutLines.length < 20000) this.stdoutLines.push(line);
        if (line.startsWith('{')) {
          try {
            const entry = JSON.parse(line);
            entry.receivedAt = Date.now();
            if (this.logs.length < 20000) this.logs.push(entry);
          } catch {
            /* not JSON */
          }
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => {
      this.stderr = (this.stderr + c).slice(-64 * 1024);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
    });
  }

  primaryAlive() {
    return this.exit === null && super.primaryAlive();
  }

  async reload() {
    this.signal('SIGHUP');
  }

  /** Waits for the primary to exit on its own (bounded); null on timeout. */
  async waitExit(timeoutMs) {
    return Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
  }

  async stop({ signal = 'SIGTERM', timeoutMs = 40000 } = {}) {
    if (this.stopped) return this.stopResult;
    this.stopped = true;
    this.workerPids();
    const t0 = Date.now();
    let forced = false;
    if (this.exit === null) {
      this.signal(signal);
      const r = await this.waitExit(timeoutMs);
      if (!r) {
        forced = true;
        try {
          process.kill(-this.primaryPid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await this.waitExit(5000);
      }
    }
    const ms = Date.now() - t0;
    const leftovers = await this.collectLeftovers(this.primaryPid);
    live.delete(this);
    this.stopResult = { code: this.exit?.code ?? null, signal: this.exit?.signal ?? null, ms, forced, leftovers };
    this.taskCountsAtStop = this.taskCounts();
    this.cleanupDir();
    return this.stopResult;
  }
}

async function startChild(peer, argv, { workers, env = {}, readyTimeoutMs = 30000, waitReady = true }) {
  const inst = new ChildInstance(peer, { port: await freePort(), dir: tmpDir(`swb-${peer}-`), workers });
  inst.startedAt = Date.now();
  inst.launch(argv(inst), env);
  if (!waitReady) return inst;
  try {
    await Promise.race([
      inst.waitWorkers(workers, { timeoutMs: readyTimeoutMs }),
      inst.exited.then((e) => {
        throw new Error(`${peer} exited before its workers were ready (code ${e.code}, signal ${e.signal}): ${inst.stderr.trim().split('\n').slice(-5).join(' | ')}`);
      }),
    ]);
  } catch (err) {
    await inst.stop({ timeoutMs: 5000 });
    throw err;
  }
  inst.readyAt = Math.max(...inst.ready.slice(0, workers).map((e) => e.t));
  return inst;
}

let swChecked = null;

/** Checked once per run (a `start --help` spawn), never inside a timed start. */
export function smartworkersAvailable() {
  if (swChecked) return swChecked;
  swChecked = checkSmartworkers();
  return swChecked;
}

function checkSmartworkers() {
  if (!fs.existsSync(SW_MAIN)) return { ok: false, reason: 'smartworkers CLI not built (no dist/cli/smartworkers.js)' };
  const r = spawnSync(process.execPath, [SW_BIN, 'start', '--help'], { cwd: REPO, encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) return { ok: false, reason: `\`smartworkers start --help\` failed: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-2).join(' ')}` };
  return { ok: true };
}

export const smartworkers = {
  name: 'smartworkers',
  available: smartworkersAvailable,
  /** flags: camelCase keys → --kebab-case flags, e.g. {maxRequests: 5000, maxMemory: '200MB'}. */
  async start({ app, workers = 2, env, flags = {}, readyTimeoutMs, waitReady }) {
    const a = smartworkersAvailable();
    if (!a.ok) throw new NotAvailable(a.reason);
    const argv = (inst) => {
      // A private control socket: never the default one another cluster (or a test) may hold.
      inst.controlSocket = path.join(inst.dir, 'ctl.sock');
      const out = [SW_BIN, 'start', appPath(app), '--workers', String(workers), '--log-format', 'json', '--control-socket', inst.controlSocket];
      for (const [k, v] of Object.entries(flags)) {
        if (v === true) out.push(`--${kebab(k)}`);
        else if (v !== false && v !== undefined && v !== null) out.push(`--${kebab(k)}`, String(v));
      }
      return out;
    };
    return startChild('smartworkers', argv, { workers, env, readyTimeoutMs, waitReady });
  },
};

export const bare = {
  name: 'bare',
  available: () => ({ ok: true }),
  /** primary: another bare primary in bench/peers/ (the logging scenario's writes to a file). */
  async start({ app, workers = 2, env = {}, readyTimeoutMs, waitReady, primary = 'bare-primary.cjs' }) {
    return startChild('bare', () => [path.join(PEERS_DIR, primary), appPath(app)], {
      workers,
      env: { ...env, WORKERS: String(workers) },
      readyTimeoutMs,
      waitReady,
    });
  },
};

// ------------------------------------------------------------------ pm2

let pm2Checked = null;

/** The pm2 the bench compares against: the current major (users judge us against it, not an old one). */
const PM2_SPEC = 'pm2@7';
const PM2_MAJOR = 7;

/** Installed pm2's version, or null (read from its package.json: no pm2 process is started). */
function installedPm2Version() {
  try {
    return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Installs PM2_SPEC into bench/peers/ on first use, or over an older major (git-ignored; never a package dependency). */
export function pm2Available() {
  if (pm2Checked) return pm2Checked;
  const installed = installedPm2Version();
  if (!fs.existsSync(PM2_BIN) || Number(String(installed).split('.')[0]) !== PM2_MAJOR) {
    process.stderr.write(`installing ${PM2_SPEC} into bench/peers/ (once; found ${installed ?? 'none'}) …\n`);
    const r = spawnSync('npm', ['install', '--prefix', PEERS_DIR, PM2_SPEC, '--no-audit', '--no-fund', '--no-save'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 180000,
    });
    if (r.status !== 0 || !fs.existsSync(PM2_BIN)) {
      pm2Checked = { ok: false, reason: `could not install ${PM2_SPEC}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' ')}` };
      return pm2Checked;
    }
  }
  const v = spawnSync(process.execPath, [PM2_BIN, '--version'], {
    encoding: 'utf8',
    timeout: 30000,
    env: { ...process.env, PM2_HOME: tmpDir('swb-pm2v-') },
  });
  pm2Checked = v.status === 0 ? { ok: true, version: v.stdout.trim().split('\n').pop() } : { ok: false, reason: 'pm2 --version failed' };
  return pm2Checked;
}

class Pm2Instance extends Instance {
  constructor(opts) {
    super('pm2', opts);
    this.home = path.join(opts.dir, 'pm2home');
    fs.mkdirSync(this.home);
    this.env = {};
  }

  pm2(args, timeoutMs = 60000) {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [PM2_BIN, ...args], {
        cwd: REPO,
        env: { ...process.env, ...this.env, PM2_HOME: this.home, PORT: String(this.port), BENCH_READY_FILE: this.readyFile, BENCH_TASK_LOG: this.taskLog },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  readDaemonPid() {
    try {
      return Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  }

  async reload() {
    const r = await this.pm2(['reload', 'bench']);
    if (r.code !== 0) throw new Error(`pm2 reload failed: ${r.out.slice(-300)}`);
  }

  async stop() {
    if (this.stopped) return this.stopResult;
    this.stopped = true;
    this.workerPids();
    const t0 = Date.now();
    const r = await this.pm2(['kill'], 40000);
    let forced = r.code !== 0;
    const ms = Date.now() - t0;
    if (this.primaryPid && proc.alive(this.primaryPid)) {
      forced = true;
      try {
        process.kill(this.primaryPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const leftovers = await this.collectLeftovers(null);
    live.delete(this);
    this.stopResult = { code: r.code, signal: null, ms, forced, leftovers };
    this.taskCountsAtStop = this.taskCounts();
    this.cleanupDir();
    return this.stopResult;
  }
}

export const pm2 = {
  name: 'pm2',
  available: pm2Available,
  /** args: extra `pm2 start` arguments, e.g. ['--max-memory-restart', '200M']. */
  async start({ app, workers = 2, env = {}, args = [], readyTimeoutMs = 30000, waitReady = true }) {
    const a = pm2Available();
    if (!a.ok) throw new NotAvailable(a.reason);
    const inst = new Pm2Instance({ port: await freePort(), dir: tmpDir('swb-pm2-'), workers });
    inst.env = env;
    inst.startedAt = Date.now();
    const r = await inst.pm2(['start', appPath(app), '-i', String(workers), '--name', 'bench', ...args]);
    inst.primaryPid = inst.readDaemonPid();
    if (r.code !== 0) {
      await inst.stop();
      throw new Error(`pm2 start failed: ${r.out.slice(-500)}`);
    }
    if (waitReady) {
      try {
        await inst.waitWorkers(workers, { timeoutMs: readyTimeoutMs });
      } catch (err) {
        await inst.stop();
        throw err;
      }
      inst.readyAt = Math.max(...inst.ready.slice(0, workers).map((e) => e.t));
    }
    return inst;
  },
};

export const PEERS = { smartworkers, bare, pm2 };

/** Stops whatever is still running (on an error or Ctrl-C): never leave a cluster or a pm2 daemon behind. */
export async function stopAll() {
  await Promise.all([...live].map((i) => i.stop().catch(() => {})));
}

let hooked = false;
export function installCleanup() {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping every cluster started by the bench …\n`);
      stopAll().finally(() => process.exit(130));
    });
  }
}
