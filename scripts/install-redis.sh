#!/usr/bin/env bash
# Installs Debian's redis-server when it is missing: the BullMQ adapter's tool tests
# (test/tools/bullmq-*.tools.test.ts) start their own instance of it. Several installs may run at
# once on a shared machine: wait for the dpkg lock instead of failing on it.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT=(-o DPkg::Lock::Timeout=900)
# The package lists may be missing or stale on a fresh machine: update first.
$SUDO apt-get "${APT[@]}" update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT[@]}" install -y --no-install-recommends redis-server
# The package starts a system-wide instance on 6379 where systemd runs; the tests do not use it.
command -v redis-server >/dev/null
