#!/usr/bin/env bash
# Peak RSS of `ferry run`, `verify`, `restore` and `restore --list-sources` on a tree of COUNT tiny files,
# to see whether memory grows with the file count (it should not). Each command runs once; RSS, not wall time,
# is what it reports, so a loaded machine does not change the answer much.
# Usage: npm run bench:memory                  (COUNT=200000)
#        COUNT=1000000 bash bench/memory.sh    (about 4 GB of tmpfs for the tree and the restore)
#        DATA=bench/data/scale-1/app bash bench/memory.sh   (any existing tree instead of tiny files)
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-${1:-200000}}
ROOT=$PWD
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
if [ -z "${OUT:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT=$(mktemp -d /dev/shm/ferry-memory.XXXXXX); else OUT=$(mktemp -d); fi
fi
mkdir -p "$OUT/staging"
trap 'rm -rf "$OUT"' EXIT
npm run build >/dev/null
if [ -z "${DATA:-}" ]; then
  DATA=$OUT/many/app
  node bench/generate-many.mjs "$DATA" "$COUNT"
fi
DATA=$(cd "$DATA" && pwd)
printf 'job: memory\nstate_dir: %s/state\nstaging_dir: %s/staging\nsources:\n  - path: %s\n    as: app\ncompression: { level: 6 }\ntargets:\n  t1: { type: local, path: %s/store, keep: 100 }\n' \
  "$OUT" "$OUT" "$DATA" "$OUT" > "$OUT/memory.yaml"
FERRY="node $ROOT/dist/src/cli/ferry.js -q -c $OUT/memory.yaml"

peak() { # label, command...: runs it and prints its peak RSS
  local label=$1; shift
  if ! /usr/bin/time -f '%M' -o "$OUT/rss.txt" "$@" >/dev/null 2>"$OUT/err.txt"; then
    echo "bench: $label failed:" >&2; cat "$OUT/err.txt" >&2; exit 1
  fi
  printf '  %-28s %6.0f MiB\n' "$label" "$(awk '{ v = $1 } END { print v / 1024 }' "$OUT/rss.txt")"
}

echo "ferry peak RSS, $(date -u +%Y-%m-%dT%H:%MZ), node $(node --version): $(find "$DATA" -type f | wc -l) files, $(du -sm "$DATA" | cut -f1) MB in $DATA"
peak 'run' $FERRY run
peak 'verify latest' $FERRY verify latest
peak 'restore latest' $FERRY restore latest --to "$OUT/restored"
peak 'restore --list-sources' $FERRY restore latest --list-sources
diff -r "$DATA" "$OUT/restored/app" >/dev/null || { echo "bench: the restored tree differs from the source" >&2; exit 1; }
echo "  (node -e 0 alone: $(/usr/bin/time -f '%M' node -e 0 2>&1 | awk '{ printf "%.0f", $1 / 1024 }') MiB)"
