// The dashboard's cost to the primary (issue 15): the primary's own CPU (from /proc/<pid>/stat)
// under keep-alive load (wrk, 50 connections on 2 workers), with no page open and with 5
// dashboard pages open in headless Chromium (Debian's, scripts/install-chromium.sh), the two
// interleaved (none, pages, none, pages…) in one run on one cluster: this machine is noisy.
// Run alone, after `npm run build`: `node bench/dashboard-cost.mjs [window seconds] [rounds]`.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as proc from './lib/proc.mjs';
import { freePort, median, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WINDOW_S = Number(process.argv[2] ?? 15);
const ROUNDS = Number(process.argv[3] ?? 3);
const PAGES = 5;

const appPort = await freePort();
const statusPort = await freePort();
const primary = spawn(
  process.execPath,
  [path.join(ROOT, 'bin', 'smartworkers'), 'start', path.join(ROOT, 'bench', 'apps', 'hello.cjs'), '--workers', '2', '--status-listen', `127.0.0.1:${statusPort}`, '--summary-interval', '0', '--log-format', 'json', '--max-requests', '200000'],
  { env: { ...process.env, PORT: String(appPort), SMARTWORKERS_CONTROL_SOCKET: path.join(ROOT, '.cache', `dashboard-cost-${process.pid}.sock`) }, stdio: ['ignore', 'pipe', 'inherit'] },
);
primary.stdout.resume();
const statusUrl = `http://127.0.0.1:${statusPort}`;
const browser = await chromium.launch({ executablePath: spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim(), args: ['--no-sandbox', '--disable-gpu'] });

try {
  for (let i = 0; ; i++) {
    const ready = await fetch(`${statusUrl}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (i > 300) throw new Error('the cluster did not get ready');
    await sleep(100);
  }
  const rates = [];
  /** The primary's CPU over a window of wrk load (pages are opened between windows, without load). */
  const measure = async () => {
    const wrk = spawn('wrk', ['-t1', '-c50', `-d${WINDOW_S + 2}s`, `http://127.0.0.1:${appPort}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    wrk.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => wrk.on('exit', r));
    await sleep(1000);
    const cpu0 = proc.cpuSeconds(primary.pid);
    const t0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const pct = ((proc.cpuSeconds(primary.pid) - cpu0) / ((Date.now() - t0) / 1000)) * 100;
    await exited;
    rates.push(out.split('\n').find((l) => l.includes('Requests/sec'))?.trim() ?? '?');
    return pct;
  };
  const results = { none: [], pages: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.none.push(await measure());
    // One after another: pages opened at once on this busy 2-core machine leave Chromium's
    // preconnected sockets idle past the status server's 2 s headers timeout (README, Dashboard).
    const pages = [];
    for (let i = 0; i < PAGES; i++) {
      const page = await browser.newPage();
      await page.goto(`${statusUrl}/`);
      await page.waitForSelector('article.app tbody tr', { timeout: 30_000 });
      pages.push(page);
    }
    await sleep(2000);
    results.pages.push(await measure());
    await Promise.all(pages.map((p) => p.close()));
    await sleep(2000);
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
  console.log(`primary CPU, % of one core, ${WINDOW_S}s windows under wrk -t1 -c50 on 2 workers (rounds interleaved):`);
  console.log(`  no page open:   median ${median(results.none).toFixed(2)}  (${fmt(results.none)})`);
  console.log(`  ${PAGES} pages open:  median ${median(results.pages).toFixed(2)}  (${fmt(results.pages)})`);
  console.log(`  difference:     ${(median(results.pages) - median(results.none)).toFixed(2)} points`);
  console.log(`wrk per window (none, pages, …): ${rates.join(' | ')}`);
} finally {
  await browser.close();
  primary.kill('SIGTERM');
  await new Promise((r) => primary.on('exit', r));
}
