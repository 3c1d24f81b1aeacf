//! One request under every profile of its pathway, side by side (contract section 4.5): each
//! profile's assessment, option ids, avoid ids and alert codes, and the options one profile offers
//! while another avoids them. Generic over the pathway's profiles: no profile id is known here.

use super::{AssessmentOut, Decision, PathwayRef, disagree};
use crate::facts::Facts;
use crate::pathway::Pathway;
use crate::pathway::condition::Context;
use crate::request::TriageRequest;
use serde::Serialize;
use utoipa::ToSchema;

/// The answer of `POST /v1/triage/compare`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison<'a> {
    pub pathway: PathwayRef<'a>,
    /// Whether the profiles disagree on the first option (or one profile offers none).
    pub first_option_differs: bool,
    /// One entry per profile, in the pathway's profile order.
    pub profiles: Vec<ProfileAnswer<'a>>,
    /// Every option one profile offers and another avoids, in the catalogue's order.
    pub disagreements: Vec<Disagreement<'a>>,
}

/// What `POST /v1/triage` answers under one profile, by id.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileAnswer<'a> {
    pub profile: &'a str,
    pub assessment: AssessmentOut,
    /// Offered option ids, in rank order.
    pub options: Vec<&'a str>,
    /// Avoided option ids, in the order of the single answer.
    pub avoid: Vec<&'a str>,
    /// Alert codes, in the order of the single answer.
    pub alerts: Vec<&'a str>,
}

/// An option offered under some profiles and avoided under others.
#[derive(Debug, Serialize, ToSchema)]
pub struct Disagreement<'a> {
    pub option: &'a str,
    /// Profiles that offer it, in profile order.
    pub offered_by: Vec<&'a str>,
    /// Profiles that avoid it, in profile order.
    pub avoided_by: Vec<&'a str>,
}

/// Evaluates `request` under every profile of `pathway` for the region in `region_slot`.
pub fn compare<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    region_slot: usize,
) -> Comparison<'a> {
    let facts = Facts::from_request(request);
    // Each profile is walked once; the disagreement alerts (R26) are read from the same walks.
    let mut decisions = disagree::every_profile(pathway, &facts, region_slot);
    disagree::for_every_profile(pathway, &mut decisions);
    let decisions: Vec<(Context, Decision)> = decisions
        .into_iter()
        .enumerate()
        .map(|(profile, decision)| {
            (
                Context::new(pathway, &facts, profile, region_slot),
                decision,
            )
        })
        .collect();

    let option_id = |option: usize| pathway.options[option].id.as_str();
    let profiles: Vec<ProfileAnswer> = decisions
        .iter()
        .map(|(ctx, decision)| {
            let entry = &pathway.assessments[decision.assessment];
            ProfileAnswer {
                profile: &pathway.profiles[ctx.profile].id,
                assessment: AssessmentOut {
                    response: entry.response,
                    summary: entry.summary.to_string(ctx),
                },
                options: decision
                    .ranked
                    .iter()
                    .map(|p| option_id(p.option))
                    .collect(),
                avoid: decision
                    .avoided
                    .iter()
                    .map(|a| option_id(a.option))
                    .collect(),
                alerts: decision
                    .alerts
                    .iter()
                    .map(|alert| pathway.alerts[*alert].code.as_str())
                    .collect(),
            }
        })
        .collect();

    let disagreements = (0..pathway.options.len())
        .filter_map(|option| {
            let by = |held: &dyn Fn(&Decision) -> bool| -> Vec<&'a str> {
                decisions
                    .iter()
                    .filter(|(_, decision)| held(decision))
                    .map(|(ctx, _)| pathway.profiles[ctx.profile].id.as_str())
                    .collect()
            };
            let offered_by = by(&|d| d.ranked.iter().any(|p| p.option == option));
            let avoided_by = by(&|d| d.avoided.iter().any(|a| a.option == option));
            (!offered_by.is_empty() && !avoided_by.is_empty()).then(|| Disagreement {
                option: option_id(option),
                offered_by,
                avoided_by,
            })
        })
        .collect();

    let first = |decision: &Decision| decision.ranked.first().map(|pick| pick.option);
    let first_option_differs = decisions
        .windows(2)
        .any(|pair| first(&pair[0].1) != first(&pair[1].1));

    Comparison {
        pathway: PathwayRef {
            id: &pathway.id,
            version: &pathway.version,
            digest: &pathway.digest,
        },
        first_option_differs,
        profiles,
        disagreements,
    }
}
