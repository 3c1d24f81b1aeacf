//! The triage response (contract section 4.2). It borrows the pathway's text, so building it copies
//! only what names the patient's facts.

use crate::pathway::Code;
use crate::pathway::Evidence;
use crate::vocab::{Category, CriterionStatus, ResponseLevel, Severity};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TriageResponse<'a> {
    pub pathway: PathwayRef<'a>,
    /// The criteria profile that produced this answer.
    pub profile: &'a str,
    pub assessment: AssessmentOut,
    /// Ranked next options, best first; ranks are 1..n.
    pub options: Vec<RankedOption<'a>>,
    /// Options to avoid for this patient, with the reason.
    pub avoid: Vec<AvoidOut<'a>>,
    /// Most severe first.
    pub alerts: Vec<AlertOut<'a>>,
    pub disclaimer: &'a str,
    /// The walk through the graph (only with `?trace=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceStep<'a>>>,
}

/// Which pathway answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathwayRef<'a> {
    pub id: &'a str,
    pub version: &'a str,
    /// `sha256:` of the pathway file.
    pub digest: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentOut {
    pub response: ResponseLevel,
    /// One plain sentence naming the patient's facts.
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankedOption<'a> {
    pub rank: usize,
    pub id: &'a str,
    pub title: &'a str,
    pub category: Category,
    /// Graded evidence; `evidence[0]` is the lead entry and does not depend on the profile.
    pub evidence: &'a [Evidence],
    /// Why this option, for this patient.
    pub rationale: String,
    /// Guideline or coverage criteria the option depends on.
    pub criteria: Vec<CriterionOut<'a>>,
    /// Source ids, each resolvable in the pathway's sources.
    pub citations: Vec<&'a str>,
    /// Procedure codes (CPT) for the request's region, one procedure each; add-on codes are marked.
    /// Empty for advice without a billable code.
    pub codes: &'a [Code],
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CriterionOut<'a> {
    pub id: &'a str,
    pub status: CriterionStatus,
    pub text: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvoidOut<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub reason: String,
    pub citations: Vec<&'a str>,
    /// The recommendations against the option that justify avoiding it (may be empty).
    pub evidence: Vec<&'a Evidence>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertOut<'a> {
    pub severity: Severity,
    pub code: &'a str,
    pub message: String,
}

/// One visited node of the walk.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceStep<'a> {
    pub node: &'a str,
    pub title: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub rules: &'a [String],
    /// The request facts the node reads, with their values.
    #[schema(value_type = Object)]
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// The profile parameters the node reads, as a reader would say them.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Whether the node's outcomes applied (its `when` held, or it has none).
    pub applied: bool,
    /// What the node contributed when it applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub avoided: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<&'a str>,
    /// The branch taken, in words, for a decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The next node, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<&'a str>,
}
