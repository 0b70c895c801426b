#!/usr/bin/env bash
# Idempotent set-up on a fresh machine of this kind (as root): Debian packages, .venv, torch (CPU
# wheel on disk), the project with its test extras. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the studio's browser test (Playwright drives /usr/bin/chromium; it never downloads a browser)
DEB_PKGS=(fluidsynth fluid-soundfont-gm timgm6mb-soundfont librsvg2-bin ffmpeg chromium)
# Install the Debian packages named as arguments that are not installed yet (one apt run for all of them).
install_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_debs "${DEB_PKGS[@]}"

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The CPU wheel lies on this machine's disk; pinning it here keeps pip from choosing a CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" install torch==2.13.0

stamp=.venv/.scorebridge-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "${PIP[@]}" install -e ".[test]"
  touch "$stamp"
fi

# `setup.sh --bench`: what the benchmarks add: a reference transcriber (basic-pitch), MuseScore 3 for the
# OLiMPiC-synthetic engravings, and a soundfont no dataset build uses (held-out transcription audio).
if [ "${1:-}" = "--bench" ]; then
  install_debs musescore3 musescore-general-soundfont-small
  .venv/bin/python -c "import basic_pitch, onnxruntime" 2>/dev/null || {
    "${PIP[@]}" install -e ".[test,bench]"
    "${PIP[@]}" install --no-deps basic-pitch==0.4.0
  }
fi
