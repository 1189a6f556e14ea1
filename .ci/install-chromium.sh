#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/ui/), only when it is missing.
# Playwright's own browser download does not work on these machines; the tests launch
# /usr/bin/chromium through Playwright's executable_path instead.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
