#!/usr/bin/env bash
# Installs everything the tests need on Debian/Ubuntu: the real peers the interop tests play
# against (ffmpeg, VLC, GStreamer, PulseAudio), tools they use (iproute2 for network
# namespaces, time for CPU accounting, Chromium and zbarimg for the --web page and its QR code,
# python3/make/g++ for node-gyp to build the native pacer that npm ci builds), a non-root user for VLC (it refuses to run as root),
# and the npm dependencies. Idempotent: apt runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PACKAGES=(
  ffmpeg
  vlc-bin vlc-plugin-base
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  pulseaudio pulseaudio-utils libasound2-plugins
  iproute2 procps time
  nftables iptables tshark
  python3
  gcc libc6-dev
  make g++
  chromium zbar-tools
)
need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing with apt: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# VLC refuses to run as root: the VLC interop tests run cvlc as this user.
if ! id rtpcast-test >/dev/null 2>&1; then
  echo "setup: creating the user rtpcast-test (VLC runs as it in tests)"
  $SUDO useradd --system --create-home --shell /usr/sbin/nologin rtpcast-test
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "the tests need Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 4
fi
npm ci --no-audit --no-fund --loglevel=error
