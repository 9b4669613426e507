#!/bin/sh
# make check: every suite, then one closing line "N passed, N failed[, N skipped]".
#   1. C tests (test/test_*.c), TAP, against build/libgls.a
#   2. the same C tests built with ASan+UBSan (leaks detected)
#   3. the same C tests under valgrind (when installed)
#   4. the busted suite (spec/), TAP
#   4b. the busted suite again, core.so and glsrun built with ASan+UBSan (leaks detected)
#   4c. valgrind over a glsrun serve session and examples/host.c (spec tag #valgrind)
#   5. cppcheck over src/
#   6. luacheck over lua/, spec/, examples/ and bench/
# Each suite's full output goes to build/check/*.log; failures are echoed.
set -u
B=build
L=$B/check
mkdir -p "$L" "$B/test" "$B/asan"
pass=0 fail=0 skip=0

count() { # $1 = log file, $2 = exit status, $3 = suite name
  p=$(grep -cE '^ok [0-9]+' "$1" | tr -d ' ')
  s=$(grep -cE '^ok [0-9]+.*# SKIP' "$1" | tr -d ' ')
  f=$(grep -cE '^not ok [0-9]+' "$1" | tr -d ' ')
  p=$((p - s))
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$3: exited with status $2"; fi
  if [ "$f" -gt 0 ]; then
    echo "---- $3: failures (full log: $1)"
    grep -E -A12 '^not ok' "$1" | head -80
    tail -5 "$1"
  fi
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  echo "$3: $p passed, $f failed, $s skipped"
}

CC=${CC:-cc}
DEPS=$(pkg-config --libs libcurl openssl jansson expat libmicrohttpd 2>/dev/null || echo "-lcurl -lssl -lcrypto -ljansson -lexpat -lmicrohttpd")
# libgls holds the Lua binding and the embedded Lua modules (the embedding
# API runs the runtime in a Lua state of its own), so tests link Lua too.
LUA_CFLAGS=$(pkg-config --cflags lua5.4 2>/dev/null || echo "-I/usr/include/lua5.4")
LUA_LIBS=$(pkg-config --libs lua5.4 2>/dev/null || echo "-llua5.4")
DEPS="$LUA_LIBS $DEPS"
# The ASan build compiles libgls's sources itself: everything but glsrun's
# main, plus the generated table of embedded Lua modules (make builds it).
CORE_SRC="$(ls src/*.c | grep -v -e 'src/glsrun.c') $B/gen/embedded.c"
export GLS_SHARED=${GLS_SHARED:-../shared}

# The C client test talks to the test server on 127.0.0.1 (python3 + botocore).
SERVER_PID=
if python3 -c 'import botocore.auth' >/dev/null 2>&1; then
  python3 spec/support/fake_service.py --port 0 >"$L/server.out" 2>&1 &
  for _ in $(seq 1 100); do grep -q '^listening on' "$L/server.out" 2>/dev/null && break; sleep 0.05; done
  GLS_TEST_ENDPOINT=$(sed -n 's/^listening on \([^ ]*\) pid=\([0-9]*\).*/\1/p' "$L/server.out")
  SERVER_PID=$(sed -n 's/^listening on \([^ ]*\) pid=\([0-9]*\).*/\2/p' "$L/server.out")
  export GLS_TEST_ENDPOINT
else
  echo "note: python3 with botocore not found: C integration tests are skipped"
fi
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null' EXIT

for t in test/test_*.c; do
  [ -e "$t" ] || continue
  n=$(basename "$t" .c)
  # 1. plain
  if $CC -std=c11 -Wall -Wextra -Werror -O1 -g -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc \
       -o "$B/test/$n" "$t" "$B/libgls.a" $DEPS -lm -ldl >"$L/$n.build.log" 2>&1; then
    "$B/test/$n" >"$L/$n.log" 2>&1; count "$L/$n.log" $? "$n"
  else
    echo "$n: does not build"; cat "$L/$n.build.log"; fail=$((fail + 1))
  fi
  # 2. ASan + UBSan
  if $CC -std=c11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
       -fno-sanitize-recover=undefined -fvisibility=hidden -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
       -Isrc $LUA_CFLAGS -o "$B/asan/$n" "$t" $CORE_SRC $DEPS -lm -ldl >"$L/$n.asan.build.log" 2>&1; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      "$B/asan/$n" >"$L/$n.asan.log" 2>&1; count "$L/$n.asan.log" $? "$n (asan+ubsan)"
  else
    echo "$n (asan): does not build"; cat "$L/$n.asan.build.log"; fail=$((fail + 1))
  fi
  # 3. valgrind
  if command -v valgrind >/dev/null 2>&1 && [ -x "$B/test/$n" ]; then
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$B/test/$n" >"$L/$n.valgrind.log" 2>&1; count "$L/$n.valgrind.log" $? "$n (valgrind)"
  fi
done

# 4. busted (#valgrind specs run in 4c)
lua5.4 /usr/bin/busted -o TAP --exclude-tags=valgrind spec >"$L/busted.log" 2>&1
count "$L/busted.log" $? "busted"

