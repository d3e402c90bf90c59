import { afterEach, describe, expect, it } from 'vitest';
import type { SmartworkersError } from '../../src/errors';
import { createNotifier, formatNotifyMessage } from '../../src/systemd/notify';
import { startWatchdog, watchdogIntervalMs } from '../../src/systemd/watchdog';
import type { NotifyListener } from './listener';
import { notifierContract } from './notify-contract';
import { STAND_IN } from './notify-kits';

const listeners: NotifyListener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

const PATH = STAND_IN.PATH;

describe('formatNotifyMessage', () => {
  it('joins KEY=VALUE lines with \\n and keeps each value on one line', () => {
    expect(formatNotifyMessage([['READY', 1], ['STATUS', 'a\nb\r\nc']])).toBe('READY=1\nSTATUS=a b c');
  });

  it('rejects a field name systemd would not parse', () => {
    expect(() => formatNotifyMessage([['ready', 1]])).toThrow(/notify field name/);
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

notifierContract(STAND_IN);

describe('createNotifier with no helper program', () => {
  it('reports SW_NOTIFY_FAILED naming both programs and keeps going', async () => {
    const listener = await STAND_IN.listen();
    listeners.push(listener);
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
