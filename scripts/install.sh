#!/usr/bin/env bash
# One install path for `make`, CI and the Dockerfile: a virtualenv with the package, and a
# Chromium (Debian's, when no browser is found and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-[dev]}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "install: creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".$EXTRAS"

have_chromium() {
  [ -n "${OPTEXITY_CHROMIUM:-}" ] && [ -x "$OPTEXITY_CHROMIUM" ] && return 0
  [ -x /usr/lib/chromium/chromium ] && return 0
  command -v chromium >/dev/null 2>&1 && return 0
  return 1
}

if ! have_chromium; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install: no Chromium found; installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "install: no Chromium found. Install one with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends chromium" >&2
    echo "or set OPTEXITY_CHROMIUM to a Chromium binary." >&2
    exit 1
  fi
fi
echo "install: ready ($("$VENV/bin/python" --version), $("$VENV/bin/optexity-runner" --version 2>/dev/null || echo optexity-runner))"
