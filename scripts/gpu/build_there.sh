#!/usr/bin/env bash
# Build training data on the GPU machine from the pack of scripts/gpu/pack_sources.py (carried as gpu-src):
# unpack its wheels into /tmp/site, its corpora and soundfont into $WORK, then `scorebridge data build` each
# source with all cores. No network, no Debian packages: SVG is rasterized with resvg and MIDI synthesized with
# tinysoundfont (render.raster / render.synth pick them when rsvg-convert / fluidsynth are missing).
#
#   SOURCES="lieder-voice asap" WORKERS=16 bash scripts/gpu/build_there.sh
#
# Rehearse on a machine that has rsvg-convert and fluidsynth with FORCE_WHEELS=1 (sets SCOREBRIDGE_RASTER=resvg
# and SCOREBRIDGE_SYNTH=tinysoundfont). Writes $WORK/built/SOURCE and $WORK/build-times.tsv
# (source, seconds, samples, workers).
set -euo pipefail
PY=${PY:-python3}
SRC=${SRC:-gpu-src}
WORK=${WORK:-/tmp/sb-build}
SOURCES=${SOURCES:-lieder-voice}
WORKERS=${WORKERS:-$(nproc)}
LIMIT=${LIMIT:-}               # only the first N pieces of each source (quick runs)
EXTRA=${EXTRA:-}               # more `data build` options, e.g. "--max-systems 1"

[ -d "$SRC" ] || { echo "build_there: $SRC: no such folder (carry the pack_sources.py output)" >&2; exit 1; }
mkdir -p /tmp/site "$WORK/corpora" "$WORK/built"
t0=$(date +%s)
[ -f "$SRC/site.tar.xz" ] && tar -xJf "$SRC/site.tar.xz" -C /tmp/site
for part in lieder kern asap; do
  [ -f "$SRC/$part.tar.xz" ] && tar -xJf "$SRC/$part.tar.xz" -C "$WORK/corpora"
done
SOUNDFONT_OPT=()
if [ -f "$SRC/soundfont.sf2.xz" ]; then
  xz -dc "$SRC/soundfont.sf2.xz" > "$WORK/soundfont.sf2"
  SOUNDFONT_OPT=(--soundfonts "$WORK/soundfont.sf2")
fi
echo "build_there: unpacked in $(( $(date +%s) - t0 )) s"
export PYTHONPATH="/tmp/site:src${PYTHONPATH:+:$PYTHONPATH}"
export SCOREBRIDGE_CACHE="$WORK/cache" OMP_NUM_THREADS=1
if [ "${FORCE_WHEELS:-0}" = 1 ]; then export SCOREBRIDGE_RASTER=resvg SCOREBRIDGE_SYNTH=tinysoundfont; fi

for source in $SOURCES; do
  s0=$(date +%s)
  # shellcheck disable=SC2086
  "$PY" -m scorebridge data build --source "$source" --corpora "$WORK/corpora" --out "$WORK/built/$source" \
      --workers "$WORKERS" "${SOUNDFONT_OPT[@]}" ${LIMIT:+--limit "$LIMIT"} -q $EXTRA | tee "$WORK/build-$source.log"
  secs=$(( $(date +%s) - s0 ))
  samples=$(grep -oE '[0-9]+ samples' "$WORK/build-$source.log" | tail -1 | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\n' "$source" "$secs" "${samples:-0}" "$WORKERS" | tee -a "$WORK/build-times.tsv"
done
