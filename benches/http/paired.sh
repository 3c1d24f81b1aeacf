#!/usr/bin/env bash
# Paired HTTP benchmark: facet-triage and the ceiling (examples/ceiling.rs) both running, both pinned to
# core 0, and wrk (core 1) loading one then the other in short runs, ROUNDS times (which one goes first
# alternates). Each round gives one throughput ratio from two runs seconds apart, so the host's drift,
# which moves whole sittings of run.sh by 10% and more here, mostly cancels. Prints the median of the
# per-round ratios, its quartiles, the share of rounds at or above 0.85, and a bootstrap 95% interval
# for the median. Same requests and settings as run.sh. Needs wrk (Debian package `wrk`).
#
#   benches/http/paired.sh [ROUNDS] [SECONDS_PER_RUN] [CONNECTIONS]
ROUNDS="${1:-60}"
SECONDS_PER_RUN="${2:-2}"
CONNECTIONS="${3:-32}"
TRIAGE_ADDR=127.0.0.1:18080
CEILING_ADDR=127.0.0.1:18090
source "$(dirname "$0")/common.sh"
require wrk
prepare

taskset -c 0 ./target/release/facet-triage serve --addr "$TRIAGE_ADDR" >"$OUT/triage.log" 2>&1 &
taskset -c 0 ./target/release/examples/ceiling "$CEILING_ADDR" "$OUT/bodies.jsonl" >"$OUT/ceiling.log" 2>&1 &
for addr in "$TRIAGE_ADDR" "$CEILING_ADDR"; do
  wait_ready "$addr"
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s -s "$OUT/rotate.lua" "http://$addr" >/dev/null   # warm-up
done

load() { # addr: requests/s of one run
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$OUT/rotate.lua" "http://$1" \
    | grep -oP 'Requests/sec:\s+\K[\d.]+'
}
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    triage=$(load "$TRIAGE_ADDR"); ceiling=$(load "$CEILING_ADDR")
  else
    ceiling=$(load "$CEILING_ADDR"); triage=$(load "$TRIAGE_ADDR")
  fi
  echo "$triage $ceiling" >>"$OUT/rounds.txt"
  echo "round $round/$ROUNDS" >&2
done

python3 - "$OUT/rounds.txt" "$SECONDS_PER_RUN" "$CONNECTIONS" <<'PY'
import random, statistics, sys
rounds = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
ratios = sorted(t / c for t, c in rounds)
n = len(ratios)
random.seed(0)
medians = sorted(statistics.median(random.choices(ratios, k=n)) for _ in range(2000))
print(f"{n} rounds of wrk -t1 -c{sys.argv[3]} -d{sys.argv[2]}s per server, both pinned to core 0, wrk to core 1")
print(f"facet-triage requests/s (median): {statistics.median(t for t, _ in rounds):,.0f}; "
      f"ceiling: {statistics.median(c for _, c in rounds):,.0f}")
print(f"throughput ratio per round: median {statistics.median(ratios):.3f}, "
      f"quartiles {ratios[n // 4]:.3f} to {ratios[(3 * n) // 4]:.3f}, "
      f"range {ratios[0]:.3f} to {ratios[-1]:.3f}")
print(f"rounds at or above 0.85: {sum(r >= 0.85 for r in ratios)} of {n}")
print(f"bootstrap 95% interval of the median ratio: {medians[50]:.3f} to {medians[1949]:.3f}")
PY
