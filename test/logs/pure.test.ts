/** The pure parts of log files: names per slot, timestamps formatted and parsed back, the merge. */
import { describe, expect, it } from 'vitest';
import { appLogFiles, slotPath, withDefaultLogFiles, workerLogConfig } from '../../src/logs/targets';
import { cachedFormatter, formatDate, prefixParser } from '../../src/logs/timestamp';
import { mergeByTime, type LogLine } from '../../src/logs/tail';
import { rotatedName } from '../../src/logs/rotate';
import type { AppSettings } from '../../src/config/types';

const app = (over: Partial<AppSettings>): AppSettings => ({ name: 'api', workers: 2, mergeLogs: false, time: false, logType: 'raw', logMaxSize: 0, logRetain: 10, logCompress: false, ...over }) as AppSettings;

describe('log file names', () => {
  it('one file per slot unless merge_logs, pm2-style; /dev/null is never a file', () => {
    expect(slotPath('/l/out.log', 3)).toBe('/l/out-3.log');
    expect(slotPath('/l.d/out', 1)).toBe('/l.d/out-1');
    expect(slotPath('/dev/null', 1)).toBe('/dev/null');
    expect(appLogFiles(app({ outFile: '/l/out.log', errorFile: '/dev/null' })).map((f) => f.path)).toEqual(['/l/out-0.log', '/l/out-1.log']);
    expect(appLogFiles(app({ outFile: '/l/o.log', errorFile: '/l/o.log', mergeLogs: true }))).toEqual([{ app: 'api', slot: null, stream: 'out', path: '/l/o.log' }]);
    expect(workerLogConfig(app({}), 0)).toBeUndefined();
    expect(workerLogConfig(app({ outFile: '/l/out.log', time: true }), 1)).toEqual({ app: 'api', slot: 1, out: '/l/out-1.log', json: false, date: 'YYYY-MM-DDTHH:mm:ss.SSSZ' });
  });

  it('daemon defaults fill only the streams left unset', () => {
    const [filled] = withDefaultLogFiles([app({ errorFile: '/mine.log' })], '/state/logs/');
    expect([filled.outFile, filled.errorFile]).toEqual(['/state/logs/api-out.log', '/mine.log']);
    // A process app's output is not the runtime's to write: it stays the daemon's.
    const [proc] = withDefaultLogFiles([app({ kind: 'process' })], '/state/logs');
    expect([proc.outFile, proc.errorFile]).toEqual([undefined, undefined]);
  });

  it('rotated names sort by time', () => {
    const a = rotatedName('/l/out-0.log', new Date(2026, 0, 2, 3, 4, 5, 6));
    expect(a).toBe('/l/out-0__2026-01-02_03-04-05-006.log');
    expect(rotatedName('/l/out-0.log', new Date(2026, 0, 2, 3, 4, 5, 7)) > a).toBe(true);
  });
});

describe('timestamps', () => {
  it('formats dayjs tokens and parses them back to the same millisecond', () => {
    const at = new Date(2026, 11, 2, 14, 5, 9, 42);
    expect(formatDate(at, 'YYYY-MM-DD HH:mm:ss.SSS [at] h A')).toBe('2026-12-02 14:05:09.042 at 2 PM');
    for (const format of ['YYYY-MM-DDTHH:mm:ss.SSSZ', 'YYYY-MM-DD HH:mm:ss.SSS ZZ', 'x', 'DD/MM/YYYY hh:mm:ss.SSS a']) {
      const parsed = prefixParser(format)(`${formatDate(at, format)}: hello: world`);
      expect(parsed, format).toEqual({ time: at.getTime(), rest: 'hello: world' });
    }
    expect(prefixParser('YYYY-MM-DD')('not a date: x')).toBeUndefined();
  });

  it('formats once per millisecond', () => {
    let now = 1_000;
    const stamp = cachedFormatter('x', () => now);
    expect(stamp()).toBe('1000');
    now = 1_001;
    expect(stamp()).toBe('1001');
  });

  it('the compiled formatter (rendered once a second, ms parts once a millisecond) writes what formatDate writes', () => {
    const formats = ['YYYY-MM-DDTHH:mm:ss.SSSZ', 'YYYY-MM-DD HH:mm:ss.SSS ZZ', '[YYYY at] HH:mm:ss', 'DD/MM/YYYY hh:mm:ss.SSS a', 'X x', 'SSS'];
    // Steps within a millisecond, within a second, across seconds, minutes, a day and backwards.
    const times = [Date.UTC(2026, 11, 2, 23, 59, 58, 998)];
    for (const step of [0, 1, 1, 999, 1, 60_000, 86_400_000, -5_000, 0, 3]) times.push(times[times.length - 1]! + step);
    for (const format of formats) {
      let now = 0;
      const stamp = cachedFormatter(format, () => now);
      for (const t of times) {
        now = t;
        expect(stamp(), `${format} at ${t}`).toBe(formatDate(new Date(t), format));
      }
    }
  });
});

describe('merging files', () => {
  const line = (app: string, time: number | null, text: string): LogLine => ({ app, slot: 0, stream: 'out', time, text, message: text });
  it('merges by time and never reorders a file', () => {
    const a = [line('a', 1, 'a1'), line('a', 5, 'a5'), line('a', 3, 'a3-late-clock')];
    const b = [line('b', 2, 'b2'), line('b', 4, 'b4')];
    expect(mergeByTime([a, b]).map((l) => l.text)).toEqual(['a1', 'b2', 'b4', 'a5', 'a3-late-clock']);
  });
});
