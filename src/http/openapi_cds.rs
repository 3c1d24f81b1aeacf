//! The CDS Hooks routes in the OpenAPI document (`/cds-services`, a service call, feedback). They are
//! served by [`super::cds`] outside the utoipa router, so their description is added to the rendered
//! document here: the request and response shapes of CDS Hooks 2.0, the FHIR `OperationOutcome` of
//! every error, and the discovery document the loaded pathways produce as its example.

use crate::cds::{self, SERVICES};
use crate::pathway::PathwaySet;
use serde_json::{Map, Value, json};

/// Adds the CDS Hooks paths and their schemas to a rendered document.
pub fn add_cds_paths(document: &mut Value, pathways: &PathwaySet) {
    let Some(Value::Object(paths)) = document.get_mut("paths") else {
        return;
    };
    let ids: Vec<&str> = SERVICES.iter().map(|s| s.id).collect();
    let id_parameter = json!({
        "name": "id", "in": "path", "required": true,
        "description": "The service id, as discovery lists it",
        "schema": {"type": "string", "enum": ids}
    });
    let json_body = |schema: &str| {
        json!({"required": true, "content": {
            "application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}},
            "application/fhir+json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}
        }})
    };
    paths.insert(
        "/cds-services".into(),
        json!({"get": {
            "tags": ["cds-hooks"],
            "summary": "CDS Hooks discovery",
            "description": "The services, their hooks and their prefetch templates (generated from the pathway's FHIR mapping). With trusted issuers configured, every CDS Hooks call needs a signed JWT (401 otherwise).",
            "operationId": "cds_discovery",
            "responses": responses(
                ("200", "The services", json!({"application/json": {
                    "schema": {"$ref": "#/components/schemas/CdsDiscovery"},
                    "example": cds::discovery(pathways)}})),
                &["503"],
            )
        }}),
    );
    paths.insert(
        "/cds-services/{id}".into(),
        json!({"post": {
            "tags": ["cds-hooks"],
            "summary": "Call a CDS service",
            "description": "A CDS Hooks 2.0 service call. Missing prefetch keys are fetched from `fhirServer` with the `fhirAuthorization` bearer token when the operator allows that server for the caller; 412 when they can be neither read nor fetched.",
            "operationId": "cds_call",
            "parameters": [id_parameter.clone()],
            "requestBody": json_body("CdsRequest"),
            "responses": responses(
                ("200", "The cards (an empty list when there is nothing to advise)", json!({
                    "application/json": {"schema": {"$ref": "#/components/schemas/CdsResponse"}}})),
                &["400", "404", "412", "413", "415", "422", "503"],
            )
        }}),
    );
    paths.insert(
        "/cds-services/{id}/feedback".into(),
        json!({"post": {
            "tags": ["cds-hooks"],
            "summary": "Feedback on a service's cards",
            "description": "What the clinician did with the cards: accepted (with the suggestions) or overridden (with a reason). Exact repeats are ignored.",
            "operationId": "cds_feedback",
            "parameters": [id_parameter],
            "requestBody": json_body("CdsFeedback"),
            "responses": responses(
                ("200", "How many items were counted, and how many were repeats", json!({
                    "application/json": {"schema": {"type": "object", "properties": {
                        "accepted": {"type": "integer"}, "overridden": {"type": "integer"},
                        "duplicates": {"type": "integer"}}}}})),
                &["400", "404", "413", "415", "422", "503"],
            )
        }}),
    );
    if let Some(Value::Object(schemas)) = document.pointer_mut("/components/schemas") {
        schemas.extend(cds_schemas());
    }
    if let Some(Value::Array(tags)) = document.get_mut("tags") {
        tags.push(json!({"name": "cds-hooks", "description": "CDS Hooks 2.0 services for EHRs"}));
    }
}

