#!/usr/bin/env bash
# Debian's Firefox ESR for the dashboard's browser test (test/tools/dashboard.tools.test.ts):
# puppeteer-core drives it over WebDriver BiDi and never downloads a browser of its own. Several
# jobs may run apt at once on a shared machine: wait for the dpkg lock instead of failing.
set -euo pipefail
if command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@"; }
# Without a package list the package is not found: read it first.
apt_get update
apt_get install -y --no-install-recommends firefox-esr fonts-dejavu-core
firefox-esr --version
