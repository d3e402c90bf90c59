/**
 * A real primary under a stand-in for systemd: NOTIFY_SOCKET points at a real Unix datagram
 * socket (bound by python3, see test/systemd/listener.ts), and the test reads what arrives
 * there during start, a SIGHUP reload and a SIGTERM stop — the messages a `Type=notify` unit
 * relies on.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startNotifyListener, type NotifyListener } from '../systemd/listener';
import { cleanup, FIXTURES, run } from './harness';

const listeners: NotifyListener[] = [];
afterEach(async () => {
  await cleanup();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

/** The messages that are not watchdog pings, each as `KEY=VALUE` lines. */
function lifecycle(listener: NotifyListener): string[] {
  return listener.messages().filter((m) => m !== 'WATCHDOG=1');
}

describe('systemd notify from a real primary', () => {
  it('sends MAINPID and READY=1 once every worker is ready, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM', async () => {
    const listener = await startNotifyListener();
    listeners.push(listener);
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--log-format', 'json'], {
      NOTIFY_SOCKET: listener.address,
      WATCHDOG_USEC: '1000000', // WatchdogSec=1: a ping every 500 ms
    });

    const ready = await listener.waitFor((d) => d.text.startsWith('READY=1'), 'READY=1', 20_000);
    // Only once both workers are ready (the status is computed when it is sent).
    expect(ready.text).toBe('READY=1\nSTATUS=2/2 workers ready, 0 active task(s)');
    expect(lifecycle(listener)[0]).toBe(`MAINPID=${cluster.pid}`);
    await listener.waitFor((d) => d.text === 'WATCHDOG=1', 'WATCHDOG=1', 5_000);

    cluster.signal('SIGHUP');
    await listener.waitFor((d) => d.text.startsWith('RELOADING=1'), 'RELOADING=1');
    await listener.waitFor(
      () => lifecycle(listener).filter((m) => m.startsWith('READY=1')).length === 2,
      'READY=1 after the reload',
      20_000,
    );
    await cluster.waitForCount((l) => l.msg === 'worker retiring' && l.reason === 'reload', 2, 5_000, 'both workers replaced');

    cluster.signal('SIGTERM');
    await listener.waitFor((d) => d.text.startsWith('STOPPING=1'), 'STOPPING=1');
    expect((await cluster.exited).code).toBe(0);

    const received = lifecycle(listener);
    expect(received.map((m) => m.split('\n')[0])).toEqual(['MAINPID=' + cluster.pid, 'READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1']);
    expect(received[2]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading: \d\/2 workers ready, 0 active task\(s\)$/);
    expect(received[3]).toBe('READY=1\nSTATUS=2/2 workers ready, 0 active task(s)');
    expect(received[4]).toMatch(/^STOPPING=1\nSTATUS=stopping: /);
  });
});
