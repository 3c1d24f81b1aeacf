#!/usr/bin/env bash
# User-space instructions per `POST /v1/triage` request, facet-triage against the ceiling
# (examples/ceiling.rs), counted by callgrind: unlike requests/s, the count does not move with the
# host's load or clock, so it shows what a change saves on a noisy machine. The kernel's share
# (socket reads and writes, the same for both servers) is not counted. Needs valgrind and wrk.
#
#   benches/http/instructions.sh [SECONDS]
SECONDS_MEASURED="${1:-6}"
source "$(dirname "$0")/common.sh"
require valgrind callgrind_control wrk
prepare

count() { # name addr command...
  local name=$1 addr=$2; shift 2
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.out" "$@" >/dev/null 2>"$OUT/$name.log" &
  local pid=$!
  wait_ready "$addr" 300 0.2   # slow under valgrind
  wrk -t1 -c8 -d2s -s "$OUT/rotate.lua" "http://$addr" >/dev/null   # warm-up, not counted
  callgrind_control --zero "$pid" >/dev/null 2>&1
  local requests
  requests=$(wrk -t1 -c8 -d"${SECONDS_MEASURED}s" -s "$OUT/rotate.lua" "http://$addr" \
    | grep -oP '^\s+\K\d+(?= requests in)')
  callgrind_control --dump "$pid" >/dev/null 2>&1
  sleep 0.5
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local total
  total=$(grep -ohP 'summary: \K\d+' "$OUT/$name.out".* | head -n1)
  echo "$name $requests $total"
}

{
  count facet-triage 127.0.0.1:18080 ./target/release/facet-triage serve --addr 127.0.0.1:18080
  count ceiling 127.0.0.1:18090 ./target/release/examples/ceiling 127.0.0.1:18090 "$OUT/bodies.jsonl"
} | python3 -c '
import sys
rows = [line.split() for line in sys.stdin]
per = {name: int(total) / int(requests) for name, requests, total in rows}
print("| server | user-space instructions per request |")
print("|---|---|")
for name, value in per.items():
    print(f"| {name} | {value:,.0f} |")
ratio = per["facet-triage"] / per["ceiling"]
print(f"\nfacet-triage / ceiling: {ratio:.2f}")
'
