#!/usr/bin/env bash
# Proves the core install from this clone: a fresh venv in a temp folder, torch's CPU wheel, `pip install .` (no
# extras), then `scorebridge render` and `scorebridge translate` on the bundled inputs, from outside the clone so
# that only the installed package is used. Prints the install's time and size. Needs the package registry (not
# part of `make test`). KEEP=1 keeps the temp folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/scorebridge-install.XXXXXX")"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
echo "check_install: fresh venv in $work"

for tool in rsvg-convert fluidsynth; do
  command -v "$tool" >/dev/null || echo "check_install: $tool missing (scripts/setup.sh installs it; see docs/install.md)"
done

start=$SECONDS
python3 -m venv "$work/venv"
PIP=("$work/venv/bin/python" -m pip --disable-pip-version-check -q)
# first, so that the range in pyproject.toml is already met and pip never picks a CUDA build of several GB
"${PIP[@]}" install torch==2.13.0
"${PIP[@]}" install "$repo"
echo "check_install: venv + torch + pip install . took $((SECONDS - start)) s"
echo "check_install: core venv size: $(du -sh "$work/venv" | cut -f1)"

cd "$work"
# one thread per process: on a busy small machine torch's default thread count is many times slower
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
sb="$work/venv/bin/scorebridge"
ex="$("$work/venv/bin/python" -c "from importlib import resources; print(resources.files('scorebridge') / 'data' / 'examples')")"
case "$ex" in "$repo"*) echo "check_install: scorebridge was imported from the clone, not the install" >&2; exit 1 ;; esac
mkdir out
set -x
"$sb" render "$ex/minuet-in-g.musicxml" --to pages -o out/pages -q
"$sb" render "$ex/minuet-in-g.musicxml" --to midi -o out/minuet.mid -q
"$sb" translate "$ex/minuet-in-g.musicxml" -o out/minuet.wav -q
"$sb" translate "$ex/excerpt.mid" -o out/excerpt.musicxml -q
# the shipped model (inside the wheel), kept short: a few decoding steps per system
"$sb" translate "$ex/page.png" -o out/page.lmx --max-steps 8 -q
set +x
# the studio is an extra: one line naming it, exit status 2
if out="$("$sb" serve 2>&1)"; then echo "check_install: serve started without the studio extra" >&2; exit 1; fi
echo "$out" | grep -q "scorebridge\[studio\]" || { echo "check_install: unexpected serve message: $out" >&2; exit 1; }
echo "check_install: serve says: $out"
ls -l out out/pages
echo "check_install: OK"
