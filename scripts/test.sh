#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first (headless Chromium for the HTML report check),
# then builds and tests in Release. Extra arguments go to `dotnet test` (e.g. --filter).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-chromium.sh || echo "warning: could not install chromium; the browser check will fail in CI" >&2
dotnet test Splitwise.slnx -c Release "$@"
