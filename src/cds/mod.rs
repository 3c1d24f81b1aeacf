//! CDS Hooks 2.0 services over the triage pathway (contract section 7).
//!
//! `facet-pain-next-step` answers the `patient-view` hook: it reads the patient's prefetched FHIR R4
//! record (facet procedures, pain scores, active conditions), maps it to a triage request
//! ([`mapping`]), walks the pathway and answers with cards ([`cards`]).
//! `facet-procedure-order-check` answers `order-select`: it maps the same record, walks the pathway
//! and says whether each selected facet-procedure order fits the answer ([`order`]). Nothing here
//! knows an option id, an alert code, a clinical code or a threshold: those come from the pathway and
//! its FHIR mapping file. Missing prefetch is fetched from the EHR's FHIR server by [`fetch`]; the
//! HTTP binding of the routes lives in `crate::http`.

pub mod cards;
pub mod feedback;
pub mod fetch;
pub mod fhir;
pub mod hook;
pub mod mapping;
pub mod order;
pub mod outcome;

use crate::engine;
use crate::pathway::PathwaySet;
use crate::pathway::fhir_mapping::FhirMapping;
use cards::CdsResponse;
use hook::{CONDITIONS, HookCall, ORDER_SELECT, PAIN, PATIENT, PROCEDURES, PrefetchKey};
use mapping::{Mapped, Mapping};
use outcome::CdsError;
use serde_json::{Map, Value, json};

/// Id of the patient-view service.
pub const PATIENT_VIEW_SERVICE: &str = "facet-pain-next-step";
/// Id of the order-select service.
pub const ORDER_SELECT_SERVICE: &str = "facet-procedure-order-check";

/// A CDS service this server offers.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub id: &'static str,
    pub hook: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub prefetch: &'static [PrefetchKey],
}

/// Every service, in discovery order.
pub const SERVICES: &[Service] = &[
    Service {
        id: PATIENT_VIEW_SERVICE,
        hook: "patient-view",
        title: "Facet joint pain: next step",
        description: "Ranks the next options after the patient's latest spinal facet procedure \
            (intra-articular injection, medial branch block or radiofrequency ablation), from the \
            pain scores recorded around it, with the evidence for each.",
        prefetch: &[PATIENT, PROCEDURES, PAIN, CONDITIONS],
    },
    Service {
        id: ORDER_SELECT_SERVICE,
        hook: ORDER_SELECT,
        title: "Facet procedure order check",
        description: "Checks a selected facet-procedure order (a procedure code of the \
            pathway's FHIR mapping) against the pathway's next options after the patient's latest facet procedure: \
            whether it is the first option, ranked lower or avoided, and why, with the criteria \
            it misses and a suggestion that replaces it by the first option.",
        prefetch: &[PATIENT, PROCEDURES, PAIN, CONDITIONS],
    },
];

/// The service with this id.
pub fn service(id: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.id == id)
}

/// The 2.0-safe prefetch template of a key, generated from the FHIR mapping: a read, or a type
/// search with token, `_sort` and `_count` parameters only.
pub fn template(key: &PrefetchKey, mapping: &FhirMapping) -> String {
    let patient = "{{context.patientId}}";
    match key.name {
        "patient" => format!("Patient/{patient}"),
        "procedures" => format!(
            "Procedure?patient={patient}&code={}&_sort=-date",
            mapping.procedure_tokens().join(",")
        ),
        "pain" => {
            let codes: Vec<String> = mapping
                .pain
                .codes
                .iter()
                .map(|c| format!("{}|{}", c.system, c.code))
                .collect();
            format!(
                "Observation?patient={patient}&code={}&_sort=-date&_count=100",
                codes.join(",")
            )
        }
        _ => format!("Condition?patient={patient}&clinical-status=active"),
    }
}

/// The discovery document: `{"services": [...]}`.
pub fn discovery(pathways: &PathwaySet) -> Value {
    let pathway = pathways.default_pathway();
    let mapping = pathways.fhir_mapping(&pathway.id);
    let services: Vec<Value> = SERVICES
        .iter()
        .map(|service| {
            let prefetch: Map<String, Value> = service
                .prefetch
                .iter()
                .map(|key| (key.name.to_owned(), Value::String(template(key, &mapping))))
                .collect();
            json!({
                "hook": service.hook,
                "title": service.title,
                "description": service.description,
                "id": service.id,
                "prefetch": prefetch,
                "usageRequirements": "Send the prefetch keys procedures, pain and conditions, or \
                    fhirServer and fhirAuthorization for a FHIR server the operator allows for your \
                    issuer; otherwise the service answers 412.",
                "extension": {"org.facet-triage.pathway": {
                    "id": pathway.id, "version": pathway.version, "digest": pathway.digest}},
            })
        })
        .collect();
    json!({ "services": services })
}

/// How a successful call ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    /// The pathway answered: an options card and any alert cards.
    Cards,
    /// No completed facet procedure in the record: no cards.
    NoFacetProcedure,
    /// A facet procedure the record does not let us assess: one `info` card.
    Unassessable,
    /// An order-select call that selected no facet-procedure order: no cards.
    NoFacetOrder,
}

impl CallResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Cards => "cards",
            CallResult::NoFacetProcedure => "no_facet_procedure",
            CallResult::Unassessable => "unassessable",
            CallResult::NoFacetOrder => "no_facet_order",
        }
    }
}

/// A successful call: the response body and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    pub body: Vec<u8>,
    pub result: CallResult,
    /// The suggestions the cards carry, so later feedback on a card can be traced to options.
    pub issued: Vec<IssuedSuggestion>,
}

/// One suggestion of an answered call: which card carries it and which pathway option it proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSuggestion {
    pub card: String,
    pub suggestion: String,
    pub option: String,
    /// The card's recommended suggestion: what an `overridden` outcome of the card overrides.
    pub recommended: bool,
}

