# Sourced by the HTTP benchmark scripts (run.sh, paired.sh, instructions.sh): `require` checks tools,
# then the shell stands at the repository root with the release binaries built, a scratch directory
# `$OUT` (removed on exit, with any server still running) holding the rotating request bodies
# (`bodies.jsonl`) and their wrk script (`rotate.lua`), and `wait_ready` polls a server.
set -euo pipefail

require() { # tool...
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (see the script's header)" >&2; exit 1; }
  done
}

prepare() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  OUT="$(mktemp -d)"
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
  cargo build --release --locked --bin facet-triage --example ceiling >&2
  python3 benches/http/rotate.py benches/requests.json "$OUT/bodies.jsonl" > "$OUT/rotate.lua"
}

wait_ready() { # addr [attempts] [pause in seconds]: until the server answers a triage request
  for _ in $(seq "${2:-100}"); do
    if curl -fs -o /dev/null -X POST -H 'content-type: application/json' \
      --data "$(head -n1 "$OUT/bodies.jsonl")" "http://$1/v1/triage"; then return 0; fi
    sleep "${3:-0.1}"
  done
  echo "server on $1 did not start" >&2; return 1
}
