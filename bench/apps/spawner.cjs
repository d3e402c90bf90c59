'use strict';
// Each worker starts processes the ways apps do and never stops them: a child, a detached child, a
// grandchild under a shell, and a daemon in its own session (double fork). Every one of them has
// `0.<TREE_RUN><worker pid>` among its arguments (sleep adds it to its 1000 s), so a harness finds
// each worker's leftovers by that marker.
const { spawn } = require('node:child_process');
const { serve, hello } = require('./_common.cjs');

const marker = `0.${process.env.TREE_RUN || '0'}${process.pid}`;
const start = (cmd, args, opts = {}) => spawn(cmd, args, { stdio: 'ignore', ...opts }).unref();
start('sleep', ['1000', marker]);
start('sleep', ['1000', marker], { detached: true });
start('sh', ['-c', `sleep 1000 ${marker}; true`]);
start('sh', ['-c', `setsid sleep 1000 ${marker} &`]);
serve(hello);
