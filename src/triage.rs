//! The triage use case: a request body in, a response body out. Shared by `POST /v1/triage` and
//! `facet-triage evaluate`, so both answer byte for byte the same.

use crate::engine::{self, TriageResponse};
use crate::pathway::PathwaySet;
use crate::problem::Problem;
use crate::request::{self, FieldError, RequestError};

/// A successful evaluation, serialized, with the labels metrics need.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The JSON response body.
    pub body: Vec<u8>,
    /// Id of the top-ranked option, if any.
    pub top_option: Option<String>,
    /// The profile that produced the answer.
    pub profile: String,
}

/// Parses, validates, resolves and evaluates one request body.
pub fn triage(pathways: &PathwaySet, body: &[u8], trace: bool) -> Result<Outcome, Problem> {
    let request = request::parse(body).map_err(|error| match error {
        RequestError::Syntax(syntax) => Problem::malformed(syntax.to_string()),
        RequestError::Invalid(errors) => Problem::invalid(errors),
    })?;
    let Some(pathway) = pathways.get(request.pathway.as_deref()) else {
        let known: Vec<&str> = pathways.iter().map(|p| p.id.as_str()).collect();
        return Err(Problem::invalid(vec![FieldError::new(
            "/pathway",
            format!("unknown pathway; loaded pathways: {}", known.join(", ")),
        )]));
    };
    let resolved = pathway.resolve(&request).map_err(Problem::invalid)?;
    let response: TriageResponse = engine::evaluate(pathway, &request, resolved, trace);
    let top_option = response.options.first().map(|option| option.id.to_owned());
    let profile = response.profile.to_owned();
    let mut body = Vec::with_capacity(8192);
    response.write_json(&mut body);
    Ok(Outcome {
        body,
        top_option,
        profile,
    })
}
