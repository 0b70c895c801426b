#!/usr/bin/env bash
# Keep tracked files that a lease does not need off a device call, and put them back after. The device tool copies
# tracked and untracked-not-ignored files; the shipped weights are 55.4 of the 64 MiB that may travel. `light`
# un-tracks the paths in the index only (a staged removal: the files never leave this disk) and hides them in
# .git/info/exclude, so the copy leaves them behind; `restore` undoes both.
#   bash scripts/gpu/travel.sh light [PATH...]   # right before the call; default src/scorebridge/weights (a lease
#                                                #   from scratch); src/scorebridge/weights/codecs for a lease that
#                                                #   continues the translator on baked tokens
#   bash scripts/gpu/travel.sh restore           # right after it -- never commit in between (it would delete them)
#   bash scripts/gpu/travel.sh size [CARRY...]   # MiB a device call would copy now, with the paths it carries
#                                                #   (e.g. .whl gpu); a carried symbolic link is an error: it
#                                                #   travels as a link, without what it points to
set -eu
cd "$(git rev-parse --show-toplevel)"
EXCLUDE=$(git rev-parse --git-path info/exclude)
STATE=$(git rev-parse --git-path travel-light)  # the paths `light` took off, one per line
LIMIT_MIB=64
bytes() { xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }
size() {
  local tree carried=0 path
  tree=$(git ls-files -z -co --exclude-standard | bytes)
  for path in "$@"; do
    path=${path%/}
    [ -L "$path" ] && { echo "travel.sh: $path is a symbolic link: it would travel without what it points to" >&2; exit 1; }
    [ -e "$path" ] || { echo "travel.sh: $path does not exist" >&2; exit 1; }
    carried=$(( carried + $(find "$path" -type f -print0 | bytes) ))
  done
  TOTAL=$(( tree + carried ))
  awk -v t="$tree" -v c="$carried" -v lim="$LIMIT_MIB" 'BEGIN {
    printf "%.2f MiB would travel (tree %.2f, carried %.2f; the limit is %d)\n", (t + c) / 1048576, t / 1048576,
           c / 1048576, lim }'
}
case "${1:-}" in
  light)
    shift
    [ $# -gt 0 ] || set -- src/scorebridge/weights
    [ -s "$STATE" ] && { echo "travel.sh: already light ($(tr '\n' ' ' < "$STATE")); run 'restore' first" >&2; exit 1; }
    for path in "$@"; do
      path=${path%/}
      [ -n "$(git ls-files -- "$path")" ] || { echo "travel.sh: $path holds no tracked files" >&2; exit 1; }
      git diff --cached --quiet -- "$path" || { echo "travel.sh: $path has staged changes" >&2; exit 1; }
    done
    mkdir -p "$(dirname "$EXCLUDE")"
    for path in "$@"; do
      path=${path%/}
      echo "$path" >> "$STATE"
      grep -qxF "/$path/" "$EXCLUDE" 2>/dev/null || echo "/$path/" >> "$EXCLUDE"
      git rm -r -q --cached -- "$path"
      echo "travel.sh: $path stays here (un-tracked in the index, excluded); run 'restore' after the call"
    done
    size ;;
  restore)
    [ -s "$STATE" ] || { echo "travel.sh: nothing to restore"; size; exit 0; }
    while read -r path; do
      git reset -q -- "$path"
      if [ -f "$EXCLUDE" ]; then
        grep -vxF "/$path/" "$EXCLUDE" > "$EXCLUDE.tmp" || true
        mv "$EXCLUDE.tmp" "$EXCLUDE"
      fi
      git diff --quiet -- "$path" || echo "travel.sh: warning: $path differs from the last commit" >&2
      echo "travel.sh: $path tracked again"
    done < "$STATE"
    rm -f "$STATE"
    size ;;
  size)
    shift; size "$@"
    [ "$TOTAL" -le $(( LIMIT_MIB * 1048576 )) ] || { echo "travel.sh: over the limit" >&2; exit 1; } ;;
  *) echo "usage: bash scripts/gpu/travel.sh light [PATH...] | restore | size [CARRY...]" >&2; exit 2 ;;
esac
