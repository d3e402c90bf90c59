import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatSize,
  parseBoolean,
  parseCount,
  parseDuration,
  parseListenAddress,
  parseSize,
  parseStringList,
  parseStringMap,
} from '../../src/config/parse';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['0', 0],
    ['30', 30_000],
    [' 5 s ', 5000],
    ['2M', 120_000],
    [30, 30_000],
    [0.25, 250],
    [0, 0],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([['abc'], ['-1s'], [-1], ['30x'], ['1d'], [''], ['s'], [true], [null], [[1]], [Infinity], ['1e3']])(
    'rejects %j',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );
});

describe('parseSize', () => {
  it.each([
    ['400MB', 400 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['512KB', 512 * 1024],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['64M', 64 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['8K', 8192],
    ['1GiB', 1024 ** 3],
    ['10MiB', 10 * 1024 ** 2],
    ['4KiB', 4096],
    ['400mb', 400 * 1024 ** 2],
    ['100B', 100],
    ['1000', 1000],
    [1048576, 1048576],
    [0, 0],
  ])('%j is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([['abc'], ['-1MB'], [-5], [1.5], ['1TB'], ['MB'], ['1 0MB'], [false], [null]])('rejects %j', (input) => {
    expect(parseSize(input)).toBeUndefined();
  });
});

describe('parseCount', () => {
  it.each([
    [0, 0],
    [5000, 5000],
    ['5000', 5000],
    [' 12 ', 12],
  ])('%j is %d', (input, count) => {
    expect(parseCount(input)).toBe(count);
  });

  it.each([['abc'], [-1], ['-1'], [1.5], ['1.5'], ['1e3'], [''], [true], [Number.MAX_SAFE_INTEGER + 2], ['99999999999999999999']])(
    'rejects %j',
    (input) => {
      expect(parseCount(input)).toBeUndefined();
    },
  );
});

describe('parseBoolean', () => {
  it.each([
    [true, true], [false, false],
    ['true', true], ['false', false],
    ['TRUE', true], ['False', false],
    ['yes', true], ['no', false],
    ['1', true], ['0', false],
    ['on', true], ['off', false],
    [1, true], [0, false],
  ])('%j is %s', (input, value) => {
    expect(parseBoolean(input)).toBe(value);
  });

  it.each([['maybe'], [''], [2], [null], [[]]])('rejects %j', (input) => {
    expect(parseBoolean(input)).toBeUndefined();
  });
});

describe('parseStringList', () => {
  it('takes a YAML list, turning numbers into text', () => {
    expect(parseStringList(['--port', 3000, true])).toEqual(['--port', '3000', 'true']);
  });
  it('takes a JSON array', () => {
    expect(parseStringList('["--title", "two words"]')).toEqual(['--title', 'two words']);
  });
  it('takes space-separated words', () => {
    expect(parseStringList('  --max-old-space-size=512   --inspect ')).toEqual(['--max-old-space-size=512', '--inspect']);
  });
  it('takes an empty string as an empty list', () => {
    expect(parseStringList('')).toEqual([]);
    expect(parseStringList([])).toEqual([]);
  });
  it.each([['[1, '], ['[{"a": 1}]'], [{ a: 1 }], [[null]], [5]])('rejects %j', (input) => {
    expect(parseStringList(input)).toBeUndefined();
  });
});

describe('parseStringMap', () => {
  it('takes a YAML map, turning numbers and booleans into text', () => {
    expect(parseStringMap({ PORT: 3000, DEBUG: false, NAME: 'x' })).toEqual({ PORT: '3000', DEBUG: 'false', NAME: 'x' });
  });
  it('takes a JSON object', () => {
    expect(parseStringMap('{"NODE_ENV": "production", "PORT": 8080}')).toEqual({ NODE_ENV: 'production', PORT: '8080' });
  });
  it('takes KEY=VALUE, the value keeping any further =', () => {
    expect(parseStringMap('URL=postgres://h/db?a=b')).toEqual({ URL: 'postgres://h/db?a=b' });
    expect(parseStringMap('EMPTY=')).toEqual({ EMPTY: '' });
  });
  it('merges a list of KEY=VALUE (a repeated flag), later ones winning', () => {
    expect(parseStringMap(['A=1', 'B=2', 'A=3'])).toEqual({ A: '3', B: '2' });
  });
  it.each([['NOEQUALS'], ['=value'], ['{"a": {"b": 1}}'], ['{bad json'], [['A=1', 'nope']], [{ A: null }], [{ A: [1] }], [5]])(
    'rejects %j',
    (input) => {
      expect(parseStringMap(input)).toBeUndefined();
    },
  );
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:9100', { host: '127.0.0.1', port: 9100 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:9100', { host: '::1', port: 9100 }],
    ['[::]:65535', { host: '::', port: 65535 }],
  ])('%s', (input, address) => {
    expect(parseListenAddress(input)).toEqual(address);
  });

  it.each([['9100'], [':9100'], ['host:'], ['host:65536'], ['::1:9100'], ['host:port'], ['a b:1'], [9100]])('rejects %j', (input) => {
    expect(parseListenAddress(input)).toBeUndefined();
  });
});

describe('formatDuration and formatSize', () => {
  it('use the largest unit that divides exactly', () => {
    expect([0, 250, 1000, 90_000, 300_000, 3_600_000, 5_400_000].map(formatDuration)).toEqual([
      '0s', '250ms', '1s', '90s', '5m', '1h', '90m',
    ]);
    expect([0, 100, 2048, 400 * 1024 ** 2, 1.5 * 1024 ** 3, 1024 ** 3].map(formatSize)).toEqual([
      '0', '100', '2KB', '400MB', '1536MB', '1GB',
    ]);
  });

  it('parse back to the same value', () => {
    for (const ms of [0, 1, 999, 1000, 61_000, 7_200_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    for (const bytes of [0, 1, 1023, 1024, 5 * 1024 ** 2 + 1, 3 * 1024 ** 3]) expect(parseSize(formatSize(bytes))).toBe(bytes);
  });
});
