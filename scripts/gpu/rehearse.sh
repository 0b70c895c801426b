#!/usr/bin/env bash
# A lease rehearsed here under the GPU machine's Python before GPU time is spent on it: a CPython 3.12 venv
# holding the image's packages (image-packages.txt), the carried wheels (.whl) installed as env.sh installs them
# there (pip --target, no index, no dependencies), then lease.sh on the CPU. It catches a wheel that does not
# install or import on 3.12 and a module the image lacks; the wall times are this machine's, not a GPU's.
#   PY312=/root/.pyenv/versions/3.12.1/bin/python TOKENS=gpu/voice-narrow-test.sbbuilt SOUNDFONT=gpu/TimGM6mb.sf2.xz \
#     RECIPE=scripts/gpu/lease-read.toml MODEL=tiny TRAIN_S=60 OUT=/tmp/rehearsal bash scripts/gpu/rehearse.sh
# (the other lease.sh variables pass through; VENV and SITE name the folders it makes, kept between runs)
set -eu
PY312=${PY312:?name a CPython 3.12 interpreter (the GPU machine runs 3.12)}
VENV=${VENV:-/tmp/rehearse-py312}
SITE=${SITE:-/tmp/rehearse-site}
"$PY312" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version' || exit 1
ls .whl/*.whl >/dev/null 2>&1 || { echo "no wheels in .whl (scripts/gpu/README.md says how to fetch them)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  "$PY312" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q -r scripts/gpu/image-packages.txt
fi
rm -rf "$SITE"
"$VENV/bin/python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
  .whl/*.whl
# the GPU machine has no FluidSynth: the unpacking synthesizes with the carried tinysoundfont, as it will there
export SCOREBRIDGE_SYNTH=${SCOREBRIDGE_SYNTH:-tinysoundfont}
DEVICE=cpu PY="$VENV/bin/python" EXTRA_PATH="$SITE" bash scripts/gpu/lease.sh
