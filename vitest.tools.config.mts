import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

// The real system tools (promtool, systemd-notify, python3, systemd-analyze, redis-server) on what `npm test`
// checks without them, and the dashboard in Debian's Chromium (scripts/install-chromium.sh).
// Run by .ci/run after installing them: `npm run test:tools`.
export default defineConfig({
  test: { ...base.test, include: ['test/tools/**/*.tools.test.ts'], exclude: ['**/node_modules/**'] },
});
