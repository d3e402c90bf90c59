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

/** One ready worker of 'api' whose reload's replacement (a broken config) failed its boot once. */
function failedReplacement(): { sim: Sim; oldId: number } {
  const broken = settingsWith({ name: 'api', workers: 1 });
  const sim = new Sim(broken);
  sim.boot();
  const oldId = sim.workers('ready')[0]!.id;
  sim.send({ type: 'settings', settings: broken });
  sim.exit(sim.workers('starting')[0]!.id, 1);
  return { sim, oldId };
}

describe('a reload while a failed replacement waits for its retry', () => {
  it('forks nothing until the new settings arrive: the retry that is due boots the new config, not the broken one', () => {
    const { sim, oldId } = failedReplacement();
    const old = sim.worker(oldId);
    expect(sim.worker(old!.id).recycle).toMatchObject({ reason: 'reload', failedAttempts: 1 });
    // The retry's backoff passes with no tick yet (a loaded machine's timers run late) ...
    sim.now = sim.worker(old!.id).recycle!.retryAt + 1;
    sim.take();
    // ... and the step that asks for the new config is the first to see it: it must not fork the
    // retry with the old config (the new settings are the next event).
    expect(sim.send({ type: 'command', command: { kind: 'reload' } }).filter((e) => e.type === 'fork')).toEqual([]);
    const fixed = settingsWith({ name: 'api', workers: 1, env: { RELEASE: '2' } });
    expect(sim.send({ type: 'settings', settings: fixed }).filter((e) => e.type === 'fork')).toHaveLength(1);
    expect(sim.state.apps.api!.settings.env).toEqual({ RELEASE: '2' });
  });
});

describe('a reload while the replacement of a failed config is booting', () => {
  it('marks that replacement, and clears the backoff the old config earned: should it fail too, the new config is tried after the first backoff, not the fourth', () => {
    const { sim, oldId } = failedReplacement();
    const old = sim.worker(oldId);
    for (let attempt = 1; attempt < 3; attempt++) {
      sim.now = sim.worker(old!.id).recycle!.retryAt;
      sim.send({ type: 'tick' });
      sim.exit(sim.workers('starting')[0]!.id, 1);
    }
    sim.now = sim.worker(old!.id).recycle!.retryAt;
    sim.send({ type: 'tick' });
    expect(sim.worker(old!.id).recycle).toMatchObject({ failedAttempts: 3 });
    const firstDelay = (() => {
      const probe = failedReplacement();
      return probe.sim.worker(probe.oldId).recycle!.retryAt - probe.sim.now;
    })();
    const booting = sim.workers('starting')[0]!;
    sim.send({ type: 'settings', settings: settingsWith({ name: 'api', workers: 1, env: { RELEASE: '2' } }) });
    expect(sim.worker(booting.id).recycle).toMatchObject({ reason: 'reload' });
    expect(sim.worker(old!.id).recycle).toMatchObject({ failedAttempts: 0, retryAt: 0 });
    sim.take();
    sim.exit(booting.id, 1); // it still ran the old config
    expect(sim.worker(old!.id).recycle).toMatchObject({ failedAttempts: 1, retryAt: sim.now + firstDelay });
    sim.now += firstDelay;
    sim.send({ type: 'tick' });
    expect(sim.of('fork')).toHaveLength(1);
  });
});
