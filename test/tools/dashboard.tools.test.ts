/**
 * The dashboard in real browsers — Debian's Chromium and Firefox ESR (scripts/install-chromium.sh
 * and install-firefox.sh, run by .ci/run), driven by puppeteer-core (CDP for Chromium, WebDriver
 * BiDi for Firefox), which never downloads a browser — against real clusters. Screenshots go to
 * test-results/dashboard/<browser>/ and are checked: not blank, every section drawn. With
 * SMARTWORKERS_UPDATE_SCREENSHOT=1 the Chromium read-only one is also written to docs/dashboard.png
 * (the README's).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page, type SupportedBrowser } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanup, FIXTURES, get, isMsg, load, ROOT, run, type Cluster } from '../e2e/harness';

const SECTIONS = ['workers', 'charts', 'timeline', 'tasks'];

interface BrowserSpec {
  name: string;
  browser: SupportedBrowser;
  commands: string[];
  script: string;
  args: string[];
}

const BROWSERS: BrowserSpec[] = [
  { name: 'chromium', browser: 'chrome', commands: ['chromium', 'chromium-browser'], script: 'scripts/install-chromium.sh', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] },
  { name: 'firefox', browser: 'firefox', commands: ['firefox-esr', 'firefox'], script: 'scripts/install-firefox.sh', args: [] },
];

function executable(spec: BrowserSpec): string {
  const found = spawnSync('sh', ['-c', spec.commands.map((c) => `command -v ${c}`).join(' || ')], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${spec.name} is not installed: run ${spec.script} (as .ci/run does)`);
  return found;
}

afterEach(cleanup);

interface Opened {
  page: Page;
  /** Console errors and warnings, page errors, failed requests: none is expected. */
  problems: string[];
}

async function startCluster(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ cluster: Cluster; url: string; port: number }> {
  const cluster = run(
    ['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--worker-env', 'DASHBOARD_SECRET=env-secret-4242', '--status-listen', '127.0.0.1:0', '--summary-interval', '0', '--log-format', 'json', ...args],
    // A secret in the workers' environment: the page must never show it.
    env,
  );
  const ready = await cluster.waitFor(isMsg('control socket ready'), 30_000, 'control socket ready');
  const port = await cluster.port();
  await cluster.waitForCount(isMsg('worker ready'), 2, 30_000, '2 workers ready');
  return { cluster, url: ready.statusUrl as string, port };
}

