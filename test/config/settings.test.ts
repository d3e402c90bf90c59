import { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { APP_SETTINGS, GLOBAL_SETTINGS, SETTINGS, describeDefault, parseSettingValue } from '../../src/config/settings';
import { editDistance, nearest } from '../../src/config/suggest';

describe('the settings table', () => {
  it('derives flag, env var and commander key from the snake_case key', () => {
    const byKey = new Map(SETTINGS.map((setting) => [setting.key, setting]));
    expect(byKey.get('max_requests')).toMatchObject({ flag: '--max-requests', envVar: 'SMARTWORKERS_MAX_REQUESTS', optionKey: 'maxRequests', field: 'maxRequests' });
    expect(byKey.get('status.listen')).toMatchObject({ flag: '--status-listen', envVar: 'SMARTWORKERS_STATUS_LISTEN', optionKey: 'statusListen', field: 'statusListen' });
    expect(byKey.get('env')).toMatchObject({ flag: '--worker-env', envVar: 'SMARTWORKERS_ENV', optionKey: 'workerEnv', field: 'env' });
    expect(byKey.get('app')).toMatchObject({ flag: '--app', optionKey: 'app', field: 'script' });
  });

  it('uses the key commander stores each flag under', () => {
    for (const setting of SETTINGS) expect(new Option(`${setting.flag} <value>`).attributeName()).toBe(setting.optionKey);
  });

  it('names each field after its key, except `app` (the script)', () => {
    const camel = (key: string) => key.replace(/[._]([a-z])/g, (_, letter: string) => letter.toUpperCase());
    for (const setting of SETTINGS.filter((row) => row.key !== 'app')) expect(setting.field).toBe(camel(setting.key));
  });

  it('has unique keys, fields, flags and env vars', () => {
    for (const name of ['key', 'flag', 'envVar', 'optionKey'] as const) {
      const values = SETTINGS.map((setting) => setting[name]);
      expect(new Set(values).size).toBe(values.length);
    }
    for (const group of [APP_SETTINGS, GLOBAL_SETTINGS]) {
      const fields = group.map((setting) => setting.field);
      expect(new Set(fields).size).toBe(fields.length);
    }
  });

  it('keys are snake_case, nested at most once', () => {
    for (const setting of SETTINGS) expect(setting.key).toMatch(/^[a-z]+(_[a-z]+)*(\.[a-z]+(_[a-z]+)*)?$/);
    for (const setting of APP_SETTINGS) expect(setting.key).not.toContain('.');
  });

  it('every row has a description and a default that its own kind accepts (or says what it is when it has none)', () => {
    for (const setting of SETTINGS) {
      expect(setting.description.length).toBeGreaterThan(10);
      if (setting.default === undefined) expect(setting.defaultText).toBeTruthy();
      else expect(parseSettingValue(setting, setting.default, '/')).not.toBeUndefined();
      expect(describeDefault(setting)).toBeTruthy();
    }
  });

  it('enums have choices and the `workers` kind says what auto means', () => {
    for (const setting of SETTINGS) {
      if (setting.kind === 'enum') expect(setting.choices?.length).toBeGreaterThan(1);
      if (setting.kind === 'workers') expect(setting.auto).toBeTruthy();
    }
  });
});

describe('nearest key', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('max_request', 'max_requests')).toBe(1);
    expect(editDistance('max_reqeusts', 'max_requests')).toBe(1);
    expect(editDistance('timeout', 'timeout')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only keys close enough to be a typo', () => {
    const keys = SETTINGS.map((setting) => setting.key);
    expect(nearest('max_request', keys)).toBe('max_requests');
    expect(nearest('MAX-REQUESTS', keys)).toBe('max_requests');
    expect(nearest('wrkers', keys)).toBe('workers');
    expect(nearest('zzzzzz', keys)).toBeUndefined();
    expect(nearest('db', keys)).toBeUndefined();
  });
});
