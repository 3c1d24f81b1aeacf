//! Evaluation: walks a compiled pathway for one request and ranks what it offers.
//!
//! The walk visits nodes from the start node; each node whose `when` holds contributes offers,
//! avoids, alerts and suppressions, then routes to its next node. The merge is fixed: an avoided or
//! suppressed option is never offered, and an option offered twice keeps its highest priority.
//! Ranking orders by priority, then the strength of `evidence[0]`, then invasiveness, then id.

mod response;
mod write;

pub use response::*;

use crate::facts::{Facts, fact_json};
use crate::pathway::condition::Context;
use crate::pathway::{Criterion, OptionDef, Pathway, Resolved, Route};
use crate::request::TriageRequest;
use crate::vocab::CriterionStatus;

/// An offered option and the offer that won for it: the highest priority, first offered on a tie.
#[derive(Clone, Copy)]
struct Pick {
    option: usize,
    priority: i32,
    node: usize,
    offer: usize,
}

/// An avoided option and the first avoid entry that named it.
#[derive(Clone, Copy)]
struct Avoided {
    option: usize,
    node: usize,
    avoid: usize,
}

/// The outcome of a walk as positions in the pathway; both the serde response and the direct
/// writer are built from it.
struct Decision {
    /// Offered options, best first.
    ranked: Vec<Pick>,
    /// Avoided options, in the order the walk met them.
    avoided: Vec<Avoided>,
    /// Raised alerts, most severe first.
    alerts: Vec<usize>,
    /// The assessment entry that applies.
    assessment: usize,
}

/// Walks the pathway for one request's facts, recording each visited node in `trace` when given.
fn decide<'a>(
    pathway: &'a Pathway,
    ctx: &Context,
    mut trace: Option<&mut Vec<TraceStep<'a>>>,
) -> Decision {
    let slot = ctx.region_slot;
    let mut picks: Vec<Pick> = Vec::with_capacity(8);
    let mut avoided: Vec<Avoided> = Vec::new();
    let mut suppressed: Vec<usize> = Vec::new();
    let mut alerts: Vec<usize> = Vec::new();

    let mut current = Some(pathway.start);
    while let Some(index) = current {
        let node = &pathway.nodes[index];
        let applied = node.guard.as_ref().is_none_or(|guard| guard.holds(ctx));
        let mut step = trace
            .as_ref()
            .map(|_| new_step(pathway, ctx, index, applied));
        if applied {
            for (offer_index, offer) in node.offers.iter().enumerate() {
                if !pathway.options[offer.option].serves[slot]
                    || !offer.when.as_ref().is_none_or(|w| w.holds(ctx))
                {
                    continue;
                }
                let pick = Pick {
                    option: offer.option,
                    priority: offer.priority,
                    node: index,
                    offer: offer_index,
                };
                match picks.iter_mut().find(|held| held.option == offer.option) {
                    Some(held) if pick.priority > held.priority => *held = pick,
                    Some(_) => {}
                    None => picks.push(pick),
                }
                if let Some(step) = step.as_mut() {
                    step.offered.push(&pathway.options[offer.option].id);
                }
            }
            for (avoid_index, avoid) in node.avoids.iter().enumerate() {
                if !avoid.when.as_ref().is_none_or(|w| w.holds(ctx)) {
                    continue;
                }
                if !avoided.iter().any(|held| held.option == avoid.option) {
                    avoided.push(Avoided {
                        option: avoid.option,
                        node: index,
                        avoid: avoid_index,
                    });
                }
                if let Some(step) = step.as_mut() {
                    step.avoided.push(&pathway.options[avoid.option].id);
                }
            }
            for &alert in &node.alerts {
                if !alerts.contains(&alert) {
                    alerts.push(alert);
                }
                if let Some(step) = step.as_mut() {
                    step.alerts.push(&pathway.alerts[alert].code);
                }
            }
            for &option in &node.suppress {
                suppressed.push(option);
                if let Some(step) = step.as_mut() {
                    step.suppressed.push(&pathway.options[option].id);
                }
            }
        }
        current = match &node.route {
            Route::End => None,
            Route::Next(next) => Some(*next),
            Route::Decide {
                branches,
                otherwise,
            } => {
                let taken = branches.iter().position(|branch| branch.when.holds(ctx));
                if let Some(step) = step.as_mut() {
                    step.branch = Some(match taken {
                        Some(i) => format!("branch {}: {}", i + 1, branches[i].label),
                        None => "otherwise".to_owned(),
                    });
                }
                Some(taken.map_or(*otherwise, |i| branches[i].to))
            }
        };
        if let (Some(steps), Some(mut step)) = (trace.as_mut(), step) {
            step.next = current.map(|next| pathway.nodes[next].id.as_str());
            steps.push(step);
        }
    }

    picks.retain(|pick| {
        !suppressed.contains(&pick.option) && !avoided.iter().any(|a| a.option == pick.option)
    });
    picks.sort_unstable_by(|a, b| {
        let (oa, ob) = (&pathway.options[a.option], &pathway.options[b.option]);
        b.priority
            .cmp(&a.priority)
            .then(oa.strength_rank[slot].cmp(&ob.strength_rank[slot]))
            .then(oa.invasiveness.cmp(&ob.invasiveness))
            .then(oa.id.cmp(&ob.id))
    });
    alerts.sort_by_key(|alert| pathway.alerts[*alert].severity);
    // A validated pathway ends its assessments with an entry without `when`.
    let assessment = pathway
        .assessments
        .iter()
        .position(|entry| entry.when.as_ref().is_none_or(|w| w.holds(ctx)))
        .unwrap_or(pathway.assessments.len() - 1);
    Decision {
        ranked: picks,
        avoided,
        alerts,
        assessment,
    }
}

