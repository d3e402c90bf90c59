/**
 * The real `promtool check metrics` (Debian package `prometheus`, installed by .ci/run) on the
 * texts test/status/prometheus-text.test.ts checks without it, and on a real cluster's /metrics.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, FIXTURES, get, isMsg, run } from '../e2e/harness';
import { EXPOSITION_CASES } from '../status/exposition-cases';
import { checkMetrics } from '../status/prometheus-text';

afterEach(cleanup);

function promtool(text: string): { code: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`promtool could not run (apt-get install prometheus): ${result.error.message}`);
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describe('promtool agrees with the test parser', () => {
  it.each(EXPOSITION_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const verdict = promtool(c.text);
    if (c.problem === null) expect(verdict).toEqual({ code: 0, output: '' });
    else if (c.promtool !== false) expect(verdict.code, verdict.output).not.toBe(0);
  });
});

describe("a real cluster's /metrics", () => {
  it('passes promtool and the test parser after reloads, recycles and tasks', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--max-requests', '20', '--status-listen', '127.0.0.1:0', '--summary-interval', '0', '--log-format', 'json']);
    const ready = await cluster.waitFor(isMsg('control socket ready'), 30_000, 'control socket ready');
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2, 30_000, '2 workers ready');
    for (let i = 0; i < 45; i++) expect((await get(port, i % 9 === 0 ? '/task?ms=50' : '/')).status).toBe(200);
    await cluster.waitFor((l) => l.msg === 'worker exited' && l.reason === 'max_requests', 60_000, 'a max_requests recycle');
    const text = await (await fetch(`${ready.statusUrl as string}/metrics`)).text();
    expect(promtool(text)).toEqual({ code: 0, output: '' });
    expect(checkMetrics(text)).toEqual([]);
  }, 120_000);
});
