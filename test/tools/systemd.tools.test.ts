/**
 * The real systemd helpers (package `systemd`: systemd-notify, systemd-analyze) and python3, on
 * what `npm test` checks with a stand-in or a lint of its own. Installed by .ci/run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProgram, NOTIFY_TRANSPORTS } from '../../src/systemd/notify';
import { renderSystemdUnit } from '../../src/systemd/unit';
import { notifyFromRealPrimary } from '../e2e/systemd-notify-scenario';
import { notifierContract } from '../systemd/notify-contract';
import { REAL_KITS } from '../systemd/notify-kits';
import { lintUnit, UNIT_FAULTS, verifiedUnitOptions } from '../systemd/unit-lint';

describe('the helper programs this machine must provide', () => {
  it('has every transport of the fallback order on the PATH (install package `systemd` for systemd-notify)', () => {
    expect(NOTIFY_TRANSPORTS).toEqual(['systemd-notify', 'python3']);
    expect(REAL_KITS.map((k) => k.transport)).toEqual(NOTIFY_TRANSPORTS);
    for (const name of [...NOTIFY_TRANSPORTS, 'systemd-analyze']) expect(findProgram(name, process.env.PATH), name).not.toBeNull();
  });
});

for (const kit of REAL_KITS) notifierContract(kit);
notifyFromRealPrimary(REAL_KITS[0]!);

describe('systemd-analyze verify agrees with the unit check', () => {
  function verify(text: string): string[] {
    const dir = mkdtempSync(path.join(tmpdir(), 'sw-unit-'));
    try {
      writeFileSync(path.join(dir, 'workers.yaml'), 'app: app.js\n');
      const file = path.join(dir, 'smartworkers-test.service');
      writeFileSync(file, text.replaceAll('/srv/api', dir));
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
      if (result.error) throw new Error(`systemd-analyze could not run (apt-get install systemd): ${result.error.message}`);
      // Only what concerns our file: verify also reports the machine's own units.
      const ours = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => l.includes(file) || l.includes(dir) || /smartworkers-test/.test(l));
      return result.status === 0 ? ours : [...ours, `exit ${result.status}`];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('passes a rendered unit without a warning', () => {
    const text = renderSystemdUnit(verifiedUnitOptions('/srv/api'));
    expect(lintUnit(text)).toEqual([]);
    expect(verify(text)).toEqual([]);
  });

  it.each(UNIT_FAULTS)('complains about %s, as the check does', (_what, line) => {
    const text = renderSystemdUnit(verifiedUnitOptions('/srv/api')).replace('[Service]\n', `[Service]\n${line}\n`);
    expect(lintUnit(text)).not.toEqual([]);
    expect(verify(text)).not.toEqual([]);
  });
});
