/**
 * Clusters found from anywhere: the real CLI, started in one project directory, operated from
 * another with no flags; two clusters listed, and picked by name. A state directory per test.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli as runCli } from './daemon-helpers';
import { cleanup, FIXTURES, isMsg, run, tempDir } from './harness';

const HTTP = path.join(FIXTURES, 'http.cjs');

afterEach(cleanup);

/** The real CLI with no control socket inherited from the test's env: the registry must find the cluster. */
function cli(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): ReturnType<typeof runCli> {
  return runCli({ SMARTWORKERS_CONTROL_SOCKET: '', ...env }, cwd, ...args);
}

/** A project directory named `name` with a workers.yaml. */
function project(name: string): { dir: string; config: string } {
  const dir = path.join(tempDir(), name);
  mkdirSync(dir);
  const config = path.join(dir, 'workers.yaml');
  writeFileSync(config, `app: ${JSON.stringify(HTTP)}\nworkers: 1\nsummary_interval: 0\nlog_format: json\n`);
  return { dir, config };
}

function startIn(p: { dir: string }, env: NodeJS.ProcessEnv) {
  // No --config flag on the command line of status/stop: the cluster is started from its directory.
  return run(['start', '--config', 'workers.yaml'], { ...env, SMARTWORKERS_CONTROL_SOCKET: undefined }, p.dir);
}

describe('clusters found from anywhere', () => {
  it('status and stop with no flags, from another directory, find the one running cluster; nothing is written in the project', async () => {
    const env = { SMARTWORKERS_STATE_DIR: tempDir() };
    const shop = project('shop');
    const cluster = startIn(shop, env);
    await cluster.waitFor(isMsg('worker ready'), 20_000, 'worker ready');
    const elsewhere = tempDir();

    const status = await cli(env, elsewhere, 'status', '--json');
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout).primary).toMatchObject({ pid: cluster.pid, configSource: shop.config });
    expect(readdirSync(shop.dir)).toEqual(['workers.yaml']);

    const listed = await cli(env, elsewhere, 'ls');
    expect(listed.stdout).toMatch(new RegExp(`^NAME +ID +PID +UPTIME +CONFIG\\nshop +shop-[0-9a-f]{10} +${cluster.pid} +\\S+ +${shop.config}\\n\\n1 cluster running\\n$`));

    expect(await cli(env, elsewhere, 'stop')).toMatchObject({ code: 0, stdout: 'graceful stop started; the cluster has stopped\n' });
    expect((await cluster.exited).code).toBe(0);
    // Its record went with it.
    expect(readdirSync(env.SMARTWORKERS_STATE_DIR)).toEqual([]);
    expect(await cli(env, elsewhere, 'status')).toMatchObject({ code: 1, stderr: `smartworkers: no cluster is running (none registered in ${env.SMARTWORKERS_STATE_DIR}) [SW_NOT_RUNNING]\n` });
  }, 60_000);

  it('two clusters: status lists both, an action asks for a name, a name picks one; a stale record is cleaned', async () => {
    const env = { SMARTWORKERS_STATE_DIR: tempDir() };
    const shop = startIn(project('shop'), env);
    const blog = startIn(project('blog'), env);
    await shop.waitFor(isMsg('worker ready'), 20_000, 'shop ready');
    await blog.waitFor(isMsg('worker ready'), 20_000, 'blog ready');
    const elsewhere = tempDir();

    const listed = await cli(env, elsewhere, 'status');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^shop +shop-[0-9a-f]{10} +${shop.pid} `, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^blog +blog-[0-9a-f]{10} +${blog.pid} `, 'm'));
    expect(listed.stdout).toMatch(/2 clusters running; pick one by name: smartworkers status <name>\n$/);

    const reload = await cli(env, elsewhere, 'reload');
    expect(reload.code).toBe(2);
    // Listed oldest first; both started at about the same time, so either order.
    expect(reload.stderr).toMatch(/^smartworkers: 2 clusters are running, name one \(--name; see smartworkers ls\); running: .* \[SW_SEVERAL_CLUSTERS\]\n$/);
    expect(reload.stderr).toContain(`shop (pid ${shop.pid}, `);
    expect(reload.stderr).toContain(`blog (pid ${blog.pid}, `);

    const picked = await cli(env, elsewhere, 'status', 'blog', '--json');
    expect(JSON.parse(picked.stdout).primary.pid).toBe(blog.pid);
    expect((await cli(env, elsewhere, 'reload', '--name', 'shop')).code).toBe(0);
    expect(await cli(env, elsewhere, 'status', 'nope')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^smartworkers: no cluster named 'nope' is running; running: (shop|blog) .*, (shop|blog) .*\[SW_NOT_RUNNING\]\n$/) });

    // A primary killed outright leaves its record: the next command cleans it and finds the other.
    shop.signalGroup('SIGKILL');
    await shop.exited;
    const after = await cli(env, elsewhere, 'status', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).primary.pid).toBe(blog.pid);
    expect(readdirSync(env.SMARTWORKERS_STATE_DIR).filter((f) => f.startsWith('shop'))).toEqual([]);

    expect((await cli(env, elsewhere, 'stop', 'blog')).code).toBe(0);
    expect((await blog.exited).code).toBe(0);
  }, 90_000);
});
