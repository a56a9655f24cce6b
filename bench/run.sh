#!/usr/bin/env bash
# Times Ferry against the reference shell pipelines on the same data, in one invocation.
# Usage: npm run bench            (SCALE=1 ≈ 330 MB, 20k files; SCALE=4 is four times that)
#        SCALE=4 ROUNDS=5 MANY=0 npm run bench
# Every case runs ROUNDS times (default 3, at least 3) after one warm-up round, Ferry and its
# reference interleaved (their order alternates per round); the table shows medians. Every run
# writes into a fresh directory under OUT (default: a new directory on /dev/shm), so disk
# writeback and inode reuse favour neither side. MANY=N (default 1000000, 0 skips) adds a tree of
# N tiny files. It prints wall time, peak RSS and ratios; it is a benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-${1:-1}}
ROUNDS=${ROUNDS:-3}
(( ROUNDS >= 3 )) || ROUNDS=3
MANY=${MANY:-1000000}
ROOT=$PWD
DATA=$ROOT/bench/data/scale-$SCALE
for tool in pigz gzip age /usr/bin/time sqlite3 awk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install pigz age time sqlite3)" >&2; exit 1; }
done
if [ -z "${OUT:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUT=$(mktemp -d /dev/shm/ferry-bench.XXXXXX); else OUT=$(mktemp -d); fi
fi
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
npm run build >/dev/null
FERRY="node $ROOT/dist/src/cli/ferry.js"

echo "bench: dataset at scale $SCALE in $DATA; outputs in $OUT" >&2
node bench/generate.mjs "$DATA/app" "$SCALE"
$FERRY keygen --out "$OUT/key.txt" >/dev/null 2>&1
RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$OUT/key.txt" | head -1)

# Configs take their target and state directories from the environment, so every run gets fresh ones.
write_config() { # name, source dir, number of targets, extra yaml
  local targets="" i
  for ((i = 1; i <= $3; i++)); do targets+="  t$i: { type: local, path: \"\${BENCH_TARGET}/t$i\", keep: 100 }"$'\n'; done
  printf 'job: bench\nstate_dir: "${BENCH_STATE}"\nsources:\n  - path: %s\n    as: app\ncompression: { level: 6 }\ntargets:\n%s%s\n' "$2" "$targets" "$4" > "$OUT/$1.yaml"
}

declare -A SAMPLES_WALL SAMPLES_RSS
SEQ=0
fresh() { SEQ=$((SEQ + 1)); echo "$OUT/run-$SEQ"; }
# measure KEY COMMAND: runs COMMAND with $F (a fresh, empty directory) and records wall s and peak RSS KiB.
measure() {
  local key=$1 cmd=$2 F
  F=$(fresh) && mkdir -p "$F"
  sync
  if ! F=$F /usr/bin/time -f '%e %M' -o "$OUT/time.txt" bash -c "$cmd" >/dev/null 2>"$OUT/err.txt"; then
    echo "bench: $key failed:" >&2; cat "$OUT/err.txt" >&2; exit 1
  fi
  local wall rss
  read -r wall rss < <(tail -1 "$OUT/time.txt")
  if [ "$ROUND" -gt 0 ]; then
    SAMPLES_WALL[$key]+="$wall "
    SAMPLES_RSS[$key]+="$rss "
  fi
  [ "${KEEP:-}" = "$key" ] && KEPT=$F || rm -rf "$F"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall() { echo "${SAMPLES_WALL[$1]}" | median; }
rss_mib() { echo "${SAMPLES_RSS[$1]}" | median | awk '{ printf "%.0f", $1 / 1024 }'; }

# pair FERRY_KEY FERRY_CMD REF_KEY REF_CMD: one interleaved round of a case.
pair() {
  if (( ROUND % 2 )); then measure "$3" "$4"; measure "$1" "$2"; else measure "$1" "$2"; measure "$3" "$4"; fi
}

# The archives restore and verify read, made once (outside the timings).
setup_archives() { # dataset dir, prefix
  local data=$1 p=$2
  write_config "$p-plain" "$data" 1 ""
  write_config "$p-three" "$data" 3 ""
  write_config "$p-enc" "$data" 1 "encryption: { recipients: [$RECIPIENT] }"
  BENCH_TARGET=$OUT/$p-store BENCH_STATE=$OUT/$p-state $FERRY -q -c "$OUT/$p-plain.yaml" run >&2
  BENCH_TARGET=$OUT/$p-store-enc BENCH_STATE=$OUT/$p-state-enc $FERRY -q -c "$OUT/$p-enc.yaml" run >&2
  tar -cf - -C "$data/.." "$(basename "$data")" | gzip -6 > "$OUT/$p-ref.tar.gz"
  tar -cf - -C "$data/.." "$(basename "$data")" | pigz -6 | age -r "$RECIPIENT" > "$OUT/$p-ref.tar.gz.age"
}

run_cases() { # dataset dir, prefix
  local data=$1 p=$2 tarsrc="tar -cf - -C $1/.. $(basename "$1")"
  local env="BENCH_TARGET=\$F BENCH_STATE=\$F/state"
  for ((ROUND = 0; ROUND <= ROUNDS; ROUND++)); do
    echo "bench: $p round $ROUND of $ROUNDS (0 is the warm-up)" >&2
    pair "$p.run" "$env $FERRY -q -c $OUT/$p-plain.yaml run" "$p.tar_pigz" "$tarsrc | pigz -6 > \$F/a.tar.gz"
    pair "$p.run_age" "$env $FERRY -q -c $OUT/$p-enc.yaml run" "$p.tar_pigz_age" "$tarsrc | pigz -6 | age -r $RECIPIENT > \$F/a.tar.gz.age"
    pair "$p.run" "$env $FERRY -q -c $OUT/$p-plain.yaml run" "$p.tar_gzip" "$tarsrc | gzip -6 > \$F/a.tar.gz"
    pair "$p.run_three" "$env $FERRY -q -c $OUT/$p-three.yaml run" "$p.run_one" "$env $FERRY -q -c $OUT/$p-plain.yaml run"
    # What three copies cost the shell pipeline on this machine: the yardstick for the row above.
    pair "$p.tee_three" "$tarsrc | pigz -6 | tee \$F/b.tar.gz \$F/c.tar.gz > \$F/a.tar.gz" "$p.tee_one" "$tarsrc | pigz -6 > \$F/a.tar.gz"
    pair "$p.restore" "BENCH_TARGET=$OUT/$p-store BENCH_STATE=$OUT/$p-state $FERRY -q -c $OUT/$p-plain.yaml restore latest --to \$F/out" \
      "$p.pigz_tar_x" "pigz -dc $OUT/$p-ref.tar.gz | tar -x -C \$F"
    pair "$p.restore" "BENCH_TARGET=$OUT/$p-store BENCH_STATE=$OUT/$p-state $FERRY -q -c $OUT/$p-plain.yaml restore latest --to \$F/out" \
      "$p.gzip_tar_x" "gzip -dc $OUT/$p-ref.tar.gz | tar -x -C \$F"
    pair "$p.restore_age" "BENCH_TARGET=$OUT/$p-store-enc BENCH_STATE=$OUT/$p-state-enc $FERRY -q -c $OUT/$p-enc.yaml restore latest --identity $OUT/key.txt --to \$F/out" \
      "$p.age_tar_xz" "age -d -i $OUT/key.txt $OUT/$p-ref.tar.gz.age | tar -xz -C \$F"
    pair "$p.verify" "BENCH_TARGET=$OUT/$p-store BENCH_STATE=$OUT/$p-state $FERRY -q -c $OUT/$p-plain.yaml verify latest" \
      "$p.gzip_t" "gzip -t $OUT/$p-ref.tar.gz"
  done
  # One more restore, kept, to check it is byte-identical.
  ROUND=0 KEEP=$p.check measure "$p.check" "BENCH_TARGET=$OUT/$p-store-enc BENCH_STATE=$OUT/$p-state-enc $FERRY -q -c $OUT/$p-enc.yaml restore latest --identity $OUT/key.txt --to \$F/out"
  diff -r "$data" "$KEPT/out/app" >/dev/null || { echo "bench: the restored $p data differs from the source" >&2; exit 1; }
  rm -rf "$KEPT"
}

report() { # prefix, description
  local p=$1 size ref
  size=$(stat -c %s "$(ls "$OUT/$p-store/t1"/bench-*Z.tar.gz)")
  ref=$(stat -c %s "$OUT/$p-ref.tar.gz")
  echo
  echo "$2"
  printf '  %-52s %8s %9s %8s %7s %s\n' case "ferry s" "ferry RSS" "ref s" ratio target
  row() { # label, ferry key, ref key, target
    printf '  %-52s %8.2f %5s MiB %8.2f %7.2f %s\n' "$1" "$(wall "$p.$2")" "$(rss_mib "$p.$2")" "$(wall "$p.$3")" \
      "$(awk -v a="$(wall "$p.$2")" -v b="$(wall "$p.$3")" 'BEGIN { printf "%.2f", a / b }')" "$4"
  }
  row 'ferry run / tar | pigz -6' run tar_pigz '≤ 0.9'
  row 'ferry run (age) / tar | pigz -6 | age -r' run_age tar_pigz_age '≤ 1.0'
  row 'ferry run / tar | gzip -6' run tar_gzip ''
  row 'ferry run to three local targets / to one' run_three run_one '≤ 1.05'
  row '  tar | pigz -6 | tee to three files / to one file' tee_three tee_one '(the same for the pipeline)'
  row 'ferry restore / pigz -dc | tar -x' restore pigz_tar_x '≤ 1.0'
  row 'ferry restore / gzip -dc | tar -x' restore gzip_tar_x ''
  row 'ferry restore (age) / age -d | tar -xz' restore_age age_tar_xz '≤ 1.0'
  row 'ferry verify / gzip -t' verify gzip_t '≤ 1.2'
  printf '  %-52s %8s %9s %8s %7.4f %s\n' 'archive size / tar | gzip -6' "$(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')" '' "$(awk -v b="$ref" 'BEGIN { printf "%.1f MB", b / 1e6 }')" \
    "$(awk -v a="$size" -v b="$ref" 'BEGIN { print a / b }')" '≤ 1.01'
  echo "  peak RSS (target ≤ 120 MiB): run $(rss_mib "$p.run") MiB, run (age) $(rss_mib "$p.run_age") MiB, restore $(rss_mib "$p.restore") MiB, restore (age) $(rss_mib "$p.restore_age") MiB, verify $(rss_mib "$p.verify") MiB; tar | pigz -6 $(rss_mib "$p.tar_pigz") MiB"
}

setup_archives "$DATA/app" main
run_cases "$DATA/app" main
if (( MANY > 0 )); then
  node bench/generate-many.mjs "$ROOT/bench/data/many-$MANY/app" "$MANY"
  setup_archives "$ROOT/bench/data/many-$MANY/app" many
  run_cases "$ROOT/bench/data/many-$MANY/app" many
fi

echo
echo "ferry bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), node $(node --version)"
echo "medians of $ROUNDS interleaved rounds after a warm-up; ratio = ferry wall time / reference wall time (below 1: ferry is faster)"
report main "app data set at scale $SCALE: $(du -sm "$DATA/app" | cut -f1) MB, $(find "$DATA/app" -type f | wc -l) files"
(( MANY > 0 )) && report many "$MANY tiny files: $(du -sm "$ROOT/bench/data/many-$MANY/app" | cut -f1) MB"
exit 0
