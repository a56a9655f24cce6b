#!/usr/bin/env bash
# Times Ferry against the reference tools on the same data, in one run.
# Usage: bash bench/run.sh [SCALE]   (scale 1 ≈ 300 MB; needs pigz, age, GNU time)
# It prints wall seconds, peak RSS and ratios. It is a benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
ROOT=$PWD
DATA=$ROOT/bench/data/scale-$SCALE
OUT=$ROOT/bench/out
for tool in pigz age /usr/bin/time sqlite3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install pigz age time sqlite3)" >&2; exit 1; }
done
[ -f dist/src/cli/main.js ] || npm run build >/dev/null
FERRY="node $ROOT/dist/src/cli/main.js"

echo "bench: generating dataset (scale $SCALE) in $DATA" >&2
node bench/generate.mjs "$DATA/app" "$SCALE"
rm -rf "$OUT" && mkdir -p "$OUT"
SIZE=$(du -sb "$DATA/app" | cut -f1)

$FERRY keygen --out "$OUT/key.txt" >/dev/null 2>&1
RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$OUT/key.txt" | head -1)
write_config() { # name, extra yaml
  cat > "$OUT/$1.yaml" <<YAML
job: bench
state_dir: $OUT/state-$1
sources:
  - path: $DATA/app
    as: app
compression: { level: 6 }
targets:
  local: { type: local, path: $OUT/backups-$1, keep: 100 }
$2
YAML
}
write_config plain ""
write_config enc "encryption: { recipients: [$RECIPIENT] }"

declare -A WALL RSS
measure() { # key, command
  local key=$1; shift
  sync
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" bash -c "$*" >/dev/null 2>"$OUT/$key.err" || { echo "bench: $key failed:" >&2; cat "$OUT/$key.err" >&2; exit 1; }
  read -r WALL[$key] RSS[$key] < "$OUT/time.txt"
  printf '  %-28s %7.2f s  %7.1f MB\n' "$key" "${WALL[$key]}" "$(echo "${RSS[$key]} / 1024" | bc -l)" >&2
}

tar -cf - -C "$DATA" app > /dev/null # warm the page cache
echo "bench: dataset $((SIZE / 1048576)) MB; timing (wall, peak RSS):" >&2
measure ferry_run         "$FERRY -q -c $OUT/plain.yaml run"
measure ferry_run_age     "$FERRY -q -c $OUT/enc.yaml run"
measure tar_gzip          "tar -cf - -C $DATA app | gzip -6 > $OUT/ref.tar.gz"
measure tar_pigz          "tar -cf - -C $DATA app | pigz -6 > $OUT/ref-pigz.tar.gz"
measure tar_gzip_age      "tar -cf - -C $DATA app | gzip -6 | age -r $RECIPIENT > $OUT/ref.tar.gz.age"
measure tar_pigz_age      "tar -cf - -C $DATA app | pigz -6 | age -r $RECIPIENT > $OUT/ref-pigz.tar.gz.age"
measure ferry_restore     "rm -rf $OUT/r1 && $FERRY -q -c $OUT/plain.yaml restore latest --to $OUT/r1"
measure gzip_tar_x        "rm -rf $OUT/r2 && mkdir $OUT/r2 && gzip -dc $OUT/ref.tar.gz | tar -x -C $OUT/r2"
measure ferry_restore_age "rm -rf $OUT/r3 && $FERRY -q -c $OUT/enc.yaml restore latest --identity $OUT/key.txt --to $OUT/r3"
measure age_tar_xz        "rm -rf $OUT/r4 && mkdir $OUT/r4 && age -d -i $OUT/key.txt $OUT/ref.tar.gz.age | tar -xz -C $OUT/r4"
diff -r "$DATA/app" "$OUT/r1/app" && diff -r "$DATA/app" "$OUT/r3/app" || { echo "bench: restored data differs" >&2; exit 1; }

ratio() { echo "scale=2; ${WALL[$1]} / ${WALL[$2]}" | bc -l; }
A=$(ls "$OUT/backups-plain"/bench-*Z.tar.gz)
cat <<REPORT
dataset: $((SIZE / 1048576)) MB at scale $SCALE; archive $(( $(stat -c %s "$A") / 1048576 )) MB (gzip -6: $(( $(stat -c %s "$OUT/ref.tar.gz") / 1048576 )) MB)
ratios (ferry wall time / reference wall time; below 1 means ferry is faster):
  ferry run            / tar|gzip -6       $(ratio ferry_run tar_gzip)
  ferry run            / tar|pigz -6       $(ratio ferry_run tar_pigz)
  ferry run (age)      / tar|gzip|age      $(ratio ferry_run_age tar_gzip_age)
  ferry run (age)      / tar|pigz|age      $(ratio ferry_run_age tar_pigz_age)
  ferry restore        / gzip -dc|tar -x   $(ratio ferry_restore gzip_tar_x)
  ferry restore (age)  / age -d|tar -xz    $(ratio ferry_restore_age age_tar_xz)
peak RSS: ferry run $(( ${RSS[ferry_run]} / 1024 )) MB, ferry run (age) $(( ${RSS[ferry_run_age]} / 1024 )) MB, ferry restore $(( ${RSS[ferry_restore]} / 1024 )) MB
REPORT
