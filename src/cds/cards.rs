//! CDS Hooks 2.0 cards built from a triage answer.
//!
//! One card carries the ranked orderable options as suggestions (`selectionBehavior:
//! "at-most-one"`, only the pathway's first option `isRecommended`), each with a draft FHIR R4
//! `ServiceRequest` to create; options that are not orders (advice) are listed in `detail` beside the
//! evidence table; the cited sources and, when the public URL is known, the console with the case in
//! the URL fragment are `links`; the pathway's id, version and digest are in `extension`; every alert
//! gets its own card. The ranked card and the alert cards carry the mapping's `overrideReasons`.
//! Optional members are omitted, never `null` or empty, and every `summary` is under 140 characters.
//! Card and suggestion uuids are derived from the call, so a repeated call answers with the same
//! uuids.

use super::fhir::format_moment;
use super::hook::HookCall;
use super::mapping::{Mapped, Unassessable, duration_for};
use crate::engine::{RankedOption, TriageResponse};
use crate::pathway::Pathway;
use crate::pathway::fhir_mapping::FhirMapping;
use crate::vocab::{CriterionStatus, Direction, Procedure, Region, Severity, write_number};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Longest `summary`, in characters (the spec asks for fewer than 140).
const SUMMARY_MAX_CHARS: usize = 139;

/// A CDS Hooks response.
#[derive(Debug, Serialize)]
pub struct CdsResponse {
    pub cards: Vec<Card>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub uuid: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub indicator: Indicator,
    pub source: CardSource,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_behavior: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub override_reasons: Vec<Coding>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extension: Map<String, Value>,
}

/// A CDS Hooks `Coding` (an override reason): `display` is required there.
#[derive(Debug, Clone, Serialize)]
pub struct Coding {
    pub system: String,
    pub code: String,
    pub display: String,
}

/// The mapping's override reasons as Codings.
pub(super) fn override_reasons(mapping: &FhirMapping) -> Vec<Coding> {
    mapping
        .override_reasons
        .iter()
        .map(|reason| Coding {
            system: mapping.override_system.clone(),
            code: reason.code.clone(),
            display: reason.display.clone().unwrap_or_default(),
        })
        .collect()
}

/// Card urgency, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    Critical,
    Warning,
    Info,
}

