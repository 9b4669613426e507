#!/bin/sh
# tools/fuzz.sh SECONDS [TARGET...] - runs each libFuzzer target of build/fuzz/
# (make fuzz-build) for SECONDS seconds, all of them when none is named.
#
# Each run starts from a fresh, empty working corpus (build/fuzz/work/NAME/corpus,
# where libFuzzer writes what it finds) and reads the repository's seeds
# (fuzz/corpus/NAME) and past findings (fuzz/regressions/NAME) without writing
# to them. Crashes, leaks, timeouts and out-of-memory inputs land in
# build/fuzz/work/NAME/. Prints one line per target:
#   NAME: runs=N seconds=S findings=F
# appends it (tab-separated, with the date) to build/fuzz/work/runs.tsv, and
# exits 1 when any target had a finding.
#
# tools/fuzz.sh --replay [TARGET...] - no fuzzing: each target runs every
# input of its seeds and regressions once (libFuzzer given files), one TAP
# line per target ("ok N - fuzz NAME: K inputs"); make check uses it.
set -u
B=${B:-build}
FZ=$B/fuzz
replay=0
if [ "${1:-}" = --replay ]; then replay=1; shift; SECONDS_EACH=0; else SECONDS_EACH=${1:-10}; [ $# -gt 0 ] && shift; fi
if [ $# -gt 0 ]; then
  names="$*"
else
  names=$(for f in fuzz/*.c fuzz/targets/*.lua; do
            [ -e "$f" ] || continue
            n=$(basename "$f"); n=${n%.c}; n=${n%.lua}
            [ "$n" = lua_target ] || echo "$n"
          done | sort -u)
fi
mkdir -p "$FZ/work"
total_findings=0
if [ "$replay" -eq 1 ]; then
  i=0
  for n in $names; do
    i=$((i + 1))
    files=$(find "fuzz/corpus/$n" "fuzz/regressions/$n" -type f 2>/dev/null | sort)
    k=$(printf '%s\n' "$files" | grep -c . | tr -d ' ')
    log=$FZ/work/$n.replay.log
    mkdir -p "$FZ/work/$n.replay"
    # shellcheck disable=SC2086
    if [ -x "$FZ/$n" ] && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
         "$FZ/$n" -timeout=20 -rss_limit_mb=2048 -artifact_prefix="$FZ/work/$n.replay/" $files \
         >"$log" 2>&1; then
      echo "ok $i - fuzz $n: $k inputs"
    else
      echo "not ok $i - fuzz $n: $k inputs (log: $log)"
      grep -a -m1 -A6 -E 'ERROR|fuzz property|finding|cannot load' "$log" | sed 's/^/#   /'
      total_findings=$((total_findings + 1))
    fi
  done
  echo "1..$i"
  [ "$total_findings" -eq 0 ]
  exit
fi
for n in $names; do
  bin=$FZ/$n
  if [ ! -x "$bin" ]; then echo "$n: not built (make fuzz-build)"; total_findings=$((total_findings + 1)); continue; fi
  w=$FZ/work/$n
  rm -rf "$w"
  mkdir -p "$w/corpus"
  dirs="$w/corpus"
  for d in fuzz/corpus/$n fuzz/regressions/$n; do [ -d "$d" ] && dirs="$dirs $d"; done
  dict=
  [ -f "fuzz/dict/$n.dict" ] && dict="-dict=fuzz/dict/$n.dict"
  t0=$(date +%s)
  # a smaller ASan quarantine keeps long runs well under the RSS limit
  export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=64}"
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$w/" $dict $dirs >"$w/log" 2>&1
  rc=$?
  t1=$(date +%s)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
  found=$(find "$w" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) | wc -l | tr -d ' ')
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  echo "$n: runs=${runs:-0} seconds=$((t1 - t0)) findings=$found"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$n" "$((t1 - t0))" "${runs:-0}" "$found" \
    >>"$FZ/work/runs.tsv"
  if [ "$found" -gt 0 ]; then
    echo "---- $n: finding (log: $w/log)"
    grep -E -m1 -A8 'ERROR|fuzz property|bug:|SUMMARY' "$w/log" | head -20
    ls "$w" | grep -E '^(crash|leak|timeout|oom)-' | sed "s|^|  $w/|"
  fi
  total_findings=$((total_findings + found))
done
[ "$total_findings" -eq 0 ]
