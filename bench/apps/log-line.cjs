'use strict';
// The logging scenario's app: the one-line JSON handler, plus one line on stdout per request.
// LOG_TIMESTAMP=1: the app stamps its own lines (the bare peer, whose primary adds nothing).
const { serve, BODY } = require('./_common.cjs');

const stamp = process.env.LOG_TIMESTAMP === '1';
let n = 0;
serve((req, res) => {
  n += 1;
  const line = `${process.pid} request ${n} ${req.method} ${req.url}`;
  console.log(stamp ? `${new Date().toISOString()}: ${line}` : line);
  res.setHeader('content-type', 'application/json');
  res.end(BODY);
});
