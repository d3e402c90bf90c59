'use strict';
// CRASH_AT_BOOT=1: throws before listening (an app broken at boot).
// CRASH_EVERY=N: the worker crashes on about 1 request in N (uncaught exception).
const { serve, hello } = require('./_common.cjs');

if (process.env.CRASH_AT_BOOT === '1') {
  throw new Error('bench app: broken at boot (CRASH_AT_BOOT=1)');
}
const every = Number(process.env.CRASH_EVERY || 0);

serve((req, res) => {
  if (every > 0 && Math.random() * every < 1) {
    throw new Error('bench app: crashed on a request (CRASH_EVERY)');
  }
  hello(req, res);
});
