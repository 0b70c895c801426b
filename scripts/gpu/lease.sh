#!/usr/bin/env bash
# One lease of the relay (scripts/lease.py): continue the shipped translator on a lent GPU for the minutes left,
# and return its weights (fp16, in parts), the run's metrics and a summary (examples/s, FLOPs per example, MFU).
# Here, after the return: python scripts/lease.py relay --returned RETURNED --data TEST_TOKENS (evaluates the
# candidate and the shipped weights on the same held-out set, ships only if better, adds MODEL_CARD.md's row).
# What travels: this repository (with src/scorebridge/weights, unless `scripts/gpu/travel.sh light` kept them here for
# a lease from scratch), the data (TOKENS below), and .whl (the packages that machine lacks).
#   LEASE_MIN   the lease's device minutes (15), START_S the seconds it spent before this script began (machine
#               start and transfer; an estimate until measured), RETURN_S kept for the return (180), CALL_S the
#               device tool's limit on one command (600: run this as one call with timeout_s 600)
#   DEVICE=cpu OUT=/tmp/out MODEL=tiny ... runs the same steps here (how it is tested: tests/test_lease.py)
set -u
T0=$(date +%s)
OUT=${OUT:-/tmp/out}
LEASE_MIN=${LEASE_MIN:-15}
START_S=${START_S:-120}
RETURN_S=${RETURN_S:-180}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/work}
RECIPE=${RECIPE:-scripts/gpu/lease.toml}
INIT=${INIT-src/scorebridge/weights/model}  # empty: from scratch; weights that do not fit the recipe
# (another preset, vocabulary, codecs or inputs: the first lease of a new recipe) are left for a fresh start,
# which summary.json records, so that the next lease of the same recipe continues what this one ships
mkdir -p "$OUT" "$WORK"
source scripts/gpu/env.sh
stamp() { echo "$1 $(( $(date +%s) - T0 ))" | tee -a "$OUT/env.txt"; }
stamp "setup_s"
# TOKENS: a token pack (python -m scorebridge.shards.pack pack ...), a built-dataset pack for recipes that read
# pixels and mel frames (python -m scorebridge.shards.built_pack pack ...: lease-read.toml; its audio is made again
# here from the notes with SOUNDFONT, an .sf2 or .sf2.xz that travels, on every core), a tar.xz of one folder
# (baked tokens or a built dataset), or a folder
TOKENS=${TOKENS:-gpu/tokens.sbpack}
SOUNDFONT=${SOUNDFONT:-}
case "$SOUNDFONT" in
  *.xz) $PY -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
          "$SOUNDFONT" "$WORK/soundfont.sf2" || exit 1; SOUNDFONT=$WORK/soundfont.sf2 ;;
esac
case "$TOKENS" in
  *.sbpack) $PY -m scorebridge.shards.pack unpack "$TOKENS" "$WORK/tokens" || exit 1; TOKENS=$WORK/tokens ;;
  *.sbbuilt) $PY -m scorebridge.shards.built_pack unpack "$TOKENS" "$WORK/built" ${SOUNDFONT:+--soundfont "$SOUNDFONT"} \
               --workers "${UNPACK_WORKERS:-$(nproc)}" || exit 1; TOKENS=$WORK/built ;;
  *.tar.xz) top=$(tar -tJf "$TOKENS" | head -n 1 | cut -d/ -f1) && tar -xJf "$TOKENS" -C "$WORK" || exit 1
            TOKENS=$WORK/$top ;;
esac
echo "tokens: $TOKENS ($(wc -l < "$TOKENS/manifest.jsonl") samples)" | tee -a "$OUT/env.txt"
stamp "data_s"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
# TRAIN_S (optional) fixes the training seconds instead (the CPU test: its elapsed time depends on the load)
# the budget: the lease's device minutes, and the device tool's 10-minute limit on this one command (CALL_S; a
# command stopped at its limit returns nothing), keeping AFTER_S in it for the FLOP count and the export
SECONDS_LEFT=${TRAIN_S:-$($PY scripts/lease.py budget --lease-min "$LEASE_MIN" --return-s "$RETURN_S" \
  --start-s "$START_S" --elapsed-s $(( $(date +%s) - T0 )) --call-s "${CALL_S:-600}" --after-s "${AFTER_S:-60}")} \
  || exit 1
echo "training seconds: $SECONDS_LEFT" | tee -a "$OUT/env.txt"
$PY scripts/lease.py train --recipe "$RECIPE" --data "$TOKENS" ${INIT:+--init "$INIT" --init-if-fits} --out "$WORK/run" \
  --seconds "$SECONDS_LEFT" --lease-min "$LEASE_MIN" --device "$DEVICE" ${MODEL:+--model $MODEL} \
  ${BATCH:+--batch-size $BATCH} ${BATCH_TOKENS:+--batch-tokens $BATCH_TOKENS} ${GUESS_STEPS:+--guess-steps $GUESS_STEPS} \
  ${PROBE_STEPS:+--probe-steps $PROBE_STEPS} ${COMPILE:+--compile} > "$OUT/train.log" 2>&1
echo "train exit $?" | tee -a "$OUT/env.txt"
stamp "train_s"
$PY scripts/lease.py export --run "$WORK/run" --out "$OUT/ret" >> "$OUT/train.log" 2>&1 || { tail -n 20 "$OUT/train.log"; exit 1; }
stamp "export_s"
# at most 8 files come back: the weight parts, config.json, summary.json, and the logs in one tar
mv "$OUT"/ret/* "$OUT"/ && rmdir "$OUT/ret"
tail -n 3 "$OUT/train.log"
cat "$OUT/summary.json"
cd "$OUT" && tar -cf logs.tar --remove-files env.txt train.log metrics.jsonl 2>/dev/null; ls -la "$OUT"
