#!/usr/bin/env bash
# Train both codecs at once on one lent GPU (the device tool's machine), then time them there.
# What travels: this repository, gpu/data (a subset made by scripts/subset_dataset.py) and .whl (the packages
# that machine lacks). Results go to $OUT: codecs.tar (the two checkpoints), logs, the speed table.
#   IMAGE_MIN / AUDIO_MIN: each trainer's wall-clock limit in minutes (both run concurrently).
set -u
OUT=${OUT:-/tmp/out}
IMAGE_MIN=${IMAGE_MIN:-5}
AUDIO_MIN=${AUDIO_MIN:-5}
DEVICE=${DEVICE:-cuda}
RUNS=${RUNS:-/tmp/runs}
mkdir -p "$OUT" "$RUNS"
source scripts/gpu/env.sh
D=gpu/data
$PY -m scorebridge codec train image --data $D/kern-piano --data $D/lieder --data $D/asap --data $D/kern-piano-img \
  --data $D/lieder-img --preset small --out "$RUNS/image-codec" --steps 200000 --batch-size ${IMAGE_BATCH:-96} \
  --lr ${IMAGE_LR:-4e-4} --device "$DEVICE" --max-minutes "$IMAGE_MIN" -q -v > "$OUT/image-train.log" 2>&1 &
IMG=$!
$PY -m scorebridge codec train audio --data $D/kern-piano --data $D/lieder --data $D/asap --preset small24k \
  --out "$RUNS/audio-codec" --steps 200000 --batch-size ${AUDIO_BATCH:-32} --lr ${AUDIO_LR:-3e-4} \
  --device "$DEVICE" --max-minutes "$AUDIO_MIN" -q -v > "$OUT/audio-train.log" 2>&1 &
AUD=$!
wait $IMG; echo "image codec exit $?" | tee -a "$OUT/env.txt"
wait $AUD; echo "audio codec exit $?" | tee -a "$OUT/env.txt"
mkdir -p "$RUNS/codecs"
cp -r "$RUNS/image-codec" "$RUNS/codecs/image"
cp -r "$RUNS/audio-codec" "$RUNS/codecs/audio"
cp "$RUNS/audio-codec/train_log.jsonl" "$OUT/audio-train.jsonl" 2>/dev/null
# the checkpoints (each under the 16 MiB a returned file may hold; the optimizer states stay behind)
tar -C "$RUNS" -cf "$OUT/image-codec.tar" --exclude train_state.pt image-codec
tar -C "$RUNS" -cf "$OUT/audio-codec.tar" --exclude train_state.pt audio-codec
timeout 60 $PY bench/bench_codec_speed.py --codecs "$RUNS/codecs" --device "$DEVICE" > "$OUT/speed.md" 2>&1
tail -n 3 "$OUT/image-train.log" "$OUT/audio-train.log"
cat "$OUT/speed.md"
date
