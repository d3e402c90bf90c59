import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderMigrationTable } from '../../src/ecosystem/fields';

const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README: Migrating from pm2', () => {
  it('shows the migration table generated from the field table', () => {
    const m = /<!-- pm2-migration:start -->\n([\s\S]*?)\n<!-- pm2-migration:end -->/.exec(readme);
    expect(m, 'the README has the pm2-migration markers').not.toBeNull();
    expect(m![1]).toBe(renderMigrationTable());
  });

  it('is a section of the README', () => {
    expect(readme).toMatch(/^## Migrating from pm2$/m);
  });
});
