#!/usr/bin/env bash
# `make demo`: the human-in-the-loop example against the bundled demo site.
# Serves the Acme Claims Portal on $DEMO_PORT, runs examples/hitl_login.json (it fills the
# username, pauses for a person to type the password in the live view, then signs in), and
# says where the result is. Extra arguments go to `optexity-runner run` (e.g. --headed,
# --notify you@example.com --smtp-host ...). Without SMTP settings the runner prints the link.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
DEMO_PORT="${DEMO_PORT:-8765}"
OUT="${OUT:-runs}"
BIN="$VENV/bin"
EXAMPLE="examples/hitl_login.json"

site_pid=""
workdir="$(mktemp -d)"
cleanup() {
  if [ -n "$site_pid" ]; then
    kill "$site_pid" 2>/dev/null || true
    wait "$site_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

answers() {
  "$BIN/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()
PY
}

base="http://127.0.0.1:$DEMO_PORT"
if answers "$base/login"; then
  echo "demo: port $DEMO_PORT is already serving something; stop it or set DEMO_PORT" >&2
  exit 1
fi
"$BIN/python" examples/site/server.py --port "$DEMO_PORT" >"$workdir/site.log" 2>&1 &
site_pid=$!
for _ in $(seq 1 100); do
  answers "$base/login" && break
  if ! kill -0 "$site_pid" 2>/dev/null; then
    echo "demo: the demo site did not start:" >&2
    cat "$workdir/site.log" >&2
    exit 1
  fi
  sleep 0.1
done
answers "$base/login" || { echo "demo: the demo site does not answer on $base" >&2; exit 1; }

# The example points at the default port; follow DEMO_PORT when it differs.
automation="$EXAMPLE"
if [ "$DEMO_PORT" != "8765" ]; then
  automation="$workdir/hitl_login.json"
  sed "s#http://127.0.0.1:8765#$base#g" "$EXAMPLE" >"$automation"
fi

echo "demo: demo site on $base"
echo "demo: the run pauses after filling the username. Open the live view link printed below,"
echo "      click the Password field, type: correct horse battery, then press Done."
status=0
"$BIN/optexity-runner" run "$automation" --out "$OUT" "$@" || status=$?

latest="$(ls -td "$OUT"/*/ 2>/dev/null | head -n 1 || true)"
if [ -n "$latest" ]; then
  echo "demo: result: ${latest%/}/result.json (events: ${latest%/}/events.jsonl)"
fi
exit "$status"
