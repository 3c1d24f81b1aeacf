#!/usr/bin/env python3
"""Validates the FHIR R4 resources the CDS Hooks tests emit (target/tmp/cds-fhir/*.json) with the
R4 models of PyPI fhir.resources 6.1.0: that release's top-level modules are FHIR 4.0.1 (R4);
its only subpackages are DSTU2 and STU3 (R4B and R5 came with 7.x). Usage: validate-fhir.py [DIR]
"""
import json
import os
import sys

import fhir.resources
from fhir.resources import get_fhir_model_class

if fhir.resources.__fhir_version__ != "4.0.1":
    sys.exit(f"validate-fhir.py: fhir.resources models FHIR {fhir.resources.__fhir_version__}, not R4 (4.0.1)")


def errors(resource):
    try:
        get_fhir_model_class(resource["resourceType"]).parse_obj(resource)
        return None
    except Exception as error:  # pydantic.ValidationError, or an unknown resourceType
        return str(error)


# Controls: a minimal valid ServiceRequest passes; an unknown element, a missing required element
# and a bad code fail, so the validator is working.
good = {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
        "subject": {"reference": "Patient/p"}}
bad = [
    dict(good, orderDetails="x"),
    {k: v for k, v in good.items() if k != "subject"},
    dict(good, status=" draft"),
]
if errors(good) is not None or any(errors(b) is None for b in bad):
    sys.exit("validate-fhir.py: the controls failed; the validator is not working")

default_dir = os.path.join(os.path.dirname(__file__), "..", "target", "tmp", "cds-fhir")
directory = sys.argv[1] if len(sys.argv) > 1 else default_dir
files = sorted(f for f in os.listdir(directory) if f.endswith(".json")) if os.path.isdir(directory) else []
if not files:
    sys.exit(f"validate-fhir.py: no resources in {directory}; run cargo test --test cds first")
failed = 0
counts = {}
for name in files:
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        resource = json.load(f)
    counts[resource.get("resourceType")] = counts.get(resource.get("resourceType"), 0) + 1
    problem = errors(resource)
    if problem:
        failed += 1
        print(f"{name}: {problem}", file=sys.stderr)
summary = ", ".join(f"{n} {t}" for t, n in counts.items())
if failed:
    sys.exit(f"validate-fhir.py: {failed} of {len(files)} resources are not valid R4 for fhir.resources ({summary})")
print(f"validate-fhir.py: {len(files)} resources valid for fhir.resources 6.1.0 R4 models ({summary})")
