#!/usr/bin/env node
/**
 * Writes the generated docs: the README sections between their markers and the example
 * config/workers.yaml, from the built settings table and error catalogue (run `npm run docs`,
 * which builds first). test/config/docs.test.ts fails when they are out of date.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const docs = require('../dist/config/docs.js');

const root = path.join(__dirname, '..');
const readmePath = path.join(root, 'README.md');

const sections = {
  'config-reference': docs.renderConfigReference(),
  'error-codes': docs.renderErrorCodes(),
  'exit-codes': docs.renderExitCodes(),
  'pm2-migration': require('../dist/ecosystem/fields.js').renderMigrationTable(),
};

let readme = fs.readFileSync(readmePath, 'utf8');
for (const [name, content] of Object.entries(sections)) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from === -1 || to < from) throw new Error(`README.md: markers ${start} … ${end} not found`);
  readme = `${readme.slice(0, from + start.length)}\n${content}\n${readme.slice(to)}`;
}
fs.writeFileSync(readmePath, readme);
fs.writeFileSync(path.join(root, 'config', 'workers.yaml'), docs.renderExampleYaml());
console.log('wrote README.md (config reference, error codes, exit codes, pm2 migration table) and config/workers.yaml');
