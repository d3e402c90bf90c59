#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (test/tools/dashboard.tools.test.ts):
# puppeteer-core drives it and never downloads a browser of its own. Several jobs may run apt at
# once on a shared machine: wait for the dpkg lock instead of failing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@"; }
# Without a package list the package is not found: read it first.
apt_get update
apt_get install -y --no-install-recommends chromium fonts-dejavu-core
chromium --version
