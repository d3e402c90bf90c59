// The dashboard's cost to the primary (issue 15): the primary's own CPU (from /proc/<pid>/stat)
// under keep-alive load (wrk, 50 connections on 2 workers), with no page open, with 5 tabs of one
// browser (they share one stream) and with 5 pages in 5 isolated browser contexts (5 streams: 5
// browsers, or 5 people), in headless Chromium (Debian's, scripts/install-chromium.sh; or
// Firefox ESR, install-firefox.sh) driven by puppeteer-core, the three interleaved (none, tabs,
// contexts, none…) in one run on one cluster: a shared machine is noisy.
// Run alone, after `npm run build`:
//   node bench/dashboard-cost.mjs [window seconds] [rounds] [chromium|firefox]
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import * as proc from './lib/proc.mjs';
import { freePort, median, sleep } from './lib/util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WINDOW_S = Number(process.argv[2] ?? 15);
const ROUNDS = Number(process.argv[3] ?? 3);
const PAGES = 5;
const BROWSER = process.argv[4] ?? 'chromium';
const COMMANDS = BROWSER === 'firefox' ? 'command -v firefox-esr || command -v firefox' : 'command -v chromium || command -v chromium-browser';

const appPort = await freePort();
const statusPort = await freePort();
const primary = spawn(
  process.execPath,
  [path.join(ROOT, 'bin', 'smartworkers'), 'start', path.join(ROOT, 'bench', 'apps', 'hello.cjs'), '--workers', '2', '--status-listen', `127.0.0.1:${statusPort}`, '--summary-interval', '0', '--log-format', 'json', '--max-requests', '200000'],
  { env: { ...process.env, PORT: String(appPort), SMARTWORKERS_CONTROL_SOCKET: path.join(ROOT, '.cache', `dashboard-cost-${process.pid}.sock`) }, stdio: ['ignore', 'pipe', 'inherit'] },
);
primary.stdout.resume();
const statusUrl = `http://127.0.0.1:${statusPort}`;
const executablePath = spawnSync('sh', ['-c', COMMANDS], { encoding: 'utf8' }).stdout.trim();
if (!executablePath) throw new Error(`${BROWSER} is not installed: run scripts/install-${BROWSER}.sh`);
const browser = await puppeteer.launch({
  browser: BROWSER === 'firefox' ? 'firefox' : 'chrome',
  executablePath,
  headless: true,
  args: BROWSER === 'firefox' ? [] : ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});

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
  /** Opens PAGES pages, each in `contextOf(i)`, and waits until each shows the workers. */
  const openPages = async (contextOf) => {
    const pages = [];
    // One after another: the first of a browser's tabs takes the shared stream.
    for (let i = 0; i < PAGES; i++) {
      const page = await (await contextOf(i)).newPage();
      await page.goto(`${statusUrl}/`);
      await page.waitForFunction(() => document.querySelector('article.app tbody tr') !== null, { timeout: 30_000, polling: 250 });
      pages.push(page);
    }
    await sleep(2000);
    return pages;
  };
  const results = { none: [], tabs: [], contexts: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.none.push(await measure());
    const tabs = await openPages(() => browser.defaultBrowserContext());
    results.tabs.push(await measure());
    await Promise.all(tabs.map((p) => p.close()));
    const contexts = [];
    const isolated = await openPages(async () => {
      const context = await browser.createBrowserContext();
      contexts.push(context);
      return context;
    });
    results.contexts.push(await measure());
    await Promise.all(isolated.map((p) => p.close()));
    await Promise.all(contexts.map((c) => c.close()));
    await sleep(2000);
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
  console.log(`${BROWSER} ${await browser.version()}; primary CPU, % of one core, ${WINDOW_S}s windows under wrk -t1 -c50 on 2 workers (rounds interleaved):`);
  console.log(`  no page open:                      median ${median(results.none).toFixed(2)}  (${fmt(results.none)})`);
  console.log(`  ${PAGES} tabs of one browser (1 stream): median ${median(results.tabs).toFixed(2)}  (${fmt(results.tabs)})`);
  console.log(`  ${PAGES} isolated pages (${PAGES} streams):    median ${median(results.contexts).toFixed(2)}  (${fmt(results.contexts)})`);
  console.log(`  difference: tabs ${(median(results.tabs) - median(results.none)).toFixed(2)} points, isolated ${(median(results.contexts) - median(results.none)).toFixed(2)} points`);
  console.log(`wrk per window (none, tabs, isolated, …): ${rates.join(' | ')}`);
} finally {
  await browser.close();
  primary.kill('SIGTERM');
  await new Promise((r) => primary.on('exit', r));
}
