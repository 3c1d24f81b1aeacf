"""Writes the benchmark's request bodies (one compact JSON per line) to BODIES_JSONL and prints a wrk
Lua script that POSTs them to /v1/triage in turn.

    python3 benches/http/rotate.py REQUESTS_JSON BODIES_JSONL > rotate.lua
"""
import json
import sys

bodies = [json.dumps(b, separators=(",", ":")) for b in json.load(open(sys.argv[1]))]
open(sys.argv[2], "w").write("\n".join(bodies) + "\n")
print("local bodies = {")
for body in bodies:
    print("  [[" + body + "]],")
print("}")
print("""local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/triage", {["Content-Type"] = "application/json"}, bodies[i])
end""")
