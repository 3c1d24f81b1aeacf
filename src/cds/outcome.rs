//! Errors of the CDS Hooks services, answered as FHIR R4 `OperationOutcome` resources.
//!
//! CDS Hooks 3.0 recommends an `OperationOutcome` for every non-2xx answer, so `/cds-services`
//! answers with one where `/v1` answers with a problem document. Diagnostics name the member at
//! fault and the rule broken, never a submitted value.

use serde::Serialize;

/// The media type of an `OperationOutcome` body.
pub const FHIR_JSON: &str = "application/fhir+json";

/// An error of a CDS Hooks call: its HTTP status and the issues to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdsError {
    pub status: u16,
    pub issues: Vec<Issue>,
}

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: &'static str,
    /// An R4 `IssueType` code.
    pub code: &'static str,
    pub diagnostics: String,
    /// Where, as a dotted path into the CDS Hooks request (`prefetch.pain.entry[3].resource`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperationOutcome<'a> {
    resource_type: &'static str,
    issue: &'a [Issue],
}

impl CdsError {
    /// One error issue.
    pub fn new(
        status: u16,
        code: &'static str,
        diagnostics: impl Into<String>,
        expression: Option<String>,
    ) -> CdsError {
        CdsError {
            status,
            issues: vec![Issue {
                severity: "error",
                code,
                diagnostics: diagnostics.into(),
                expression: expression.into_iter().collect(),
            }],
        }
    }

    /// `400`: the request is not a valid CDS Hooks call.
    pub fn invalid(diagnostics: impl Into<String>, expression: impl Into<String>) -> CdsError {
        CdsError::new(400, "invalid", diagnostics, Some(expression.into()))
    }

    /// `404`: no such service.
    pub fn unknown_service() -> CdsError {
        CdsError::new(
            404,
            "not-found",
            "no CDS service with this id; GET /cds-services lists them",
            None,
        )
    }

    /// The body as an `OperationOutcome`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&OperationOutcome {
            resource_type: "OperationOutcome",
            issue: &self.issues,
        })
        .unwrap_or_else(|_| br#"{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception"}]}"#.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_an_operation_outcome() {
        let error = CdsError::invalid("must be a string", "context.patientId");
        let json: serde_json::Value = serde_json::from_slice(&error.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"resourceType": "OperationOutcome", "issue": [{
                "severity": "error", "code": "invalid", "diagnostics": "must be a string",
                "expression": ["context.patientId"]}]})
        );
        let json: serde_json::Value =
            serde_json::from_slice(&CdsError::unknown_service().to_json()).unwrap();
        assert!(json["issue"][0].get("expression").is_none());
    }
}