/// The success response and an `OperationOutcome` response per error status.
fn responses(success: (&str, &str, Value), errors: &[&str]) -> Value {
    let mut out = Map::new();
    out.insert(
        success.0.into(),
        json!({"description": success.1, "content": success.2}),
    );
    for status in errors {
        let description = match *status {
            "400" => "The body is not JSON",
            "404" => "No service has this id",
            "412" => "A prefetch key the service needs was not sent and could not be fetched",
            "413" => "The body exceeds 1 MiB",
            "415" => "The body is not application/json or application/fhir+json",
            "422" => "A member is missing, of the wrong type, or not valid FHIR R4",
            _ => {
                "CDS Hooks are disabled here (no trusted issuers), or too many requests are in flight"
            }
        };
        let mut response = json!({"description": description, "content": {
            "application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}});
        if *status == "503" {
            response["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before retrying", "schema": {"type": "integer"}}});
        }
        out.insert((*status).into(), response);
    }
    Value::Object(out)
}

fn cds_schemas() -> Map<String, Value> {
    let coding = json!({"type": "object", "required": ["system", "code"], "properties": {
        "system": {"type": "string"}, "code": {"type": "string"}, "display": {"type": "string"}}});
    let schemas = json!({
        "CdsDiscovery": {"type": "object", "required": ["services"], "properties": {
            "services": {"type": "array", "items": {"type": "object",
                "required": ["hook", "description", "id"], "properties": {
                    "hook": {"type": "string"}, "title": {"type": "string"},
                    "description": {"type": "string"}, "id": {"type": "string"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                    "usageRequirements": {"type": "string"},
                    "extension": {"type": "object"}}}}}},
        "CdsRequest": {"type": "object", "required": ["hook", "hookInstance", "context"], "properties": {
            "hook": {"type": "string", "enum": ["patient-view", "order-select"]},
            "hookInstance": {"type": "string", "minLength": 1, "maxLength": 128},
            "fhirServer": {"type": "string", "format": "uri"},
            "fhirAuthorization": {"type": "object", "required": ["access_token", "token_type"], "properties": {
                "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"}, "scope": {"type": "string"},
                "subject": {"type": "string"}, "patient": {"type": "string"}}},
            "context": {"type": "object", "required": ["userId", "patientId"], "properties": {
                "userId": {"type": "string"}, "patientId": {"type": "string"},
                "encounterId": {"type": "string"},
                "selections": {"type": "array", "items": {"type": "string"}},
                "draftOrders": {"type": "object", "description": "A FHIR R4 Bundle (order-select)"}}},
            "prefetch": {"type": "object", "description": "Prefetch key to a FHIR R4 resource, searchset Bundle or null",
                "additionalProperties": {"type": ["object", "null"]}}}},
        "CdsResponse": {"type": "object", "required": ["cards"], "properties": {
            "cards": {"type": "array", "items": {"$ref": "#/components/schemas/CdsCard"}}}},
        "CdsCard": {"type": "object", "required": ["summary", "indicator", "source"], "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "summary": {"type": "string", "maxLength": 139},
            "detail": {"type": "string", "description": "GitHub-flavoured Markdown"},
            "indicator": {"type": "string", "enum": ["info", "warning", "critical"]},
            "source": {"type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}},
            "suggestions": {"type": "array", "items": {"type": "object", "required": ["label", "actions"], "properties": {
                "label": {"type": "string"}, "uuid": {"type": "string"}, "isRecommended": {"type": "boolean"},
                "actions": {"type": "array", "minItems": 1, "items": {"type": "object",
                    "required": ["type", "description"], "properties": {
                        "type": {"type": "string", "enum": ["create", "update", "delete"]},
                        "description": {"type": "string"},
                        "resource": {"type": "object", "description": "A FHIR R4 ServiceRequest"},
                        "resourceId": {"type": "string"}}}}}}},
            "selectionBehavior": {"type": "string", "enum": ["at-most-one", "any"]},
            "overrideReasons": {"type": "array", "items": coding},
            "links": {"type": "array", "items": {"type": "object", "required": ["label", "url", "type"], "properties": {
                "label": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                "type": {"type": "string", "enum": ["absolute", "smart"]}}}},
            "extension": {"type": "object"}}},
        "CdsFeedback": {"type": "object", "required": ["feedback"], "properties": {
            "feedback": {"type": "array", "items": {"type": "object", "required": ["card", "outcome", "outcomeTimestamp"], "properties": {
                "card": {"type": "string"},
                "outcome": {"type": "string", "enum": ["accepted", "overridden"]},
                "acceptedSuggestions": {"type": "array", "items": {"type": "object", "required": ["id"],
                    "properties": {"id": {"type": "string"}}}},
                "overrideReason": {"type": "object", "properties": {
                    "reason": coding, "userComment": {"type": "string"}}},
                "outcomeTimestamp": {"type": "string", "format": "date-time"}}}}}},
        "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"], "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "items": {"type": "object", "required": ["severity", "code"], "properties": {
                "severity": {"type": "string"}, "code": {"type": "string"},
                "diagnostics": {"type": "string"},
                "expression": {"type": "array", "items": {"type": "string"}}}}}}}
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
