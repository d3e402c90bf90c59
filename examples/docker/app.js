// A plain node:http app, unchanged from what ran under pm2-runtime.
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, pid: process.pid }));
  })
  .listen(port);
