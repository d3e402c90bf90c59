/**
 * What the notifier must do through any helper program and listener (a kit): test/systemd/
 * runs it with the stand-in, test/tools/ with the real systemd-notify and python3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmartworkersError } from '../../src/errors';
import { createNotifier } from '../../src/systemd/notify';
import { startWatchdog } from '../../src/systemd/watchdog';
import type { NotifyListener } from './listener';
import type { NotifyKit } from './notify-kits';

export function notifierContract(kit: NotifyKit): void {
  const PATH = kit.PATH;
  const listeners: NotifyListener[] = [];
  async function listen(kind: 'path' | 'abstract' = 'path'): Promise<NotifyListener> {
    const listener = await kit.listen(kind);
    listeners.push(listener);
    return listener;
  }
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  describe(`createNotifier through ${kit.name}`, () => {
    it.each([['path'], ['abstract']] as const)('delivers the exact bytes of each message, in order, to a %s socket', async (kind) => {
      const listener = await listen(kind);
      const errors: SmartworkersError[] = [];
      const notifier = createNotifier({ NOTIFY_SOCKET: listener.address, PATH }, { transports: [kit.transport], onError: (e) => errors.push(e) });
      expect(notifier.enabled).toBe(true);
      expect(notifier.transport).toBe(kit.transport);

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
      expect(await Promise.all(sent), JSON.stringify(errors)).toEqual(sent.map(() => true));
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
      expect(errors).toEqual([]);
      if (!kit.barriers) return;
      // Each message is followed by the barrier handshake, which carries one fd that the listener closed.
      // The listener may report the last one just after the 8th message: wait for it, do not count early.
      const isBarrier = (d: { text: string }): boolean => d.text === 'BARRIER=1';
      await listener.waitFor(() => listener.datagrams.filter(isBarrier).length >= 8, '8 barriers');
      const barriers = listener.datagrams.filter(isBarrier);
      expect(barriers).toHaveLength(8);
      expect(barriers.every((d) => d.fds === 1)).toBe(true);
    });

    it('reports a socket nobody listens on once per message and resolves false', async () => {
      const listener = await listen();
      const missing = `${listener.address}.missing`;
      const errors: SmartworkersError[] = [];
      const notifier = createNotifier({ NOTIFY_SOCKET: missing, PATH }, { transports: [kit.transport], onError: (e) => errors.push(e) });
      expect(await notifier.ready()).toBe(false);
      expect(errors).toHaveLength(1);
      expect(errors[0].code).toBe('SW_NOTIFY_FAILED');
      expect(errors[0].message).toContain(missing);
      expect(errors[0].message).not.toContain('\n');
    });
  });

  describe(`startWatchdog through ${kit.name}`, () => {
    it('sends WATCHDOG=1 at half the interval while healthy', async () => {
      const listener = await listen();
      const env = { NOTIFY_SOCKET: listener.address, PATH, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) };
      const notifier = createNotifier(env, { transports: [kit.transport] });
      expect(notifier.transport).toBe(kit.transport);
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
      const notifier = createNotifier(env, { transports: [kit.transport] });
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
}
