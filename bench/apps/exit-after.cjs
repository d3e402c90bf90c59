'use strict';
// Gunicorn-style recycling for managers without max_requests (pm2, the bare primary): after
// EXIT_AFTER + a uniform draw in [0, EXIT_AFTER_JITTER] requests the worker stops listening, answers
// what is left on its keep-alive connections with `Connection: close`, and exits once its last
// connection closes (at most 5 s later); the manager forks a replacement. This is the careful
// version of what an app does by hand under pm2, not the naive process.exit().
const { serve, hello } = require('./_common.cjs');

const limit = Number(process.env.EXIT_AFTER || 5000) + Math.floor(Math.random() * (Number(process.env.EXIT_AFTER_JITTER || 0) + 1));
let served = 0;
let closing = false;

const server = serve((req, res) => {
  served++;
  if (closing) res.setHeader('connection', 'close');
  hello(req, res);
  if (!closing && served >= limit) {
    closing = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  }
});
