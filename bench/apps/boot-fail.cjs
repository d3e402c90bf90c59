'use strict';
// An app that never becomes ready, then fails its boot when told: every worker polls for the
// file BOOT_FAIL_TRIGGER and exits 1 once it exists, so all of them fail at the same moment.
const fs = require('node:fs');

const trigger = process.env.BOOT_FAIL_TRIGGER;
setInterval(() => {
  if (trigger && fs.existsSync(trigger)) process.exit(1);
}, 50);