/// How the operator set the services up, and the time of the call.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions<'a> {
    /// The criteria profile the CDS services answer with; `None` for the pathway's default.
    pub profile: Option<&'a str>,
    /// The service's public base URL, without a trailing `/`: the console link is built from it.
    pub public_url: Option<&'a str>,
    /// Seconds since 1970, UTC: the time `time_since_procedure` runs to.
    pub now: i64,
}

/// Answers one call of `service_id` with a CDS Hooks response body.
pub fn call(
    pathways: &PathwaySet,
    options: &CallOptions,
    service_id: &str,
    body: &[u8],
) -> Result<CallOutcome, CdsError> {
    let (profile, now) = (options.profile, options.now);
    let service = service(service_id).ok_or_else(CdsError::unknown_service)?;
    let mut call = hook::parse(body, service.hook)?;
    call.public_url = options.public_url.map(str::to_owned);
    let pathway = pathways.default_pathway();
    let fhir_mapping = pathways.fhir_mapping(&pathway.id);
    if profile.is_some_and(|id| pathway.profile_index(id).is_none()) {
        return Err(CdsError::new(
            500,
            "exception",
            "the criteria profile configured for the CDS services is not defined by the serving pathway",
            None,
        ));
    }
    let orders = if service.hook == ORDER_SELECT {
        let orders = order::facet_orders(&call, &fhir_mapping);
        if orders.is_empty() {
            return respond(Vec::new(), CallResult::NoFacetOrder);
        }
        Some(orders)
    } else {
        None
    };
    let mut mapped = match mapping::map(&call.prefetch, &fhir_mapping, now)? {
        Mapping::NoFacetProcedure => return respond(Vec::new(), CallResult::NoFacetProcedure),
        Mapping::Unassessable(gap) => {
            return respond(
                vec![cards::unassessable_card(pathway, &gap, &call)],
                CallResult::Unassessable,
            );
        }
        Mapping::Mapped(mapped) => mapped,
    };
    if let Some(profile) = profile {
        mapped.request.profile = Some(profile.to_owned());
        if let Some(body) = mapped.request_json.as_object_mut() {
            body.insert("profile".into(), Value::String(profile.to_owned()));
        }
    }
    let Ok(resolved) = pathway.resolve(&mapped.request) else {
        let gap = mapping::Unassessable {
            procedure: Some(mapped.index.clone()),
            missing: vec![
                "a pathway that covers this spinal region: the loaded pathway does not".to_owned(),
            ],
            red_flags: mapped.red_flags.clone(),
            skipped: mapped.skipped.clone(),
        };
        return respond(
            vec![cards::unassessable_card(pathway, &gap, &call)],
            CallResult::Unassessable,
        );
    };
    let answer = engine::evaluate(pathway, &mapped.request, resolved, false);
    let cards = match orders {
        None => cards::triage_cards(pathway, &fhir_mapping, &answer, &mapped, &call),
        Some(orders) => order_cards(pathway, &fhir_mapping, &answer, &mapped, &orders, &call),
    };
    respond(cards, CallResult::Cards)
}

fn order_cards(
    pathway: &crate::pathway::Pathway,
    mapping: &FhirMapping,
    answer: &engine::TriageResponse,
    mapped: &Mapped,
    orders: &[order::FacetOrder],
    call: &HookCall,
) -> Vec<cards::Card> {
    orders
        .iter()
        .map(|facet_order| order::order_card(pathway, mapping, answer, mapped, facet_order, call))
        .collect()
}

fn respond(cards: Vec<cards::Card>, result: CallResult) -> Result<CallOutcome, CdsError> {
    let issued = cards
        .iter()
        .flat_map(|card| {
            card.suggestions.iter().map(|suggestion| IssuedSuggestion {
                card: card.uuid.clone(),
                suggestion: suggestion.uuid.clone(),
                option: suggestion.option.clone(),
                recommended: suggestion.is_recommended == Some(true),
            })
        })
        .collect();
    let body = serde_json::to_vec(&CdsResponse { cards })
        .map_err(|_| CdsError::new(500, "exception", "the response could not be written", None))?;
    Ok(CallOutcome {
        body,
        result,
        issued,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_lists_the_patient_view_service_with_safe_templates() {
        let pathways = PathwaySet::embedded().unwrap();
        let document = discovery(&pathways);
        let service = &document["services"][0];
        assert_eq!(service["id"], PATIENT_VIEW_SERVICE);
        assert_eq!(service["hook"], "patient-view");
        let prefetch = service["prefetch"].as_object().unwrap();
        let mut keys: Vec<&str> = prefetch.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["conditions", "pain", "patient", "procedures"]);
        for template in prefetch.values() {
            let template = template.as_str().unwrap();
            // 2.0-safe: only the root-level patientId token, no FHIRPath.
            assert_eq!(template.matches("{{").count(), 1, "{template}");
            assert!(template.contains("{{context.patientId}}"), "{template}");
        }
        let mapping = pathways.fhir_mapping(&pathways.default_pathway().id);
        let procedures = prefetch["procedures"].as_str().unwrap();
        for token in mapping.procedure_tokens() {
            assert!(procedures.contains(&token), "{token}");
        }
        let pain = &mapping.pain.codes[0];
        assert!(
            prefetch["pain"]
                .as_str()
                .unwrap()
                .contains(&format!("{}|{}", pain.system, pain.code))
        );
    }

    #[test]
    fn an_unknown_service_is_404() {
        let pathways = PathwaySet::embedded().unwrap();
        assert_eq!(
            call(&pathways, &CallOptions::default(), "nope", b"{}")
                .unwrap_err()
                .status,
            404
        );
    }
}
