#!/usr/bin/env bash
# Idempotent set-up on a fresh machine of this kind (as root): Debian packages, .venv, torch (CPU wheel on
# disk), the project. Quick when everything is already there.
#   scripts/setup.sh           what `make demo` needs: the core install and the tools translation calls
#   scripts/setup.sh --test    what `make test` needs besides: every extra but bench, ffmpeg, Debian's chromium
#   scripts/setup.sh --bench   --test, plus basic-pitch and MuseScore 3 for the benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."

mode=core
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  --bench) mode=bench ;;
  *) echo "usage: scripts/setup.sh [--test|--bench]" >&2; exit 2 ;;
esac

# rsvg-convert draws Verovio's SVG; FluidSynth and the GM soundfonts synthesize audio
CORE_DEBS=(fluidsynth fluid-soundfont-gm timgm6mb-soundfont librsvg2-bin)
# ffmpeg: the video commands; chromium: the studio's browser test (Playwright drives /usr/bin/chromium, never a
# browser it downloads)
TEST_DEBS=(ffmpeg chromium)
# MuseScore 3 for the OLiMPiC-synthetic engravings, and a soundfont no dataset build uses (held-out audio)
BENCH_DEBS=(musescore3 musescore-general-soundfont-small)

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
debs=("${CORE_DEBS[@]}")
[ "$mode" = core ] || debs+=("${TEST_DEBS[@]}")
[ "$mode" = bench ] && debs+=("${BENCH_DEBS[@]}")
install_debs "${debs[@]}"

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The CPU wheel lies on this machine's disk; pinning it here keeps pip from choosing a CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" install torch==2.13.0

# One stamp per level; a higher level's stamp (newer than pyproject.toml) covers the lower ones.
fresh() { [ -f ".venv/.scorebridge-$1" ] && [ ! pyproject.toml -nt ".venv/.scorebridge-$1" ]; }
case "$mode" in
  core) fresh core || fresh test || fresh bench || { "${PIP[@]}" install -e .; touch .venv/.scorebridge-core; } ;;
  test)
    fresh test || fresh bench || {
      "${PIP[@]}" install -e ".[test]"
      # the wheel-only synthesizer's tests (render/tsf_synth.py); --no-deps: its metadata pulls pyaudio
      "${PIP[@]}" install --no-deps tinysoundfont==0.3.7
      touch .venv/.scorebridge-test
    } ;;
  bench)
    fresh bench || {
      "${PIP[@]}" install -e ".[test,bench]"
      "${PIP[@]}" install --no-deps tinysoundfont==0.3.7
      # its metadata pulls TensorFlow on Linux; its shipped ONNX model runs with onnxruntime instead
      "${PIP[@]}" install --no-deps basic-pitch==0.4.0
      touch .venv/.scorebridge-bench
    } ;;
esac
