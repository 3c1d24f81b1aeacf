#!/usr/bin/env bash
# Several builds of facet-triage against the ceiling in one sitting, in paired.sh's protocol: every
# server pinned to core 0, wrk -t1 -c32 pinned to core 1, the rotating bodies of benches/requests.json;
# each round loads every server for SECONDS_PER_RUN (the order rotates from round to round). Prints each
# build's median requests/s and the median (and quartiles) of its per-round ratio to the ceiling. Use it
# to decide whether a change pays: build each variant, copy its binary aside, name it here.
# Needs wrk (Debian package `wrk`).
#
#   benches/http/builds.sh ROUNDS SECONDS_PER_RUN NAME=BINARY [NAME=BINARY ...]
#   e.g. benches/http/builds.sh 24 2 before=/tmp/facet-triage-main after=./target/release/facet-triage
ROUNDS="$1"; SECONDS_PER_RUN="$2"; shift 2
source "$(dirname "$0")/common.sh"
require wrk
prepare

declare -A ADDR
names=(ceiling); port=18190
ADDR[ceiling]=127.0.0.1:$port
taskset -c 0 ./target/release/examples/ceiling "${ADDR[ceiling]}" "$OUT/bodies.jsonl" >/dev/null 2>&1 &
for spec in "$@"; do
  name=${spec%%=*}; port=$((port + 1)); ADDR[$name]=127.0.0.1:$port; names+=("$name")
  taskset -c 0 "${spec#*=}" serve --addr "${ADDR[$name]}" >/dev/null 2>&1 &
done
for name in "${names[@]}"; do
  wait_ready "${ADDR[$name]}"
  taskset -c 1 wrk -t1 -c32 -d2s -s "$OUT/rotate.lua" "http://${ADDR[$name]}" >/dev/null   # warm-up
done

for round in $(seq "$ROUNDS"); do
  line=""
  for i in "${!names[@]}"; do
    name=${names[$(( (i + round) % ${#names[@]} ))]}
    rate=$(taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" -s "$OUT/rotate.lua" "http://${ADDR[$name]}" \
      | grep -oP 'Requests/sec:\s+\K[\d.]+')
    line+="$name=$rate "
  done
  echo "$line" >>"$OUT/rounds.txt"
  echo "round $round/$ROUNDS" >&2
done

python3 - "$OUT/rounds.txt" "$SECONDS_PER_RUN" <<'PY'
import statistics, sys
rounds = [dict(pair.split("=") for pair in line.split()) for line in open(sys.argv[1]) if line.strip()]
print(f"{len(rounds)} rounds of wrk -t1 -c32 -d{sys.argv[2]}s per server, all pinned to core 0, wrk to core 1")
print(f"ceiling: {statistics.median(float(r['ceiling']) for r in rounds):,.0f} requests/s (median)")
for name in (n for n in rounds[0] if n != "ceiling"):
    ratios = sorted(float(r[name]) / float(r["ceiling"]) for r in rounds)
    n = len(ratios)
    print(f"{name}: {statistics.median(float(r[name]) for r in rounds):,.0f} requests/s; ratio to the ceiling "
          f"per round: median {statistics.median(ratios):.3f}, quartiles {ratios[n // 4]:.3f} to {ratios[(3 * n) // 4]:.3f}")
PY
