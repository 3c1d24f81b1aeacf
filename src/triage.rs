//! The triage use case: a request body in, a response body out. Shared by `POST /v1/triage` and
//! `facet-triage evaluate`, so both answer byte for byte the same; and the comparison across
//! profiles, shared by `POST /v1/triage/compare` and `facet-triage compare`.

use crate::engine::{self, Answered};
use crate::pathway::{Pathway, PathwaySet, Unresolved};
use crate::problem::Problem;
use crate::request::{self, FieldError, RequestError};
use crate::wire::{self, Served};

/// A successful evaluation, serialized, with what it says for metrics (borrowed from the pathway).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<'a> {
    /// The JSON response body.
    pub body: Vec<u8>,
    pub answered: Answered<'a>,
}

/// The size most answers fit in, so the body is allocated once.
const BODY_CAPACITY: usize = 16 * 1024;

/// Parses, validates, resolves and evaluates one request body.
pub fn triage<'a>(served: &'a Served, body: &[u8], trace: bool) -> Result<Outcome<'a>, Problem> {
    let request = request::parse(body).map_err(|error| match error {
        RequestError::Syntax(syntax) => Problem::malformed(syntax.to_string()),
        RequestError::Invalid(errors) => Problem::invalid(errors),
    })?;
    let (pathway, pieces) =
        (served.answering(request.pathway.as_deref())).ok_or_else(|| unknown_pathway(served))?;
    let resolved = pathway
        .resolve(&request)
        .map_err(|unresolved| not_served(pathway, &unresolved))?;
    let mut out = Vec::with_capacity(BODY_CAPACITY);
    let answered = if trace {
        let response = engine::evaluate(pathway, &request, resolved, true);
        // Serializing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &response);
        Answered {
            top_option: response.options.first().map(|option| option.id),
            profile: response.profile,
        }
    } else {
        engine::answer(pathway, &request, resolved, |decided| {
            wire::answer(pieces, decided, &mut out)
        })
    };
    Ok(Outcome {
        body: out,
        answered,
    })
}

/// Parses and validates a compare request body (a triage request without `profile`), evaluates it
/// under every profile of its pathway and serializes the comparison (contract section 4.5).
pub fn compare(pathways: &PathwaySet, body: &[u8]) -> Result<Vec<u8>, Problem> {
    let profile_given = || FieldError::new("/profile", PROFILE_NOT_ACCEPTED);
    let request = request::parse(body).map_err(|error| match error {
        RequestError::Syntax(syntax) => Problem::malformed(syntax.to_string()),
        RequestError::Invalid(mut errors) => {
            if names_profile(body) && !errors.iter().any(|e| e.field == "/profile") {
                errors.push(profile_given());
            }
            Problem::invalid(errors)
        }
    })?;
    if request.profile.is_some() {
        return Err(Problem::invalid(vec![profile_given()]));
    }
    let pathway =
        (pathways.get(request.pathway.as_deref())).ok_or_else(|| unknown_pathway(pathways))?;
    let resolved = pathway
        .resolve(&request)
        .map_err(|unresolved| not_served(pathway, &unresolved))?;
    let comparison = engine::compare(pathway, &request, resolved.region_slot);
    let mut out = Vec::with_capacity(BODY_CAPACITY / 4);
    // Serializing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &comparison);
    Ok(out)
}

const PROFILE_NOT_ACCEPTED: &str =
    "is not accepted by compare, which evaluates every profile of the pathway";

/// Whether a JSON object body has a `profile` member (read only when the body is already invalid).
fn names_profile(body: &[u8]) -> bool {
    let mut found = false;
    let _ = crate::json::parse_members(body, |key, _| found |= key == "profile");
    found
}

/// `422` naming each member of the request the pathway cannot serve, with what it offers instead.
fn not_served(pathway: &Pathway, unresolved: &[Unresolved]) -> Problem {
    let error = |member: &Unresolved| match member {
        Unresolved::Profile => {
            let known: Vec<&str> = pathway.profiles.iter().map(|p| p.id.as_str()).collect();
            FieldError::new(
                "/profile",
                format!(
                    "unknown profile; this pathway defines: {}",
                    known.join(", ")
                ),
            )
        }
        Unresolved::Region => {
            let served: Vec<&str> = pathway.regions.iter().map(|r| r.as_str()).collect();
            FieldError::new(
                "/region",
                format!(
                    "is not served by this pathway, which covers: {}",
                    served.join(", ")
                ),
            )
        }
    };
    Problem::invalid(unresolved.iter().map(error).collect())
}

/// `422` for a request naming a pathway that is not loaded, listing those that are.
fn unknown_pathway(pathways: &PathwaySet) -> Problem {
    let known: Vec<&str> = pathways.iter().map(|p| p.id.as_str()).collect();
    Problem::invalid(vec![FieldError::new(
        "/pathway",
        format!("unknown pathway; loaded pathways: {}", known.join(", ")),
    )])
}