impl From<Severity> for Indicator {
    fn from(severity: Severity) -> Self {
        match severity {
            Severity::Critical => Indicator::Critical,
            Severity::Warning => Indicator::Warning,
            Severity::Info => Indicator::Info,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CardSource {
    pub label: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub label: String,
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_recommended: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// The pathway option this suggestion proposes; not sent, kept so feedback can name it.
    #[serde(skip)]
    pub option: String,
}

#[derive(Debug, Serialize)]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    /// The full resource of a `create` or `update`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// The relative reference (`ServiceRequest/123`) a `delete` removes.
    #[serde(rename = "resourceId", skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The cards for a triage answer: alert cards and the options card, most urgent first.
pub fn triage_cards(
    pathway: &Pathway,
    mapping: &FhirMapping,
    answer: &TriageResponse,
    mapped: &Mapped,
    call: &HookCall,
) -> Vec<Card> {
    let mut cards = vec![options_card(pathway, mapping, answer, mapped, call)];
    for alert in &answer.alerts {
        let mut extension = pathway_extension(pathway);
        extension.insert("org.facet-triage.alert".into(), json!(alert.code));
        let mut detail = alert.message.clone();
        detail.push_str(&format!(
            "\n\nRaised by pathway `{}` {} for the {} on {}.",
            pathway.id,
            pathway.version,
            procedure_phrase(mapped.code.procedure, mapped.code.region),
            format_moment(mapped.index.at)
        ));
        cards.push(Card {
            uuid: uuid(call, &["alert", alert.code]),
            summary: summary(&alert.message),
            detail: Some(detail),
            indicator: alert.severity.into(),
            source: source(pathway),
            suggestions: Vec::new(),
            selection_behavior: None,
            override_reasons: override_reasons(mapping),
            links: Vec::new(),
            extension,
        });
    }
    cards.sort_by_key(|card| card.indicator);
    cards
}

fn options_card(
    pathway: &Pathway,
    mapping: &FhirMapping,
    answer: &TriageResponse,
    mapped: &Mapped,
    call: &HookCall,
) -> Card {
    let procedure = procedure_phrase(mapped.code.procedure, mapped.code.region);
    let headline = match answer.options.first() {
        Some(top) => format!(
            "{}, {} response. Suggested next: {}",
            capitalized(&procedure),
            answer.assessment.response.as_str(),
            top.title
        ),
        None => format!(
            "{}, {} response: no next option offered",
            capitalized(&procedure),
            answer.assessment.response.as_str()
        ),
    };
    let suggestions: Vec<Suggestion> = answer
        .options
        .iter()
        .filter_map(|option| {
            let action = order_action(option, "proposal", mapped, call)?;
            Some(Suggestion {
                label: format!("{}. {}", option.rank, option.title),
                uuid: uuid(call, &["suggestion", option.id]),
                is_recommended: (option.rank == 1).then_some(true),
                actions: vec![action],
                option: option.id.to_string(),
            })
        })
        .collect();

    let mut links = source_links(
        pathway,
        answer
            .options
            .iter()
            .flat_map(|o| o.citations.iter())
            .chain(answer.avoid.iter().flat_map(|a| a.citations.iter()))
            .copied(),
    );
    links.extend(console_link(call, &mapped.request_json));

    let mut extension = pathway_extension(pathway);
    extension.insert("org.facet-triage.profile".into(), json!(answer.profile));
    extension.insert(
        "org.facet-triage.assessment".into(),
        json!(answer.assessment.response),
    );
    extension.insert(
        "org.facet-triage.options".into(),
        Value::Array(
            answer
                .options
                .iter()
                .map(|o| {
                    let mut entry = json!({"rank": o.rank, "id": o.id});
                    if let Some(s) = suggestions
                        .iter()
                        .find(|s| s.uuid == uuid(call, &["suggestion", o.id]))
                    {
                        entry["suggestion"] = json!(s.uuid);
                    }
                    entry
                })
                .collect(),
        ),
    );
    extension.insert(
        "org.facet-triage.request".into(),
        mapped.request_json.clone(),
    );

    let has_suggestions = !suggestions.is_empty();
    Card {
        uuid: uuid(call, &["options"]),
        summary: summary(&headline),
        detail: Some(options_detail(pathway, answer, mapped, call)),
        indicator: Indicator::Info,
        source: source(pathway),
        suggestions,
        selection_behavior: has_suggestions.then_some("at-most-one"),
        override_reasons: override_reasons(mapping),
        links,
        extension,
    }
}

/// The `absolute` link that opens the case in the console: `<public URL>/console/#case=` and the
/// request JSON in base64url, in the fragment so the server never sees it. None without a public URL.
pub(super) fn console_link(call: &HookCall, request: &Value) -> Option<Link> {
    let base = call.public_url.as_deref()?;
    let json = serde_json::to_vec(request).ok()?;
    let case = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    Some(Link {
        label: "Open this case in the facet-triage console".to_owned(),
        url: format!("{base}/console/#case={case}"),
        kind: "absolute",
    })
}

/// The card for a facet procedure the record does not let us assess.
pub fn unassessable_card(pathway: &Pathway, gap: &Unassessable, call: &HookCall) -> Card {
    let what = match &gap.procedure {
        Some(event) => match event.code {
            Some(code) => format!(
                "the {} of {}",
                procedure_phrase(code.procedure, code.region),
                &format_moment(event.at)[..10]
            ),
            None => format!("the facet procedure of {}", &format_moment(event.at)[..10]),
        },
        None => "the latest facet procedure".to_owned(),
    };
    let mut detail =
        format!("facet-triage cannot rank the next options after {what}. The record lacks:\n\n");
    for missing in &gap.missing {
        detail.push_str(&format!("- {missing}\n"));
    }
    for flag in &gap.red_flags {
        detail.push_str(&format!(
            "\n**The record lists a red flag: {} (active condition).**\n",
            flag.label()
        ));
    }
    detail.push_str(
        "\nThe service reads the patient's Procedures, the pain score Observations and the active \
         Conditions its FHIR mapping names.",
    );
    skipped_note(&gap.skipped, &mut detail);
    paged_note(call, &mut detail);
    Card {
        uuid: uuid(call, &["unassessable"]),
        summary: summary(&format!("Cannot assess {what}: data missing, see details")),
        detail: Some(detail),
        indicator: Indicator::Info,
        source: source(pathway),
        suggestions: Vec::new(),
        selection_behavior: None,
        override_reasons: Vec::new(),
        links: Vec::new(),
        extension: Map::new(),
    }
}

/// Names the pain scores the mapping skipped, and why.
pub(super) fn skipped_note(skipped: &[String], out: &mut String) {
    if skipped.is_empty() {
        return;
    }
    out.push_str("\n\n**Pain scores skipped:**\n\n");
    for item in skipped {
        out.push_str(&format!("- {}\n", cell(item)));
    }
}

/// Links to the cited sources, each once, in citation order.
pub(super) fn source_links<'a>(
    pathway: &Pathway,
    cited: impl Iterator<Item = &'a str>,
) -> Vec<Link> {
    let mut seen: Vec<&str> = Vec::new();
    for id in cited {
        if !seen.contains(&id) {
            seen.push(id);
        }
    }
    seen.iter()
        .filter_map(|id| pathway.sources.iter().find(|s| s.id == *id))
        .map(|s| Link {
            label: s.label.clone(),
            url: s.url.clone(),
            kind: "absolute",
        })
        .collect()
}

pub(super) fn source(pathway: &Pathway) -> CardSource {
    CardSource {
        label: format!("facet-triage: {}", pathway.title),
    }
}

pub(super) fn pathway_extension(pathway: &Pathway) -> Map<String, Value> {
    let mut extension = Map::new();
    extension.insert(
        "org.facet-triage.pathway".into(),
        json!({"id": pathway.id, "version": pathway.version, "digest": pathway.digest}),
    );
    extension
}

/// A draft `ServiceRequest` with `intent` for an option that has procedure codes.
pub(super) fn order_action(
    option: &RankedOption,
    intent: &str,
    mapped: &Mapped,
    call: &HookCall,
) -> Option<Action> {
    // One procedure per order and per CodeableConcept: the first primary code of each system (add-on
    // codes only extend a procedure, so they never order one).
    let mut systems: Vec<&str> = Vec::new();
    let coding: Vec<Value> = option
        .codes
        .iter()
        .filter(|code| !code.add_on)
        .filter(|code| {
            let first = !systems.contains(&code.system.as_str());
            systems.push(&code.system);
            first
        })
        .map(|code| {
            let mut coding = json!({"system": code.system, "code": code.code});
            if let Some(display) = &code.display {
                coding["display"] = json!(display);
            }
            coding
        })
        .collect();
    if coding.is_empty() {
        return None;
    }
    let mut resource = json!({
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": intent,
        "code": {"coding": coding, "text": option.title},
        "subject": {"reference": format!("Patient/{}", call.patient_id)},
        "bodySite": [{"text": format!("{} spine", mapped.code.region.as_str())}],
        "note": [{"text": option.rationale}],
    });
    if let Some(encounter) = &call.encounter_id {
        resource["encounter"] = json!({"reference": format!("Encounter/{encounter}")});
    }
    if let Some(id) = &mapped.index.id {
        resource["supportingInfo"] = json!([{"reference": format!("Procedure/{id}")}]);
    }
    if let Some(user) = call.user_id.as_deref().filter(|user| is_requester(user)) {
        resource["requester"] = json!({"reference": user});
    }
    let codes: Vec<&str> = coding.iter().filter_map(|c| c["code"].as_str()).collect();
    Some(Action {
        kind: "create",
        description: format!("Draft order: {} ({})", option.title, codes.join(", ")),
        resource: Some(resource),
        resource_id: None,
    })
}

/// Whether `context.userId` names a Practitioner or a PractitionerRole (`Type/id`): the only users
/// R4 allows as a ServiceRequest's requester among those a CDS Hooks user can be.
fn is_requester(user: &str) -> bool {
    user.split_once('/').is_some_and(|(kind, id)| {
        matches!(kind, "Practitioner" | "PractitionerRole") && super::fhir::is_id(id)
    })
}

fn options_detail(
    pathway: &Pathway,
    answer: &TriageResponse,
    mapped: &Mapped,
    call: &HookCall,
) -> String {
    let mut out = format!("**{}**\n\n", answer.assessment.summary);
    out.push_str(&record_summary(mapped));
    out.push_str(
        "\n\n| # | Option | Kind | Evidence for | Evidence against | Why |\n|---|---|---|---|---|---|\n",
    );
    for option in &answer.options {
        // Recommendations against an option are shown beside those for it, whatever the profile.
        let displays = |direction: Direction| -> String {
            let entries: Vec<&str> = option
                .evidence
                .iter()
                .filter(|e| e.direction == direction)
                .map(|e| e.display.as_str())
                .collect();
            if entries.is_empty() {
                "none".to_owned()
            } else {
                entries.join("; ")
            }
        };
        let kind = if option.codes.is_empty() {
            "advice, not an order"
        } else {
            "order (suggestion)"
        };
        out.push_str(&format!(
            "| {} | {} | {kind} | {} | {} | {} |\n",
            option.rank,
            cell(option.title),
            cell(&displays(Direction::For)),
            cell(&displays(Direction::Against)),
            cell(&option.rationale)
        ));
    }
    let advice: Vec<String> = answer
        .options
        .iter()
        .filter(|o| o.codes.is_empty())
        .map(|o| format!("{}. {}", o.rank, o.title))
        .collect();
    if !advice.is_empty() {
        out.push_str(&format!(
            "\n**Advice that is not an order** (no suggestion): {}\n",
            advice.join("; ")
        ));
    }
    let with_criteria: Vec<&RankedOption> = answer
        .options
        .iter()
        .filter(|o| !o.criteria.is_empty())
        .collect();
    if !with_criteria.is_empty() {
        out.push_str("\n**Criteria**\n\n");
        for option in with_criteria {
            let items: Vec<String> = option
                .criteria
                .iter()
                .map(|c| {
                    let mark = match c.status {
                        CriterionStatus::Met => "met",
                        CriterionStatus::Unmet => "not met",
                        CriterionStatus::Unknown => "unknown",
                    };
                    format!("{} ({mark})", c.text)
                })
                .collect();
            out.push_str(&format!("- *{}*: {}\n", option.title, items.join("; ")));
        }
    }
    if !answer.avoid.is_empty() {
        out.push_str("\n**Avoid**\n\n");
        for avoid in &answer.avoid {
            out.push_str(&format!("- *{}*: {}\n", avoid.title, avoid.reason));
        }
    }
    out.push_str(&format!(
        "\nPathway `{}` {} (`{}`), profile `{}`.\n\n_{}_",
        pathway.id, pathway.version, pathway.digest, answer.profile, answer.disclaimer
    ));
    skipped_note(&mapped.skipped, &mut out);
    paged_note(call, &mut out);
    out
}

/// What the mapping read from the record, in one paragraph.
pub(super) fn record_summary(mapped: &Mapped) -> String {
    let relief = &mapped.relief;
    let mut out = format!(
        "From the record: {} on {}",
        procedure_phrase(mapped.code.procedure, mapped.code.region),
        format_moment(mapped.index.at)
    );
    if mapped.previous.is_some() {
        out.push_str(" (second block of a comparative pair)");
    }
    out.push_str(&format!(
        ". Baseline pain {}/10 ({})",
        number(relief.baseline.value),
        format_moment(relief.baseline.at)
    ));
    match (relief.peak, relief.end) {
        (Some(peak), Some(end)) => {
            out.push_str(&format!(
                "; best {}/10 ({}), {}% relief",
                number(peak.value),
                format_moment(peak.at),
                number(relief.percent)
            ));
            let duration = duration_for(relief.duration_seconds);
            if relief.ongoing {
                out.push_str(&format!(
                    ", still ongoing at the latest score ({}): {duration} so far",
                    format_moment(end.at)
                ));
            } else {
                out.push_str(&format!(
                    ", below half of that by {}: {duration}",
                    format_moment(end.at)
                ));
            }
        }
        _ => out.push_str("; no later score was lower: 0% relief"),
    }
    out.push('.');
    if let Some((first, result)) = &mapped.previous {
        match result {
            Ok(first_relief) => out.push_str(&format!(
                " First block on {}: {}% relief for {}.",
                format_moment(first.at),
                number(first_relief.percent),
                duration_for(first_relief.duration_seconds)
            )),
            Err(gap) => out.push_str(&format!(
                " First block on {}: its relief could not be computed (missing {}), so the request \
                 names no previous block result.",
                format_moment(first.at),
                gap.missing(mapped.baseline_window)
            )),
        }
    }
    out.push_str(if mapped.radicular {
        " Radicular symptoms: yes (an active condition the FHIR mapping reads as radicular)."
    } else {
        " Radicular symptoms: none coded."
    });
    for flag in &mapped.red_flags {
        out.push_str(&format!(" Red flag on record: {}.", flag.label()));
    }
    out
}

pub(super) fn paged_note(call: &HookCall, out: &mut String) {
    for key in &call.prefetch.paged {
        out.push_str(&format!(
            "\n\nNote: the prefetched `{key}` bundle is one page of a longer result; later pages were not read."
        ));
    }
}

pub(super) fn procedure_phrase(procedure: Procedure, region: Region) -> String {
    format!("{} {}", region.label(), procedure.label())
}

pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn number(value: f64) -> String {
    let mut out = String::new();
    let _ = write_number(&mut out, value);
    out
}

/// A Markdown table cell: no line breaks, pipes escaped.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// One line, fewer than 140 characters, cut at a word with an ellipsis when longer.
pub(super) fn summary(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= SUMMARY_MAX_CHARS {
        return line;
    }
    let cut: String = line.chars().take(SUMMARY_MAX_CHARS - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > SUMMARY_MAX_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// A version 8 (RFC 9562) UUID derived from the call and the part of the answer it names.
pub(super) fn uuid(call: &HookCall, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    hash.update(call.hook_instance.as_bytes());
    hash.update([0]);
    hash.update(call.patient_id.as_bytes());
    for part in parts {
        hash.update([0]);
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_stay_under_140_characters() {
        assert_eq!(summary("short\nline"), "short line");
        let long = "word ".repeat(60);
        let cut = summary(&long);
        assert!(cut.chars().count() < 140, "{}", cut.chars().count());
        assert!(cut.ends_with('…'));
        let unbroken = "é".repeat(300);
        assert_eq!(summary(&unbroken).chars().count(), SUMMARY_MAX_CHARS);
    }

    #[test]
    fn uuids_are_version_8_and_stable() {
        let call = HookCall {
            hook_instance: "h".into(),
            patient_id: "p".into(),
            user_id: None,
            public_url: None,
            encounter_id: None,
            prefetch: Default::default(),
            orders: None,
        };
        let a = uuid(&call, &["options"]);
        assert_eq!(a, uuid(&call, &["options"]));
        // The first 16 bytes of SHA-256("h\0p\0options") with the version and variant bits set.
        assert_eq!(a, "c54986ad-1754-8108-b8d9-e98602415c94");
        assert_ne!(a, uuid(&call, &["alert", "x"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
