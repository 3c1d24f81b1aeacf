//! RFC 9457 problem documents: the one shape every error takes, over HTTP and on the command line.

use crate::request::FieldError;
use serde::Serialize;

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, without repeating any submitted value.
    pub detail: String,
    /// For validation failures: every offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:facet-triage:problem:{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// `400`: the body is not JSON.
    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new(400, "malformed-json", "Malformed JSON", detail)
    }

    /// `422`: valid JSON that is not a valid request.
    pub fn invalid(errors: Vec<FieldError>) -> Problem {
        let detail = match errors.len() {
            1 => "1 field is invalid; see `errors`".to_owned(),
            n => format!("{n} fields are invalid; see `errors`"),
        };
        Problem {
            errors,
            ..Problem::new(422, "invalid-request", "Invalid request", detail)
        }
    }

    /// `404`: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(404, "not-found", "Not found", detail)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self)
            .unwrap_or_else(|_| br#"{"type":"about:blank","status":500}"#.to_vec())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)
    }
}

impl std::error::Error for Problem {}
