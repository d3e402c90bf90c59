import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempFiles } from './temp-files';
import { ecosystemFormat, isEcosystemConfig, loadEcosystem, looksLikeEcosystemFile, readEcosystemFile, readEcosystemFileSync } from '../../src/ecosystem/read';
import { SmartworkersError } from '../../src/errors';

const temp = useTempFiles('sw-ecosystem-');
const write = (name: string, text: string): string => temp.write(name, text);

const expected = { apps: [{ name: 'api', script: 'server.js', instances: 2 }] };
const asJs = `module.exports = ${JSON.stringify(expected)};\n`;

async function readError(file: string): Promise<SmartworkersError> {
  const error = await readEcosystemFile(file).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SmartworkersError);
  expect((error as SmartworkersError).code).toBe('SW_ECOSYSTEM_FILE');
  expect((error as SmartworkersError).message).not.toContain('\n');
  return error as SmartworkersError;
}

describe('readEcosystemFile', () => {
  it.each([
    ['ecosystem.config.js', asJs],
    ['ecosystem.config.cjs', asJs],
    ['ecosystem.config.mjs', `export default ${JSON.stringify(expected)};\n`],
    ['ecosystem.json', JSON.stringify(expected)],
    ['ecosystem.yaml', 'apps:\n  - name: api\n    script: server.js\n    instances: 2\n'],
    ['ecosystem.yml', 'apps:\n  - name: api\n    script: server.js\n    instances: 2\n'],
  ])('reads %s', async (name, text) => {
    expect(await readEcosystemFile(write(name, text))).toEqual(expected);
  });

  it.each([
    ['sync.config.js', asJs],
    ['sync.config.cjs', asJs],
    ['sync.config.mjs', `export default ${JSON.stringify(expected)};\n`],
    ['sync.json', JSON.stringify(expected)],
    ['sync.yaml', 'apps:\n  - name: api\n    script: server.js\n    instances: 2\n'],
  ])('reads %s synchronously too', (name, text) => {
    expect(readEcosystemFileSync(write(name, text))).toEqual(expected);
  });

  it('re-reads a CommonJS file afresh synchronously', () => {
    const file = write('fresh-sync.config.js', 'module.exports = { apps: [{ script: "one.js" }] };');
    expect(readEcosystemFileSync(file)).toEqual({ apps: [{ script: 'one.js' }] });
    write('fresh-sync.config.js', 'module.exports = { apps: [{ script: "two.js" }] };');
    expect(readEcosystemFileSync(file)).toEqual({ apps: [{ script: 'two.js' }] });
  });

  it('imports a .js file that is an ES module (a "type": "module" package)', async () => {
    write('esm/package.json', '{"type": "module"}');
    const file = write('esm/ecosystem.config.js', `export default ${JSON.stringify(expected)};\n`);
    expect(await readEcosystemFile(file)).toEqual(expected);
  });

  it('reads the file afresh every time (SIGHUP re-reads it)', async () => {
    write('fresh-esm/package.json', '{"type": "module"}');
    for (const ext of ['js', 'mjs', 'esm-js']) {
      if (ext === 'esm-js') {
        const file = write('fresh-esm/x.config.js', 'export default { apps: [{ script: "one.js" }] };');
        expect(await readEcosystemFile(file)).toEqual({ apps: [{ script: 'one.js' }] });
        write('fresh-esm/x.config.js', 'export default { apps: [{ script: "two.js" }] };');
        expect(await readEcosystemFile(file)).toEqual({ apps: [{ script: 'two.js' }] });
        continue;
      }
      const file = write(`fresh.config.${ext}`, ext === 'js' ? 'module.exports = { apps: [{ script: "one.js" }] };' : 'export default { apps: [{ script: "one.js" }] };');
      expect(await readEcosystemFile(file)).toEqual({ apps: [{ script: 'one.js' }] });
      write(`fresh.config.${ext}`, ext === 'js' ? 'module.exports = { apps: [{ script: "two.js" }] };' : 'export default { apps: [{ script: "two.js" }] };');
      expect(await readEcosystemFile(file)).toEqual({ apps: [{ script: 'two.js' }] });
    }
  });

  it('evaluates the file like pm2 does: in Node, with process.env and __dirname', async () => {
    const file = write('dyn/ecosystem.config.js', 'module.exports = { apps: [{ script: "a.js", cwd: __dirname, env: { HOME_SET: String(Boolean(process.env.PATH)) } }] };');
    expect(await readEcosystemFile(file)).toEqual({ apps: [{ script: 'a.js', cwd: path.join(temp.dir(), 'dyn'), env: { HOME_SET: 'true' } }] });
  });

  it.each([
    ['broken.config.js', 'module.exports = { apps: [ };', /^Cannot load ecosystem file .*broken\.config\.js: .*Unexpected token/],
    ['throws.config.js', 'throw new Error("no secrets\\nsecond line");', /^Cannot load ecosystem file .*throws\.config\.js: no secrets$/],
    ['broken.json', '{"apps": [}', /^Cannot load ecosystem file .*broken\.json: .*JSON/],
    ['broken.yaml', 'apps: [\n', /^Cannot load ecosystem file .*broken\.yaml: /],
    ['ecosystem.toml', 'apps = 1', /expected a \.js, \.cjs, \.mjs, \.json, \.yaml or \.yml file$/],
  ])('reports %s in one line', async (name, text, message) => {
    expect((await readError(write(name, text))).message).toMatch(message);
  });

  it('reports a missing file', async () => {
    expect((await readError(path.join(temp.dir(), 'missing.config.js'))).message).toMatch(/Cannot load ecosystem file .*missing\.config\.js: no such file$/);
    expect((await readError(path.join(temp.dir(), 'missing.json'))).message).toMatch(/missing\.json: no such file$/);
  });
});

