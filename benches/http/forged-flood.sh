#!/usr/bin/env bash
# Triage throughput with and without a concurrent flood of forged CDS Hooks tokens.
#
# The forged tokens are ES384 JWTs with a trusted `iss` and `kid` (tests/fixtures/jwt) and a random
# signature, each with its own `jti`: every one costs the server a full signature verification before
# it is refused. The server runs with the test trust file on 127.0.0.1; wrk sends triage requests
# (benches/requests.json) for DURATION seconds, once alone and once while a second wrk sends forged
# tokens on FLOOD_CONNECTIONS connections; RUNS pairs, alternating. Prints the median triage
# requests/s of each, their ratio, and the server's refusal counts by reason. Needs wrk (Debian `wrk`).
#
#   benches/http/forged-flood.sh [DURATION_SECONDS] [CONNECTIONS] [FLOOD_CONNECTIONS] [RUNS]
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
FLOOD_CONNECTIONS="${3:-4}"
RUNS="${4:-3}"
ADDR=127.0.0.1:18085
source "$(dirname "$0")/common.sh"
require wrk curl python3
prepare

# One forged token per request: wrk's Lua picks from a pool of 2,000 distinct ones.
python3 - "$OUT/flood.lua" <<'PY'
import base64, json, os, sys, time
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "ES384", "typ": "JWT", "kid": "test-es384"}).encode())
now = int(time.time())
aud = "http://127.0.0.1:18085/cds-services/facet-pain-next-step"
tokens = []
for n in range(2000):
    claims = {"iss": "https://ehr.test.invalid", "aud": aud, "iat": now, "exp": now + 3000, "jti": f"forged-{n}"}
    tokens.append(f"{header}.{b64(json.dumps(claims).encode())}.{b64(os.urandom(96))}")
with open(sys.argv[1], "w") as out:
    out.write("local tokens = {\n")
    out.write(",\n".join(f'"{token}"' for token in tokens))
    out.write("\n}\nlocal n = 0\n")
    out.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = "{}"\n')
    out.write("request = function()\n  n = n % #tokens + 1\n")
    out.write('  return wrk.format(nil, "/cds-services/facet-pain-next-step", {["Authorization"] = "Bearer " .. tokens[n]})\nend\n')
PY

"${CARGO_TARGET_DIR:-target}/release/facet-triage" serve --addr "$ADDR" \
  --cds-trust tests/fixtures/jwt/trusted-issuers.json --public-url "http://$ADDR" \
  >"$OUT/server.log" 2>&1 &
SERVER=$!
wait_ready "$ADDR"
wrk -t1 -c"$CONNECTIONS" -d1s -s "$OUT/rotate.lua" "http://$ADDR" >/dev/null   # warm-up

triage() { # output file
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$OUT/rotate.lua" "http://$ADDR" >"$1"
}
for run in $(seq "$RUNS"); do
  echo "run $run/$RUNS" >&2
  triage "$OUT/alone.$run"
  wrk -t1 -c"$FLOOD_CONNECTIONS" -d"$((DURATION + 2))s" -s "$OUT/flood.lua" "http://$ADDR" >"$OUT/flood.$run" &
  FLOOD=$!
  sleep 1
  triage "$OUT/flooded.$run"
  wait "$FLOOD"
done
curl -fs "http://$ADDR/metrics" | grep -E '^cds_auth_refusals_total' >"$OUT/refusals" || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

python3 - "$OUT" "$RUNS" <<'PY'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rate = lambda path: float(re.search(r"Requests/sec:\s+([\d.]+)", open(path).read()).group(1))
alone = [rate(f"{out}/alone.{r}") for r in range(1, runs + 1)]
flooded = [rate(f"{out}/flooded.{r}") for r in range(1, runs + 1)]
flood = [rate(f"{out}/flood.{r}") for r in range(1, runs + 1)]
print(f"triage alone:        {statistics.median(alone):10.0f} requests/s  (runs: {', '.join(f'{x:.0f}' for x in alone)})")
print(f"triage during flood: {statistics.median(flooded):10.0f} requests/s  (runs: {', '.join(f'{x:.0f}' for x in flooded)})")
print(f"ratio:               {statistics.median(flooded) / statistics.median(alone):10.2f}")
print(f"forged tokens:       {statistics.median(flood):10.0f} requests/s refused")
print(open(f"{out}/refusals").read().strip())
PY
