//! The triage use case: a request body in, a response body out. Shared by `POST /v1/triage` and
//! `facet-triage evaluate`, so both answer byte for byte the same.

use crate::engine::{self, Answered};
use crate::pathway::PathwaySet;
use crate::problem::Problem;
use crate::request::{self, FieldError, RequestError};

/// A successful evaluation, serialized, with what it says for metrics (borrowed from the pathway).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<'a> {
    /// The JSON response body.
    pub body: Vec<u8>,
    pub answered: Answered<'a>,
}

/// The size most answers fit in, so the body is allocated once.
pub const BODY_CAPACITY: usize = 8 * 1024;

/// Parses, validates, resolves and evaluates one request body.
pub fn triage<'a>(
    pathways: &'a PathwaySet,
    body: &[u8],
    trace: bool,
) -> Result<Outcome<'a>, Problem> {
    triage_into(pathways, body, trace, Vec::with_capacity(BODY_CAPACITY))
}

/// [`triage`], writing the response body into `out` (cleared first), so that a caller can reuse its
/// buffers.
pub fn triage_into<'a>(
    pathways: &'a PathwaySet,
    body: &[u8],
    trace: bool,
    mut out: Vec<u8>,
) -> Result<Outcome<'a>, Problem> {
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
    out.clear();
    let mut body = out;
    let answered = if trace {
        let response = engine::evaluate(pathway, &request, resolved, true);
        // Serializing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, &response);
        Answered {
            top_option: response.options.first().map(|option| option.id),
            profile: response.profile,
        }
    } else {
        engine::answer(pathway, &request, resolved, &mut body)
    };
    Ok(Outcome { body, answered })
}
