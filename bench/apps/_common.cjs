'use strict';
// Shared by the bench apps: the port from env PORT, and a line `<pid> <epoch ms>` appended to
// BENCH_READY_FILE once the server listens. The harness reads that file to time "every worker
// ready" and "replacement serving" the same way under every manager (smartworkers, pm2, bare).
// BENCH_BOOT_FILE, when set, gets `<pid> <process start, epoch ms> <app code start, epoch ms>` as
// this module loads: a kill storm times each replacement from the kill to its fork, to the app's
// first line (after whatever the manager preloads), to listening.
const fs = require('node:fs');
const http = require('node:http');

if (process.env.BENCH_BOOT_FILE) {
  fs.appendFileSync(process.env.BENCH_BOOT_FILE, `${process.pid} ${performance.timeOrigin.toFixed(1)} ${Date.now()}\n`);
}

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('bench app: set env PORT');
  process.exit(2);
}

function markReady() {
  const file = process.env.BENCH_READY_FILE;
  if (file) fs.appendFileSync(file, `${process.pid} ${Date.now()}\n`);
}

const BODY = '{"hello":"world"}';

function hello(req, res) {
  res.setHeader('content-type', 'application/json');
  res.end(BODY);
}

/** Starts the server on 127.0.0.1:PORT with `handler`; marks ready on `listening`. */
function serve(handler) {
  const server = http.createServer(handler);
  server.listen(port, '127.0.0.1', markReady);
  return server;
}

function query(req) {
  return new URL(req.url, 'http://x').searchParams;
}

module.exports = { serve, hello, query, markReady, BODY };
