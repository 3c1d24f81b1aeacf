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
use crate::pathway::{Pathway, Resolved, Route};
use crate::request::TriageRequest;
use crate::vocab::CriterionStatus;

/// Which offer won for an option: its priority and where it came from.
#[derive(Clone, Copy)]
struct Pick {
    priority: i32,
    node: u32,
    offer: u32,
}

/// Evaluates one request against a pathway whose profile and region it was resolved to.
pub fn evaluate<'a>(
    pathway: &'a Pathway,
    request: &TriageRequest,
    resolved: Resolved,
    trace: bool,
) -> TriageResponse<'a> {
    let facts = Facts::from_request(request);
    let ctx = Context {
        pathway,
        facts: &facts,
        profile: resolved.profile,
        region_slot: resolved.region_slot,
    };
    let slot = resolved.region_slot;
    let option_count = pathway.options.len();

    let mut picks: Vec<Option<Pick>> = vec![None; option_count];
    let mut avoided: Vec<Option<(u32, u32)>> = vec![None; option_count];
    let mut avoid_order: Vec<usize> = Vec::new();
    let mut suppressed = vec![false; option_count];
    let mut raised = vec![false; pathway.alerts.len()];
    let mut alert_order: Vec<usize> = Vec::new();
    let mut steps = trace.then(Vec::new);

    let mut current = Some(pathway.start);
    while let Some(index) = current {
        let node = &pathway.nodes[index];
        let applied = node.guard.as_ref().is_none_or(|guard| guard.eval(&ctx));
        let mut step = steps
            .as_ref()
            .map(|_| new_step(pathway, &ctx, index, applied));
        if applied {
            for (offer_index, offer) in node.offers.iter().enumerate() {
                if !pathway.options[offer.option].serves[slot]
                    || !offer.when.as_ref().is_none_or(|w| w.eval(&ctx))
                {
                    continue;
                }
                let pick = Pick {
                    priority: offer.priority,
                    node: index as u32,
                    offer: offer_index as u32,
                };
                let slot = &mut picks[offer.option];
                if slot.is_none_or(|held| pick.priority > held.priority) {
                    *slot = Some(pick);
                }
                if let Some(step) = step.as_mut() {
                    step.offered.push(&pathway.options[offer.option].id);
                }
            }
            for (avoid_index, avoid) in node.avoids.iter().enumerate() {
                if !avoid.when.as_ref().is_none_or(|w| w.eval(&ctx)) {
                    continue;
                }
                if avoided[avoid.option].is_none() {
                    avoided[avoid.option] = Some((index as u32, avoid_index as u32));
                    avoid_order.push(avoid.option);
                }
                if let Some(step) = step.as_mut() {
                    step.avoided.push(&pathway.options[avoid.option].id);
                }
            }
            for &alert in &node.alerts {
                if !std::mem::replace(&mut raised[alert], true) {
                    alert_order.push(alert);
                }
                if let Some(step) = step.as_mut() {
                    step.alerts.push(&pathway.alerts[alert].code);
                }
            }
            for &option in &node.suppress {
                suppressed[option] = true;
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
                let taken = branches.iter().position(|branch| branch.when.eval(&ctx));
                if let Some(step) = step.as_mut() {
                    step.branch = Some(match taken {
                        Some(i) => format!("branch {}: {}", i + 1, branches[i].label),
                        None => "otherwise".to_owned(),
                    });
                }
                Some(taken.map_or(*otherwise, |i| branches[i].to))
            }
        };
        if let (Some(steps), Some(mut step)) = (steps.as_mut(), step) {
            step.next = current.map(|next| pathway.nodes[next].id.as_str());
            steps.push(step);
        }
    }

    let mut ranked: Vec<(usize, Pick)> = picks
        .iter()
        .enumerate()
        .filter_map(|(option, pick)| {
            pick.filter(|_| avoided[option].is_none() && !suppressed[option])
                .map(|p| (option, p))
        })
        .collect();
    ranked.sort_unstable_by(|(a, pa), (b, pb)| {
        let (oa, ob) = (&pathway.options[*a], &pathway.options[*b]);
        pb.priority
            .cmp(&pa.priority)
            .then(oa.strength_rank[slot].cmp(&ob.strength_rank[slot]))
            .then(oa.invasiveness.cmp(&ob.invasiveness))
            .then(oa.id.cmp(&ob.id))
    });

    let source_id = |source: usize| pathway.sources[source].id.as_str();
    let options = ranked
        .iter()
        .enumerate()
        .map(|(position, (option_index, pick))| {
            let option = &pathway.options[*option_index];
            let offer = &pathway.nodes[pick.node as usize].offers[pick.offer as usize];
            let mut citations: Vec<&str> = option.citations[slot]
                .iter()
                .map(|s| source_id(*s))
                .collect();
            for source in &offer.citations {
                if !citations.contains(&source_id(*source)) {
                    citations.push(source_id(*source));
                }
            }
            let row = resolved.profile * pathway.regions.len() + slot;
            let criteria = option
                .criteria
                .iter()
                .map(|c| &pathway.criteria[*c])
                .filter(|criterion| criterion.profiles[resolved.profile])
                .map(|criterion| {
                    let status = match (&criterion.unknown_when, &criterion.met_when) {
                        (_, None) => CriterionStatus::Unknown,
                        (Some(unknown), _) if unknown.eval(&ctx) => CriterionStatus::Unknown,
                        (_, Some(met)) if met.eval(&ctx) => CriterionStatus::Met,
                        _ => CriterionStatus::Unmet,
                    };
                    CriterionOut {
                        id: &criterion.id,
                        status,
                        text: &criterion.texts[row],
                    }
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

    let avoid = avoid_order
        .iter()
        .map(|option_index| {
            let option = &pathway.options[*option_index];
            let (node, avoid_index) = avoided[*option_index].unwrap_or_default();
            let avoid = &pathway.nodes[node as usize].avoids[avoid_index as usize];
            let citations = if avoid.citations.is_empty() {
                &option.citations[slot]
            } else {
                &avoid.citations
            };
            AvoidOut {
                id: &option.id,
                title: &option.title,
                reason: avoid.reason.to_string(&ctx),
                citations: citations.iter().map(|s| source_id(*s)).collect(),
            }
        })
        .collect();

    alert_order.sort_by_key(|alert| pathway.alerts[*alert].severity);
    let alerts = alert_order
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

    // The pathway guarantees a default entry, so `find` always succeeds on a validated pathway.
    let assessment = pathway
        .assessments
        .iter()
        .find(|entry| entry.when.as_ref().is_none_or(|w| w.eval(&ctx)))
        .map(|entry| AssessmentOut {
            response: entry.response,
            summary: entry.summary.to_string(&ctx),
        })
        .unwrap_or_else(|| AssessmentOut {
            response: crate::vocab::ResponseLevel::Negative,
            summary: String::new(),
        });

    TriageResponse {
        pathway: PathwayRef {
            id: &pathway.id,
            version: &pathway.version,
            digest: &pathway.digest,
        },
        profile: &pathway.profiles[resolved.profile].id,
        assessment,
        options,
        avoid,
        alerts,
        disclaimer: &pathway.disclaimer,
        trace: steps,
    }
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
