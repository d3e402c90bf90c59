import { describe, expect, it } from 'vitest';
import { workerEnv } from '../../src/supervisor/clusterHost';
import type { ForkSpec } from '../../src/supervisor/host';
import { appSettings } from './helpers';

function spec(overrides: Partial<ForkSpec> & { app?: Partial<ForkSpec['app']> } = {}): ForkSpec {
  const { app, ...rest } = overrides;
  return { id: 7, slot: 1, generation: 3, requestLimit: 0, pmId: 4, instances: 2, ...rest, app: appSettings({ name: 'api', ...app }) };
}

describe('workerEnv', () => {
  it("sets the slot, generation and the variables pm2 sets that apps read (name, pm_id, instances, exec_mode)", () => {
    const env = workerEnv(spec(), { PATH: '/bin' });
    expect(env).toMatchObject({
      PATH: '/bin',
      NODE_APP_INSTANCE: '1',
      SMARTWORKERS_WORKER_ID: '1',
      SMARTWORKERS_GENERATION: '3',
      name: 'api',
      pm_id: '4',
      instances: '2',
      exec_mode: 'cluster_mode',
    });
  });

  it("lets the app's own env win over pm2's variables, never over the slot", () => {
    const env = workerEnv(spec({ app: { env: { name: 'mine', NODE_APP_INSTANCE: '9' } } }), {});
    expect(env.name).toBe('mine');
    expect(env.NODE_APP_INSTANCE).toBe('1');
  });

  it('renames NODE_APP_INSTANCE with instance_var', () => {
    const env = workerEnv(spec({ app: { instanceVar: 'INSTANCE_ID' } }), {});
    expect(env.INSTANCE_ID).toBe('1');
    expect(env.NODE_APP_INSTANCE).toBeUndefined();
  });

  it("adds the slot to increment_var's value from the app's env or the primary's, 0 when it is not a number", () => {
    expect(workerEnv(spec({ slot: 2, app: { incrementVar: 'PORT', env: { PORT: '3000' } } }), { PORT: '80' }).PORT).toBe('3002');
    expect(workerEnv(spec({ slot: 2, app: { incrementVar: 'PORT' } }), { PORT: '8080' }).PORT).toBe('8082');
    expect(workerEnv(spec({ slot: 2, app: { incrementVar: 'SHARD' } }), {}).SHARD).toBe('2');
    expect(workerEnv(spec({ slot: 0, app: { incrementVar: 'PORT', env: { PORT: 'auto' } } }), {}).PORT).toBe('0');
  });

  it("never passes the primary's systemd channel to a worker", () => {
    const env = workerEnv(spec(), { NOTIFY_SOCKET: '/run/notify', WATCHDOG_USEC: '1', WATCHDOG_PID: '1' });
    expect(env.NOTIFY_SOCKET).toBeUndefined();
    expect(env.WATCHDOG_USEC).toBeUndefined();
  });
});
