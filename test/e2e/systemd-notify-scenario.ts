/**
 * A real primary under a stand-in for systemd: NOTIFY_SOCKET points at a listener (see
 * test/systemd/listener.ts), and the test reads what arrives there during start, a SIGHUP reload
 * and a SIGTERM stop — the messages a `Type=notify` unit relies on. Run with the stand-in helper
 * by test/e2e/systemd.test.ts, with the real systemd-notify by test/tools/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProgram } from '../../src/systemd/notify';
import type { NotifyListener } from '../systemd/listener';
import type { NotifyKit } from '../systemd/notify-kits';
import { cleanup, FIXTURES, run, tempDir } from './harness';

/** A directory whose `systemd-notify` waits 600 ms, then runs the kit's one. */
function slowSystemdNotify(kit: NotifyKit): string {
  const real = findProgram('systemd-notify', kit.PATH);
  if (real === null) throw new Error(`systemd-notify is not on ${kit.name}'s PATH ${kit.PATH} (apt-get install systemd)`);
  const dir = tempDir();
  const wrapper = path.join(dir, 'systemd-notify');
  // Node, not sh + sleep: the stand-in's PATH holds nothing else. A Node helper (the stand-in) runs
  // in the wrapper's own process: one slow start on a busy machine, not two.
  const inProcess = fs.readFileSync(real, 'utf8').startsWith('#!/usr/bin/env node');
  const exec = inProcess
    ? `require(${JSON.stringify(real)})`
    : `process.exit(require('node:child_process').spawnSync(${JSON.stringify(real)}, process.argv.slice(2), { stdio: 'inherit' }).status ?? 1)`;
  fs.writeFileSync(wrapper, `#!/usr/bin/env node\nsetTimeout(() => ${exec}, 600);\n`);
  fs.chmodSync(wrapper, 0o755);
  return dir;
}

/** The messages that are not watchdog pings, each as `KEY=VALUE` lines. */
function lifecycle(listener: NotifyListener): string[] {
  return listener.messages().filter((m) => m !== 'WATCHDOG=1');
}

export function notifyFromRealPrimary(kit: NotifyKit): void {
  const listeners: NotifyListener[] = [];
  afterEach(async () => {
    await cleanup();
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  describe(`systemd notify from a real primary through ${kit.name}`, () => {
    it('sends MAINPID and READY=1 once every worker is ready, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM', async () => {
      const listener = await kit.listen();
      listeners.push(listener);
      const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--log-format', 'json'], {
        NOTIFY_SOCKET: listener.address,
        WATCHDOG_USEC: '2000000', // WatchdogSec=2: a ping every second
        // A systemd-notify that takes 600 ms per message, as on a busy host: the messages queue up,
        // and STOPPING=1 must still go out before the primary exits.
        PATH: `${slowSystemdNotify(kit)}${path.delimiter}${kit.PATH}`,
      });

      // Generous bounds: every message starts a helper process, slow to start on a busy machine.
      const ready = await listener.waitFor((d) => d.text.startsWith('READY=1'), 'READY=1', 120_000);
      // Only once both workers are ready (the status is computed when it is sent).
      expect(ready.text).toBe('READY=1\nSTATUS=2/2 workers ready, 0 active task(s)');
      expect(lifecycle(listener)[0]).toBe(`MAINPID=${cluster.pid}`);
      await listener.waitFor((d) => d.text === 'WATCHDOG=1', 'WATCHDOG=1', 120_000);

      cluster.signal('SIGHUP');
      await listener.waitFor((d) => d.text.startsWith('RELOADING=1'), 'RELOADING=1', 120_000);
      await listener.waitFor(
        () => lifecycle(listener).filter((m) => m.startsWith('READY=1')).length === 2,
        'READY=1 after the reload',
        120_000,
      );
      await cluster.waitForCount((l) => l.msg === 'worker retiring' && l.reason === 'reload', 2, 120_000, 'both workers replaced');

      cluster.signal('SIGTERM');
      await listener.waitFor((d) => d.text.startsWith('STOPPING=1'), 'STOPPING=1', 120_000);
      expect((await cluster.exited).code).toBe(0);

      const received = lifecycle(listener);
      expect(received.map((m) => m.split('\n')[0])).toEqual(['MAINPID=' + cluster.pid, 'READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
      expect(received[2]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading: \d\/2 workers ready, 0 active task\(s\)$/);
      expect(received[3]).toBe('READY=1\nSTATUS=2/2 workers ready, 0 active task(s)');
      expect(received[4]).toMatch(/^STOPPING=1\nSTATUS=stopping: /);
    }, 600_000);
  });
}
