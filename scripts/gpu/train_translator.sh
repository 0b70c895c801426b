#!/usr/bin/env bash
# Train the shipped translator (configs/ship.toml) on one lent GPU within a wall-clock budget.
# What travels: this repository, gpu/tokens.tar.xz (a baked token folder, `scorebridge codec bake`, packed with
# `tar -cJf gpu/tokens.tar.xz -C runs tokens-NAME`) and .whl (the packages that machine lacks).
# An 80-step probe times the real step on that GPU over its second half (a 40-step probe timed from step 20
# measured 2.26 steps/s on an H100 where the run then averaged 4.15: its first steps were slower); the run then gets as many steps as fit BUDGET_MIN, so that its
# learning-rate schedule ends where the time does (--max-minutes stops it regardless).
# Results in $OUT: the last checkpoint's weights in fp16 (split in parts under 16 MiB), its config,
# metrics.jsonl, the log and summary.json.
set -u
OUT=${OUT:-/tmp/out}
BUDGET_MIN=${BUDGET_MIN:-5}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/work}
RECIPE=${RECIPE:-configs/ship.toml}
mkdir -p "$OUT" "$WORK"
T0=$(date +%s)
source scripts/gpu/env.sh
tar -xJf "${TOKENS_TAR:-gpu/tokens.tar.xz}" -C "$WORK" || exit 1
TOKENS=$(ls -d "$WORK"/tokens-*)
echo "tokens: $TOKENS ($(wc -l < "$TOKENS/manifest.jsonl") samples)" | tee -a "$OUT/env.txt"

export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
probe() {
  rm -rf "$WORK/probe"
  $PY -m scorebridge train --config "$RECIPE" --data "$TOKENS" --out "$WORK/probe" --steps 80 --device "$DEVICE" \
    ${BATCH:+--batch-size $BATCH} -q > "$OUT/probe.log" 2>&1
}
# out of memory at the recipe's batch: halve it once
probe || { tail -n 3 "$OUT/probe.log"; BATCH=$(( ${BATCH:-48} / 2 )); echo "retrying at batch $BATCH"; probe; } \
  || { cat "$OUT/probe.log"; exit 1; }
echo "batch: ${BATCH:-recipe}" | tee -a "$OUT/env.txt"
SPENT=$(( $(date +%s) - T0 ))
STEPS=$($PY - "$WORK/probe/metrics.jsonl" "$BUDGET_MIN" "$SPENT" <<'PYEOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
a, b = rows[len(rows) // 2 - 1], rows[-1]  # the second half: the first steps pay for loader and kernel warm-up
rate = (b["step"] - a["step"]) / (b["seconds"] - a["seconds"])
left = float(sys.argv[2]) * 60 - float(sys.argv[3]) - 25  # start-up of the real run and packing after it
print(max(100, int(rate * left * 0.93)))
print(f"probe: {rate:.2f} steps/s, {left:.0f} s left", file=sys.stderr)
PYEOF
)
echo "steps: $STEPS" | tee -a "$OUT/env.txt"
LEFT_MIN=$($PY -c "print(max(0.5, ($BUDGET_MIN * 60 - $(( $(date +%s) - T0 )) - 10) / 60))")
$PY -m scorebridge train --config "$RECIPE" --data "$TOKENS" --out "$WORK/run" --steps "$STEPS" --device "$DEVICE" ${BATCH:+--batch-size $BATCH} \
  --max-minutes "$LEFT_MIN" -q -v > "$OUT/train.log" 2>&1
echo "train exit $?" | tee -a "$OUT/env.txt"
cp "$WORK/run/metrics.jsonl" "$WORK/run/recipe.json" "$OUT/" 2>/dev/null
LAST="$WORK/run/$(cat "$WORK/run/latest")"
$PY - "$LAST" "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
src, out = Path(sys.argv[1]), Path(sys.argv[2])
weights = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in load_file(src / "model.safetensors").items()}
save_file(weights, str(out / "model-fp16.safetensors"))
(out / "config.json").write_text((src / "config.json").read_text())
rows = [json.loads(line) for line in open(src.parent / "metrics.jsonl")]
summary = {"checkpoint": src.name, "steps": rows[-1]["step"], "seconds": rows[-1]["seconds"],
           "last_loss": rows[-1]["loss"], "last_accuracy": rows[-1]["accuracy"],
           "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"}
(out / "summary.json").write_text(json.dumps(summary, indent=1))
print(summary)
PYEOF
tail -n 3 "$OUT/train.log"; date
# at most 8 files come back, 16 MiB each: the weights in parts, everything else in one tar
cd "$OUT" && split -b 15M -d model-fp16.safetensors model-fp16.part && rm model-fp16.safetensors
tar -cf logs.tar --remove-files $(ls | grep -v '^model-fp16.part'); ls -la
