import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConfigReference, renderErrorCodes, renderExampleYaml, renderExitCodes } from '../../src/config/docs';
import { loadSettings } from '../../src/config/load';
import { SETTINGS } from '../../src/config/settings';
import { ERRORS } from '../../src/errors';

const root = join(__dirname, '..', '..');
const FIX = 'run `npm run docs` to regenerate it';

function readmeSection(name: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = `<!-- ${name}:start -->\n`;
  const end = `\n<!-- ${name}:end -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  expect(from, `README.md has no ${start.trim()} marker`).toBeGreaterThan(-1);
  expect(to, `README.md has no ${end.trim()} marker after the start`).toBeGreaterThan(from);
  return readme.slice(from + start.length, to);
}

describe('generated docs are up to date', () => {
  it(`README config reference (${FIX})`, () => {
    expect(readmeSection('config-reference')).toBe(renderConfigReference());
  });

  it(`README error codes (${FIX})`, () => {
    expect(readmeSection('error-codes')).toBe(renderErrorCodes());
  });

  it(`README exit codes (${FIX})`, () => {
    expect(readmeSection('exit-codes')).toBe(renderExitCodes());
  });

  it(`config/workers.yaml (${FIX})`, () => {
    expect(readFileSync(join(root, 'config', 'workers.yaml'), 'utf8')).toBe(renderExampleYaml());
  });
});

describe('the renderers cover everything', () => {
  it('every setting has a row in the reference and a line in the example', () => {
    const reference = renderConfigReference();
    const example = renderExampleYaml();
    for (const setting of SETTINGS) {
      expect(reference).toContain(`| \`${setting.key}\` | \`${setting.flag}\` | \`${setting.envVar}\` |`);
      const name = setting.key.slice(setting.key.lastIndexOf('.') + 1);
      expect(example).toMatch(new RegExp(`^\\s*(# )?${name}:`, 'm'));
    }
  });

  it('every error code has a row', () => {
    const table = renderErrorCodes();
    for (const code of Object.keys(ERRORS)) expect(table).toContain(`| \`${code}\` |`);
  });

  it('config/workers.yaml loads to the defaults', () => {
    const script = __filename; // any existing file will do
    const fromExample = loadSettings({ configFile: join(root, 'config', 'workers.yaml'), script, flags: {}, env: {}, cwd: root });
    const defaults = loadSettings({ script, flags: {}, env: {}, cwd: root });
    expect({ ...fromExample, configFile: undefined }).toEqual({ ...defaults, configFile: undefined });
  });
});
