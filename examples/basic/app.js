// A plain node:http app, unchanged from what `node app.js` would run.
// Background work is tracked with `tasks.run`, so a recycle or a stop waits for it.
'use strict';
const http = require('node:http');
const { tasks } = require('smartworkers');

const port = Number(process.env.PORT ?? 3000);

function sendWelcomeEmail(to) {
  // Stands in for a call to a mail provider.
  return new Promise((resolve) => setTimeout(resolve, 1500)).then(() => console.log(`email sent to ${to}`));
}

const server = http.createServer((req, res) => {
  if (req.url === '/signup') {
    tasks.run(() => sendWelcomeEmail('someone@example.com'), { type: 'email', description: 'welcome email', estimatedMs: 1500 });
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ queued: true, worker: process.env.NODE_APP_INSTANCE }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ hello: 'world', worker: process.env.NODE_APP_INSTANCE, pid: process.pid }));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`worker ${process.env.NODE_APP_INSTANCE ?? '-'} (pid ${process.pid}) listening on http://127.0.0.1:${port}`);
});
