/**
 * An app added to a running cluster (a reload or `deploy` of a config with a new app) that cannot
 * boot is backed off on its own: it never stops the apps that serve. At the first start, a broken
 * app still fails fast (exit 3).
 */
import { describe, expect, it } from 'vitest';
import { appSettings, settingsWith, Sim } from './helpers';

describe('an app added by a deploy', () => {
  it('fails to boot: backed off, the cluster keeps running; at the first start the other app keeps it running too (isolation)', () => {
    const sim = new Sim(settingsWith({ name: 'api', workers: 1 }));
    sim.boot();
    const settings = { ...settingsWith({ name: 'api', workers: 1 }) };
    settings.apps = [...settings.apps, appSettings({ name: 'jobs', workers: 1 })];
    sim.send({ type: 'settings', settings });
    expect(sim.state.apps.jobs).toMatchObject({ addedLater: true });
    const jobs = sim.workers('starting').find((w) => w.app === 'jobs')!;
    sim.exit(jobs.id, 1);
    expect(sim.state.phase).toBe('running');
    expect(sim.state.exitCode).toBeNull();
    expect(sim.take().some((e) => e.type === 'log' && /restarting slot 0 in \d+ms \(backoff\)/.test(e.msg))).toBe(true);

    const first = new Sim({ ...settings });
    first.send({ type: 'start' });
    for (const w of first.workers('starting')) if (w.app === 'api') first.send({ type: 'listening', id: w.id });
    first.exit(first.workers('starting').find((w) => w.app === 'jobs')!.id, 1);
    // One broken app never takes the others down (policy/isolation.ts): only when no app boots is it exit 3.
    expect(first.state).toMatchObject({ phase: 'running', exitCode: null });
  });
});
