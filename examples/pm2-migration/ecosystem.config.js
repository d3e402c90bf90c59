// A pm2 ecosystem file as teams have them, unchanged: `pm2 start ecosystem.config.js --env production`
// becomes `smartworkers start ecosystem.config.js --env production`.
module.exports = {
  apps: [
    {
      // An HTTP API in cluster mode, ready once it says so.
      name: 'api',
      script: 'api.js',
      cwd: __dirname,
      instances: 2,
      exec_mode: 'cluster',
      wait_ready: true,
      listen_timeout: 10000,
      kill_timeout: 20000,
      max_memory_restart: '300M',
      exp_backoff_restart_delay: 100,
      env: {
        PORT: 3000,
        NODE_ENV: 'development',
      },
      env_production: {
        NODE_ENV: 'production',
      },
      // smartworkers' own keys may sit beside pm2's (pm2 ignores them):
      max_requests: 10000,
      max_requests_jitter: 1000,
    },
    {
      // A queue consumer: no server, one process, ready once connected.
      name: 'jobs',
      script: 'jobs.js',
      cwd: __dirname,
      instances: 1,
      exec_mode: 'fork',
      wait_ready: true,
      kill_timeout: 30000,
      restart_delay: 1000,
      env: {
        QUEUE: 'default',
        JOB_INTERVAL_MS: 1000,
      },
      env_production: {
        QUEUE: 'production',
      },
      // As in pm2: jobs' stdout goes to logs/jobs.out-0.log (one file per instance), rotated at 10MB.
      out_file: './logs/jobs.out.log',
    },
  ],
};
