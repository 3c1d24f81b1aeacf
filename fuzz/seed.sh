#!/usr/bin/env bash
# Seeds the fuzz corpora from the project's own fixtures (the corpus folders are git-ignored):
#   fuzz/corpus/request/  every vignette request and bad-input body, each prefixed by the trace byte
#                         the `request` target reads first (0x01: trace on for vignettes, 0x00 off
#                         for the error cases);
#   fuzz/corpus/pathway/  pathways/facet-pain.toml and every tests/fixtures/pathways/**/*.toml.
# Needs jq. Run from anywhere: `bash fuzz/seed.sh`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
request_dir="$root/fuzz/corpus/request"
pathway_dir="$root/fuzz/corpus/pathway"
mkdir -p "$request_dir" "$pathway_dir"

count=0
for fixture in "$root"/tests/fixtures/vignettes/*.json; do
  name="$(basename "$fixture" .json)"
  # One line per case, a JSON string: "v" + request for vignettes, "e" + body for error cases,
  # where an error case's `raw` text is sent as it is and its `body` as compact JSON.
  while IFS= read -r line; do
    count=$((count + 1))
    file="$request_dir/$name-$count"
    if [ "${line:1:1}" = v ]; then printf '\001' >"$file"; else printf '\000' >"$file"; fi
    printf '%s' "$line" | jq -j '.[1:]' >>"$file"
  done < <(jq -c '(.vignettes // [] | .[] | "v" + (.request | tojson)),
                  (.errors // [] | .[] | "e" + (if has("raw") then .raw else (.body | tojson) end))' "$fixture")
done
echo "request corpus: $count seeds in $request_dir"

cp "$root/pathways/facet-pain.toml" "$pathway_dir/"
find "$root/tests/fixtures/pathways" -name '*.toml' -print0 |
  while IFS= read -r -d '' file; do
    cp "$file" "$pathway_dir/$(basename "$(dirname "$file")")-$(basename "$file")"
  done
echo "pathway corpus: $(find "$pathway_dir" -type f | wc -l) files in $pathway_dir"
