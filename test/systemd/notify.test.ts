import { afterEach, describe, expect, it } from 'vitest';
import type { SmartworkersError } from '../../src/errors';
import { createNotifier, findProgram, formatNotifyMessage, NOTIFY_TRANSPORTS, type NotifyTransportName } from '../../src/systemd/notify';
import { startWatchdog, watchdogIntervalMs } from '../../src/systemd/watchdog';
import { startNotifyListener, type NotifyListener } from './listener';

const listeners: NotifyListener[] = [];
async function listen(kind: 'path' | 'abstract' = 'path'): Promise<NotifyListener> {
  const listener = await startNotifyListener(kind);
  listeners.push(listener);
  return listener;
}
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

const PATH = process.env.PATH;

describe('formatNotifyMessage', () => {
  it('joins KEY=VALUE lines with \\n and keeps each value on one line', () => {
    expect(formatNotifyMessage([['READY', 1], ['STATUS', 'a\nb\r\nc']])).toBe('READY=1\nSTATUS=a b c');
  });

  it('rejects a field name systemd would not parse', () => {
    expect(() => formatNotifyMessage([['ready', 1]])).toThrow(/notify field name/);
  });
});

describe('the helper programs this machine must provide', () => {
  it('has every transport of the fallback order on the PATH (install package `systemd` for systemd-notify)', () => {
    expect(NOTIFY_TRANSPORTS).toEqual(['systemd-notify', 'python3']);
    for (const name of NOTIFY_TRANSPORTS) expect(findProgram(name, PATH), name).not.toBeNull();
  });
});

describe('createNotifier without NOTIFY_SOCKET', () => {
  it('is disabled and every call is a no-op', async () => {
    const errors: SmartworkersError[] = [];
    const notifier = createNotifier({ PATH }, { onError: (e) => errors.push(e) });
    expect(notifier.enabled).toBe(false);
    expect(notifier.transport).toBeNull();
    expect(await notifier.ready('up')).toBe(false);
    expect(await notifier.watchdog()).toBe(false);
    await notifier.flush();
    expect(errors).toEqual([]);
    expect(startWatchdog(notifier, { env: { WATCHDOG_USEC: '1000000' } }).intervalMs).toBeNull();
  });
});

describe.each(NOTIFY_TRANSPORTS.map((t) => [t]))('createNotifier through %s', (transport: NotifyTransportName) => {
  it.each([['path'], ['abstract']] as const)('delivers the exact bytes of each message, in order, to a %s socket', async (kind) => {
    const listener = await listen(kind);
    const errors: SmartworkersError[] = [];
    const notifier = createNotifier({ NOTIFY_SOCKET: listener.address, PATH }, { transports: [transport], onError: (e) => errors.push(e) });
    expect(notifier.enabled).toBe(true);
    expect(notifier.transport).toBe(transport);

    // Fired without awaiting: the queue keeps them in order.
    const sent = [
      notifier.mainPid(4242),
      notifier.ready('2/2 workers ready'),
      notifier.reloading('reloading api'),
      notifier.ready(),
      notifier.status('2 workers, 0 tasks'),
      notifier.stopping('stopping: 3 tasks in flight'),
      notifier.watchdog(),
      notifier.send([['STATUS', 'ünïcode ✓']]),
    ];
    expect(await Promise.all(sent)).toEqual(sent.map(() => true));
    const messages = await listener.waitForMessages(8);
    expect(messages[0]).toBe('MAINPID=4242');
    expect(messages[1]).toBe('READY=1\nSTATUS=2/2 workers ready');
    expect(messages[2]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading api$/);
    expect(messages.slice(3)).toEqual([
      'READY=1',
      'STATUS=2 workers, 0 tasks',
      'STOPPING=1\nSTATUS=stopping: 3 tasks in flight',
      'WATCHDOG=1',
      'STATUS=ünïcode ✓',
    ]);
    const unicode = listener.datagrams.find((d) => d.text.startsWith('STATUS=ü'))!;
    expect(unicode.bytes.equals(Buffer.from('STATUS=ünïcode ✓', 'utf8'))).toBe(true);
    // Each message is followed by the barrier handshake, which carries one fd that the listener closed.
    // The listener may report the last one just after the 8th message: wait for it, do not count early.
    const isBarrier = (d: { text: string }): boolean => d.text === 'BARRIER=1';
    await listener.waitFor(() => listener.datagrams.filter(isBarrier).length >= 8, '8 barriers');
    const barriers = listener.datagrams.filter(isBarrier);
    expect(barriers).toHaveLength(8);
    expect(barriers.every((d) => d.fds === 1)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('reports a socket nobody listens on once per message and resolves false', async () => {
    const listener = await listen();
    const missing = `${listener.address}.missing`;
    const errors: SmartworkersError[] = [];
    const notifier = createNotifier({ NOTIFY_SOCKET: missing, PATH }, { transports: [transport], onError: (e) => errors.push(e) });
    expect(await notifier.ready()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('SW_NOTIFY_FAILED');
    expect(errors[0].message).toContain(missing);
    expect(errors[0].message).not.toContain('\n');
  });
});

describe('createNotifier with no helper program', () => {
  it('reports SW_NOTIFY_FAILED naming both programs and keeps going', async () => {
    const listener = await listen();
    const errors: SmartworkersError[] = [];
    const notifier = createNotifier({ NOTIFY_SOCKET: listener.address, PATH: '/nonexistent' }, { onError: (e) => errors.push(e) });
    expect(notifier.enabled).toBe(true);
    expect(notifier.transport).toBeNull();
    expect(await notifier.ready()).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['SW_NOTIFY_FAILED']);
    expect(errors[0].message).toMatch(/systemd-notify nor python3/);
  });
});

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC in ms', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 10)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '10' }, 10)).toBe(15_000);
  });

  it('is off without WATCHDOG_USEC, with a malformed one, or when WATCHDOG_PID names another process', () => {
    expect(watchdogIntervalMs({}, 10)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 10)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 10)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '11' }, 10)).toBeNull();
  });
});

describe('startWatchdog', () => {
  it('sends WATCHDOG=1 at half the interval while healthy', async () => {
    const listener = await listen();
    const env = { NOTIFY_SOCKET: listener.address, PATH, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) };
    const notifier = createNotifier(env);
    const handle = startWatchdog(notifier, { env });
    expect(handle.intervalMs).toBe(100);
    try {
      const messages = await listener.waitForMessages(3);
      expect(messages.slice(0, 3)).toEqual(['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']);
    } finally {
      handle.stop();
      await notifier.flush();
    }
  });

  it('sends nothing while the supervisor says it is unhealthy', async () => {
    const listener = await listen();
    const env = { NOTIFY_SOCKET: listener.address, PATH, WATCHDOG_USEC: '100000' };
    const notifier = createNotifier(env);
    let checks = 0;
    let thirdCheck!: () => void;
    const checked = new Promise<void>((resolve) => (thirdCheck = resolve));
    const handle = startWatchdog(notifier, {
      env,
      isHealthy: () => {
        if (++checks === 3) thirdCheck();
        return false;
      },
    });
    await checked;
    handle.stop();
    await notifier.flush();
    // A marker proves the socket works and that nothing was queued before it.
    await notifier.status('marker');
    expect(await listener.waitForMessages(1)).toEqual(['STATUS=marker']);
  });
});
