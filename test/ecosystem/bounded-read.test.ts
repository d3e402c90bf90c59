/**
 * Reads that must end, whatever the file is (issue 17, item 12): a device, a FIFO, a huge file,
 * an ecosystem file that loops, never settles, throws from a getter, or whose module syntax does
 * not match its package. Each is one SW_ECOSYSTEM_FILE / SW_CONFIG_FILE line, and the read returns.
 */
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempFiles } from './temp-files';
import { loadSettings } from '../../src/config/load';
import { MAX_CONFIG_BYTES, readRegularFile } from '../../src/config/read-file';
import { readEcosystemFileSync } from '../../src/ecosystem/read';
import { SmartworkersError } from '../../src/errors';

const temp = useTempFiles('sw-bounded-');
const write = (name: string, text: string): string => temp.write(name, text);

function fifo(name: string): string {
  const file = path.join(temp.dir(), name);
  execFileSync('mkfifo', [file]);
  return file;
}

function link(name: string, target: string): string {
  const file = path.join(temp.dir(), name);
  symlinkSync(target, file);
  return file;
}

function failure(run: () => unknown): SmartworkersError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SmartworkersError);
  const error = caught as SmartworkersError;
  expect(error.message).not.toContain('\n');
  return error;
}

// A file that must not time out keeps the real bound (10 s): on a busy machine even a require can
// take hundreds of ms, and an ES module's worker thread seconds to boot. Loops get 0.3 s in-process
// (CommonJS) and 3 s in a worker thread.
const SHORT = { timeoutMs: 300 };
const ESM_BOUND = { timeoutMs: 3_000 };
const ecosystemError = (file: string, options: { timeoutMs?: number } = {}) => {
  const error = failure(() => readEcosystemFileSync(file, options));
  expect(error.code).toBe('SW_ECOSYSTEM_FILE');
  return error.message;
};
const configError = (file: string) => {
  const error = failure(() => loadSettings({ configFile: file, script: __filename, flags: {}, env: {}, cwd: temp.dir() }));
  expect(error.code).toBe('SW_CONFIG_FILE');
  return error.message;
};

