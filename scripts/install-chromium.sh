#!/usr/bin/env bash
# Installs Debian's headless Chromium for the report rendering test, unless it is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${SPLITWISE_CHROMIUM:-}" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found; install Chromium and set SPLITWISE_CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
