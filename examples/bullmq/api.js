// The HTTP side: answers at once and leaves the work to a queue. `POST /emails?to=a@b.c` enqueues
// one job on the `email` queue; `GET /` says hello. Any worker of any machine takes the job.
'use strict';
const http = require('node:http');
const { Queue } = require('bullmq');

const connection = { host: process.env.REDIS_HOST || '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };
const emails = new Queue('email', { connection });
emails.on('error', (err) => console.error(`queue email: ${err.message}`));

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/emails') {
      const job = await emails.add('welcome', { to: url.searchParams.get('to') || 'someone@example.com' });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ queued: job.id }));
      return;
    }
    res.end('hello\n');
  })
  .listen(Number(process.env.PORT || 3000), function () {
    console.log(`api listening on port ${this.address().port}`);
  });
