#!/usr/bin/env bash
# Everything the demo and the tests need, on a fresh Debian 12 machine, as root:
# Debian packages, the project venv, the vCenter simulator binary.
# Idempotent: a second run installs nothing and rebuilds nothing unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES=(golang-go golang-github-vmware-govmomi-dev haproxy postgresql postgresql-contrib git ca-certificates shellcheck cron chromium
              prometheus prometheus-node-exporter prometheus-alertmanager rsync lsyncd bind9)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "bootstrap: must run as root to install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
want=$(cat requirements.txt tests/requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating the project venv in .venv"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.txt -r tests/requirements.txt
  echo "$want" > "$STAMP"
fi

BIN="$ROOT/.build/fpssim"
src_sum=$(cat tests/simulator/*.go | sha256sum | cut -d' ' -f1)
if [ ! -x "$BIN" ] || [ "$(cat "$BIN.sha256" 2>/dev/null)" != "$src_sum" ]; then
  echo "bootstrap: building the vCenter simulator (govmomi $(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev))"
  mkdir -p "$ROOT/.build/gopath"
  # Go's own per-user build cache (as pip's is for the venv), so a fresh clone on this machine does not compile
  # govmomi again (30 s); in the tree only when there is no home to keep it in
  cache="${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}"
  (cd tests/simulator && GO111MODULE=off GOFLAGS=-mod=mod GOPATH="$ROOT/.build/gopath:/usr/share/gocode" \
     GOCACHE="${cache:-$ROOT/.build}/go-build" go build -o "$BIN" .)
  echo "$src_sum" > "$BIN.sha256"
fi
