/**
 * `smartworkers deploy`: the real CLI starts the cluster when none runs, then rolls it onto a
 * changed config (one app added, one removed, one changed) under keep-alive load with no failed
 * request on the app that stays; a deploy whose new workers cannot boot exits 3 with their error
 * and the old workers still serving.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { cli, freePort, killDaemons, registeredPids, useStateDir } from './daemon-helpers';
import { alive, cleanup, FIXTURES, get, load, tempDir } from './harness';

afterEach(async () => {
  killDaemons();
  await cleanup();
});

const HTTP = JSON.stringify(path.join(FIXTURES, 'http.cjs'));

const app = (name: string, workers: number, extra = ''): string => `  - name: ${name}\n    app: ${HTTP}\n    workers: ${workers}\n${extra}`;

describe('deploy', () => {
  it('starts the cluster when none runs, then rolls onto a changed config under load with zero failed requests; a broken one exits 3, old workers serving', async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const port = await freePort();
    const v1 = path.join(dir, 'workers.yaml');
    writeFileSync(v1, `summary_interval: 0\napps:\n${app('api', 2, `    env: { PORT: "${port}" }\n`)}${app('legacy', 1)}`);

    const first = await cli(env, dir, 'deploy', v1);
    expect(first.stderr).toBe(`smartworkers: no cluster runs for ${v1}: starting it in the background\n`);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/started in the background \(primary pid \d+\): api 2 ready, legacy 1 ready\n/);
    const [pid] = registeredPids(stateDir);

    // v2: api changed (max_requests, an env var), legacy removed, reports added.
    const v2 = path.join(dir, 'workers.v2.yaml');
    writeFileSync(v2, `summary_interval: 0\napps:\n${app('api', 2, `    max_requests: 100000\n    env: { PORT: "${port}", RELEASE: "2" }\n`)}${app('reports', 1)}`);
    const deploying = cli(env, '/', 'deploy', v2);
    const traffic = await load(port, { seconds: 60, connections: 20, until: deploying.then(() => new Promise((r) => setTimeout(r, 500))) });
    const deployed = await deploying;
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(new RegExp(`^smartworkers: deployed ${v2.replace(/[.]/g, '\\.')} in [\\d.]+s: started reports; stopped legacy; rolled api\\n$`));
    expect(traffic.requests).toBeGreaterThan(100);
    expect(traffic).toMatchObject({ failed: 0, errors: 0, non2xx: 0, timeouts: 0 });

    const status = JSON.parse((await cli(env, '/', 'status', '--json')).stdout) as StatusSnapshot;
    expect(status.primary).toMatchObject({ pid, configSource: v2 });
    const live = status.workers.filter((w) => w.state === 'ready');
    expect(live.map((w) => w.app).sort()).toEqual(['api', 'api', 'reports']);
    expect(live.filter((w) => w.app === 'api').every((w) => w.generation === 1)).toBe(true);
    expect(status.workers.some((w) => w.app === 'legacy')).toBe(false);

    // v3: api's new workers crash at boot. The deploy fails with their error; the old ones serve on.
    const v3 = path.join(dir, 'workers.v3.yaml');
    writeFileSync(v3, `summary_interval: 0\napps:\n${app('api', 2, `    env: { PORT: "${port}", BREAK_FROM_GENERATION: "2" }\n`)}${app('reports', 1)}`);
    const broken = await cli(env, '/', 'deploy', v3);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain('Error: broken build (generation 2)');
    expect(broken.stderr).toMatch(/smartworkers: deploy failed: a worker of api \(slot \d\) could not boot; the workers that served before keep serving/);
    expect((await get(port)).status).toBe(200);
    const after = JSON.parse((await cli(env, '/', 'status', '--json')).stdout) as StatusSnapshot;
    expect(after.workers.filter((w) => w.app === 'api' && w.state === 'ready' && w.generation === 1)).toHaveLength(2);

    // An added app that cannot boot: exit 3 with its error; it never stops the apps that serve.
    const v5 = path.join(dir, 'workers.v5.yaml');
    writeFileSync(v5, `summary_interval: 0\napps:\n${app('api', 2, `    env: { PORT: "${port}", RELEASE: "5" }\n`)}  - name: worker\n    app: ${JSON.stringify(path.join(FIXTURES, 'boot-fail.cjs'))}\n    workers: 1\n`);
    const added = await cli(env, '/', 'deploy', v5);
    expect(added.code).toBe(3);
    expect(added.stderr).toContain('Error: database URL missing: set DATABASE_URL');
    expect(added.stderr).toMatch(/deploy failed: a worker of worker \(slot 0\) could not boot/);
    expect((await get(port)).status).toBe(200);
    expect(JSON.parse((await cli(env, '/', 'status', '--json')).stdout).primary.pid).toBe(pid);

    // A bad config changes nothing: exit 2.
    const v4 = path.join(dir, 'workers.v4.yaml');
    writeFileSync(v4, `apps:\n${app('api', 2, '    max_requests: many\n')}`);
    expect((await cli(env, '/', 'deploy', v4)).code).toBe(2);

    expect((await cli(env, '/', 'stop')).code).toBe(0);
    expect(alive(pid!)).toBe(false);
  }, 120_000);
});
