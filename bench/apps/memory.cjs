'use strict';
// GET /alloc?mb=N retains N MB (touched, so it counts in RSS). With LEAK_BYTES set, every
// request also leaks that many bytes: a slow leak for the reliability suite.
const { serve, hello, query } = require('./_common.cjs');

const kept = [];
const leak = Number(process.env.LEAK_BYTES || 0);

serve((req, res) => {
  if (req.url.startsWith('/alloc')) {
    const mb = Number(query(req).get('mb') || 100);
    for (let i = 0; i < mb; i++) kept.push(Buffer.alloc(1024 * 1024, 1));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, rss: process.memoryUsage.rss() }));
    return;
  }
  if (leak > 0) kept.push(Buffer.alloc(leak, 1));
  hello(req, res);
});
