#!/bin/sh
# make demo: start the local GameLift Streams emulator (glsrun emulator) on a
# free loopback port, reconnect a player through it with examples/reconnect.lua,
# and stop the emulator (SIGTERM) when done.
set -eu
out=$(mktemp)
build/glsrun emulator --listen 127.0.0.1:0 >"$out" 2>&1 &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q '^listening on' "$out" && break; sleep 0.05; done
url=$(sed -n '1s/^listening on \([^ ]*\).*/\1/p' "$out")
[ -n "$url" ] || { cat "$out"; exit 1; }
echo "emulator: $url (glsrun emulator: SigV4 checked, real clock)"
echo "\$ build/glsrun examples/reconnect.lua $url"
build/glsrun examples/reconnect.lua "$url"