function statusJson(cluster: Cluster): { workers: Array<{ app: string; slot: number; pid: number; generation: number; state: string }> } {
  const out = execFileSync(process.execPath, [BIN, 'status', '--json'], { env: { ...process.env, SMARTWORKERS_CONTROL_SOCKET: cluster.controlSocket }, encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof statusJson>;
}

/** Rows of the workers tables as the page shows them: "app slot pid gen state". */
function tableRows(page: Page): Promise<string[]> {
  return page.$$eval('article.app tbody tr', (rows) =>
    rows.map((r) => {
      const cell = (c: string) => r.querySelector(`.c-${c}`)?.textContent ?? '';
      return `${(r.closest('article') as HTMLElement).dataset.app} ${cell('slot')} ${cell('pid')} ${cell('gen')} ${(r as HTMLElement).dataset.state}`;
    }),
  );
}

/** How many buttons whose text starts with `text`. */
function buttons(page: Page, text: string): Promise<number> {
  return page.$$eval('button', (all, t) => all.filter((b) => (b.textContent ?? '').trim().startsWith(t)).length, text);
}

/** Presses Tab until `selector` has the focus (at most `max` times): it is reachable from the keyboard. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${selector} was not reached with ${max} Tab presses`);
}

/**
 * Every page has rows and gets two more updates from the stream within `ms`. Polled on a timer:
 * the default (requestAnimationFrame) never fires in a tab in the background.
 */
async function allLive(pages: Page[], ms: number): Promise<void> {
  await Promise.all(pages.map(async (page, i) => {
    await page.waitForFunction(() => document.querySelector('article.app tbody tr[data-state="ready"]') !== null, { timeout: ms, polling: 250 }).catch(async () => {
      const seen = await page.evaluate(() => [document.getElementById('link')?.textContent, ...performance.getEntriesByType('resource').map((e) => `${e.name} ${Math.round(e.duration)}ms`)]).catch(String);
      throw new Error(`page ${i} shows no ready worker after ${ms} ms; it says: ${JSON.stringify(seen)}`);
    });
    const first = await page.evaluate(() => Number(document.body.dataset.updated ?? 0));
    await page.waitForFunction((t) => Number(document.body.dataset.updated ?? 0) > t, { timeout: ms, polling: 250 }, first).catch(() => {
      throw new Error(`page ${i} got no update in ${ms} ms`);
    });
    const second = await page.evaluate(() => Number(document.body.dataset.updated ?? 0));
    await page.waitForFunction((t) => Number(document.body.dataset.updated ?? 0) > t, { timeout: ms, polling: 250 }, second).catch(() => {
      throw new Error(`page ${i} got one update, then none in ${ms} ms`);
    });
  }));
}

describe.each(BROWSERS)('the dashboard in $name', (spec) => {
  const OUT = path.join(ROOT, 'test-results', 'dashboard', spec.name);
  let browser: Browser;

  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    browser = await puppeteer.launch({ browser: spec.browser, executablePath: executable(spec), headless: true, args: spec.args });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(url: string, width = 1280, context?: BrowserContext): Promise<Opened> {
    const page = await (context ?? browser).newPage();
    await page.setViewport({ width, height: 900 });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message ?? String(e)}`));
    page.on('requestfailed', (r) => {
      // The stream is cut when the page closes or reloads: not a failure of the page.
      if (!r.url().endsWith('/api/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(`${url}/`);
    return { page, problems };
  }

  /**
   * How many distinct colours a screenshot has, decoded by the browser itself (a blank page has
   * one or two). Done in a page of its own, with no CSP.
   */
  async function colours(png: Uint8Array): Promise<number> {
    const page = await browser.newPage();
    try {
      return await page.evaluate(async (data) => {
        const img = new Image();
        img.src = `data:image/png;base64,${data}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const pixels = ctx.getImageData(0, 0, img.width, img.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < pixels.length; i += 4 * 7) seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
        return seen.size;
      }, Buffer.from(png).toString('base64'));
    } finally {
      await page.close();
    }
  }

  /** Saves the page and each section, and checks each is drawn (not one flat colour) with its heading. */
  async function screenshotAndCheck(page: Page, name: string): Promise<void> {
    const file = path.join(OUT, `${name}.png`);
    const full = await page.screenshot({ path: file as `${string}.png`, fullPage: true });
    expect(await colours(full), `${name}.png is blank`).toBeGreaterThan(20);
    for (const id of SECTIONS) {
      const section = (await page.$(`#${id}`))!;
      expect(await section.isVisible(), `section ${id} shown`).toBe(true);
      const shot = await section.screenshot({ path: path.join(OUT, `${name}-${id}.png`) as `${string}.png` });
      expect(await colours(shot), `section ${id} of ${name} is blank`).toBeGreaterThan(5);
      expect(await page.$eval(`#${id} h2`, (h) => h.textContent)).toBeTruthy();
    }
    if (name === 'read-only' && spec.name === 'chromium' && process.env.SMARTWORKERS_UPDATE_SCREENSHOT === '1') {
      fs.copyFileSync(file, path.join(ROOT, 'docs', 'dashboard.png'));
    }
  }

  /** Readable without colour: every state, bar and reason is written out, not only coloured. */
  async function readableWithoutColour(page: Page): Promise<void> {
    const rows = await page.$$eval('article.app tbody tr', (trs) =>
      trs.map((tr) => ({
        state: (tr as HTMLElement).dataset.state ?? '',
        stateText: tr.querySelector('.c-state')?.textContent ?? '',
        bars: [...tr.querySelectorAll('.bar')].map((b) => `${b.querySelector('.bar-label')?.textContent ?? ''}|${b.getAttribute('aria-label') ?? ''}`),
      })),
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.stateText).toContain(row.state);
      for (const b of row.bars) expect(b, 'a bar carries its numbers').toMatch(/\d.*\|.*\d/);
    }
    const reasons = await page.$$eval('#timeline-rows tr', (trs) => trs.map((tr) => [(tr as HTMLElement).dataset.reason, tr.textContent ?? '']));
    for (const [reason, text] of reasons) expect(text).toContain(reason);
  }

  it('read-only without a token: no console error, the workers of status --json, a recycle in the timeline within 2 s, no action', async () => {
    const { cluster, url, port } = await startCluster(['--max-requests', '400', '--max-memory', '512M', '--max-memory-hard', '1G']);
    const { page, problems } = await open(url);
    await page.waitForSelector('article.app tbody tr[data-state="ready"]');

    // The table is the status document: same workers, pids, generations and states.
    const expected = statusJson(cluster).workers.map((w) => `${w.app} ${w.slot} ${w.pid} ${w.generation} ${w.state}`);
    expect(expected).toHaveLength(2);
    await page.waitForFunction((rows) => {
      const shown = [...document.querySelectorAll('article.app tbody tr')].map((r) => {
        const cell = (c: string) => r.querySelector(`.c-${c}`)?.textContent ?? '';
        return `${(r.closest('article') as HTMLElement).dataset.app} ${cell('slot')} ${cell('pid')} ${cell('gen')} ${(r as HTMLElement).dataset.state}`;
      });
      return JSON.stringify(shown) === JSON.stringify(rows);
    }, { timeout: 5_000 }, expected).catch(async () => {
      throw new Error(`table ${JSON.stringify(await tableRows(page))} != status --json ${JSON.stringify(expected)}`);
    });
    // Read-only: no action is offered.
    expect(await buttons(page, 'Reload')).toBe(0);
    expect(await buttons(page, 'Recycle')).toBe(0);
    expect(await page.$('#stop')).toBeNull();

    // A recycle under load shows in the timeline, with its reason, within 2 s of the primary deciding it.
    let retiredAt = 0;
    const retired = cluster.waitFor((l) => l.msg === 'worker retiring' && l.reason === 'max_requests', 60_000, 'a max_requests recycle').then((line) => {
      retiredAt = Date.now();
      return line;
    });
    const loaded = load(port, { seconds: 30, connections: 8, until: retired });
    const line = await retired;
    await page.waitForSelector(`#timeline-rows tr[data-key="${String(line.worker)}"][data-reason="max_requests"]`, { timeout: 2_000 });
    const seenAfterMs = Date.now() - retiredAt;
    expect(seenAfterMs).toBeLessThanOrEqual(2_000);
    await loaded;
    // It settles as exited, with its task wait and lost tasks.
    await page.waitForFunction((id) => document.querySelector(`#timeline-rows tr[data-key="${id}"] .c-status`)?.textContent?.startsWith('exited'), { timeout: 30_000 }, String(line.worker));

    // Running tasks: listed with their type, and counted in the chart.
    for (let i = 0; i < 4; i++) expect((await get(port, '/task?ms=20000')).status).toBe(200);
    await page.waitForFunction(() => document.querySelectorAll('#task-rows tr').length === 4, { timeout: 10_000 });
    expect(await page.$eval('#task-rows tr', (tr) => tr.textContent)).toContain('job');
    await readableWithoutColour(page);

    // The workers' environment is never shown.
    expect(await page.content()).not.toContain('env-secret-4242');
    await screenshotAndCheck(page, 'read-only');
    await page.setViewport({ width: 390, height: 844 });
    // Phone width: nothing wider than the screen (tables scroll inside their own region).
    await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth + 1, { timeout: 5_000 });
    await screenshotAndCheck(page, 'phone');
    expect(problems).toEqual([]);

    // Actions are refused without a token, whatever the request carries.
    const post = await fetch(`${url}/api/actions/reload`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: url }, body: '{}' });
    expect(post.status).toBe(403);
    // A page of another site that rebinds its name to 127.0.0.1 gets nothing (DNS rebinding).
    const rebound = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: evil.example:80', `${url}/api/events`, '--max-time', '3'], { encoding: 'utf8' });
    if (!rebound.error) expect(rebound.stdout).toBe('421');
    await page.close();
  });

  it('with a token: asks for it, offers reload, confirms it, shows its progress and outcome; refuses a POST without the token or from another Origin', async () => {
    const token = 'dashboard-test-token-0123456789';
    const { cluster, url } = await startCluster([], { SMARTWORKERS_STATUS_TOKEN: token });
    const { page, problems } = await open(url);
    await page.waitForSelector('#login:not([hidden])');
    await page.type('#token', token);
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.app tbody tr[data-state="ready"]');
    expect(await page.evaluate(() => location.href)).not.toContain(token);

    // Keyboard: Tab reaches the reload button, Enter opens the confirmation, Enter on Confirm posts.
    expect(await (await page.$('button[data-action="reload"]'))!.isVisible()).toBe(true);
    // From the top of the page, Tab reaches it; Esc cancels the confirmation and nothing is posted.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await tabTo(page, 'button[data-action="reload"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#confirm')?.hasAttribute('open'));
    expect(await page.$$('#action-list li')).toHaveLength(0);
    await tabTo(page, 'button[data-action="reload"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    await tabTo(page, '#confirm-ok', 5);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#action-list li.running, #action-list li.ok', { timeout: 5_000 });
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'reload', 2, 60_000, 'the reload');
    await page.waitForSelector('#action-list li.ok', { timeout: 10_000 });
    expect(await page.$eval('#action-list li.ok .action-message', (m) => m.textContent)).toMatch(/^done: reload of http: 2 worker\(s\) replaced/);
    await page.waitForSelector('#timeline-rows tr[data-reason="reload"]');
    await page.waitForFunction(() => document.querySelectorAll('article.app tbody tr[data-state="ready"]').length === 2);
    await screenshotAndCheck(page, 'with-token');
    expect(problems).toEqual([]);
    await page.close();

    const json = { 'Content-Type': 'application/json' };
    const noToken = await fetch(`${url}/api/actions/reload`, { method: 'POST', headers: { ...json, Origin: url }, body: '{}' });
    expect(noToken.status).toBe(401);
    const foreign = await fetch(`${url}/api/actions/reload`, { method: 'POST', headers: { ...json, Origin: 'http://evil.example', Authorization: `Bearer ${token}` }, body: '{}' });
    expect(foreign.status).toBe(403);
    const noOrigin = await fetch(`${url}/api/actions/reload`, { method: 'POST', headers: { ...json, Authorization: `Bearer ${token}` }, body: '{}' });
    expect(noOrigin.status).toBe(403);
    const stream = await fetch(`${url}/api/events`);
    expect(stream.status).toBe(401);
    // Only the one reload the page asked for happened.
    expect(cluster.lines.filter((l) => l.msg === 'dashboard action')).toHaveLength(1);
  });

  it('a reloaded page draws the last minutes at once; 9 tabs are all live on one shared stream, 8 isolated pages from one address on 8 streams, and the probes answer', async () => {
    const { url, port } = await startCluster([]);
    let done!: () => void;
    const loaded = load(port, { seconds: 120, connections: 4, until: new Promise<void>((r) => (done = r)) });
    const { page, problems } = await open(url);
    await page.waitForSelector('article.app tbody tr[data-state="ready"]');
    // The primary keeps a sample a second while a page streams.
    for (let i = 0; ; i++) {
      const { samples } = (await (await fetch(`${url}/api/history`)).json()) as { samples: unknown[] };
      if (samples.length >= 4) break;
      if (i > 100) throw new Error(`the history has ${samples.length} samples after ${i} tries`);
      await page.waitForFunction((t) => Number(document.body.dataset.updated ?? 0) > t, { timeout: 5_000 }, await page.evaluate(() => Number(document.body.dataset.updated ?? 0)));
    }
    await page.reload();
    // Drawn from GET /api/history, before the stream has sent a second update.
    await page.waitForFunction(() => Number(document.body.dataset.history ?? 0) >= 4 && ['rps', 'rss', 'loop', 'tasks'].every((c) => Number(document.getElementById(`chart-${c}`)?.dataset.points ?? 0) >= 4), { timeout: 3_000 });
    await page.waitForSelector('#chart-rss canvas');

    // 8 more pages at once: a browser keeps at most 6 connections to a host, so the tabs share one stream.
    const more = await Promise.all(Array.from({ length: 8 }, () => open(url)));
    const pages = [page, ...more.map((o) => o.page)];
    await allLive(pages, 10_000);
    const shared = await Promise.all(pages.map((p) => p.$eval('#link', (l) => l.textContent ?? '')));
    expect(shared.filter((t) => t === 'live')).toHaveLength(1);
    expect(shared.filter((t) => t === 'live (stream shared with another tab)')).toHaveLength(8);
    // Probes still answer at once with 9 pages open.
    const statusPort = Number(new URL(url).port);
    expect((await get(statusPort, '/healthz')).status).toBe(200);
    expect((await get(statusPort, '/readyz')).status).toBe(200);
    // The tab reading the stream closes: another takes it over, and every page left stays live.
    const leader = pages[shared.indexOf('live')];
    await leader.close();
    const left = pages.filter((p) => p !== leader);
    await allLive(left, 10_000);
    expect(await Promise.all(left.map((p) => p.$eval('#link', (l) => l.textContent ?? '')))).toContain('live');
    expect([...problems, ...more.flatMap((o) => o.problems)]).toEqual([]);
    await Promise.all(left.map((p) => p.close()));

    // 8 browsers on one machine (isolated contexts share nothing): 8 streams from one address, all live.
    // Opened one after another: 8 browsers starting at once on a loaded machine can leave a
    // preconnected socket idle past the status server's 2 s headers timeout (README, Dashboard).
    const contexts: BrowserContext[] = [];
    const isolated: Opened[] = [];
    for (let i = 0; i < 8; i++) {
      contexts.push(await browser.createBrowserContext());
      isolated.push(await open(url, 1280, contexts[i]));
    }
    await allLive(isolated.map((o) => o.page), 15_000);
    expect(await Promise.all(isolated.map((o) => o.page.$eval('#link', (l) => l.textContent ?? '')))).toEqual(Array(8).fill('live'));
    expect((await get(statusPort, '/healthz')).status).toBe(200);
    expect(isolated.flatMap((o) => o.problems)).toEqual([]);
    await Promise.all(contexts.map((c) => c.close()));
    done();
    expect((await loaded).requests).toBeGreaterThan(0);
  });
});
