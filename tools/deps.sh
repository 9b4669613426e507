#!/bin/sh
# Installs the named Debian packages that are missing, when run as root.
# As another user it only says what is missing.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "missing Debian packages:$missing (run 'make deps' as root, or install them)" >&2
  exit 1
fi
