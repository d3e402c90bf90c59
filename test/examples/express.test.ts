import { afterEach, describe, expect, it } from 'vitest';
import { exampleFile, loadExampleConfig } from './helpers';
import { runApp, type RunningApp } from './processes';

const dir = exampleFile('express');
const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

async function post(port: number, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

describe('examples/express', () => {
  it('answers 202 at once and runs the email, SMS and batch as tracked background tasks', async () => {
    // Long enough for the work to be seen running; the test waits on the app's own log lines.
    const app = runApp(`${dir}/app.js`, { PORT: '0', EMAIL_MS: '400', SMS_MS: '300', BATCH_ROW_MS: '20' }, dir);
    running.push(app);
    const port = Number(/listening on port (\d+)/.exec(await app.line(/^listening on port \d+$/))![1]);

    expect(await post(port, '/signup', { email: 'ada@example.com' })).toEqual({ status: 202, json: { queued: 'email' } });
    expect(await post(port, '/orders/42/ship', { phone: '+15550100' })).toEqual({ status: 202, json: { queued: 'sms' } });
    expect(await post(port, '/reports', { rows: 10 })).toEqual({ status: 202, json: { queued: 'batch', rows: 10 } });

    // One snapshot: each task is still running (listed, with its description) or already completed
    // (counted). On a busy machine a short task may be done before the listing is asked for.
    const listed = (await (await fetch(`http://127.0.0.1:${port}/tasks`)).json()) as {
      active: Array<{ type: string; description: string }>;
      stats: { byType: Record<string, { completed: number }> };
    };
    const described: Record<string, string> = { batch: 'report of 10 rows', email: 'welcome ada@example.com', sms: '+15550100: order 42 shipped' };
    for (const t of listed.active) expect([t.type, t.description]).toEqual([t.type, described[t.type]]);
    const completed = Object.keys(listed.stats.byType).filter((type) => listed.stats.byType[type]!.completed > 0);
    expect([...listed.active.map((t) => t.type), ...completed].sort(), JSON.stringify(listed)).toEqual(['batch', 'email', 'sms']);

    await app.line(/^email sent to ada@example\.com$/);
    await app.line(/^sms sent to \+15550100: order 42 shipped$/);
    await app.line(/^batch done: 10 rows$/);
    const after = (await (await fetch(`http://127.0.0.1:${port}/tasks`)).json()) as { active: unknown[]; stats: { completed: number; byType: Record<string, { completed: number }> } };
    expect(after.active).toEqual([]);
    expect(after.stats.completed).toBe(3);
    expect(Object.keys(after.stats.byType).sort()).toEqual(['batch', 'email', 'sms']);
  });

  it('rejects bad input without starting work', async () => {
    const app = runApp(`${dir}/app.js`, { PORT: '0' }, dir);
    running.push(app);
    const port = Number(/listening on port (\d+)/.exec(await app.line(/^listening on port \d+$/))![1]);
    expect(await post(port, '/signup', {})).toEqual({ status: 400, json: { error: 'email required' } });
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    const listed = (await (await fetch(`http://127.0.0.1:${port}/tasks`)).json()) as { stats: { started: number } };
    expect(listed.stats.started).toBe(0);
  });

  it('has a config that lets a recycled worker wait for its tasks', () => {
    const [app] = loadExampleConfig('express', 'workers.yaml').apps;
    expect(app.script).toBe(`${dir}/app.js`);
    expect(app.maxRequests).toBeGreaterThan(0);
    expect(app.maxTaskWait).toBe(60_000);
    expect(app.gracefulTimeout).toBeGreaterThanOrEqual(app.maxTaskWait);
  });
});
