/**
 * `smartworkers config check`: the effective configuration as YAML, in the form a config
 * file would hold it (durations as `30s`, sizes as `400MB`), so it can be read at a glance
 * and loaded back.
 */
/** Loaded on first use: the primary imports this module's neighbours and keeps what it loads. */
const stringify = (value: unknown, options: import('yaml').ToStringOptions): string =>
  (require('yaml') as typeof import('yaml')).stringify(value, options);
import { formatDuration, formatSize } from './parse';
import { APP_SETTINGS, GLOBAL_SETTINGS, type Setting } from './settings';
import type { AppSettings, Settings } from './types';

const HIDDEN = '<hidden>';

export function formatEffectiveConfig(settings: Settings): string {
  const document: Record<string, unknown> = {};
  for (const setting of GLOBAL_SETTINGS) {
    const value = (settings as unknown as Record<string, unknown>)[setting.field];
    if (value !== undefined) setNested(document, setting.key, render(setting, value));
  }
  const apps = settings.apps.map(renderApp);
  // One app prints flat, as a single-app file is written; several print as `apps:`.
  if (apps.length === 1) Object.assign(document, apps[0]);
  else document.apps = apps;

  const origin = settings.configFile === undefined ? 'no config file' : `from ${settings.configFile}`;
  return `# effective configuration (${origin}; flags and SMARTWORKERS_* env vars applied)\n${stringify(document, { lineWidth: 0 })}`;
}

function renderApp(app: AppSettings): Record<string, unknown> {
  const rendered: Record<string, unknown> = {};
  for (const setting of APP_SETTINGS) {
    rendered[setting.key] = render(setting, (app as unknown as Record<string, unknown>)[setting.field]);
  }
  return rendered;
}

function render(setting: Setting, value: unknown): unknown {
  if (setting.secret) return HIDDEN;
  if (setting.kind === 'duration') return formatDuration(value as number);
  if (setting.kind === 'size') {
    const text = formatSize(value as number);
    return /^\d+$/.test(text) ? Number(text) : text;
  }
  return value;
}

/** `status.listen` → `{ status: { listen } }`. */
function setNested(target: Record<string, unknown>, dottedKey: string, value: unknown): void {
  const parts = dottedKey.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}
