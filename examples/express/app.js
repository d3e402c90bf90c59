// An Express-style app whose handlers answer at once and leave work running in the background:
// a welcome email, an SMS, a report batch. Each piece of background work goes through
// `tasks.run`, so a worker recycled (max_requests, memory) or stopped (deploy, SIGTERM) keeps
// running — while taking no new traffic — until that work is done.
//
// Written with node:http and a ten-line router so the example needs no dependency; with Express
// the handlers are the same (see README.md beside this file).
'use strict';
const http = require('node:http');
const { tasks } = require('smartworkers');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const EMAIL_MS = Number(process.env.EMAIL_MS || 1500);
const SMS_MS = Number(process.env.SMS_MS || 800);
const BATCH_ROW_MS = Number(process.env.BATCH_ROW_MS || 50);

// Stand-ins for the real services.
async function sendWelcomeEmail(to) {
  await delay(EMAIL_MS);
  console.log(`email sent to ${to}`);
}
async function sendSms(to, text) {
  await delay(SMS_MS);
  console.log(`sms sent to ${to}: ${text}`);
}
async function buildReport(rows) {
  for (let i = 0; i < rows; i++) await delay(BATCH_ROW_MS);
  console.log(`batch done: ${rows} rows`);
}

// --- handlers, Express-style: (req, res) with req.body and req.params ------------------------

function signup(req, res) {
  const email = String(req.body.email || '');
  if (!email.includes('@')) return send(res, 400, { error: 'email required' });
  tasks
    .run(() => sendWelcomeEmail(email), { type: 'email', description: `welcome ${email}`, estimatedMs: EMAIL_MS })
    .catch((err) => console.error('email failed', err));
  send(res, 202, { queued: 'email' });
}

function ship(req, res) {
  const phone = String(req.body.phone || '');
  if (!phone) return send(res, 400, { error: 'phone required' });
  const text = `order ${req.params.id} shipped`;
  tasks
    .run(() => sendSms(phone, text), { type: 'sms', description: `${phone}: ${text}`, estimatedMs: SMS_MS })
    .catch((err) => console.error('sms failed', err));
  send(res, 202, { queued: 'sms' });
}

function report(req, res) {
  const rows = Math.min(Number(req.body.rows) || 10, 10_000);
  tasks
    .run(() => buildReport(rows), { type: 'batch', description: `report of ${rows} rows`, estimatedMs: rows * BATCH_ROW_MS })
    .catch((err) => console.error('batch failed', err));
  send(res, 202, { queued: 'batch', rows });
}

function activeTasks(req, res) {
  send(res, 200, { active: tasks.active(), stats: tasks.stats() });
}

// --- a minimal router (what `express()` gives you) --------------------------------------------

const routes = [
  ['POST', /^\/signup$/, signup],
  ['POST', /^\/orders\/([^/]+)\/ship$/, ship, ['id']],
  ['POST', /^\/reports$/, report],
  ['GET', /^\/tasks$/, activeTasks],
  ['GET', /^\/$/, (req, res) => send(res, 200, { hello: 'world', pid: process.pid })],
];

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
  if (!route) return send(res, 404, { error: 'not found' });
  const [, pattern, handler, names = []] = route;
  const match = pattern.exec(url.pathname);
  req.params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    if (raw.length < 1e6) raw += chunk;
  });
  req.on('end', () => {
    try {
      req.body = raw ? JSON.parse(raw) : {};
    } catch {
      return send(res, 400, { error: 'invalid JSON' });
    }
    handler(req, res);
  });
});

server.listen(Number(process.env.PORT || 3000), () => {
  console.log(`listening on port ${server.address().port}`);
});
