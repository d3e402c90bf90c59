'use strict';
// Two servers: the app's API on PORT at once, and a second one (say an admin or metrics port) on
// PORT2 only LATE_MS later, as apps that listen after loading data or connecting somewhere do.
// Ready (BENCH_READY_FILE) once the first one listens: what a manager sees first.
const http = require('node:http');
const { serve, hello } = require('./_common.cjs');

serve(hello);
const port2 = Number(process.env.PORT2);
setTimeout(() => http.createServer(hello).listen(port2, '127.0.0.1'), Number(process.env.LATE_MS || 2000));
