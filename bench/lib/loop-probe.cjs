'use strict';
// Loaded into a primary with NODE_OPTIONS=--require (workers inherit it and skip it): once the
// file LOOP_PROBE_TRIGGER exists, measures the primary's event loop — its busy time (event loop
// utilization) and an event-loop delay histogram (10 ms resolution) — and the CPU time it used,
// and writes them as JSON to LOOP_PROBE_OUT when the primary exits. On a machine with fewer cores
// than processes, busy time also counts the moments the primary was runnable but not running
// (every exiting worker competes for the cores): its CPU time is what it spent. The delay
// histogram's count is the number of 10 ms samples, not of events. With LOOP_PROBE_CPU_PROF set
// (a file path), a V8 CPU profile of the same window is written there (`--cpu-prof` is not allowed
// in NODE_OPTIONS, and would profile the boot too).
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
    startProfile(); // first: starting the profiler is not the primary's work
    start = performance.eventLoopUtilization();
    startedAt = performance.now();
    cpu0 = process.cpuUsage();
    histogram.enable();
    clearInterval(poll);
  }, 5);
  poll.unref();
  let session = null;
  const startProfile = () => {
    if (!process.env.LOOP_PROBE_CPU_PROF) return;
    const inspector = require('node:inspector');
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 200 });
    session.post('Profiler.start');
  };
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
    // The same-thread session answers synchronously: the profile is written before the exit (after the figures above, which it would add to).
    session?.post('Profiler.stop', (err, res) => {
      if (!err) fs.writeFileSync(process.env.LOOP_PROBE_CPU_PROF, JSON.stringify(res.profile));
    });
  });
}
