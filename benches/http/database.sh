#!/usr/bin/env bash
# Stored-data benchmark, bounded in time: CDS feedback writes per second on an SQLite file and on
# PostgreSQL, and POST /v1/triage throughput with PostgreSQL configured against an in-memory SQLite
# (nothing to reach): the triage route never touches the database, so the two must agree within noise.
#
# The server is pinned to core 0 and wrk to core 1. Feedback: wrk -t1 -c8 for SECONDS per database,
# every request a new feedback item (its own outcome time), then the summary is read back to check
# that every item answered 200 was stored. Triage: ROUNDS pairs of SECONDS runs alternating the two
# servers (paired.sh's method). PostgreSQL is a throwaway cluster (Debian package `postgresql`) on a
# scratch directory, started as the `postgres` user when run as root. Needs wrk, curl, python3.
#
#   benches/http/database.sh [SECONDS] [ROUNDS]
SECONDS_PER_RUN="${1:-5}"
ROUNDS="${2:-6}"
PG_PORT=15432
source "$(dirname "$0")/common.sh"
require wrk curl python3
# common.sh's prepare, without the ceiling server this benchmark does not use.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT="$(mktemp -d)"
cargo build --release --locked --bin facet-triage >&2
python3 benches/http/rotate.py benches/requests.json "$OUT/bodies.jsonl" > "$OUT/rotate.lua"
BIN="${CARGO_TARGET_DIR:-target}/release/facet-triage"

# A throwaway PostgreSQL cluster.
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (Debian package postgresql)" >&2; exit 1; }
pgdata="$OUT/pg"
as_pg=()
if [ "$(id -u)" = 0 ]; then chmod 755 "$OUT"; mkdir "$pgdata"; chown postgres: "$pgdata"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$bin/initdb" --auth=trust --username=postgres --no-sync -D "$pgdata" >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w \
  -o "-p $PG_PORT -k $pgdata -c listen_addresses=127.0.0.1" start >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1; kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

cat >"$OUT/feedback.lua" <<'LUA'
-- Every request is a new feedback item: its outcome time is BASE plus a counter (one wrk thread).
local n = 0
local base = tonumber(os.getenv("BASE"))
request = function()
  n = n + 1
  local body = string.format('{"feedback":[{"card":"0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b",'
    .. '"outcome":"overridden","overrideReason":{"reason":{"system":"urn:bench","code":"c%d"}},'
    .. '"outcomeTimestamp":"%s"}]}', n % 5, os.date("!%Y-%m-%dT%H:%M:%SZ", base + n))
  return wrk.format("POST", "/cds-services/facet-pain-next-step/feedback",
    {["Content-Type"] = "application/json"}, body)
end
LUA

start() { # addr database: a server pinned to core 0
  taskset -c 0 "$BIN" serve --addr "$1" --database "$2" >"$OUT/server-$1.log" 2>&1 &
  wait_ready "$1"
}

stored() { # addr: overridden items in the summary
  curl -fs "http://$1/v1/feedback/summary" | python3 -c \
    'import json,sys; print(sum(o["overridden"] for s in json.load(sys.stdin)["services"] for o in s["options"]))'
}

echo "== feedback writes (wrk -t1 -c8 -d${SECONDS_PER_RUN}s, one new item per request)"
for db in "sqlite://$OUT/bench.db" "$PG_URL"; do
  addr=127.0.0.1:18101
  start "$addr" "$db"; pid=$!
  BASE=1790000000 taskset -c 1 wrk -t1 -c8 -d"${SECONDS_PER_RUN}s" -s "$OUT/feedback.lua" "http://$addr" >"$OUT/feedback.wrk"
  rate=$(grep -oP 'Requests/sec:\s+\K[\d.]+' "$OUT/feedback.wrk")
  total=$(grep -oP '^\s*\K\d+(?= requests in)' "$OUT/feedback.wrk")
  failed=$(grep -oP 'Non-2xx or 3xx responses:\s+\K\d+' "$OUT/feedback.wrk" || echo 0)
  latency=$(grep -P '^\s+Latency' "$OUT/feedback.wrk" | awk '{print $2 " mean, " $4 " max"}')
  echo "${db%%:*}: $rate writes/s ($total requests, $failed not 2xx, latency $latency); stored: $(stored "$addr")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

echo "== POST /v1/triage, $ROUNDS rounds of wrk -t1 -c32 -d${SECONDS_PER_RUN}s per server"
start 127.0.0.1:18102 "sqlite::memory:"
start 127.0.0.1:18103 "$PG_URL"
load() { taskset -c 1 wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" -s "$OUT/rotate.lua" "http://$1" | grep -oP 'Requests/sec:\s+\K[\d.]+'; }
for addr in 127.0.0.1:18102 127.0.0.1:18103; do load "$addr" >/dev/null; done   # warm-up
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then memory=$(load 127.0.0.1:18102); pg=$(load 127.0.0.1:18103)
  else pg=$(load 127.0.0.1:18103); memory=$(load 127.0.0.1:18102); fi
  echo "$memory $pg" >>"$OUT/triage.txt"
done
python3 - "$OUT/triage.txt" <<'PY'
import statistics, sys
rounds = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
ratios = sorted(p / m for m, p in rounds)
print(f"in-memory SQLite: median {statistics.median(m for m, _ in rounds):,.0f} requests/s; "
      f"PostgreSQL configured: median {statistics.median(p for _, p in rounds):,.0f} requests/s")
print(f"ratio PostgreSQL / in-memory per round: median {statistics.median(ratios):.3f}, "
      f"range {ratios[0]:.3f} to {ratios[-1]:.3f}")
PY
