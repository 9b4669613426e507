#!/bin/sh
# make demo: start the local test server on 127.0.0.1 and reconnect a player
# through it with examples/reconnect.lua, run by glsrun. (The full local
# GameLift Streams emulator replaces this server when it lands.)
set -eu
out=$(mktemp)
verify=""
if ! python3 -c 'import botocore.auth' >/dev/null 2>&1; then
  echo "note: python3 has no botocore; the server will not check signatures"
  verify="--no-verify"
fi
python3 spec/support/fake_service.py --port 0 $verify >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on' "$out" && break; sleep 0.05; done
url=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$out")
[ -n "$url" ] || { cat "$out"; exit 1; }
echo "local server: $url (SigV4 checked with botocore)"
echo "\$ build/glsrun examples/reconnect.lua $url"
build/glsrun examples/reconnect.lua "$url"