describe('regular files of at most 1 MiB only', () => {
  it('refuses /dev/zero as a workers.yaml and as an ecosystem file, without reading it', () => {
    expect(configError('/dev/zero')).toBe('config: cannot read /dev/zero: it is a character device, not a regular file (/dev/zero)');
    expect(ecosystemError(link('zero.json', '/dev/zero'))).toMatch(/zero\.json: it is a character device, not a regular file$/);
    expect(ecosystemError(link('zero.config.js', '/dev/zero'))).toMatch(/zero\.config\.js: it is a character device, not a regular file$/);
  });

  it('refuses a FIFO without blocking on it (no writer ever opens it)', () => {
    expect(configError(fifo('pipe.yaml'))).toMatch(/cannot read .*pipe\.yaml: it is a FIFO \(named pipe\), not a regular file/);
    expect(ecosystemError(fifo('pipe.yml'))).toMatch(/pipe\.yml: it is a FIFO \(named pipe\), not a regular file$/);
    expect(ecosystemError(fifo('pipe.config.js'))).toMatch(/pipe\.config\.js: it is a FIFO \(named pipe\), not a regular file$/);
  });

  it('refuses a file over 1 MiB, and reads one of exactly 1 MiB', () => {
    const big = write('big.yaml', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(configError(big)).toMatch(/big\.yaml: it is \d+ bytes, larger than 1024 KiB, the limit/);
    expect(ecosystemError(write('big.config.js', `// ${'x'.repeat(MAX_CONFIG_BYTES)}\n`))).toMatch(/larger than 1024 KiB, the limit$/);
    expect(readRegularFile(write('exact.txt', 'y'.repeat(MAX_CONFIG_BYTES)))).toHaveLength(MAX_CONFIG_BYTES);
  });
});

describe('JavaScript ecosystem files, evaluated within a time bound', () => {
  it('stops a file that loops forever (CommonJS, in-process) and says so', () => {
    const started = Date.now();
    expect(ecosystemError(write('loop.config.js', 'while (true) {}\n'), SHORT)).toMatch(/loop\.config\.js: evaluating it did not finish within 0\.3s \(an endless loop\?\)$/);
    // Bounded by the timeout, not by the test runner's.
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('stops an ES module that loops or never settles (worker thread)', () => {
    expect(ecosystemError(write('loop.config.mjs', 'while (true) {}\nexport default {};\n'), ESM_BOUND)).toMatch(/did not finish within 3s/);
    expect(ecosystemError(write('await.config.mjs', 'await new Promise(() => {});\nexport default {};\n'), ESM_BOUND)).toMatch(/did not finish within 3s/);
  });

  it('stops a getter that loops, and reports a getter that throws as the file\'s error', () => {
    expect(ecosystemError(write('getter-loop.config.js', 'module.exports = { get apps() { for (;;) {} } };\n'), SHORT)).toMatch(/did not finish/);
    expect(ecosystemError(write('getter-throw.config.js', "module.exports = { get apps() { throw new Error('no apps today'); } };\n"))).toMatch(
      /getter-throw\.config\.js: no apps today$/,
    );
    expect(ecosystemError(write('getter-throw.config.mjs', "export default { get apps() { throw new Error('nor here'); } };\n"))).toMatch(/: nor here$/);
  });

  it('reports a file that exports nothing usable or a cycle', () => {
    expect(ecosystemError(write('nothing.config.js', 'module.exports = () => ({ apps: [] });\n'))).toMatch(/exports nothing usable/);
    expect(ecosystemError(write('cycle.config.js', 'const a = { apps: [] }; a.apps.push(a); module.exports = a;\n'))).toMatch(/circular/i);
  });

  it('says what to rename when the module syntax does not match the package', () => {
    write('esm-pkg/package.json', '{ "name": "x", "type": "module" }\n');
    const cjsInEsm = write('esm-pkg/ecosystem.config.js', "module.exports = { apps: [{ script: 'a.js' }] };\n");
    expect(ecosystemError(cjsInEsm)).toBe(
      `Cannot load ecosystem file ${cjsInEsm}: it uses CommonJS (\`module.exports\` / \`require\`) but is loaded as an ES module (${path.join(temp.dir(), 'esm-pkg', 'package.json')} has "type": "module"): rename it to ecosystem.config.cjs, or write \`export default { apps: [...] }\``,
    );
    const cjsInMjs = write('plain.config.mjs', "module.exports = { apps: [{ script: 'a.js' }] };\n");
    expect(ecosystemError(cjsInMjs)).toMatch(/a \.mjs file is an ES module\): rename it to plain\.config\.cjs/);
    const esmInCjs = write('esm.config.cjs', "export default { apps: [{ script: 'a.js' }] };\n");
    expect(ecosystemError(esmInCjs)).toMatch(/uses ES module syntax \(`export` \/ `import`\) but is loaded as CommonJS \(a \.cjs file is CommonJS\): rename esm\.config\.cjs to esm\.config\.mjs/);
  });

  it('still reads a well-formed file of each kind, afresh', () => {
    const file = write('fresh.config.js', "module.exports = { apps: [{ script: 'one.js' }] };\n");
    expect(readEcosystemFileSync(file)).toEqual({ apps: [{ script: 'one.js' }] });
    write('fresh.config.js', "module.exports = { apps: [{ script: 'two.js' }] };\n");
    expect(readEcosystemFileSync(file)).toEqual({ apps: [{ script: 'two.js' }] });
    const esm = write('fresh.config.mjs', "export default { apps: [{ script: 'one.js' }] };\n");
    expect(readEcosystemFileSync(esm)).toEqual({ apps: [{ script: 'one.js' }] });
    write('fresh.config.mjs', "export default { apps: [{ script: 'two.js' }] };\n");
    expect(readEcosystemFileSync(esm)).toEqual({ apps: [{ script: 'two.js' }] });
  });
});
