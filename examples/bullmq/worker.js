// The worker side: no server. Each job is a smartworkers task (type `email`, description
// `welcome <job id>`): a recycled or stopped worker stops taking jobs at once, finishes the ones
// it runs, and closes its connections; a job still running when the primary gives up is moved
// back to waiting at once, for another worker.
'use strict';
const { createWorker } = require('smartworkers/bullmq');

const connection = { host: process.env.REDIS_HOST || '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };
const SEND_MS = Number(process.env.SEND_MS || 500);

createWorker(
  'email',
  async (job) => {
    await new Promise((resolve) => setTimeout(resolve, SEND_MS)); // a stand-in for the mail service
    console.log(`email ${job.id} sent to ${job.data.to}`);
    return { sent: true };
  },
  { connection, concurrency: 5, limiter: { max: 50, duration: 1000 } },
);
