#!/usr/bin/env bash
# Set-up for a fresh clone: the Debian packages the tests need (scripts/debian-packages.txt), then the npm
# packages from the lockfile (`npm ci`, which also builds libs/native's oneDNN addon). Safe to run again: it
# installs only what is missing. `npm run setup-and-test` runs this, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "setup: Node >= 20.19 is required (found $(node --version))" >&2
  exit 1
fi

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/debian-packages.txt | grep -v '^$')

if [ "${SPHEREFACE_SKIP_SYSTEM_PACKAGES:-}" = 1 ]; then
  echo "setup: SPHEREFACE_SKIP_SYSTEM_PACKAGES=1, not checking the Debian packages (${packages[*]}); tests that need them skip, or fail under CI=true" >&2
elif ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: this is not a Debian-based system (no dpkg-query). The tests need: ${packages[*]}" >&2
  echo "setup: install their equivalents with your package manager, then run again with SPHEREFACE_SKIP_SYSTEM_PACKAGES=1" >&2
  exit 1
else
  missing=()
  for p in "${packages[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); else
      echo "setup: missing Debian packages: ${missing[*]}" >&2
      echo "setup: installing them needs root. Run this once, then run the same command again:" >&2
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "setup: Debian packages present (${packages[*]})"
  fi
fi

data_root="${SPHEREFACE_DATA:-}"
if [ -z "$data_root" ]; then
  if [ -d ../shared/data ]; then data_root=../shared/data; elif [ -d data ]; then data_root=data; fi
fi
if [ -z "$data_root" ]; then
  echo "setup: warning: no face data (SPHEREFACE_DATA unset; neither ../shared/data nor ./data exists)." >&2
  echo "setup: the data-dependent tests will fail; libs/data/README.md says what to download and where to put it." >&2
fi

# The optional @tensorflow/tfjs-node(-gpu) packages download libtensorflow at install time; without internet npm
# drops them and carries on (backend selection then uses the native oneDNN or wasm backend).
npm ci
