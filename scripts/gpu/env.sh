# Sourced by the GPU scripts: install the carried wheels (on the GPU machine only), set PYTHONPATH and PY,
# and record the machine in $OUT/env.txt. EXTRA_PATH (optional) goes first on the path, for dry runs here.
export PYTHONUNBUFFERED=1
if [ "$DEVICE" = cuda ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=${EXTRA_PATH:+$EXTRA_PATH:}/tmp/site:$PWD/src
else
  export PYTHONPATH=${EXTRA_PATH:+$EXTRA_PATH:}$PWD/src
fi
PY=${PY:-python3}
{ date; nvidia-smi -L 2>/dev/null; $PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"; } \
  | tee "$OUT/env.txt"
