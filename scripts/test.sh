#!/usr/bin/env bash
# Installs what the tests need (system packages via apt included) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
npm test
