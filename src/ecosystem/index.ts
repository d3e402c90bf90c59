/** pm2 ecosystem files: read them and convert them to smartworkers' raw config object and settings. */
export { convertEcosystem, splitPm2List } from './convert';
export type { ConvertOptions, ConvertResult, RawApp } from './convert';
export { ecosystemFormat, isEcosystemConfig, loadEcosystem, loadEcosystemSync, looksLikeEcosystemFile, readEcosystemFile, readEcosystemFileSync } from './read';
export type { EcosystemFormat, LoadEcosystemOptions } from './read';
export { loadEcosystemSettings, loadEcosystemSettingsSync } from './settings';
export type { EcosystemSettings, EcosystemSettingsInput } from './settings';
export { PM2_FIELDS, renderMigrationTable, SMARTWORKERS_APP_KEYS } from './fields';
export type { Pm2Field } from './fields';
