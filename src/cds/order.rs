//! `facet-procedure-order-check` on `order-select`: does a selected facet-procedure order fit the
//! pathway's answer for this patient?
//!
//! The patient's prefetched history is mapped exactly as for `patient-view` ([`super::mapping`]) and
//! the pathway is evaluated once. Each selected draft `ServiceRequest` whose `code` is a facet
//! procedure (its kind and region read as a Procedure's) is then matched to a step of the pathway:
//!
//! - the order's mapped procedure codes (the FHIR mapping file's) are tried in document order; the
//!   candidates for a code are the pathway's options whose `codes` for the request's region carry it,
//!   under the same system or one the mapping lists as equivalent (the pathway file is the only place
//!   option ids and codes live);
//! - several options may share a code (one procedure code orders a diagnostic, a confirmatory or a
//!   therapeutic block alike), so the pathway's own answer decides: the highest-ranked offered
//!   candidate is the selected step; if no candidate is offered, the first avoided one; otherwise the
//!   first candidate in file order, as a step the pathway does not offer for this patient;
//! - a code no option carries does not identify a step: the order is not checked.
//!
//! The card is `info` when the selected step is the pathway's first option and `warning` when the
//! pathway ranks it lower, avoids it or does not offer it, with the pathway's reasons, the criteria of
//! the configured profile the step misses, and a suggestion that replaces the draft order (a
//! `delete` of it plus a `create` of a draft `ServiceRequest` for the first option, when that option
//! is orderable).

use super::cards::{
    self, Action, Card, Indicator, Suggestion, capitalized, order_action, pathway_extension,
    procedure_phrase, record_summary, source, source_links, summary, uuid,
};
use super::fhir::ServiceRequest;
use super::hook::{Entry, HookCall};
use super::mapping::{self, Classified, FacetCode, Mapped};
use crate::engine::{AvoidOut, RankedOption, TriageResponse};
use crate::pathway::fhir_mapping::FhirMapping;
use crate::pathway::{OptionDef, Pathway};
use crate::vocab::CriterionStatus;
use serde_json::json;

/// The R4 `RequestIntent` codes; a replacement order keeps the draft's intent when it is one.
const REQUEST_INTENTS: &[&str] = &[
    "proposal",
    "plan",
    "directive",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
];

/// A selected draft order for a facet procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct FacetOrder {
    /// `ServiceRequest/<id>`.
    pub reference: String,
    /// What its code says; `None` when its codes name different kinds or regions.
    pub code: Option<FacetCode>,
    /// Its mapped facet procedure codings as `(system, code)`, in document order.
    pub codes: Vec<(String, String)>,
    /// `code.text`, else the first display, for the card.
    pub label: Option<String>,
    pub intent: String,
}

/// The selected draft orders that are facet procedures, in selection order.
pub fn facet_orders(call: &HookCall, mapping: &FhirMapping) -> Vec<FacetOrder> {
    let Some(orders) = &call.orders else {
        return Vec::new();
    };
    orders
        .selected()
        .filter_map(|entry| facet_order(entry, mapping))
        .collect()
}

fn facet_order(entry: &Entry<ServiceRequest>, mapping: &FhirMapping) -> Option<FacetOrder> {
    let order = &entry.resource;
    let concept = order.code.as_ref()?;
    let code = match mapping::classify(concept, mapping) {
        Classified::NotFacet => return None,
        Classified::Facet(code) => Some(code),
        Classified::Conflicting => None,
    };
    let codes = concept
        .coding
        .iter()
        .filter_map(|c| Some((c.system.clone()?, c.code.clone()?)))
        .filter(|(system, code)| mapping.procedure_entry(system, code).is_some())
        .collect();
    let label = concept
        .text
        .clone()
        .or_else(|| concept.coding.iter().find_map(|c| c.display.clone()));
    Some(FacetOrder {
        reference: format!("ServiceRequest/{}", order.id.as_deref().unwrap_or_default()),
        code,
        codes,
        label,
        intent: order.intent.clone(),
    })
}

