/**
 * The dashboard in a real browser: Debian's Chromium (scripts/install-chromium.sh, run by
 * .ci/run) driven by playwright-core, which never downloads a browser, against real clusters.
 * Screenshots go to test-results/dashboard/ and are checked: not blank, every section drawn.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanup, FIXTURES, get, isMsg, load, ROOT, run, type Cluster } from '../e2e/harness';

const OUT = path.join(ROOT, 'test-results', 'dashboard');
const SECTIONS = ['workers', 'charts', 'timeline', 'tasks'];

let browser: Browser;

function chromiumPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('chromium is not installed: run scripts/install-chromium.sh (as .ci/run does)');
  return found;
}

beforeAll(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(cleanup);

interface Opened {
  page: Page;
  /** Console errors, page errors, failed requests: none is expected. */
  problems: string[];
}

async function open(url: string, width = 1280): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The stream is cut when the page closes: not a failure of the page.
    if (!r.url().endsWith('/api/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  await page.goto(`${url}/`);
  return { page, problems };
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

/**
 * How many distinct colours a screenshot has, decoded by the browser itself (a blank page has
 * one or two). Done in a page of its own, with no CSP.
 */
async function colours(png: Buffer): Promise<number> {
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
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

/** Saves the page and each section, and checks each is drawn (not one flat colour) with its heading. */
async function screenshotAndCheck(page: Page, name: string): Promise<void> {
  const full = await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
  expect(await colours(full), `${name}.png is blank`).toBeGreaterThan(20);
  for (const id of SECTIONS) {
    const section = page.locator(`#${id}`);
    await expect(section.isVisible()).resolves.toBe(true);
    const shot = await section.screenshot({ path: path.join(OUT, `${name}-${id}.png`) });
    expect(await colours(shot), `section ${id} of ${name} is blank`).toBeGreaterThan(5);
    expect(await section.locator('h2').textContent()).toBeTruthy();
  }
}

describe('the dashboard in Chromium', () => {
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
    }, expected, { timeout: 5_000 }).catch(async () => {
      throw new Error(`table ${JSON.stringify(await tableRows(page))} != status --json ${JSON.stringify(expected)}`);
    });
    // Read-only: no action is offered.
    expect(await page.locator('button:has-text("Reload")').count()).toBe(0);
    expect(await page.locator('button:has-text("Recycle")').count()).toBe(0);
    expect(await page.locator('#stop').count()).toBe(0);

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
    await page.waitForFunction((id) => document.querySelector(`#timeline-rows tr[data-key="${id}"] .c-status`)?.textContent?.startsWith('exited'), String(line.worker), { timeout: 30_000 });

    // Running tasks: listed with their type, and counted in the chart.
    for (let i = 0; i < 4; i++) expect((await get(port, '/task?ms=20000')).status).toBe(200);
    await page.waitForFunction(() => document.querySelectorAll('#task-rows tr').length === 4, undefined, { timeout: 10_000 });
    expect(await page.locator('#task-rows tr').first().textContent()).toContain('job');

    // The workers' environment is never shown.
    expect(await page.content()).not.toContain('env-secret-4242');
    await screenshotAndCheck(page, 'read-only');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth + 1, undefined, { timeout: 5_000 });
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
    await page.fill('#token', token);
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.app tbody tr[data-state="ready"]');
    expect(await page.evaluate(() => location.href)).not.toContain(token);

    // Keyboard: Tab reaches the reload button, Enter opens the confirmation, Enter on Confirm posts.
    const reload = page.locator('button[data-action="reload"]');
    await expect(reload.isVisible()).resolves.toBe(true);
    await reload.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    await page.locator('#confirm-ok').focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#action-list li.running, #action-list li.ok', { timeout: 5_000 });
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'reload', 2, 60_000, 'the reload');
    await page.waitForSelector('#action-list li.ok', { timeout: 10_000 });
    expect(await page.locator('#action-list li.ok .action-message').textContent()).toMatch(/^done: reload of http: 2 worker\(s\) replaced/);
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
});
