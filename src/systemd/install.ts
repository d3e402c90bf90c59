/**
 * `smartworkers systemd-unit --install` (pm2's `pm2 startup`): as root, writes the unit to
 * `/etc/systemd/system/<name>.service` (or `--unit-dir`), runs `systemctl daemon-reload` and
 * `systemctl enable <name>.service`, and prints each step. Not root: installs nothing and prints
 * the commands to run instead (exit 1, so a script does not take it for done).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SmartworkersError } from '../errors';

export const DEFAULT_UNIT_DIR = '/etc/systemd/system';

export interface InstallInput {
  unitText: string;
  /** The unit's name without `.service`. */
  name: string;
  unitDir: string;
  isRoot: boolean;
  /** How to run this command again as root (shown when not root). */
  rerun: string[];
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
}

/** A unit name systemd accepts, from a cluster's name: letters, digits, `:_.@-`. */
export function unitName(text: string): string {
  const name = text.replace(/\.service$/, '').replace(/[^A-Za-z0-9:_.@-]/g, '-');
  if (name === '' || name.length > 200) throw new SmartworkersError('SW_SYSTEMD_UNIT', `Expected a unit name of letters, digits and :_.@-, got ${JSON.stringify(text)}`);
  return name;
}

/** Returns true when installed; false when only the commands were printed (not root). */
export function installUnit(input: InstallInput): boolean {
  const file = path.join(input.unitDir, `${input.name}.service`);
  const service = `${input.name}.service`;
  if (!input.isRoot) {
    input.out(`not root: nothing was installed. Run this command again as root:`);
    input.out(`  sudo ${input.rerun.map(shellWord).join(' ')}`);
    input.out(`or, by hand: save the unit (\`smartworkers systemd-unit …\` without --install) as ${file}, then:`);
    input.out(`  sudo systemctl daemon-reload`);
    input.out(`  sudo systemctl enable ${service}`);
    return false;
  }
  mkdirSync(input.unitDir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, input.unitText, { mode: 0o644 });
  chmodSync(temp, 0o644); // the umask must not make it unreadable to systemd
  renameSync(temp, file);
  input.out(`wrote ${file}`);
  for (const args of [['daemon-reload'], ['enable', service]]) {
    try {
      execFileSync('systemctl', args, { env: input.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      const why = e.code === 'ENOENT' ? 'systemctl was not found on PATH' : (e.stderr?.toString().trim() || e.message);
      throw new SmartworkersError('SW_SYSTEMD_UNIT', `systemctl ${args.join(' ')} failed: ${why}; the unit is in ${file}`);
    }
    input.out(`ran systemctl ${args.join(' ')}`);
  }
  input.out(`start it now: systemctl start ${service} · logs: journalctl -u ${service}`);
  return true;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
