/**
 * The settings table as commander flags. No flag gets a commander default, so a flag that
 * was not given stays `undefined` and the env var, the file or the default can apply.
 */
import { Option, type Command } from 'commander';
import { SETTINGS, describeDefault, type Setting } from './settings';

/** Adds a flag for every setting (and `--no-<flag>` for booleans) to `command`. */
export function addSettingFlags(command: Command): Command {
  for (const setting of SETTINGS) {
    const help = `${setting.description} (default: ${describeDefault(setting)}; env ${setting.envVar})`;
    if (setting.kind === 'boolean') {
      command.addOption(new Option(setting.flag, help));
      command.addOption(new Option(`--no-${setting.flag.slice(2)}`, `turn ${setting.flag} off`));
    } else if (setting.kind === 'watch') {
      // `--watch` alone watches the app's cwd; `--watch "src lib"` those paths.
      command.addOption(new Option(`${setting.flag} [paths]`, help));
      command.addOption(new Option(`--no-${setting.flag.slice(2)}`, `turn ${setting.flag} off`));
    } else if (setting.kind === 'string-map') {
      command.addOption(new Option(`${setting.flag} <KEY=VALUE>`, help).argParser(collect));
    } else {
      command.addOption(new Option(`${setting.flag} <${placeholder(setting)}>`, help));
    }
  }
  return command;
}

/** The setting flags among commander's options (by camelCase key), leaving out the ones not given. */
export function flagsFromOptions(options: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const value = options[setting.optionKey];
    if (value !== undefined) flags[setting.optionKey] = value;
  }
  return flags;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function placeholder(setting: Setting): string {
  switch (setting.kind) {
    case 'duration': return 'duration';
    case 'size': return 'size';
    case 'count': return 'n';
    case 'workers': return 'n|auto';
    case 'path': return 'path';
    case 'address': return 'host:port';
    case 'string-list': return 'list';
    case 'enum': return (setting.choices ?? []).join('|');
    default: return setting.key.split('.').pop()!;
  }
}
