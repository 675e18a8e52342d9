#!/usr/bin/env bash
# Installs what the browser end-to-end test (tests/e2e/test_web_page.py) needs:
#   - Debian's Chromium at /usr/bin/chromium (playwright-core drives it; `npx playwright install`, which
#     downloads a browser of its own, does not work on our machines);
#   - playwright-core from tests/e2e/package-lock.json into tests/e2e/node_modules (npm ci).
# Idempotent: skips what is already there. Needs root (or sudo) for apt when Chromium is missing.
# Usage: infra/scripts/install_browser.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "npm (Node.js) is needed for the browser tests" >&2
    exit 1
fi
if [ ! -f tests/e2e/node_modules/playwright-core/package.json ] \
    || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

/usr/bin/chromium --version
node -e "require('./tests/e2e/node_modules/playwright-core/package.json').version" >/dev/null
echo "browser test stack installed"
