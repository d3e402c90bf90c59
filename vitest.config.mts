import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real system tools' suite (promtool, systemd-notify, python3, systemd-analyze) runs apart,
    // in .ci/run (`npm run test:tools`): `npm test` needs only Node and npm.
    exclude: ['test/tools/**', '**/node_modules/**'],
    // End-to-end tests start real clusters: two files at a time on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // Backstops only: tests wait on events, and their own bounds say what the cluster was doing.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // A skipped test is a failing test.
    allowOnly: false,
    // Clusters started by tests register here, not in the user's state directory (or /run/smartworkers).
    env: { SMARTWORKERS_STATE_DIR: path.join(tmpdir(), `smartworkers-test-state-${process.getuid?.() ?? 0}`) },
  },
});
