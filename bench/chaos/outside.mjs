// Chaos scenarios from outside the cluster (issue 17, items 7–11): what other clients and other
// users can do to the primary's status server, control socket and signal handling.
//
//   probes-half-open   500 half-open connections to the status server: /healthz and /readyz answer
//   metrics-flood      the app's throughput under a /metrics flood, side by side with none (≥ 0.9×)
//   control-spoof      a fake control socket owned by another user: the CLI sends it nothing
//   control-idle       1,000 idle control connections: status, reload and stop still get through
//   signals            SIGUSR1/SIGUSR2/SIGPIPE/SIGWINCH to the primary under load: it keeps serving
//
// bench/chaos.mjs merges these into its SCENARIOS with one line, passing its helpers (`h`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO } from '../lib/peers.mjs';
import { startLoad } from '../lib/load.mjs';
import { runWrk, wrkAvailable } from '../lib/wrk.mjs';
import { freePort, get, median, sleep } from '../lib/util.mjs';

const SW_BIN = path.join(REPO, 'bin', 'smartworkers');
const NOBODY = 65534;

/** Runs the real CLI; resolves {code, stdout, stderr}. */
function cli(args, timeoutMs = 30000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SW_BIN, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

/**
 * Another process opens `n` connections (one after the other, as an attacker would) to a TCP
 * port or a Unix socket, each sending `prefix` and then nothing. Resolves once all connected;
 * `closed()` asks how many the server has closed; `stop()` ends the process.
 */
async function idleConnections(target, n, prefix = '') {
  const script = `
    const net = require('node:net');
    const target = ${JSON.stringify(target)};
    let closed = 0, opened = 0, refused = 0;
    const open = () => {
      // A refused connect (a full backlog: EAGAIN) is retried a little later, as an attacker would, a bounded number of times.
      if (opened === ${n} || refused > ${n}) return process.send({ opened, refused });
      const s = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
      let connected = false;
      s.on('close', () => connected && closed++);
      s.on('error', () => {
        if (connected) return;
        refused++;
        setTimeout(open, 10);
      });
      s.once('connect', () => { connected = true; opened++; if (${JSON.stringify(prefix)}) s.write(${JSON.stringify(prefix)}); open(); });
    };
    open();
    process.on('message', () => process.send({ closed }));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`idle connection process exited (${code})`)));
  });
  return {
    opened: first.opened,
    refused: first.refused,
    closed: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m.closed));
        child.send('count?');
      }),
    stop: () => child.kill('SIGKILL'),
  };
}

/** Waits for the control socket file of a smartworkers instance. */
async function controlSocketOf(inst) {
  const deadline = Date.now() + 5000;
  while (!fs.existsSync(inst.controlSocket) && Date.now() < deadline) await sleep(50);
  return inst.controlSocket;
}

// ------------------------------------------------------------------ load clients

/** Requests/s a load client got from `url` over `durationS`; wrk when available (a Node client takes most of a core here). */
async function throughput(url, { connections = 50, durationS }) {
  if (wrkAvailable()) {
    const r = await runWrk({ url, connections, durationS });
    return { client: 'wrk', rps: r.rps, failed: r.failed };
  }
  const sum = await startLoad({ url, connections, durationS }).done;
  return { client: 'autocannon', rps: sum.rps, failed: sum.failed };
}

/** A flood of GETs on `url` from another load client until `stop()`. */
function flood(url, connections, durationS) {
  if (wrkAvailable()) {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '30s', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const done = new Promise((resolve) => child.on('exit', () => resolve(Number(/(\d+) requests in/.exec(out)?.[1] ?? 0))));
    return { done, stop: () => child.kill('SIGINT') };
  }
  const load = startLoad({ url, connections, durationS, timeoutS: 30 });
  return { done: load.done.then((s) => s.total), stop: () => load.stop() };
}

// ------------------------------------------------------------------ scenarios

export function scenarios(h) {
  const { newResult, check, finish, settle, startedWithFlags, CONNECTIONS, WORKERS, VARIANTS } = h;

  /** smartworkers with its status server on a free loopback port. */
  async function withStatusServer(peer, app, extra = {}) {
    const statusPort = await freePort();
    const inst = await startedWithFlags(peer, app, { ...extra, flags: { statusListen: `127.0.0.1:${statusPort}`, ...(extra.flags ?? {}) } });
    inst.statusUrl = `http://127.0.0.1:${statusPort}`;
    return inst;
  }

  return {
    'probes-half-open': {
      title: 'probes under 500 half-open connections to the status server',
      peers: ['smartworkers'],
      async run(peer, v) {
        const r = newResult('probes-half-open', peer);
        const inst = await withStatusServer(peer, 'hello');
        const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 3) });
        const statusPort = Number(new URL(inst.statusUrl).port);
        // Half send nothing, half headers they never finish (one process, 250 each).
        const silent = await idleConnections(statusPort, 250);
        const partial = await idleConnections(statusPort, 250, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');
        const probes = [];
        for (let i = 0; i < 10; i++) {
          for (const p of ['/healthz', '/readyz']) {
            const t0 = Date.now();
            const res = await get(`${inst.statusUrl}${p}`, 5000).catch((e) => ({ status: e.message }));
            probes.push({ p, status: res.status, ms: Date.now() - t0 });
          }
        }
        const closed = (await silent.closed()) + (await partial.closed());
        silent.stop();
        partial.stop();
        const sum = await load.done;
        r.primarySurvived = inst.primaryAlive();
        r.workersRestored = await settle(inst, WORKERS, 10000);
        r.requestsSent = sum.sent;
        r.requestsFailed = sum.failed;
        const answered = probes.filter((x) => x.status === 200).length;
        r.notes.push(`${silent.opened + partial.opened} half-open connections opened, ${closed} closed by the server; ${answered}/${probes.length} probes answered 200, median ${median(probes.map((x) => x.ms))} ms, max ${Math.max(...probes.map((x) => x.ms))} ms`);
        check(r, 'primary survived', r.primarySurvived);
        check(r, '500 half-open connections opened', silent.opened + partial.opened === 500, silent.opened + partial.opened);
        check(r, 'every probe answered 200', answered === probes.length, JSON.stringify(probes.filter((x) => x.status !== 200).slice(0, 3)));
        check(r, '0 failed requests', sum.failed === 0, sum.failed);
        await finish(r, inst);
        return r;
      },
    },

    'metrics-flood': {
      title: "the app's throughput under a /metrics flood",
      peers: ['smartworkers', 'bare'],
      async run(peer, v) {
        const r = newResult('metrics-flood', peer);
        const inst = peer === 'smartworkers' ? await withStatusServer(peer, 'hello') : await startedWithFlags(peer, 'hello');
        const rounds = v === VARIANTS.short ? 1 : 3;
        const durationS = Math.max(2, Math.min(v.loadS, 5));
        const without = [];
        const under = [];
        let scrapes = 0;
        let failed = 0;
        let client;
        // Interleaved: without, with, without, with … (this machine is shared and noisy).
        for (let i = 0; i < rounds; i++) {
          const a = await throughput(inst.url, { connections: CONNECTIONS, durationS });
          without.push(a.rps);
          failed += a.failed;
          client = a.client;
          if (peer !== 'smartworkers') continue; // no status server: the bare primary's row is the reference
          const f = flood(`${inst.statusUrl}/metrics`, 64, durationS + 1);
          await sleep(300);
          const b = await throughput(inst.url, { connections: CONNECTIONS, durationS });
          f.stop();
          scrapes += await f.done;
          under.push(b.rps);
          failed += b.failed;
        }
        r.primarySurvived = inst.primaryAlive();
        r.workersRestored = await settle(inst, WORKERS, 10000);
        r.requestsFailed = failed;
        const base = median(without);
        r.rps = { without: base, under: median(under) };
        if (peer === 'smartworkers') {
          const ratio = median(under) / base;
          r.ratio = ratio;
          r.notes.push(`${client}, ${rounds}× ${durationS} s each, interleaved: ${Math.round(base)} req/s without, ${Math.round(median(under))} req/s under a 64-connection /metrics flood (${ratio.toFixed(2)}×); ${scrapes} scrapes answered`);
          // A throughput figure, not an invariant: checked in the long runs only (npm test asserts no timings).
          if (v !== VARIANTS.short) check(r, 'throughput under the flood ≥ 0.9× without', ratio >= 0.9, `${ratio.toFixed(2)}×`);
          const metrics = await get(`${inst.statusUrl}/metrics`, 10000).catch(() => null);
          check(r, '/metrics still answers after the flood', metrics?.status === 200, metrics?.status);
        } else {
          r.notes.push(`${client}, ${rounds}× ${durationS} s: ${Math.round(base)} req/s (no status server)`);
        }
        check(r, 'primary survived', r.primarySurvived);
        check(r, '0 failed requests', failed === 0, failed);
        await finish(r, inst);
        return r;
      },
    },

    'control-spoof': {
      title: 'a fake control socket owned by another user',
      peers: ['smartworkers'],
      async run(peer) {
        const r = newResult('control-spoof', peer);
        if (process.getuid?.() !== 0) throw new h.NotAvailable('needs root to chown a socket to another uid');
        const inst = await startedWithFlags(peer, 'hello');
        const real = await controlSocketOf(inst);
        // The fake: a socket in a directory of ours, chown'ed to nobody, that answers anything with success.
        const dir = fs.mkdtempSync(path.join(inst.dir, 'fake-'));
        const fakePath = path.join(dir, 'ctl.sock');
        let received = 0;
        const fake = net.createServer((s) => {
          s.on('data', (d) => {
            received += d.length;
            s.write('{"v":1,"id":1,"ok":true,"result":{"ok":true,"message":"stopped"}}\n');
          });
        });
        await new Promise((resolve) => fake.listen(fakePath, resolve));
        fs.chownSync(fakePath, NOBODY, NOBODY);
        const stop = await cli(['stop', '--socket', fakePath]);
        const status = await cli(['status', '--socket', fakePath]);
        // The same real socket reached through a world-writable directory's symlink.
        const shared = fs.mkdtempSync(path.join(inst.dir, 'shared-'));
        fs.chmodSync(shared, 0o1777);
        fs.symlinkSync(real, path.join(shared, 'ctl.sock'));
        const viaSymlink = await cli(['status', '--socket', path.join(shared, 'ctl.sock')]);
        fake.close();
        const realStatus = await cli(['status', '--socket', real, '--json']);
        r.primarySurvived = inst.primaryAlive();
        r.workersRestored = await settle(inst, WORKERS, 10000);
        r.notes.push(`stop → exit ${stop.code}: ${stop.stderr}`);
        check(r, 'stop to the fake refused (exit 2, SW_CONTROL_SOCKET)', stop.code === 2 && /SW_CONTROL_SOCKET/.test(stop.stderr), `${stop.code} ${stop.stderr}`);
        check(r, 'status to the fake refused, no crash', status.code === 2 && /SW_CONTROL_SOCKET/.test(status.stderr) && !/TypeError/.test(status.stderr), `${status.code} ${status.stderr}`);
        check(r, 'the fake received 0 bytes', received === 0, received);
        check(r, 'a socket in a world-writable directory refused', viaSymlink.code === 2, `${viaSymlink.code} ${viaSymlink.stderr}`);
        check(r, 'the real cluster still answers', realStatus.code === 0 && JSON.parse(realStatus.stdout || '{}').version === 1, realStatus.code);
        check(r, 'primary survived', r.primarySurvived);
        await finish(r, inst);
        return r;
      },
    },

    'control-idle': {
      title: '1,000 idle control connections, then status, reload and stop',
      peers: ['smartworkers'],
      async run(peer, v) {
        const r = newResult('control-idle', peer);
        const inst = await startedWithFlags(peer, 'hello');
        const sock = await controlSocketOf(inst);
        const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 4) });
        const idle = await idleConnections(sock, 1000);
        const status = await cli(['status', '--socket', sock, '--json']);
        const reload = await cli(['reload', '--socket', sock]);
        const closed = await idle.closed();
        const sum = await load.done;
        r.primarySurvived = inst.primaryAlive();
        r.workersRestored = await settle(inst, WORKERS, 20000);
        r.requestsSent = sum.sent;
        r.requestsFailed = sum.failed;
        const stopAt = Date.now();
        const stop = await cli(['stop', '--socket', sock]);
        const stopMs = Date.now() - stopAt;
        idle.stop();
        r.notes.push(`${idle.opened} idle connections opened (${idle.refused} connects refused and retried), ${closed} closed by the primary; status exit ${status.code}, reload exit ${reload.code}, stop exit ${stop.code} in ${stopMs} ms`);
        check(r, '1000 idle connections opened', idle.opened === 1000, idle.opened);
        check(r, 'status answered', status.code === 0, `${status.code} ${status.stderr}`);
        check(r, 'reload answered', reload.code === 0, `${reload.code} ${reload.stderr}`);
        check(r, 'stop answered', stop.code === 0, `${stop.code} ${stop.stderr}`);
        check(r, 'primary survived until the stop', r.primarySurvived);
        check(r, '0 failed requests', sum.failed === 0, sum.failed);
        await finish(r, inst);
        return r;
      },
    },

    signals: {
      title: 'SIGUSR1, SIGUSR2, SIGPIPE, SIGWINCH to the primary under load',
      peers: ['smartworkers', 'bare', 'pm2'],
      async run(peer, v) {
        const r = newResult('signals', peer);
        const inst = await startedWithFlags(peer, 'hello');
        const before = new Set(inst.readyPids());
        const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 3) });
        await sleep(500);
        const survived = [];
        for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGPIPE', 'SIGWINCH']) {
          inst.signal(sig);
          await sleep(300);
          survived.push(`${sig}: ${inst.primaryAlive() ? 'alive' : 'dead'}`);
        }
        const sum = await load.done;
        r.primarySurvived = inst.primaryAlive();
        const now = new Set(inst.readyPids());
        r.workersRestored = r.primarySurvived && before.size === now.size && [...before].every((p) => now.has(p));
        r.requestsSent = sum.sent;
        r.requestsFailed = sum.failed;
        r.notes.push(survived.join(', '));
        check(r, 'primary survived', r.primarySurvived);
        check(r, 'no worker restarted', r.workersRestored);
        check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
        await finish(r, inst, { expectExit0: r.primarySurvived === true });
        return r;
      },
    },
  };
}

