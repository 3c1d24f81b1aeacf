//! The triage request (contract section 4.1): its one typed definition and its strict parser.
//!
//! [`TriageRequest`] is the contract: its serde attributes read a body, its `utoipa` attributes are
//! the OpenAPI schema (docs, ranges, optional members), and the facts a pathway may read are checked
//! against it. A body is read by serde straight into the struct and checked by
//! [`TriageRequest::validate`]; a body that fails either is read again to explain why: the syntax
//! (`400`), then every field (`422`) against the schema generated from the struct (`shape`:
//! unknown and duplicate keys, `null`, types, enumerations, ranges), then the rules between fields
//! (`rules`). Every offending field is reported by JSON Pointer with a message naming the rule
//! broken; the submitted value is never repeated, because it is patient data.

use crate::json::{self, Json, SyntaxError};
use crate::vocab::{Anesthetic, Duration, Guidance, ModicChanges, Procedure, RedFlag, Region};
use serde::{Deserialize, Deserializer, Serialize};

mod rules;
mod shape;
#[cfg(test)]
mod tests;

pub use rules::{MAX_DURATION_SECONDS, max_history};

/// A triage request (contract section 4.1). Beyond this schema, the server rejects with `422`:
/// `relief_duration.value` of 0 when `percent_relief` is above 0 (also inside `previous_block`);
/// `block_number` or `previous_block` unless `procedure` is `medial_branch_block`; `previous_block`
/// unless `block_number` is 2; `sacroiliac_signs: true` or `modic_changes` outside the lumbar region;
/// `relief_duration` longer than `time_since_procedure`; a `procedure_history` entry less long ago
/// than `time_since_procedure`; a relief duration over
/// 100 years; a `profile` or `pathway` that is not loaded (see `GET /v1/pathways`); a duplicate key.
//
// Defaults of the contract are applied when a body is read; `Serialize` writes a request back
// without the members left at their defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    pub region: Region,
    pub procedure: Procedure,
    /// Peak relief of the index pain, in percent.
    #[schema(minimum = 0, maximum = 100)]
    pub percent_relief: f64,
    /// How long that relief lasted (the time so far when `relief_ongoing`).
    pub relief_duration: Duration,
    /// The relief has not worn off yet.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub relief_ongoing: bool,
    /// Dermatomal pain radiating below the knee (lumbar) or below the elbow (cervical), or a
    /// radicular deficit.
    pub radicular_symptoms: bool,
    /// Medial branch block only: 2 is the confirmatory (comparative) block; 1 when left out. No
    /// default is declared, as the field is invalid for the other procedures.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, minimum = 1, maximum = 2)]
    pub block_number: Option<u8>,
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false)]
    pub previous_block: Option<PreviousBlock>,
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false)]
    pub anesthetic: Option<Anesthetic>,
    /// Image guidance used; `fluoroscopy` when left out.
    #[serde(default = "fluoroscopy", skip_serializing_if = "is_fluoroscopy")]
    #[schema(required = false)]
    pub guidance: Guidance,
    // Without duplicates, in vocabulary order.
    #[serde(
        default,
        deserialize_with = "flag_set",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(required = false)]
    pub red_flags: Vec<RedFlag>,
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, minimum = 0, maximum = 1200)]
    pub pain_duration_months: Option<f64>,
    /// Weeks of physical therapy or medication already tried.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, minimum = 0, maximum = 5200)]
    pub conservative_care_weeks: Option<f64>,
    /// MRI or CT of the region in the last 12 months, already reviewed.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub recent_imaging: bool,
    /// E.g. an implanted electrical device or pseudarthrosis.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub rfa_contraindicated: bool,
    /// Depression, fear-avoidance or catastrophizing.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub psychosocial_risk: bool,
    /// Spondylolisthesis with instability, or deformity.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub spinal_instability: bool,
    /// Pain below L5 with at least 3 positive sacroiliac provocation tests (lumbar only).
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub sacroiliac_signs: bool,
    /// Time from the index procedure to this assessment; at least `relief_duration`.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false)]
    pub time_since_procedure: Option<Duration>,
    /// Earlier facet procedures in the same region, not counting the index one; each at least
    /// `time_since_procedure` ago.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, max_items = 50)]
    pub procedure_history: Option<Vec<HistoryEntry>>,
    /// Myofascial trigger points found on examination.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(required = false, default = false)]
    pub myofascial_trigger_points: bool,
    /// Modic changes at L3 to S1 on MRI (lumbar only). No default is declared, as the field is
    /// invalid for the other regions.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false)]
    pub modic_changes: Option<ModicChanges>,
    /// Criteria profile id; the pathway's default profile when left out.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, min_length = 1, max_length = 64)]
    pub profile: Option<String>,
    /// Pathway id; the default pathway when left out.
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false, min_length = 1, max_length = 64)]
    pub pathway: Option<String>,
}

