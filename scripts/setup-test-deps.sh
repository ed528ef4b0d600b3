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

# PipeWire with module-rtp-sap (test/interop/sap-pipewire.test.ts). The module first shipped in
# PipeWire 0.3.67; Debian bookworm's own PipeWire is 0.3.65 (module-rtp-source/-sink only), so on
# bookworm it comes from bookworm-backports (1.4.2 as of 2025). Other distributions: their own
# pipewire-bin / libpipewire-0.3-modules if new enough.
PW_PACKAGES=(pipewire-bin libpipewire-0.3-modules libspa-0.2-modules)
if ! ls /usr/lib/*/pipewire-0.3/libpipewire-module-rtp-sap.so >/dev/null 2>&1; then
  pw_target=()
  if grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "setup: adding bookworm-backports (for PipeWire with module-rtp-sap)"
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/rtpcast-backports.list >/dev/null
    fi
    pw_target=(-t bookworm-backports)
  fi
  echo "setup: installing PipeWire with module-rtp-sap: ${PW_PACKAGES[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pw_target[@]}" "${PW_PACKAGES[@]}" >/dev/null
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
