#!/usr/bin/env bash
# HTTP load benchmark: POST /v1/triage of facet-triage against the stack's ceiling (examples/ceiling.rs).
#
# Builds both release binaries, pins each server to core 0 and wrk to core 1, rotates through the
# requests of benches/requests.json, alternates the two servers RUNS times, and prints the median
# requests/s and latency percentiles of each, their ratio, and the ratio within each pair of runs.
# Needs wrk (Debian package `wrk`).
#
#   benches/http/run.sh [DURATION_SECONDS] [CONNECTIONS] [RUNS]
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
RUNS="${3:-3}"
TRIAGE_ADDR=127.0.0.1:18080
CEILING_ADDR=127.0.0.1:18090
source "$(dirname "$0")/common.sh"
require wrk
prepare

measure() { # name addr command...
  local name=$1 addr=$2; shift 2
  taskset -c 0 "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  wait_ready "$addr"
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s -s "$OUT/rotate.lua" "http://$addr" >/dev/null   # warm-up
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$OUT/rotate.lua" "http://$addr" >>"$OUT/$name.wrk"
  echo "---" >>"$OUT/$name.wrk"
  if [ "$name" = triage ]; then ps -o rss= -p "$pid" >>"$OUT/triage.rss"; fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# Startup: launch to the first 200 from /readyz, five times.
python3 - ./target/release/facet-triage "$TRIAGE_ADDR" >"$OUT/startup.txt" <<'PY'
import statistics, subprocess, sys, time, urllib.request
binary, addr = sys.argv[1], sys.argv[2]
times = []
for _ in range(5):
    started = time.perf_counter()
    server = subprocess.Popen(["taskset", "-c", "0", binary, "serve", "--addr", addr],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            if urllib.request.urlopen(f"http://{addr}/readyz", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.001)
    times.append((time.perf_counter() - started) * 1000)
    server.terminate(); server.wait()
print(f"{statistics.median(times):.1f}")
PY

for run in $(seq "$RUNS"); do
  echo "run $run/$RUNS" >&2
  measure triage "$TRIAGE_ADDR" ./target/release/facet-triage serve --addr "$TRIAGE_ADDR"
  measure ceiling "$CEILING_ADDR" ./target/release/examples/ceiling "$CEILING_ADDR" "$OUT/bodies.jsonl"
done

python3 - "$OUT" "$CONNECTIONS" "$DURATION" <<'PY'
import re, statistics, sys
out, conns, duration = sys.argv[1], sys.argv[2], sys.argv[3]
def runs(name):
    text = open(f"{out}/{name}.wrk").read().split("---")
    rows = []
    for block in text:
        rps = re.search(r"Requests/sec:\s+([\d.]+)", block)
        if not rps: continue
        lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", block, re.M))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", block)
        rows.append((float(rps.group(1)), lat.get("50"), lat.get("99"), int(errors.group(1)) if errors else 0))
    return rows
def to_ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
t, c = runs("triage"), runs("ceiling")
med = lambda rows, i: statistics.median(r[i] if i == 0 else to_ms(r[i]) for r in rows)
print(f"wrk -t1 -c{conns} -d{duration}s, servers pinned to core 0, wrk to core 1, {len(t)} alternating runs each (median)")
print("| server | requests/s | p50 (ms) | p99 (ms) | non-2xx |")
print("|---|---|---|---|---|")
for name, rows in (("facet-triage", t), ("ceiling", c)):
    print(f"| {name} | {med(rows,0):,.0f} | {med(rows,1):.3f} | {med(rows,2):.3f} | {sum(r[3] for r in rows)} |")
print(f"\nthroughput ratio facet-triage / ceiling: {med(t,0)/med(c,0):.3f}")
# Each facet-triage run is followed by a ceiling run; on a shared host the load drifts between
# runs, so the ratio within each pair is steadier than the ratio of the medians.
pairs = [a[0] / b[0] for a, b in zip(t, c)]
print(f"ratio within each pair of runs: {', '.join(f'{r:.3f}' for r in pairs)} (median {statistics.median(pairs):.3f})")
rss = [int(x) for x in open(f"{out}/triage.rss").read().split()]
print(f"facet-triage resident memory after load (median): {statistics.median(rss)/1024:.1f} MiB")
print(f"facet-triage startup, launch to /readyz 200 (median of 5): {open(f'{out}/startup.txt').read().strip()} ms")
PY
