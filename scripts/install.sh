#!/usr/bin/env bash
# Installs what `rtpcast send` needs on Debian/Ubuntu and builds it.
#   bash scripts/install.sh
# Needs: Node.js >= 20 (Debian 13 / Ubuntu 24.10 ship it; on older releases install Node 20
# from nodejs.org or NodeSource first), ffmpeg (only for --input files).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing with apt: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "rtpcast needs Node.js 20 or newer; this machine has $(node --version)." >&2
  echo "Install Node 20 (e.g. from https://nodejs.org or NodeSource's Debian packages), then run this again." >&2
  exit 4
fi

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "built: node dist/src/cli/main.js send --help"
