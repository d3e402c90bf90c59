// A plain node:http app: nothing in it knows about smartworkers or systemd.
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, pid: process.pid, worker: process.env.NODE_APP_INSTANCE }));
  })
  .listen(port, () => console.log(`worker ${process.pid} listening on :${port}`));