/// The pathway step an order was matched to, as the pathway's answer places it.
#[derive(Debug, Clone, Copy)]
pub enum Step<'p, 'r> {
    /// Offered, at this rank (1 is the pathway's first option).
    Offered(&'r RankedOption<'p>),
    /// Avoided for this patient.
    Avoided(&'r AvoidOut<'p>),
    /// Neither offered nor avoided for this patient.
    NotOffered(&'p OptionDef),
}

/// Matches an order's procedure codes to a step of the pathway's answer (rule in the module doc):
/// the code that matched and the step, or `None` when no option carries any of the codes.
pub fn match_step<'p, 'r>(
    pathway: &'p Pathway,
    mapping: &FhirMapping,
    region_slot: usize,
    answer: &'r TriageResponse<'p>,
    codes: &'r [(String, String)],
) -> Option<(&'r str, Step<'p, 'r>)>
where
    'p: 'r,
{
    for (system, code) in codes {
        let candidates: Vec<&OptionDef> = pathway
            .options
            .iter()
            .filter(|option| {
                option.codes[region_slot]
                    .iter()
                    .any(|c| c.code == *code && mapping.same_system(&c.system, system))
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let is_candidate = |id: &str| candidates.iter().any(|option| option.id == id);
        let step = if let Some(offered) = answer
            .options
            .iter()
            .filter(|option| is_candidate(option.id))
            .min_by_key(|option| option.rank)
        {
            Step::Offered(offered)
        } else if let Some(avoided) = answer.avoid.iter().find(|a| is_candidate(a.id)) {
            Step::Avoided(avoided)
        } else {
            Step::NotOffered(candidates[0])
        };
        return Some((code.as_str(), step));
    }
    None
}

/// The card for one order, checked against an evaluated answer.
pub fn order_card(
    pathway: &Pathway,
    mapping: &FhirMapping,
    answer: &TriageResponse,
    mapped: &Mapped,
    order: &FacetOrder,
    call: &HookCall,
) -> Card {
    let Some(code) = order.code else {
        return not_checked(
            pathway,
            order,
            call,
            "its codes name different kinds of facet procedure or different regions",
        );
    };
    if code.region != mapped.code.region {
        return not_checked(
            pathway,
            order,
            call,
            &format!(
                "it is for the {} spine, but the latest facet procedure on record (the history the \
                 pathway reads) is {}",
                code.region.as_str(),
                procedure_phrase(mapped.code.procedure, mapped.code.region)
            ),
        );
    }
    let Some(slot) = pathway.region_slot(code.region) else {
        return not_checked(
            pathway,
            order,
            call,
            "the loaded pathway does not cover its region",
        );
    };
    let Some((cpt, step)) = match_step(pathway, mapping, slot, answer, &order.codes) else {
        return not_checked(
            pathway,
            order,
            call,
            &format!(
                "no option of pathway `{}` is ordered with code {} for the {} spine",
                pathway.id,
                order_codes(order),
                code.region.as_str()
            ),
        );
    };
    fit_card(
        pathway, mapping, answer, mapped, order, code, cpt, step, call,
    )
}

#[allow(clippy::too_many_arguments)]
fn fit_card(
    pathway: &Pathway,
    mapping: &FhirMapping,
    answer: &TriageResponse,
    mapped: &Mapped,
    order: &FacetOrder,
    code: FacetCode,
    cpt: &str,
    step: Step,
    call: &HookCall,
) -> Card {
    let first = answer.options.first();
    let (step_id, step_title) = match step {
        Step::Offered(option) => (option.id, option.title),
        Step::Avoided(avoided) => (avoided.id, avoided.title),
        Step::NotOffered(option) => (option.id.as_str(), option.title.as_str()),
    };
    let fits = matches!(step, Step::Offered(option) if option.rank == 1);
    let (fit, headline) = match step {
        Step::Offered(option) if option.rank == 1 => (
            "first",
            format!("{step_title} fits the pathway: it is the first option for this patient"),
        ),
        Step::Offered(option) => (
            "ranked-below",
            format!(
                "{} comes first; the order ranks {} of {} on the pathway",
                capitalized(first.map_or("another step", |f| f.title)),
                option.rank,
                answer.options.len(),
            ),
        ),
        Step::Avoided(_) => (
            "avoided",
            format!("The pathway advises against {step_title} for this patient"),
        ),
        Step::NotOffered(_) => (
            "not-offered",
            format!("{step_title} is not among the pathway's options for this patient"),
        ),
    };

    let criteria = match step {
        Step::Offered(option) => option.criteria.as_slice(),
        _ => &[],
    };
    let unmet: Vec<_> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Unmet)
        .collect();
    let unknown: Vec<_> = criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Unknown)
        .collect();

    let mut detail = format!(
        "**Order:** {} (code {cpt}), read as a {} and matched to the pathway step *{step_title}*.\n\n",
        order
            .label
            .as_deref()
            .map_or_else(|| "facet procedure".to_owned(), cards::cell),
        procedure_phrase(code.procedure, code.region),
    );
    detail.push_str(&format!("**{}**\n\n", answer.assessment.summary));
    detail.push_str(&record_summary(mapped));
    detail.push_str("\n\n");
    match step {
        Step::Offered(option) if option.rank == 1 => {
            detail.push_str(&format!("**Why it fits:** {}\n", option.rationale));
        }
        Step::Offered(option) => {
            if let Some(first) = first {
                detail.push_str(&format!(
                    "**Why {} comes first:** {}\n\n",
                    first.title, first.rationale
                ));
            }
            detail.push_str(&format!(
                "**The pathway on {step_title} (option {}):** {}\n",
                option.rank, option.rationale
            ));
        }
        Step::Avoided(avoided) => {
            detail.push_str(&format!(
                "**Why the pathway avoids it:** {}\n",
                avoided.reason
            ));
        }
        Step::NotOffered(_) => detail.push_str(
            "**Why:** the pathway's walk for this record neither offers nor avoids this step.\n",
        ),
    }
    if !unmet.is_empty() {
        detail.push_str(&format!(
            "\n**Criteria this order misses (profile `{}`):**\n\n",
            answer.profile
        ));
        for criterion in &unmet {
            detail.push_str(&format!("- {} (not met)\n", criterion.text));
        }
    }
    if !unknown.is_empty() {
        detail.push_str(&format!(
            "\n**Criteria the record cannot confirm (profile `{}`):**\n\n",
            answer.profile
        ));
        for criterion in &unknown {
            detail.push_str(&format!("- {}\n", criterion.text));
        }
    }
    if !answer.options.is_empty() {
        detail.push_str("\n**The pathway's options, in rank order:** ");
        let ranked: Vec<String> = answer
            .options
            .iter()
            .map(|o| format!("{}. {}", o.rank, o.title))
            .collect();
        detail.push_str(&ranked.join("; "));
        detail.push('\n');
    }
    detail.push_str(&format!(
        "\nThe order was matched by its procedure code: of the pathway's options ordered with code {cpt} \
         for this region, the one the pathway ranks highest for this patient (else one it avoids). \
         Pathway `{}` {} (`{}`), profile `{}`.\n\n_{}_",
        pathway.id, pathway.version, pathway.digest, answer.profile, answer.disclaimer
    ));
    cards::paged_note(call, &mut detail);

    let suggestions: Vec<Suggestion> = match first {
        Some(first) if !fits => replacement(first, order, step_title, mapped, call)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };

    let mut cited: Vec<&str> = Vec::new();
    match step {
        Step::Offered(option) => cited.extend(option.citations.iter().copied()),
        Step::Avoided(avoided) => cited.extend(avoided.citations.iter().copied()),
        Step::NotOffered(_) => {}
    }
    if let Some(first) = first {
        cited.extend(first.citations.iter().copied());
    }
    let links = source_links(pathway, cited.into_iter());

    let mut check = json!({
        "order": order.reference,
        "code": cpt,
        "step": step_id,
        "fit": fit,
    });
    if let Step::Offered(option) = step {
        check["rank"] = json!(option.rank);
    }
    if let Some(first) = first {
        check["first"] = json!(first.id);
    }
    if !unmet.is_empty() {
        check["unmetCriteria"] = json!(unmet.iter().map(|c| c.id).collect::<Vec<_>>());
    }
    if !unknown.is_empty() {
        check["unknownCriteria"] = json!(unknown.iter().map(|c| c.id).collect::<Vec<_>>());
    }
    let mut extension = pathway_extension(pathway);
    extension.insert("org.facet-triage.profile".into(), json!(answer.profile));
    extension.insert("org.facet-triage.order-check".into(), check);
    extension.insert(
        "org.facet-triage.request".into(),
        mapped.request_json.clone(),
    );

    let has_suggestions = !suggestions.is_empty();
    Card {
        uuid: uuid(call, &["order", &order.reference]),
        summary: summary(&headline),
        detail: Some(detail),
        indicator: if fits {
            Indicator::Info
        } else {
            Indicator::Warning
        },
        source: source(pathway),
        suggestions,
        selection_behavior: has_suggestions.then_some("at-most-one"),
        override_reasons: cards::override_reasons(mapping),
        links,
        extension,
    }
}

/// Replace the draft order by the pathway's first option: delete it, and create a draft order for
/// the first option when that option is orderable (has codes).
fn replacement(
    first: &RankedOption,
    order: &FacetOrder,
    step_title: &str,
    mapped: &Mapped,
    call: &HookCall,
) -> Option<Suggestion> {
    if order.reference == "ServiceRequest/" {
        return None;
    }
    let intent = if REQUEST_INTENTS.contains(&order.intent.as_str()) {
        order.intent.as_str()
    } else {
        "order"
    };
    let create = order_action(first, intent, mapped, call);
    let label = if create.is_some() {
        format!("Replace with: {}", first.title)
    } else {
        format!(
            "Remove this order: {} comes first (not a procedure order)",
            first.title
        )
    };
    let mut actions = vec![Action {
        kind: "delete",
        description: format!(
            "Remove the draft order for {} ({})",
            step_title, order.reference
        ),
        resource: None,
        resource_id: Some(order.reference.clone()),
    }];
    actions.extend(create);
    Some(Suggestion {
        label: summary(&label),
        uuid: uuid(call, &["order", &order.reference, "replace", first.id]),
        is_recommended: Some(true),
        actions,
        option: first.id.to_string(),
    })
}

/// The order's mapped codes, for card text.
fn order_codes(order: &FacetOrder) -> String {
    let codes: Vec<&str> = order.codes.iter().map(|(_, code)| code.as_str()).collect();
    codes.join(", ")
}

/// An `info` card for an order this service cannot check, saying why.
pub fn not_checked(pathway: &Pathway, order: &FacetOrder, call: &HookCall, why: &str) -> Card {
    let what = order
        .code
        .map(|code| procedure_phrase(code.procedure, code.region))
        .unwrap_or_else(|| "facet procedure".to_owned());
    let mut detail = format!(
        "facet-triage did not check this {what} order (code {}) against pathway `{}` {}: {why}.",
        order_codes(order),
        pathway.id,
        pathway.version
    );
    cards::paged_note(call, &mut detail);
    let mut extension = pathway_extension(pathway);
    extension.insert(
        "org.facet-triage.order-check".into(),
        json!({"order": order.reference, "fit": "not-checked"}),
    );
    Card {
        uuid: uuid(call, &["order", &order.reference]),
        summary: summary(&format!(
            "{} order not checked against the pathway, see details",
            capitalized(&what)
        )),
        detail: Some(detail),
        indicator: Indicator::Info,
        source: source(pathway),
        suggestions: Vec::new(),
        selection_behavior: None,
        override_reasons: Vec::new(),
        links: Vec::new(),
        extension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::pathway::PathwaySet;
    use crate::request;

    /// For every code of every option, the step is the best-ranked offered option carrying the
    /// code, else an avoided one carrying it, else a carrier that is neither: whatever the answer.
    #[test]
    fn the_step_is_the_best_ranked_carrier_of_the_code() {
        let pathways = PathwaySet::embedded().unwrap();
        let pathway = pathways.default_pathway();
        let mapping = pathways.fhir_mapping(&pathway.id);
        let bodies = [
            r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":90,"relief_duration":{"value":8,"unit":"h"},"radicular_symptoms":false}"#,
            r#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":60,"relief_duration":{"value":8,"unit":"h"},"radicular_symptoms":false}"#,
            r#"{"region":"cervical","procedure":"intra_articular_injection","percent_relief":10,"relief_duration":{"value":2,"unit":"h"},"radicular_symptoms":false}"#,
        ];
        let mut seen = [false; 3];
        for body in bodies {
            let request = request::parse(body.as_bytes()).unwrap();
            let resolved = pathway.resolve(&request).unwrap();
            let answer = engine::evaluate(pathway, &request, resolved, false);
            let slot = resolved.region_slot;
            for option in &pathway.options {
                for code in &option.codes[slot] {
                    let carries = |id: &str| {
                        pathway.options.iter().any(|o| {
                            o.id == id && o.codes[slot].iter().any(|c| c.code == code.code)
                        })
                    };
                    let cpt = [(code.system.clone(), code.code.clone())];
                    let (matched, step) =
                        match_step(pathway, &mapping, slot, &answer, &cpt).unwrap();
                    assert_eq!(matched, code.code);
                    let best = answer.options.iter().find(|o| carries(o.id));
                    match step {
                        Step::Offered(offered) => {
                            seen[0] = true;
                            assert_eq!(offered.id, best.unwrap().id);
                        }
                        Step::Avoided(avoided) => {
                            seen[1] = true;
                            assert!(best.is_none() && carries(avoided.id));
                        }
                        Step::NotOffered(other) => {
                            seen[2] = true;
                            assert!(best.is_none() && carries(&other.id));
                            assert!(!answer.avoid.iter().any(|a| carries(a.id)));
                        }
                    }
                }
            }
        }
        assert!(
            seen[0] && seen[1] && seen[2],
            "every kind of step: {seen:?}"
        );
        let none = [("urn:x:none".to_owned(), "none".to_owned())];
        let request = request::parse(bodies[0].as_bytes()).unwrap();
        let resolved = pathway.resolve(&request).unwrap();
        let answer = engine::evaluate(pathway, &request, resolved, false);
        assert!(match_step(pathway, &mapping, resolved.region_slot, &answer, &none).is_none());
    }
}
