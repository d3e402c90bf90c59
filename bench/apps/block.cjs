'use strict';
// GET /block blocks this worker's event loop (for BLOCK_MS, default forever): a hung worker.
const { serve, hello, query } = require('./_common.cjs');

serve((req, res) => {
  if (req.url.startsWith('/block')) {
    const ms = Number(query(req).get('ms') || process.env.BLOCK_MS || 0);
    const until = ms > 0 ? Date.now() + ms : Infinity;
    while (Date.now() < until) { /* hung */ }
    res.end('unblocked');
    return;
  }
  hello(req, res);
});
