//! CDS Hooks 2.0 feedback: what the clinician did with a card.
//!
//! Each item is checked against the spec and its invariants (cds-fb-1 outcome `accepted` or
//! `overridden`; cds-fb-2 `accepted` names its suggestions; cds-fb-3 an override reason has a
//! reason or a comment). The spec lets a client send the same feedback more than once, so exact
//! repeats (same service, card, outcome, suggestions, reason and timestamp) are recognised and not
//! counted again: each item has a key ([`FeedbackItem::key`]) under which the store keeps it once.
//! What an item keeps is what the clinician did, never a patient value: the free-text comment of an
//! override reason is not kept (it may name the patient), only whether there was one.

use super::fhir::{self, Moment};
use super::outcome::CdsError;
use crate::json;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Most items accepted in one feedback call.
const MAX_ITEMS: usize = 100;

/// What the clinician did with a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackOutcome {
    Accepted,
    Overridden,
}

impl FeedbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackOutcome::Accepted => "accepted",
            FeedbackOutcome::Overridden => "overridden",
        }
    }
}

/// One checked feedback item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackItem {
    /// The card's uuid.
    pub card: String,
    pub outcome: FeedbackOutcome,
    /// The accepted suggestions' uuids, sorted, without repeats; empty when overridden.
    pub accepted: Vec<String>,
    /// The coded override reason, when one was given.
    pub reason: Option<Coding>,
    /// Whether the override reason had a free-text comment (the comment itself is not kept).
    pub has_comment: bool,
    /// `outcomeTimestamp`, in seconds since the Unix epoch.
    pub outcome_at: i64,
    fingerprint: [u8; 32],
}

/// A FHIR Coding of an override reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coding {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

impl FeedbackItem {
    /// The item's identity for `service`: exact repeats share it (hex SHA-256).
    pub fn key(&self, service: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(service.as_bytes());
        hash.update([0]);
        hash.update(self.fingerprint);
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Reads a feedback body.
pub fn parse(body: &[u8]) -> Result<Vec<FeedbackItem>, CdsError> {
    json::parse(body).map_err(|error| CdsError::new(400, "structure", error.to_string(), None))?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| CdsError::new(400, "structure", "the body is not valid JSON", None))?;
    let items = match value.get("feedback") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_ITEMS => items,
        Some(Value::Array(_)) => {
            return Err(CdsError::invalid(
                format!("must hold 1 to {MAX_ITEMS} items"),
                "feedback",
            ));
        }
        Some(_) if value.is_object() => {
            return Err(CdsError::invalid("must be an array", "feedback"));
        }
        None if value.is_object() => return Err(CdsError::invalid("is required", "feedback")),
        _ => return Err(CdsError::invalid("the body must be a JSON object", "$this")),
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_item(item, &format!("feedback[{index}]")))
        .collect()
}

