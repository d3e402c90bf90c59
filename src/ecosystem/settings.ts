/**
 * An ecosystem file all the way to the `Settings` the primary runs with: read, convert, then
 * validate with the config loader exactly as a workers.yaml would be (flags and env vars still
 * win over the file). The warnings are for the caller to print, one line each.
 */
import { loadSettingsFromObject, type LoadInput } from '../config/load';
import type { Settings } from '../config/types';
import { Problems } from '../errors';
import type { ConvertResult } from './convert';
import { loadEcosystem, loadEcosystemSync } from './read';

export interface EcosystemSettingsInput extends Omit<LoadInput, 'configFile'> {
  /** The ecosystem file, relative to `cwd` or absolute; recorded as `Settings.configFile`. */
  file: string;
  /** `--env <name>`. */
  envName?: string;
}

export interface EcosystemSettings {
  settings: Settings;
  warnings: string[];
  /** What each app's `script` resolved to, when it was a command (`npm start` → server.js). */
  notes: string[];
}

/**
 * Validates the converted apps; every error of the conversion and of the validation is thrown at
 * once, with the warnings (a SmartworkersErrors), so a file is fixed in one pass.
 */
function settle(converted: ConvertResult, input: EcosystemSettingsInput): EcosystemSettings {
  const problems = new Problems();
  problems.errors.push(...converted.errors);
  const settings =
    converted.raw.apps.length === 0 ? undefined : problems.attempt(() => loadSettingsFromObject(converted.raw, input.file, { ...input, configFile: input.file }));
  problems.throwIfAny(converted.warnings);
  return { settings: settings!, warnings: converted.warnings, notes: converted.notes };
}

export async function loadEcosystemSettings(input: EcosystemSettingsInput): Promise<EcosystemSettings> {
  return settle(await loadEcosystem(input.file, { env: input.envName, cwd: input.cwd }), input);
}

/** The same, synchronously: for the primary's SIGHUP re-read (see `readEcosystemFileSync`). */
export function loadEcosystemSettingsSync(input: EcosystemSettingsInput): EcosystemSettings {
  return settle(loadEcosystemSync(input.file, { env: input.envName, cwd: input.cwd }), input);
}