# ---- 4b. busted under ASan+UBSan ------------------------------------------
# core.so and glsrun are built with -fsanitize=address,undefined into
# $B/asan-root/build; $B/asan-root mirrors the checkout (symlinks), so specs
# find "build/glsrun" and "./build/?.so" there. busted itself runs under that
# glsrun (a lua(1) with gls built in; --ignore-lua keeps busted from re-running
# itself under plain lua5.4). Specs that start plain lua5.4 find, first on
# PATH, a lua5.4 that preloads the ASan and UBSan runtimes and
# tools/asan_preload.c (see there why). Every report from any process goes to
# $L/asan/ (log_path): the run fails on any file there, whatever the specs
# said. No suppressions. #install rebuilds the tree (not under ASan), and
# #valgrind cannot run over ASan: both excluded.
asan_busted() {
  A=$B/asan-root
  # exported: a spec that runs make itself (bench/storm) keeps the same build
  export CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
  export LDFLAGS="-fsanitize=address,undefined"
  rm -rf "$L/asan" && mkdir -p "$L/asan" "$A/bin" || return 1
  make -s B="$A/build" all >"$L/busted.asan.build.log" 2>&1 || return 1
  for e in $(ls -A | grep -v -x -e build -e .git); do ln -sfn "$PWD/$e" "$A/$e"; done
  $CC -shared -fPIC -o "$A/bin/asan_preload.so" tools/asan_preload.c || return 1
  asan_rt=$(readlink -f "$($CC -print-file-name=libasan.so)")
  ubsan_rt=$(readlink -f "$($CC -print-file-name=libubsan.so)")
  printf '#!/bin/bash\nLD_PRELOAD="%s %s %s" exec -a lua5.4 %s "$@"\n' \
    "$asan_rt" "$ubsan_rt" "$PWD/$A/bin/asan_preload.so" "$(command -v lua5.4)" >"$A/bin/lua5.4"
  chmod +x "$A/bin/lua5.4"
  reports=$(cd "$L/asan" && pwd)
  (cd "$A" && PATH="$PWD/bin:$PATH" \
     ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:log_path=$reports/asan" \
     UBSAN_OPTIONS="print_stacktrace=1:log_path=$reports/ubsan" \
     build/glsrun /usr/bin/busted --ignore-lua -o TAP --exclude-tags=install,valgrind spec)
}
t0=$(date +%s)
(GLS_SHARED=$(cd "$GLS_SHARED" 2>/dev/null && pwd || echo "$GLS_SHARED") && export GLS_SHARED && asan_busted) \
  >"$L/busted.asan.log" 2>&1
rc=$?
if [ -n "$(ls -A "$L/asan" 2>/dev/null)" ]; then
  echo "---- busted (asan+ubsan): sanitizer reports in $L/asan/"
  n=0
  for r in "$L"/asan/*; do n=$((n + 1)); echo "not ok $n - sanitizer report $r"; head -40 "$r"; done \
    | tee -a "$L/busted.asan.log"
fi
count "$L/busted.asan.log" $rc "busted (asan+ubsan, $(( $(date +%s) - t0 )) s)"

# ---- 4c. valgrind: a glsrun serve session, examples/host.c ------------------
t0=$(date +%s)
lua5.4 /usr/bin/busted -o TAP --tags=valgrind spec >"$L/busted.valgrind.log" 2>&1
count "$L/busted.valgrind.log" $? "busted #valgrind ($(( $(date +%s) - t0 )) s)"

# 5. cppcheck (jansson's foreach macros spelled out for it)
if command -v cppcheck >/dev/null 2>&1; then
  if cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --std=c11 -Isrc \
       "-Djson_array_foreach(a,i,v)=for(i=0;(v=json_array_get(a,i));i++)" \
       "-Djson_object_foreach(o,k,v)=for(k=0;(v=0);)" src/*.c >"$L/cppcheck.log" 2>&1; then
    pass=$((pass + 1)); echo "cppcheck: clean"
  else
    fail=$((fail + 1)); echo "cppcheck: findings"; cat "$L/cppcheck.log"
  fi
fi

# 6. luacheck
if luacheck -q lua spec examples bench >"$L/luacheck.log" 2>&1; then
  pass=$((pass + 1)); echo "luacheck: clean"
else
  fail=$((fail + 1)); echo "luacheck: warnings"; cat "$L/luacheck.log"
fi

# ---- fuzz targets (fuzz/, libFuzzer): built with clang, then each target
# replays its seed corpus and fuzz/regressions/ once (one TAP test per
# target); no fuzzing here, `make fuzz FUZZ_SECONDS=N` does that.
if command -v clang >/dev/null 2>&1; then
  if make -s fuzz-build >"$L/fuzz.build.log" 2>&1; then
    sh tools/fuzz.sh --replay >"$L/fuzz.log" 2>&1; count "$L/fuzz.log" $? "fuzz (replay)"
  else
    fail=$((fail + 1)); echo "fuzz: the targets do not build"; tail -20 "$L/fuzz.build.log"
  fi
else
  echo "fuzz: skipped (clang not installed: apt-get install clang libclang-rt-14-dev)"
fi
# ---- end of fuzz targets

if [ "$skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