fn parse_item(item: &Value, path: &str) -> Result<FeedbackItem, CdsError> {
    let Value::Object(item) = item else {
        return Err(CdsError::invalid("must be an object", path));
    };
    let at = |member: &str| format!("{path}.{member}");
    let card = match item.get("card") {
        Some(Value::String(card)) if is_uuid(card) => card,
        Some(_) => return Err(CdsError::invalid("must be a card uuid", at("card"))),
        None => return Err(CdsError::invalid("is required", at("card"))),
    };
    let outcome = match item.get("outcome").and_then(Value::as_str) {
        Some("accepted") => FeedbackOutcome::Accepted,
        Some("overridden") => FeedbackOutcome::Overridden,
        Some(_) | None if item.contains_key("outcome") => {
            return Err(CdsError::invalid(
                "must be `accepted` or `overridden` (cds-fb-1)",
                at("outcome"),
            ));
        }
        _ => return Err(CdsError::invalid("is required", at("outcome"))),
    };
    let mut accepted: Vec<&str> = Vec::new();
    match (outcome, item.get("acceptedSuggestions")) {
        (FeedbackOutcome::Accepted, Some(Value::Array(list))) if !list.is_empty() => {
            for (index, suggestion) in list.iter().enumerate() {
                match suggestion.get("id") {
                    Some(Value::String(id)) if is_uuid(id) => accepted.push(id),
                    _ => {
                        return Err(CdsError::invalid(
                            "must be an object whose `id` is a suggestion uuid",
                            at(&format!("acceptedSuggestions[{index}]")),
                        ));
                    }
                }
            }
        }
        (FeedbackOutcome::Accepted, _) => {
            return Err(CdsError::invalid(
                "an accepted card names the accepted suggestions (cds-fb-2)",
                at("acceptedSuggestions"),
            ));
        }
        (FeedbackOutcome::Overridden, Some(_)) => {
            return Err(CdsError::invalid(
                "only an accepted card has accepted suggestions",
                at("acceptedSuggestions"),
            ));
        }
        (FeedbackOutcome::Overridden, None) => {}
    }
    accepted.sort_unstable();
    accepted.dedup();
    let reason = match item.get("overrideReason") {
        None => None,
        Some(_) if outcome == FeedbackOutcome::Accepted => {
            return Err(CdsError::invalid(
                "only an overridden card has an override reason",
                at("overrideReason"),
            ));
        }
        Some(Value::Object(reason)) => Some(override_reason(reason, &at("overrideReason"))?),
        Some(_) => return Err(CdsError::invalid("must be an object", at("overrideReason"))),
    };
    let (timestamp, outcome_at) = match item.get("outcomeTimestamp") {
        Some(Value::String(text)) => match date_time(text) {
            Some(at) => (text, at),
            None => {
                return Err(CdsError::invalid(
                    "must be a date-time with a time zone",
                    at("outcomeTimestamp"),
                ));
            }
        },
        Some(_) => {
            return Err(CdsError::invalid(
                "must be a date-time with a time zone",
                at("outcomeTimestamp"),
            ));
        }
        None => return Err(CdsError::invalid("is required", at("outcomeTimestamp"))),
    };

    let mut hash = Sha256::new();
    for part in [card.as_str(), outcome.as_str(), timestamp.as_str()]
        .into_iter()
        .chain(accepted.iter().copied())
        .chain(reason.iter().flatten().map(String::as_str))
    {
        hash.update(part.len().to_le_bytes());
        hash.update(part.as_bytes());
    }
    let (coding, has_comment) = match reason {
        Some([system, code, display, comment]) => (
            (!system.is_empty() || !code.is_empty()).then(|| Coding {
                system,
                code,
                display: (!display.is_empty()).then_some(display),
            }),
            !comment.is_empty(),
        ),
        None => (None, false),
    };
    Ok(FeedbackItem {
        card: card.clone(),
        outcome,
        accepted: accepted.into_iter().map(str::to_owned).collect(),
        reason: coding,
        has_comment,
        outcome_at,
        fingerprint: hash.finalize().into(),
    })
}