describe('loadEcosystem', () => {
  it('reads and converts, resolving paths against the given directory', async () => {
    const file = write('load/ecosystem.config.js', 'module.exports = { apps: [{ name: "api", script: "server.js", env_production: { NODE_ENV: "production" }, out_file: "x" }] };');
    const app = path.dirname(write('srv-app/server.js', ''));
    const result = await loadEcosystem(file, { env: 'production', cwd: app, cpus: 2 });
    expect(result.raw).toEqual({ apps: [{ name: 'api', app: path.join(app, 'server.js'), cwd: app, workers: 1, env: { NODE_ENV: 'production' }, out_file: path.join(app, 'x') }] });
    expect(result.warnings).toEqual([]);
  });
});

describe('telling an ecosystem file from an app script', () => {
  it.each([
    ['ecosystem.config.js', true, 'js'],
    ['/a/b/pm2.config.cjs', true, 'js'],
    ['ecosystem.config.mjs', true, 'mjs'],
    ['ecosystem.json', true, 'json'],
    ['process.yml', true, 'yaml'],
    ['apps.yaml', true, 'yaml'],
    ['app.js', false, 'js'],
    ['server.mjs', false, 'mjs'],
    ['main.ts', false, null],
  ])('%s: ecosystem %s, format %s', (file, ecosystem, format) => {
    expect(looksLikeEcosystemFile(file)).toBe(ecosystem);
    expect(ecosystemFormat(file)).toBe(format);
  });
});

describe('isEcosystemConfig', () => {
  it('takes JS and JSON files for ecosystem files, and YAML ones only when they read like pm2', () => {
    expect(isEcosystemConfig(write('kind/ecosystem.config.js', asJs))).toBe(true);
    expect(isEcosystemConfig(write('kind/ecosystem.json', '{}'))).toBe(true);
    expect(isEcosystemConfig(write('kind/pm2.yml', 'apps:\n  - script: a.js\n'))).toBe(true);
    expect(isEcosystemConfig(write('kind/list.yaml', '- script: a.js\n'))).toBe(true);
    expect(isEcosystemConfig(write('kind/one.yaml', 'script: a.js\n'))).toBe(true);
    expect(isEcosystemConfig(write('kind/workers.yaml', 'app: a.js\nworkers: 2\n'))).toBe(false);
    expect(isEcosystemConfig(write('kind/multi.yaml', 'apps:\n  - name: a\n    app: a.js\n'))).toBe(false);
    expect(isEcosystemConfig(write('kind/broken.yaml', 'apps: [\n'))).toBe(false);
    expect(isEcosystemConfig(path.join(temp.dir(), 'kind', 'app.ts'))).toBe(false);
  });
});
