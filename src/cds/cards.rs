//! CDS Hooks 2.0 cards built from a triage answer.
//!
//! One card carries the ranked options as suggestions (`selectionBehavior: "at-most-one"`, only
//! the first `isRecommended`), the evidence as a Markdown table in `detail`, the cited sources as
//! `links` and the pathway's id, version and digest in `extension`; every alert gets its own card.
//! Orderable options (those with codes) carry a draft FHIR R4 `ServiceRequest`. Optional members
//! are omitted, never `null` or empty, and every `summary` is under 140 characters. Card and
//! suggestion uuids are derived from the call, so a repeated call answers with the same uuids.

use super::fhir::format_moment;
use super::hook::HookCall;
use super::mapping::{Mapped, Unassessable, duration_for};
use crate::engine::{RankedOption, TriageResponse};
use crate::pathway::Pathway;
use crate::vocab::{CriterionStatus, Procedure, Region, Severity, write_number};
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
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extension: Map<String, Value>,
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
    answer: &TriageResponse,
    mapped: &Mapped,
    call: &HookCall,
) -> Vec<Card> {
    let mut cards = vec![options_card(pathway, answer, mapped, call)];
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
            links: Vec::new(),
            extension,
        });
    }
    cards.sort_by_key(|card| card.indicator);
    cards
}

fn options_card(
    pathway: &Pathway,
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
        .map(|option| Suggestion {
            label: format!("{}. {}", option.rank, option.title),
            uuid: uuid(call, &["suggestion", option.id]),
            is_recommended: (option.rank == 1).then_some(true),
            actions: order_action(option, "proposal", mapped, call)
                .into_iter()
                .collect(),
            option: option.id.to_string(),
        })
        .collect();

    let links = source_links(
        pathway,
        answer
            .options
            .iter()
            .flat_map(|o| o.citations.iter())
            .chain(answer.avoid.iter().flat_map(|a| a.citations.iter()))
            .copied(),
    );

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
                .zip(&suggestions)
                .map(|(o, s)| json!({"rank": o.rank, "id": o.id, "suggestion": s.uuid}))
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
        links,
        extension,
    }
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
        "\nThe service reads only what the EHR prefetched (Procedure, Observation LOINC 72514-3, \
         Condition); it does not query the FHIR server.",
    );
    paged_note(call, &mut detail);
    Card {
        uuid: uuid(call, &["unassessable"]),
        summary: summary(&format!("Cannot assess {what}: data missing, see details")),
        detail: Some(detail),
        indicator: Indicator::Info,
        source: source(pathway),
        suggestions: Vec::new(),
        selection_behavior: None,
        links: Vec::new(),
        extension: Map::new(),
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
    // One procedure per order: the option's first primary code (add-on codes only extend it).
    let code = option.codes.iter().find(|code| !code.add_on)?;
    let mut coding = json!({"system": code.system, "code": code.code});
    if let Some(display) = &code.display {
        coding["display"] = json!(display);
    }
    let mut resource = json!({
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": intent,
        "code": {"coding": [coding], "text": option.title},
        "subject": {"reference": format!("Patient/{}", call.patient_id)},
        "bodySite": [{"text": format!("{} spine", mapped.code.region.as_str())}],
        "note": [{"text": option.rationale}],
    });
    if let Some(encounter) = &call.encounter_id {
        resource["encounter"] = json!({"reference": format!("Encounter/{encounter}")});
    }
    if let Some(id) = &mapped.index.id {
        resource["reasonReference"] = json!([{"reference": format!("Procedure/{id}")}]);
    }
    Some(Action {
        kind: "create",
        description: format!("Draft order: {} ({})", option.title, code.code),
        resource: Some(resource),
        resource_id: None,
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
    out.push_str("\n\n| # | Option | Evidence | Why |\n|---|---|---|---|\n");
    for option in &answer.options {
        let evidence: Vec<&str> = option.evidence.iter().map(|e| e.display.as_str()).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            option.rank,
            cell(option.title),
            cell(&evidence.join("; ")),
            cell(&option.rationale)
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
                gap.missing()
            )),
        }
    }
    out.push_str(if mapped.radicular {
        " Radicular symptoms: yes (an active ICD-10-CM M54.1x, M51.1x or M50.1x condition)."
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
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
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
            encounter_id: None,
            prefetch: Default::default(),
            orders: None,
        };
        let a = uuid(&call, &["options"]);
        assert_eq!(a, uuid(&call, &["options"]));
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