/// The override reason's parts: the Coding's `system`, `code`, `display` and the comment, each `""`
/// when absent; checks cds-fb-3 and the Coding's members.
fn override_reason(reason: &Map<String, Value>, path: &str) -> Result<[String; 4], CdsError> {
    let mut parts = Vec::new();
    match reason.get("reason") {
        None => parts.extend(["".to_owned(), "".to_owned(), "".to_owned()]),
        Some(Value::Object(coding)) => {
            for member in ["system", "code", "display"] {
                match coding.get(member) {
                    Some(Value::String(text)) => parts.push(text.clone()),
                    None if member == "display" => parts.push(String::new()),
                    _ => {
                        return Err(CdsError::invalid(
                            "a Coding needs `system` and `code` strings; `display` is a string",
                            format!("{path}.reason.{member}"),
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(CdsError::invalid(
                "must be a Coding",
                format!("{path}.reason"),
            ));
        }
    }
    match reason.get("userComment") {
        None => {
            if !reason.contains_key("reason") {
                return Err(CdsError::invalid(
                    "an override reason has a `reason`, a `userComment`, or both (cds-fb-3)",
                    path,
                ));
            }
            parts.push(String::new());
        }
        Some(Value::String(comment)) => parts.push(comment.clone()),
        Some(_) => {
            return Err(CdsError::invalid(
                "must be a string",
                format!("{path}.userComment"),
            ));
        }
    }
    parts
        .try_into()
        .map_err(|_| CdsError::invalid("must be an object", path))
}

/// A date-time with a time zone, in seconds since the Unix epoch.
fn date_time(text: &str) -> Option<i64> {
    match fhir::parse_moment(text) {
        Some(Moment::At(at)) if text.len() > 10 => Some(at),
        _ => None,
    }
}

/// `8-4-4-4-12` hexadecimal digits: the hyphenated form the cards carry, no other.
fn is_uuid(text: &str) -> bool {
    text.parse::<uuid::fmt::Hyphenated>().is_ok()
}

/// How one feedback call was taken in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Receipt {
    pub accepted: usize,
    pub overridden: usize,
    /// Items already received before (or twice in this call), not counted again.
    pub duplicates: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CARD: &str = "0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b";
    const SUGGESTION: &str = "1c6f2a8b-4d3e-8f50-8b2c-3d4e5f6a7b8c";

    fn body(items: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({ "feedback": items })).unwrap()
    }

    fn accepted() -> Value {
        json!({"card": CARD, "outcome": "accepted", "acceptedSuggestions": [{"id": SUGGESTION}],
               "outcomeTimestamp": "2026-11-03T09:00:00Z"})
    }

    fn error_at(items: Value) -> String {
        parse(&body(items)).unwrap_err().issues[0].expression[0].clone()
    }

    #[test]
    fn accepts_spec_shaped_feedback() {
        let overridden = json!({"card": CARD, "outcome": "overridden",
            "overrideReason": {"reason": {"system": "http://example.org/reasons", "code": "patient-declined",
                                          "display": "Patient declined"}, "userComment": "prefers PT"},
            "outcomeTimestamp": "2026-11-03T09:00:00.5+01:00"});
        let items = parse(&body(json!([accepted(), overridden]))).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].outcome, FeedbackOutcome::Overridden);
    }

    #[test]
    fn rejects_what_breaks_the_spec_and_its_invariants() {
        let mut bad_outcome = accepted();
        bad_outcome["outcome"] = json!("ignored");
        assert_eq!(error_at(json!([bad_outcome])), "feedback[0].outcome");
        let mut no_suggestions = accepted();
        no_suggestions
            .as_object_mut()
            .unwrap()
            .remove("acceptedSuggestions");
        assert_eq!(
            error_at(json!([no_suggestions])),
            "feedback[0].acceptedSuggestions"
        );
        let empty_reason = json!({"card": CARD, "outcome": "overridden", "overrideReason": {},
                                  "outcomeTimestamp": "2026-11-03T09:00:00Z"});
        assert_eq!(
            error_at(json!([accepted(), empty_reason])),
            "feedback[1].overrideReason"
        );
        let mut no_time = accepted();
        no_time["outcomeTimestamp"] = json!("2026-11-03");
        assert_eq!(error_at(json!([no_time])), "feedback[0].outcomeTimestamp");
        let mut bad_card = accepted();
        bad_card["card"] = json!("card-1");
        assert_eq!(error_at(json!([bad_card])), "feedback[0].card");
        assert_eq!(error_at(json!([])), "feedback");
        assert_eq!(parse(b"[]").unwrap_err().status, 400);
    }

    #[test]
    fn uuids_are_taken_in_the_hyphenated_form_only() {
        assert!(is_uuid(CARD));
        assert!(is_uuid(&CARD.to_ascii_uppercase()));
        for other in [
            "0b5e1f7a3c2d8e4f9a1b2c3d4e5f6a7b",
            "{0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b}",
            "urn:uuid:0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7b",
            "0b5e1f7a-3c2d-8e4f-9a1b-2c3d4e5f6a7",
            "0b5e1f7a3-c2d-8e4f-9a1b-2c3d4e5f6a7b",
            "0b5e1f7g-3c2d-8e4f-9a1b-2c3d4e5f6a7b",
            "",
        ] {
            assert!(!is_uuid(other), "{other}");
        }
    }

    #[test]
    fn exact_repeats_share_a_key_per_service() {
        let first = parse(&body(json!([accepted()]))).unwrap();
        let again = parse(&body(json!([accepted()]))).unwrap();
        assert_eq!(first[0].key("s"), again[0].key("s"));
        assert_ne!(first[0].key("s"), first[0].key("other-service"));
        let mut later = accepted();
        later["outcomeTimestamp"] = json!("2026-11-03T09:05:00Z");
        let later = parse(&body(json!([later]))).unwrap();
        assert_ne!(first[0].key("s"), later[0].key("s"));
        assert_eq!(later[0].outcome_at - first[0].outcome_at, 300);
        assert_eq!(first[0].accepted, vec![SUGGESTION.to_owned()]);
    }

    #[test]
    fn an_override_keeps_its_coding_but_not_its_comment() {
        let overridden = json!({"card": CARD, "outcome": "overridden",
            "overrideReason": {"reason": {"system": "http://example.org/reasons", "code": "declined"},
                               "userComment": "free text"},
            "outcomeTimestamp": "2026-11-03T09:00:00Z"});
        let item = &parse(&body(json!([overridden]))).unwrap()[0];
        let reason = item.reason.as_ref().unwrap();
        assert_eq!(
            (reason.code.as_str(), reason.display.as_deref()),
            ("declined", None)
        );
        assert!(item.has_comment);
        assert!(!format!("{item:?}").contains("free text"));
    }
}
