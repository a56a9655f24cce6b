#!/usr/bin/env bash
# Incremental archives against restic on the bench data set, side by side in one invocation.
# Usage: npm run bench:incremental        (SCALE=1 ≈ 330 MB, 20k files; ROUNDS=3 by default)
# Per round, on a fresh copy of the data and fresh target, state and restic repository:
#   1. a full `ferry run` and a first `restic backup` (not compared);
#   2. a second run on unchanged data: `ferry run` vs `restic backup` (with its parent snapshot);
#   3. after changing 1 % of the files: `ferry run` (wall and archive size vs the full one, and
#      vs the changed bytes);
#   4. five more 1 % changes and runs make a chain of 7 (a full plus 6 incrementals); then
#      `ferry restore` of the chain vs `ferry restore` of one full archive of the same final tree.
# Prints medians of wall time, peak RSS and the ratios. A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-${1:-1}}
ROUNDS=${ROUNDS:-3}
ROOT=$PWD
DATA=$ROOT/bench/data/scale-$SCALE
for tool in restic /usr/bin/time awk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install restic time)" >&2; exit 1; }
done
if [ -z "${OUT:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT=$(mktemp -d /dev/shm/ferry-incr.XXXXXX); else OUT=$(mktemp -d); fi
fi
trap 'rm -rf "$OUT"' EXIT
npm run build >/dev/null
FERRY="node $ROOT/dist/src/cli/ferry.js"
node bench/generate.mjs "$DATA/app" "$SCALE"
export RESTIC_PASSWORD=bench RESTIC_PROGRESS_FPS=0

declare -A WALL RSS VAL
# timed KEY COMMAND: runs COMMAND, records wall seconds and peak RSS (KiB) under KEY.
timed() {
  if ! /usr/bin/time -f '%e %M' -o "$OUT/time.txt" bash -c "$2" >/dev/null 2>"$OUT/err.txt"; then
    echo "bench: $1 failed:" >&2; cat "$OUT/err.txt" >&2; exit 1
  fi
  local w r; read -r w r < <(tail -1 "$OUT/time.txt")
  WALL[$1]+="$w "; RSS[$1]+="$r "
}
note() { VAL[$1]+="$2 "; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
newest() { ls "$1" | grep -E '^bench-[0-9TZ]+(\.incr)?\.tar\.gz$' | sort | tail -1; }
# change_1pct DIR: appends 4 KiB to every 100th file; prints the bytes changed files now hold.
change_1pct() {
  find "$1" -type f | sort | awk 'NR % 100 == 0' > "$OUT/changed.txt"
  while read -r f; do head -c 4096 /dev/urandom >> "$f"; done < "$OUT/changed.txt"
  tr '\n' '\0' < "$OUT/changed.txt" | du -cb --files0-from=- | tail -1 | cut -f1
}

for ((round = 1; round <= ROUNDS; round++)); do
  R=$OUT/round && rm -rf "$R" && mkdir -p "$R"
  cp -a "$DATA/app" "$R/app"
  printf 'job: bench\nstate_dir: %s/state\nsources:\n  - path: %s/app\n    as: app\nincremental: { full_every: 7 }\ntargets:\n  t: { type: local, path: %s/t, keep: 100 }\n' "$R" "$R" "$R" > "$R/incr.yaml"
  printf 'job: bench\nstate_dir: %s/state-full\nsources:\n  - path: %s/app\n    as: app\ntargets:\n  t: { type: local, path: %s/full, keep: 100 }\n' "$R" "$R" "$R" > "$R/full.yaml"
  restic init -q -r "$R/restic" >/dev/null
  timed full "$FERRY -c $R/incr.yaml run"
  note full_size "$(stat -c %s "$R/t/$(newest "$R/t")")"
  restic backup -q -r "$R/restic" "$R/app" >/dev/null
  timed unchanged "$FERRY -c $R/incr.yaml run"
  note unchanged_size "$(stat -c %s "$R/t/$(newest "$R/t")")"
  timed restic_unchanged "restic backup -q -r $R/restic $R/app"
  note changed_bytes "$(change_1pct "$R/app")"
  timed changed "$FERRY -c $R/incr.yaml run"
  note changed_size "$(stat -c %s "$R/t/$(newest "$R/t")")"
  timed restic_changed "restic backup -q -r $R/restic $R/app"
  for ((i = 0; i < 5; i++)); do change_1pct "$R/app" >/dev/null; $FERRY -c "$R/incr.yaml" run >/dev/null 2>&1; done
  $FERRY -c "$R/full.yaml" run >/dev/null 2>&1
  timed restore_chain "$FERRY -c $R/incr.yaml restore latest --to $R/out-chain"
  timed restore_full "$FERRY -c $R/full.yaml restore latest --to $R/out-full"
  diff -r "$R/out-chain" "$R/out-full" >/dev/null || { echo "bench: the chain and the full archive restore different trees" >&2; exit 1; }
done

m() { echo "${WALL[$1]}" | median; }
r() { echo $(( $(echo "${RSS[$1]}" | median) / 1024 )); }
v() { echo "${VAL[$1]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "incremental archives, scale $SCALE, medians of $ROUNDS rounds ($(nproc) cores, $(node --version))"
printf '%-52s %10s %10s %8s\n' case ferry reference ratio
printf '%-52s %9ss %9ss %8s\n' "second run, unchanged / restic backup (parent)" "$(m unchanged)" "$(m restic_unchanged)" "$(ratio "$(m unchanged)" "$(m restic_unchanged)")"
printf '%-52s %9ss %9ss %8s\n' "run after 1 % changed / restic backup (parent)" "$(m changed)" "$(m restic_changed)" "$(ratio "$(m changed)" "$(m restic_changed)")"
printf '%-52s %9ss %9ss %8s\n' "run after 1 % changed / full run" "$(m changed)" "$(m full)" "$(ratio "$(m changed)" "$(m full)")"
printf '%-52s %9ss %9ss %8s\n' "restore chain of 7 / restore of one full archive" "$(m restore_chain)" "$(m restore_full)" "$(ratio "$(m restore_chain)" "$(m restore_full)")"
echo "unchanged incremental archive: $(v unchanged_size) bytes"
echo "1 % changed: archive $(v changed_size) bytes = $(ratio "$(v changed_size)" "$(v full_size)") of the full archive ($(v full_size) bytes); changed files hold $(v changed_bytes) bytes (archive/changed $(ratio "$(v changed_size)" "$(v changed_bytes)"))"
echo "peak RSS MiB: full run $(r full), unchanged run $(r unchanged), 1 % run $(r changed), chain restore $(r restore_chain), full restore $(r restore_full), restic backup $(r restic_changed)"
