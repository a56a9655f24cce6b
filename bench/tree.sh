#!/usr/bin/env bash
# format: tree against `rsync -a --link-dest` on the same data, and the space a second snapshot takes.
# Usage: bash bench/tree.sh            (SCALE=1 ≈ 330 MB, 20k files; ROUNDS=3 by default)
# Each round: a fresh target directory gets a first snapshot (not timed), then a second one of the
# unchanged data set (timed); rsync does the same with --link-dest to its first copy. The table
# shows medians and the space the second snapshot adds to `du` (du counts a hard-linked inode once
# per invocation, so `du -sk first second` minus `du -sk first` is what the second one adds).
# It is a benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-${1:-1}}
ROUNDS=${ROUNDS:-3}
ROOT=$PWD
DATA=$ROOT/bench/data/scale-$SCALE
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
npm run build >/dev/null
FERRY="node $ROOT/dist/src/cli/ferry.js"
node bench/generate.mjs "$DATA/app" "$SCALE"
printf 'job: bench\nstate_dir: "${BENCH_STATE}"\nsources:\n  - path: %s\n    as: app\ntargets:\n  t: { type: local, path: "${BENCH_TARGET}", keep: 100, format: tree }\n' "$DATA/app" > "$OUT/tree.yaml"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
ferry_times=() rsync_times=() ferry_added=() rsync_added=()
data_kb=$(du -sk "$DATA/app" | cut -f1)
for ((r = 0; r < ROUNDS; r++)); do
  t=$OUT/ferry-$r
  export BENCH_TARGET=$t BENCH_STATE=$OUT/state-$r
  $FERRY run -c "$OUT/tree.yaml" >/dev/null 2>&1
  s=$(now); $FERRY run -c "$OUT/tree.yaml" >/dev/null 2>&1; e=$(now)
  ferry_times+=("$(echo "$e - $s" | bc)")
  mapfile -t snaps < <(find "$t" -mindepth 1 -maxdepth 1 -type d -name 'bench-*' | sort)
  one=$(du -sk "${snaps[0]}" | cut -f1)
  both=$(du -sk -c "${snaps[@]}" | tail -n 1 | cut -f1)
  ferry_added+=("$((both - one))")
  d=$OUT/rsync-$r
  mkdir -p "$d"
  rsync -a "$DATA/app/" "$d/s1/"
  s=$(now); rsync -a --link-dest=../s1 "$DATA/app/" "$d/s2/"; e=$(now)
  rsync_times+=("$(echo "$e - $s" | bc)")
  one=$(du -sk "$d/s1" | cut -f1); both=$(du -sk -c "$d/s1" "$d/s2" | tail -n 1 | cut -f1)
  rsync_added+=("$((both - one))")
  rm -rf "$t" "$d" "$OUT/state-$r"
done
ft=$(printf '%s\n' "${ferry_times[@]}" | median); rt=$(printf '%s\n' "${rsync_times[@]}" | median)
fa=$(printf '%s\n' "${ferry_added[@]}" | median); ra=$(printf '%s\n' "${rsync_added[@]}" | median)
printf 'second snapshot of the unchanged data set (%s KiB, scale %s, %s rounds, medians)\n' "$data_kb" "$SCALE" "$ROUNDS"
printf '%-28s %8s s  adds %6s KiB (%s %% of the data set)\n' 'ferry run (format: tree)' "$ft" "$fa" "$(echo "scale=3; 100 * $fa / $data_kb" | bc)"
printf '%-28s %8s s  adds %6s KiB (%s %% of the data set)\n' 'rsync -a --link-dest' "$rt" "$ra" "$(echo "scale=3; 100 * $ra / $data_kb" | bc)"
printf 'ratio ferry / rsync: %s\n' "$(echo "scale=2; $ft / $rt" | bc)"
