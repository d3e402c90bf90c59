/**
 * Durations that cannot work are refused with one line naming the key, the value, the floor
 * and why (`timeout: 100ms` used to be accepted and killed healthy workers under load).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load';
import { heartbeatIntervalFor } from '../../src/supervisor/clusterHost';
import { SETTINGS_BY_KEY } from '../../src/config/settings';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sw-floors-'));
  writeFileSync(join(dir, 'app.js'), '');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (flags: Record<string, string>, yaml?: string) => {
  if (yaml !== undefined) writeFileSync(join(dir, 'workers.yaml'), yaml);
  return loadSettings({ script: 'app.js', flags, env: {}, cwd: dir, ...(yaml !== undefined ? { configFile: 'workers.yaml' } : {}) });
};

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  throw new Error('expected a refusal, the value was accepted');
}

describe('duration floors', () => {
  it.each([
    ['timeout', '100ms', '2s', 'a loaded machine stalls healthy workers longer than that'],
    ['timeout', '1999ms', '2s', 'a loaded machine stalls healthy workers longer than that'],
    ['boot_timeout', '200ms', '1s', 'Node alone takes a few hundred ms to start a worker'],
    ['graceful_timeout', '100ms', '1s', 'cuts requests in flight'],
    ['summary_interval', '10ms', '1s', 'floods the log'],
  ])('%s: %s is refused, naming the floor %s and why', (key, value, floor, why) => {
    const error = refusal(() => load({}, `${key}: ${value}\n`));
    expect(error.code).toBe('SW_CONFIG_INVALID');
    expect(error.message).toContain(`expected \`${key}\``);
    expect(error.message).toContain(`at least ${floor} (`);
    expect(error.message).toContain(why);
    expect(error.message).toContain(`got "${value}"`);
    expect(error.message).not.toContain('\n');
  });

  it('accepts the floors themselves, and 0 (off) for summary_interval', () => {
    const settings = load({ timeout: '2s', bootTimeout: '1s', gracefulTimeout: '1s', summaryInterval: '0' });
    expect([settings.apps[0].timeout, settings.apps[0].bootTimeout, settings.apps[0].gracefulTimeout, settings.summaryInterval]).toEqual([2000, 1000, 1000, 0]);
    expect(refusal(() => load({ summaryInterval: '500ms' })).message).toContain('to be 0 (off) or a duration of at least 1s');
  });

  it('leaves at least four heartbeats in every timeout the floor allows', () => {
    const floor = SETTINGS_BY_KEY.get('timeout')!.min!;
    for (const timeout of [floor, 3_000, 5_000, 30_000]) expect(timeout / heartbeatIntervalFor(timeout)).toBeGreaterThanOrEqual(4);
  });
});
