/**
 * The size check's bound (src/logs/rotate.ts): real files, a clock of the test's own. A file is
 * stat'ed again only when due (1 s after a first look, later when its growth is slow), at most
 * 32 files per check, and a file over log_max_size is rotated once it is checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppSettings } from '../../src/config/types';
import { startLogFiles, type LogFiles } from '../../src/logs/rotate';
import { tempDir } from '../e2e/harness';

let files: LogFiles | undefined;
afterEach(async () => {
  await files?.stop();
  files = undefined;
});

const rotatedCount = (dir: string): number => fs.readdirSync(dir).filter((n) => n.includes('__')).length;

describe('the rotation size check', () => {
  it('checks a file when it is due, at most 32 files per check, and rotates those over the limit', async () => {
    const dir = tempDir();
    const workers = 50; // 100 files: out and error per slot
    const app = { name: 'api', kind: 'cluster', workers, outFile: path.join(dir, 'out.log'), errorFile: path.join(dir, 'error.log'), mergeLogs: false, logMaxSize: 1000, logRetain: 1000, logCompress: false, logType: 'raw', time: false } as unknown as AppSettings;
    const paths = Array.from({ length: workers }, (_, slot) => [path.join(dir, `out-${slot}.log`), path.join(dir, `error-${slot}.log`)]).flat();
    for (const p of paths) fs.writeFileSync(p, 'x\n');
    let now = 1_000_000;
    const logged: string[] = [];
    files = startLogFiles({ apps: () => [app], liveWorkers: () => [], slots: () => workers, send() {}, logger: { info: (_o, m) => logged.push(m), warn: (_o, m) => logged.push(m) }, now: () => now });

    // First looks: 32 files per check, the ones never seen first, until all 100 have been seen.
    for (let i = 0; i < 4; i++) await files.check();
    expect(rotatedCount(dir)).toBe(0);
    // Every file grows past the limit; none is due before a second has passed: nothing rotates.
    for (const p of paths) fs.appendFileSync(p, 'y'.repeat(1000));
    await files.check();
    expect(rotatedCount(dir)).toBe(0);
    // A second later the files are due: each check rotates the 32 due first, and in four checks all 100.
    now += 1_000;
    await files.check();
    expect(rotatedCount(dir)).toBe(32);
    for (let i = 0; i < 3; i++) await files.check();
    expect(rotatedCount(dir)).toBe(100);
    expect(logged.filter((m) => m.startsWith('rotated '))).toHaveLength(4);
  });

  it('a file that does not grow is looked at again only after 5 s', async () => {
    const dir = tempDir();
    const app = { name: 'api', kind: 'cluster', workers: 1, outFile: path.join(dir, 'out.log'), mergeLogs: true, logMaxSize: 1000, logRetain: 10, logCompress: false, logType: 'raw', time: false } as unknown as AppSettings;
    const file = path.join(dir, 'out.log');
    fs.writeFileSync(file, 'x\n');
    let now = 1_000_000;
    files = startLogFiles({ apps: () => [app], liveWorkers: () => [], slots: () => 1, send() {}, logger: { info() {}, warn() {} }, now: () => now });
    await files.check(); // first look
    now += 1_000;
    await files.check(); // no growth: next look 5 s from now
    fs.appendFileSync(file, 'y'.repeat(1000));
    now += 4_999;
    await files.check();
    expect(rotatedCount(dir)).toBe(0);
    now += 1;
    await files.check();
    expect(rotatedCount(dir)).toBe(1);
  });
});