/// The status of a criterion for this request.
fn criterion_status(criterion: &Criterion, ctx: &Context) -> CriterionStatus {
    match (&criterion.unknown_when, &criterion.met_when) {
        (_, None) => CriterionStatus::Unknown,
        (Some(unknown), _) if unknown.holds(ctx) => CriterionStatus::Unknown,
        (_, Some(met)) if met.holds(ctx) => CriterionStatus::Met,
        _ => CriterionStatus::Unmet,
    }
}

/// The criteria an option reports under the request's profile.
fn reported_criteria<'a>(
    pathway: &'a Pathway,
    profile: usize,
    option: &'a OptionDef,
) -> impl Iterator<Item = (usize, &'a Criterion)> {
    option
        .criteria
        .iter()
        .map(move |c| (*c, &pathway.criteria[*c]))
        .filter(move |(_, criterion)| criterion.profiles[profile])
}

/// Evaluates one request against a pathway whose profile and region it was resolved to.
pub fn evaluate<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    resolved: Resolved,
    trace: bool,
) -> TriageResponse<'a> {
    let facts = Facts::from_request(request);
    let ctx = context(pathway, &facts, resolved);
    let mut steps = trace.then(Vec::new);
    let decision = decide(pathway, &ctx, steps.as_mut());
    let slot = resolved.region_slot;
    let row = ctx.row();
    let source_id = |source: &usize| pathway.sources[*source].id.as_str();

    let options = decision
        .ranked
        .iter()
        .enumerate()
        .map(|(position, pick)| {
            let option = &pathway.options[pick.option];
            let offer = &pathway.nodes[pick.node].offers[pick.offer];
            let citations = pathway
                .offer_citations(offer, slot)
                .iter()
                .map(source_id)
                .collect();
            let criteria = reported_criteria(pathway, resolved.profile, option)
                .map(|(_, criterion)| CriterionOut {
                    id: &criterion.id,
                    status: criterion_status(criterion, &ctx),
                    text: &criterion.texts[row],
                })
                .collect();
            RankedOption {
                rank: position + 1,
                id: &option.id,
                title: &option.title,
                category: option.category,
                evidence: &option.evidence[slot],
                evidence_json: &option.evidence_json[slot],
                rationale: offer.rationale.to_string(&ctx),
                criteria,
                citations,
                codes: &option.codes[slot],
                codes_json: option.codes_json[slot].as_deref(),
            }
        })
        .collect();

    let avoid = decision
        .avoided
        .iter()
        .map(|avoided| {
            let option = &pathway.options[avoided.option];
            let avoid = &pathway.nodes[avoided.node].avoids[avoided.avoid];
            AvoidOut {
                id: &option.id,
                title: &option.title,
                reason: avoid.reason.to_string(&ctx),
                citations: pathway
                    .avoid_citations(avoid, slot)
                    .iter()
                    .map(source_id)
                    .collect(),
            }
        })
        .collect();

    let alerts = decision
        .alerts
        .iter()
        .map(|alert| {
            let definition = &pathway.alerts[*alert];
            AlertOut {
                severity: definition.severity,
                code: &definition.code,
                message: definition.message.to_string(&ctx),
            }
        })
        .collect();

    let entry = &pathway.assessments[decision.assessment];
    TriageResponse {
        pathway: PathwayRef {
            id: &pathway.id,
            version: &pathway.version,
            digest: &pathway.digest,
        },
        profile: &pathway.profiles[resolved.profile].id,
        assessment: AssessmentOut {
            response: entry.response,
            summary: entry.summary.to_string(&ctx),
        },
        options,
        avoid,
        alerts,
        disclaimer: &pathway.disclaimer,
        trace: steps,
    }
}

/// What a written answer says, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered<'a> {
    /// Id of the top-ranked option, if any.
    pub top_option: Option<&'a str>,
    /// The profile that produced the answer.
    pub profile: &'a str,
}

/// Evaluates one request and appends the response's JSON (without trace) to `out`: the same bytes
/// as serializing [`evaluate`]'s response, written from the pieces the pathway serialized at load.
pub fn answer<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    resolved: Resolved,
    out: &mut Vec<u8>,
) -> Answered<'a> {
    let facts = Facts::from_request(request);
    let ctx = context(pathway, &facts, resolved);
    let decision = decide(pathway, &ctx, None);
    write::answer(&ctx, &decision, out);
    Answered {
        top_option: decision
            .ranked
            .first()
            .map(|pick| pathway.options[pick.option].id.as_str()),
        profile: &pathway.profiles[resolved.profile].id,
    }
}

fn context<'a>(pathway: &'a Pathway, facts: &'a Facts, resolved: Resolved) -> Context<'a> {
    Context::new(pathway, facts, resolved.profile, resolved.region_slot)
}

fn new_step<'a>(pathway: &'a Pathway, ctx: &Context, index: usize, applied: bool) -> TraceStep<'a> {
    let node = &pathway.nodes[index];
    let facts = node
        .reads
        .iter()
        .map(|field| {
            (
                field.name().to_owned(),
                fact_json(*field, ctx.facts.get(*field)),
            )
        })
        .collect();
    let parameters = node
        .reads_params
        .iter()
        .map(|param| {
            (
                pathway.parameters[*param].id.clone(),
                serde_json::Value::String(ctx.param(*param).text()),
            )
        })
        .collect();
    TraceStep {
        node: &node.id,
        title: &node.title,
        rules: &node.rules,
        facts,
        parameters,
        applied,
        offered: Vec::new(),
        avoided: Vec::new(),
        alerts: Vec::new(),
        suppressed: Vec::new(),
        branch: None,
        next: None,
    }
}