/// The first block's result, given with a confirmatory (second) medial branch block.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviousBlock {
    #[schema(minimum = 0, maximum = 100)]
    pub percent_relief: f64,
    pub relief_duration: Duration,
    #[serde(
        default,
        deserialize_with = "given",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = false, nullable = false)]
    pub anesthetic: Option<Anesthetic>,
}

/// An earlier facet procedure in the same region.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub procedure: Procedure,
    /// How long before this assessment it was done.
    pub time_ago: Duration,
}

impl TriageRequest {
    /// `1` unless the client sent `2` for a medial branch block.
    pub fn block_number(&self) -> u8 {
        self.block_number.unwrap_or(1)
    }

    /// Checks what the types cannot: the ranges the schema declares and the rules between fields.
    /// A request read from a body has passed it; one built in code (the CDS mapping) calls it.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        rules::check_ranges(self, &mut errors);
        rules::Related::of(self).check(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A member that may be left out but, when given, is not `null` (serde would read `null` as `None`).
fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The red flags given, without duplicates, in vocabulary order.
fn flag_set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RedFlag>, D::Error> {
    let mut flags = Vec::<RedFlag>::deserialize(deserializer)?;
    flags.sort_unstable();
    flags.dedup();
    Ok(flags)
}

fn fluoroscopy() -> Guidance {
    Guidance::Fluoroscopy
}

fn is_fluoroscopy(guidance: &Guidance) -> bool {
    *guidance == Guidance::Fluoroscopy
}

fn is_false(flag: &bool) -> bool {
    !flag
}

/// One offending field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// RFC 6901 JSON Pointer to the deepest offending member (`""` for the whole body).
    pub field: String,
    /// The rule broken, never the submitted value.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a body is not a valid triage request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON at all (`400`).
    #[error("{0}")]
    Syntax(SyntaxError),
    /// JSON, but not a valid request (`422`); every offending field: unknown and duplicate keys in
    /// document order, then each field in the order of the schema, then the rules between fields.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

/// Parses and validates a request body.
pub fn parse(body: &[u8]) -> Result<TriageRequest, RequestError> {
    if let Some(request) = read(body) {
        return Ok(request);
    }
    from_json(json::parse(body).map_err(RequestError::Syntax)?)
}

/// serde's reading of a valid body; `None` for any other.
fn read(body: &[u8]) -> Option<TriageRequest> {
    // A body that is valid UTF-8 as a whole is read as text, so serde_json does not check each of
    // its strings again; any other body is not JSON, which `json::parse` reports.
    let text = std::str::from_utf8(body).ok()?;
    let request: TriageRequest = serde_json::from_str(text).ok()?;
    request.validate().is_ok().then_some(request)
}

/// Validates an already parsed JSON document as a request, naming every offending field.
pub fn from_json(document: Json<'_>) -> Result<TriageRequest, RequestError> {
    let Json::Object(members) = &document else {
        return Err(RequestError::Invalid(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    };
    let mut errors = Vec::new();
    let shape = shape::request();
    let states = shape.check_members(members, "", &mut errors);
    rules::check_members(members, shape, &states, &mut errors);
    if !errors.is_empty() {
        return Err(RequestError::Invalid(errors));
    }
    // Every member now has its schema's type, so serde reads them all.
    serde_json::from_value(document.to_value())
        .map_err(|_| RequestError::Invalid(vec![FieldError::new("", "the request is incomplete")]))
}
