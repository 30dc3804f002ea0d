#!/usr/bin/env bash
# Installs the official OpenAI Node SDK (npm "openai", pinned) for the SDK-against-serve test, unless it is there.
# Target: $SPLITWISE_OPENAI_SDK, else ~/.cache/splitwise/openai-sdk. Needs node and npm.
set -euo pipefail
VERSION="7.55.0"
DIR="${SPLITWISE_OPENAI_SDK:-$HOME/.cache/splitwise/openai-sdk}"
if [ -f "$DIR/node_modules/openai/package.json" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/openai/package.json"; then
  exit 0
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-openai-sdk: $tool not found; install Node.js 20+ (with npm) first" >&2
    exit 1
  fi
done
mkdir -p "$DIR"
npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "openai@$VERSION" >/dev/null
echo "installed openai@$VERSION in $DIR"
