/**
 * Settings for tests, from the settings table's own defaults (never restated here): what a test
 * sets differently is passed as overrides.
 */
import { APP_SETTINGS, AUTO, parseSettingValue } from '../../src/config/settings';
import type { AppSettings, Settings } from '../../src/config/types';

/** The table's literal defaults, typed; keys without one (script, name, …) are left out. */
function tableDefaults(): Partial<AppSettings> {
  const out: Record<string, unknown> = {};
  for (const setting of APP_SETTINGS) {
    if (setting.default === undefined) continue;
    const value = parseSettingValue(setting, setting.default, '/srv');
    if (value !== undefined && value !== AUTO) out[setting.field] = value;
  }
  return out as Partial<AppSettings>;
}

const DEFAULTS = tableDefaults();

/**
 * One app `api` at /srv/app.js, 2 workers, with the table's defaults. `auto` values resolve as
 * the loader would for 2 workers; `ready_on` follows `wait_ready` as in the loader.
 */
export function appSettings(overrides: Partial<AppSettings> = {}): AppSettings {
  const workers = overrides.workers ?? 2;
  return {
    ...(DEFAULTS as AppSettings),
    name: 'api',
    script: '/srv/app.js',
    cwd: '/srv',
    workers,
    maxRetiring: 2,
    readyOn: overrides.waitReady ? 'message' : 'listening',
    ...overrides,
  };
}

export function settingsWith(overrides: Partial<AppSettings> = {}): Settings {
  return { apps: [appSettings(overrides)], logFormat: 'json', logLevel: 'info', minReady: 1, summaryInterval: 0 };
}
