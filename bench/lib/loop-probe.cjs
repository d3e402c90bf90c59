'use strict';
// Loaded into a primary with NODE_OPTIONS=--require (workers inherit it and skip it): once the
// file LOOP_PROBE_TRIGGER exists, measures the primary's event loop — its busy time (event loop
// utilization) and an event-loop delay histogram (10 ms resolution) — and the CPU time it used,
// and writes them as JSON to LOOP_PROBE_OUT when the primary exits. On a machine with fewer cores
// than processes, busy time also counts the moments the primary was runnable but not running
// (every exiting worker competes for the cores): its CPU time is what it spent.
const cluster = require('node:cluster');
const fs = require('node:fs');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');

const trigger = process.env.LOOP_PROBE_TRIGGER;
const out = process.env.LOOP_PROBE_OUT;
if (cluster.isPrimary && trigger && out && !process.env.NODE_UNIQUE_ID) {
  let start = null;
  let startedAt = 0;
  let cpu0 = null;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  const poll = setInterval(() => {
    if (start !== null || !fs.existsSync(trigger)) return;
    start = performance.eventLoopUtilization();
    startedAt = performance.now();
    cpu0 = process.cpuUsage();
    histogram.enable();
    clearInterval(poll);
  }, 5);
  poll.unref();
  process.on('exit', () => {
    if (start === null) return;
    histogram.disable();
    const elu = performance.eventLoopUtilization(start);
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    fs.writeFileSync(
      out,
      JSON.stringify({
        windowMs: Math.round(performance.now() - startedAt),
        busyMs: Math.round(elu.active),
        cpuMs: (() => {
          const c = process.cpuUsage(cpu0);
          return Math.round((c.user + c.system) / 1000);
        })(),
        delay: { count: histogram.count, p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) },
      }),
    );
  });
}
