// The HTTP app of the pm2 example: unchanged from pm2. With `wait_ready`, it tells its manager
// it is ready once listening — pm2's convention, which smartworkers honours.
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'api', env: process.env.NODE_ENV, instance: process.env.NODE_APP_INSTANCE, pid: process.pid }));
});

server.listen(port, () => {
  console.log(`api ${process.pid} listening on :${server.address().port}`);
  if (process.send) process.send('ready');
});

// pm2 sends SIGINT on stop; smartworkers drains the server itself. Either way, close cleanly.
process.on('SIGINT', () => server.close(() => process.exit(0)));
