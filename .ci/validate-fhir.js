#!/usr/bin/env node
// Validates the FHIR R4 resources the CDS Hooks tests emit (draft ServiceRequests, OperationOutcomes),
// dumped by `cargo test --test cds` into target/tmp/cds-fhir/, against the official FHIR R4 JSON
// schema shipped in @asymmetrik/fhir-json-schema-validator. Usage: node .ci/validate-fhir.js [DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const Validator = require('./fhir/node_modules/@asymmetrik/fhir-json-schema-validator');

const dir = process.argv[2] || path.join(__dirname, '..', 'target', 'tmp', 'cds-fhir');
const validator = new Validator();

// Controls: the validator must accept a minimal valid ServiceRequest and reject a malformed code, a missing
// subject and an unknown member. The R4 JSON schema checks structure, cardinality of complex elements,
// unknown members and primitive formats; it checks neither value-set bindings nor required primitives.
const good = { resourceType: 'ServiceRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p' } };
const bad = [
  { ...good, status: ' draft' },
  { resourceType: 'ServiceRequest', status: 'draft', intent: 'proposal' },
  { ...good, orderDetails: 'x' },
];
if (validator.validate(good).length !== 0 || bad.some((r) => validator.validate(r).length === 0)) {
  console.error('validate-fhir: the schema controls failed; the validator is not working');
  process.exit(1);
}

const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
if (files.length === 0) {
  console.error(`validate-fhir: no resources in ${dir}; run cargo test --test cds first`);
  process.exit(1);
}
const counts = {};
let failed = 0;
for (const file of files) {
  const resource = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  counts[resource.resourceType] = (counts[resource.resourceType] || 0) + 1;
  const errors = validator.validate(resource);
  if (errors.length > 0) {
    failed += 1;
    console.error(`${file}: ${JSON.stringify(errors, null, 1)}`);
  }
}
const summary = Object.entries(counts).map(([type, n]) => `${n} ${type}`).join(', ');
if (failed > 0) {
  console.error(`validate-fhir: ${failed} of ${files.length} resources are not valid FHIR R4 (${summary})`);
  process.exit(1);
}
console.log(`validate-fhir: ${files.length} resources valid against the FHIR R4 JSON schema (${summary})`);
