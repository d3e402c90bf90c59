/**
 * SW_BOOT_FAILED says what went wrong: an app that never listens printed no error of its own,
 * so "read the app's error above" pointed at nothing. The real CLI, a real app.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeBootFailure } from '../../src/errors';
import { cleanup, run, tempDir } from '../e2e/harness';

afterEach(cleanup);

describe('SW_BOOT_FAILED names the cause', () => {
  it('an app that never listens, with the default ready_on: no server listened within boot_timeout; use ready_on: online', async () => {
    const app = path.join(tempDir(), 'consumer.js');
    writeFileSync(app, 'setInterval(() => {}, 1000); // a queue consumer: no server\n');
    const cluster = run(['start', app, '--workers', '1', '--boot-timeout', '1s', '--log-format', 'json']);
    const line = await cluster.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('SW_BOOT_FAILED'), 30_000, 'the SW_BOOT_FAILED line');
    expect(line.msg).toBe("no worker of app 'consumer' could boot: no server listened within boot_timeout (1s); stopping [SW_BOOT_FAILED]");
    expect(line.fix).toMatch(/needs `ready_on: online`, or `ready_on: message` and `process.send\('ready'\)`/);
    expect(line.fix).not.toMatch(/error above/);
    expect((await cluster.exited).code).toBe(3);
  }, 60_000);

  it('a crash still points at the app\'s own error; a missing ready message says so', () => {
    const base = { app: 'api', bootTimeoutMs: 30_000 };
    expect(describeBootFailure({ ...base, readyOn: 'listening', timedOut: false })).toEqual({
      msg: "no worker of app 'api' could boot; stopping [SW_BOOT_FAILED]",
      fix: "read the app's own error above; run it with `node <script>` to reproduce",
    });
    expect(describeBootFailure({ ...base, readyOn: 'message', timedOut: true }).msg).toBe(
      "no worker of app 'api' could boot: the app did not send 'ready' within boot_timeout (30s); stopping [SW_BOOT_FAILED]",
    );
    expect(describeBootFailure({ ...base, readyOn: 'online', timedOut: true }).msg).toContain('no worker process came online within boot_timeout (30s)');
  });
});
