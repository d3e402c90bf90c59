/**
 * What `systemd-analyze verify` checks of the units smartworkers renders, without systemd: known
 * sections and keys, values systemd parses (enums, time spans, signals, exit statuses, unit
 * names, user names, environment assignments), and commands given by an absolute path to an
 * executable. `npm test` runs this; the real `systemd-analyze verify` runs in test/tools/.
 * Returns one line per problem, naming the key.
 */
import { accessSync, constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { renderSystemdUnit } from '../../src/systemd/unit';
import { parseUnitFile, splitExecLine } from './unit-file';

/** A unit verified both ways: this machine's node, no User= (verify would look the account up). */
export function verifiedUnitOptions(cwd: string): Parameters<typeof renderSystemdUnit>[0] {
  return { configFile: path.join(cwd, 'workers.yaml'), cwd, execPath: process.execPath, gracefulTimeoutMs: 30_000, bootTimeoutMs: 10_000, watchdogSec: 20 };
}

type Check = (value: string) => string | null;

const oneOf = (...allowed: string[]): Check => (v) => (allowed.includes(v) ? null : `expected one of ${allowed.join(', ')}`);
const timeSpan: Check = (v) => (/^(infinity|\d+(\.\d+)?(us|ms|s|sec|min|m|h)?( \d+(\.\d+)?(us|ms|s|sec|min|m|h))*)$/.test(v) ? null : 'not a time span');
const unitNames: Check = (v) => (v.split(/\s+/).every((n) => /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|mount|path|timer)$/.test(n)) ? null : 'not a list of unit names');
const absolutePath: Check = (v) => (path.isAbsolute(v.replace(/^-/, '')) || v === '~' ? null : 'not an absolute path');
const userName: Check = (v) => (/^[A-Za-z_][A-Za-z0-9_-]{0,30}\$?$/.test(v) || /^\d+$/.test(v) ? null : 'not a valid user or group name');
const signal: Check = (v) => (v in osConstants.signals ? null : 'not a signal name');
const exitStatuses: Check = (v) => (v.split(/\s+/).every((s) => (/^\d+$/.test(s) && Number(s) <= 255) || s in osConstants.signals) ? null : 'not a list of exit statuses or signals');
const line: Check = (v) => (v.trim() !== '' ? null : 'empty');
const environment: Check = (v) => {
  for (const word of splitExecLine(v)) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) return `not a KEY=VALUE assignment: ${word}`;
  return null;
};
const command: Check = (v) => {
  const program = splitExecLine(v)[0]?.replace(/^[@\-:+!]+/, '') ?? '';
  if (!path.isAbsolute(program)) return `command ${program} is not an absolute path`;
  try {
    accessSync(program, constants.X_OK);
    return null;
  } catch {
    return `command ${program} is not executable`;
  }
};

const KEYS: Record<string, Record<string, Check>> = {
  Unit: { Description: line, After: unitNames, Wants: unitNames, Requires: unitNames, Documentation: line },
  Service: {
    Type: oneOf('simple', 'exec', 'forking', 'oneshot', 'dbus', 'notify', 'notify-reload', 'idle'),
    NotifyAccess: oneOf('none', 'main', 'exec', 'all'),
    WorkingDirectory: absolutePath,
    User: userName,
    Group: userName,
    Environment: environment,
    ExecStart: command,
    ExecReload: command,
    KillMode: oneOf('control-group', 'mixed', 'process', 'none'),
    KillSignal: signal,
    TimeoutStopSec: timeSpan,
    TimeoutStartSec: timeSpan,
    WatchdogSec: timeSpan,
    Restart: oneOf('no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'),
    RestartSec: timeSpan,
    RestartPreventExitStatus: exitStatuses,
  },
  Install: { WantedBy: unitNames, RequiredBy: unitNames, Alias: unitNames },
};
const SINGLE = new Set(['Type', 'NotifyAccess', 'WorkingDirectory', 'User', 'Group', 'ExecStart', 'KillMode', 'KillSignal', 'Restart']);

/** Problems `systemd-analyze verify` would report about this unit text; [] when none. */
export function lintUnit(text: string): string[] {
  const problems: string[] = [];
  let unit;
  try {
    unit = parseUnitFile(text);
  } catch (err) {
    return [(err as Error).message];
  }
  if (!unit.Service) problems.push('no [Service] section');
  for (const [section, keys] of Object.entries(unit)) {
    const known = KEYS[section];
    if (!known) {
      problems.push(`unknown section [${section}]`);
      continue;
    }
    for (const [key, values] of Object.entries(keys)) {
      const check = known[key];
      if (!check) {
        problems.push(`[${section}] unknown key ${key}`);
        continue;
      }
      if (SINGLE.has(key) && values.length > 1) problems.push(`[${section}] ${key} given ${values.length} times`);
      for (const value of values) {
        const problem = check(value);
        if (problem) problems.push(`[${section}] ${key}=${value}: ${problem}`);
      }
    }
  }
  if (unit.Service && !unit.Service.ExecStart) problems.push('[Service] has no ExecStart');
  return problems;
}

/** Lines added to a rendered unit's [Service] that both checks must reject, and the check's problem. */
export const UNIT_FAULTS: Array<[string, string, RegExp]> = [
  ['an unknown key', 'Typo=1', /unknown key Typo/],
  ['a bad Type', 'Type=notifyy', /Type=notifyy: expected one of/],
  ['a relative command', 'ExecStart=node app.js', /not an absolute path/],
  ['a command that is not there', 'ExecStart=/nonexistent/node app.js', /not executable/],
  ['a bad time span', 'TimeoutStopSec=soon', /not a time span/],
  ['a bad signal', 'KillSignal=SIGFOO', /not a signal name/],
  ['a second ExecStart', `ExecStart=${process.execPath}`, /ExecStart given 2 times/],
];
