/**
 * An ecosystem file all the way to the `Settings` the primary runs with: read, convert, then
 * validate with the config loader exactly as a workers.yaml would be (flags and env vars still
 * win over the file). The warnings are for the caller to print, one line each.
 */
import { loadSettingsFromObject, type LoadInput } from '../config/load';
import type { Settings } from '../config/types';
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
}

export async function loadEcosystemSettings(input: EcosystemSettingsInput): Promise<EcosystemSettings> {
  const { raw, warnings } = await loadEcosystem(input.file, { env: input.envName, cwd: input.cwd });
  return { settings: loadSettingsFromObject(raw, input.file, { ...input, configFile: input.file }), warnings };
}

/** The same, synchronously: for the primary's SIGHUP re-read (see `readEcosystemFileSync`). */
export function loadEcosystemSettingsSync(input: EcosystemSettingsInput): EcosystemSettings {
  const { raw, warnings } = loadEcosystemSync(input.file, { env: input.envName, cwd: input.cwd });
  return { settings: loadSettingsFromObject(raw, input.file, { ...input, configFile: input.file }), warnings };
}
