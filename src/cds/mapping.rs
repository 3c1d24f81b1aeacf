//! From FHIR R4 prefetch to a triage request, as contract section 7 defines it, with the codes and
//! windows of the pathway's FHIR mapping file ([`FhirMapping`]):
//!
//! - index procedure: the latest `completed` Procedure, by `performed[x]`, with a mapped code;
//! - kind and region: the kinds and regions every mapped coding of the concept allows (a code shared
//!   by two kinds, narrowed by a more specific coding such as SNOMED CT); where a choice remains, the
//!   mapping's text rules read `code.text` and the codings' `display`, else the first listed;
//! - `block_number` 2 when an earlier completed medial branch block of the same region lies within
//!   the comparative-block window; `previous_block` is that block's result (the latest such block);
//! - `time_since_procedure` from `performed[x]` to the time of the call; `procedure_history` from the
//!   other mapped procedures of the region before the index one, most recent first;
//! - relief: the baseline is the last pain score in the baseline window before the procedure; relief
//!   at a later score is (baseline - score) / baseline; `percent_relief` is the highest relief before
//!   the next facet procedure; `relief_duration` runs from the procedure to the first score after
//!   that peak whose relief is below half the peak, else to the latest score, with `relief_ongoing`;
//!   a score outside the mapping's range or with another status is skipped and named, never fatal;
//! - `radicular_symptoms` and `red_flags` from the mapped codes of active Conditions.

use super::fhir::{self, CodeableConcept, Moment};
use super::hook::{Entry, Prefetch};
use super::outcome::CdsError;
use crate::pathway::fhir_mapping::{ConditionMeaning, FhirMapping, TextRule};
use crate::request::{HistoryEntry, PreviousBlock, TriageRequest, max_history};
use crate::vocab::{Duration, DurationUnit, Guidance, Procedure, RedFlag, Region};
use serde_json::Value;

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

/// What a facet procedure code says: the kind of procedure and the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacetCode {
    pub procedure: Procedure,
    pub region: Region,
}

/// A `code` read as a facet procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    NotFacet,
    Facet(FacetCode),
    /// Mapped codings of different kinds or regions in one concept.
    Conflicting,
}

/// Reads a Procedure's (or a ServiceRequest's) `code` as a facet procedure.
pub fn classify(code: &CodeableConcept, mapping: &FhirMapping) -> Classified {
    let mut procedures: Option<Vec<Procedure>> = None;
    let mut regions: Option<Vec<Region>> = None;
    for coding in &code.coding {
        let (Some(system), Some(value)) = (coding.system.as_deref(), coding.code.as_deref()) else {
            continue;
        };
        let Some(entry) = mapping.procedure_entry(system, value) else {
            continue;
        };
        procedures = Some(narrow(procedures, &entry.procedures));
        regions = Some(narrow(regions, &entry.regions));
    }
    let (Some(procedures), Some(regions)) = (procedures, regions) else {
        return Classified::NotFacet;
    };
    let rules: Vec<&TextRule> = mapping
        .text_rules
        .iter()
        .filter(|rule| code.mentions(&rule.contains))
        .collect();
    match (
        pick(&procedures, rules.iter().filter_map(|rule| rule.procedure)),
        pick(&regions, rules.iter().filter_map(|rule| rule.region)),
    ) {
        (Some(procedure), Some(region)) => Classified::Facet(FacetCode { procedure, region }),
        _ => Classified::Conflicting,
    }
}

/// What every mapped coding so far allows, narrowed by one more.
fn narrow<T: Copy + PartialEq>(kept: Option<Vec<T>>, allowed: &[T]) -> Vec<T> {
    match kept {
        None => allowed.to_vec(),
        Some(kept) => kept.into_iter().filter(|k| allowed.contains(k)).collect(),
    }
}

/// The first choice a text rule names, else the first choice; `None` when nothing is left.
fn pick<T: Copy + PartialEq>(choices: &[T], by_text: impl Iterator<Item = T>) -> Option<T> {
    let mut by_text = by_text;
    by_text
        .find(|choice| choices.contains(choice))
        .or_else(|| choices.first().copied())
}

/// A completed facet procedure with a precise performed time.
#[derive(Debug, Clone, PartialEq)]
pub struct FacetEvent {
    /// The Procedure's id, when it is a valid FHIR id.
    pub id: Option<String>,
    pub at: i64,
    /// `None` when its codes conflict.
    pub code: Option<FacetCode>,
}

/// One pain score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub at: i64,
    pub value: f64,
}

/// The relief after one procedure, read from the pain scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relief {
    pub baseline: Score,
    /// The first score with the highest relief, if any relief at all.
    pub peak: Option<Score>,
    /// Highest relief, 0 to 100.
    pub percent: f64,
    /// Where the relief ended: the first score below half the peak, or the latest score.
    pub end: Option<Score>,
    pub ongoing: bool,
    pub duration_seconds: i64,
}

/// Why the relief after a procedure cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReliefGap {
    NoBaseline,
    ZeroBaseline,
    NoFollowUp,
}

impl ReliefGap {
    /// What is missing, for a clinician; `baseline_window` in seconds.
    pub fn missing(self, baseline_window: i64) -> String {
        match self {
            ReliefGap::NoBaseline => format!(
                "a baseline pain score in the {} before the procedure",
                duration_for(baseline_window)
            ),
            ReliefGap::ZeroBaseline => "a baseline pain score above 0: the last score before the \
                procedure is 0, so relief cannot be measured"
                .to_owned(),
            ReliefGap::NoFollowUp => {
                "a pain score recorded after the procedure, before any later facet procedure"
                    .to_owned()
            }
        }
    }
}

/// The result of the mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    /// No completed facet procedure: nothing to advise on.
    NoFacetProcedure,
    /// A facet procedure the record does not let us assess.
    Unassessable(Unassessable),
    /// A triage request.
    Mapped(Box<Mapped>),
}

/// A facet procedure that cannot be assessed, and what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Unassessable {
    pub procedure: Option<FacetEvent>,
    pub missing: Vec<String>,
    /// Red flags on record, which a clinician must not miss even without a triage answer.
    pub red_flags: Vec<RedFlag>,
    /// Pain scores left out, each named by where it is and why.
    pub skipped: Vec<String>,
}

/// A triage request and what it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub index: FacetEvent,
    pub code: FacetCode,
    pub relief: Relief,
    /// The first block of a comparative pair, and its relief when it can be computed.
    pub previous: Option<(FacetEvent, Result<Relief, ReliefGap>)>,
    pub radicular: bool,
    pub red_flags: Vec<RedFlag>,
    /// Pain scores left out, each named by where it is and why.
    pub skipped: Vec<String>,
    /// The mapping's baseline window, in seconds, for saying what a relief gap lacks.
    pub baseline_window: i64,
    /// The request as JSON, exactly as validated.
    pub request_json: Value,
    pub request: TriageRequest,
}

/// Maps the prefetched record to a triage request, as of `now` (seconds since 1970, UTC).
pub fn map(prefetch: &Prefetch, mapping: &FhirMapping, now: i64) -> Result<Mapping, CdsError> {
    let (events, imprecise) = facet_events(&prefetch.procedures, mapping)?;
    let (scores, skipped) = pain_scores(&prefetch.pain, mapping)?;
    let (radicular, red_flags) = conditions(prefetch, mapping);

    let Some(index) = events.last().cloned() else {
        if imprecise {
            return Ok(Mapping::Unassessable(Unassessable {
                procedure: None,
                missing: vec![
                    "the date and time the facet procedure was performed (performedDateTime or performedPeriod, at least a full date)".to_owned(),
                ],
                red_flags,
                skipped,
            }));
        }
        return Ok(Mapping::NoFacetProcedure);
    };
    let Some(code) = index.code else {
        return Ok(Mapping::Unassessable(Unassessable {
            procedure: Some(index),
            missing: vec![
                "one kind and region for the latest facet procedure: its codes name different ones"
                    .to_owned(),
            ],
            red_flags,
            skipped,
        }));
    };
    let relief = match relief_after(index.at, None, &scores, mapping.baseline_window) {
        // A score dated after the call (a clock ahead of ours) cannot stretch the relief past
        // the time since the procedure, which the request would refuse.
        Ok(mut relief) => {
            if now > index.at {
                relief.duration_seconds = relief.duration_seconds.min(now - index.at);
            }
            relief
        }
        Err(gap) => {
            return Ok(Mapping::Unassessable(Unassessable {
                procedure: Some(index),
                missing: vec![gap.missing(mapping.baseline_window)],
                red_flags,
                skipped,
            }));
        }
    };

    let previous = (code.procedure == Procedure::MedialBranchBlock)
        .then(|| {
            events
                .iter()
                .rev()
                .skip(1)
                .take_while(|e| index.at - e.at <= mapping.comparative_block_window)
                .find(|e| e.at < index.at && e.code == Some(code))
        })
        .flatten()
        .map(|block| {
            let next = events.iter().find(|e| e.at > block.at).map(|e| e.at);
            let relief = relief_after(block.at, next, &scores, mapping.baseline_window);
            (block.clone(), relief)
        });

    // A zero time since the procedure would contradict scores dated after the call.
    let time_since_procedure = (now > index.at
        || (now == index.at && relief.duration_seconds == 0))
        .then(|| duration_for(now - index.at));
    let history = history(&events, &index, code.region, now);
    let request = TriageRequest {
        region: code.region,
        procedure: code.procedure,
        percent_relief: relief.percent,
        relief_duration: duration_for(relief.duration_seconds),
        relief_ongoing: relief.ongoing,
        radicular_symptoms: radicular,
        block_number: previous.as_ref().map(|_| 2),
        previous_block: previous
            .as_ref()
            .and_then(|(_, first)| first.as_ref().ok())
            .map(|first| PreviousBlock {
                percent_relief: first.percent,
                relief_duration: duration_for(first.duration_seconds),
                anesthetic: None,
            }),
        anesthetic: None,
        guidance: Guidance::Fluoroscopy,
        red_flags: red_flags.clone(),
        pain_duration_months: None,
        conservative_care_weeks: None,
        recent_imaging: false,
        rfa_contraindicated: false,
        psychosocial_risk: false,
        spinal_instability: false,
        sacroiliac_signs: false,
        time_since_procedure,
        procedure_history: (!history.is_empty()).then_some(history),
        myofascial_trigger_points: false,
        modic_changes: None,
        profile: None,
        pathway: None,
    };
    request.validate().map_err(|fields| {
        let detail = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        CdsError::new(
            422,
            "business-rule",
            format!("the prefetched record maps to an invalid triage request ({detail})"),
            Some("prefetch".to_owned()),
        )
    })?;
    let request_json = serde_json::to_value(&request).map_err(|_| {
        CdsError::new(
            500,
            "exception",
            "the triage request could not be built",
            None,
        )
    })?;
    Ok(Mapping::Mapped(Box::new(Mapped {
        index,
        code,
        relief,
        previous,
        radicular,
        red_flags,
        skipped,
        baseline_window: mapping.baseline_window,
        request_json,
        request,
    })))
}

/// `procedure_history`: the other mapped procedures of the region before the index one, most
/// recent first, the 50 most recent. Each lies strictly before the index procedure, so its
/// `time_ago` is never shorter than `time_since_procedure`.
fn history(
    events: &[FacetEvent],
    index: &FacetEvent,
    region: Region,
    now: i64,
) -> Vec<HistoryEntry> {
    events
        .iter()
        .rev()
        .filter(|e| e.at < index.at && e.at <= now)
        .filter_map(|e| e.code.filter(|c| c.region == region).map(|c| (e, c)))
        .take(max_history())
        .map(|(e, c)| HistoryEntry {
            procedure: c.procedure,
            time_ago: duration_for(now - e.at),
        })
        .collect()
}

/// Completed facet procedures with a precise time, oldest first (ties keep bundle order), and
/// whether any was left out for an imprecise or missing time.
fn facet_events(
    procedures: &[Entry<fhir::Procedure>],
    mapping: &FhirMapping,
) -> Result<(Vec<FacetEvent>, bool), CdsError> {
    let mut events = Vec::new();
    let mut imprecise = false;
    for entry in procedures {
        let procedure = &entry.resource;
        if procedure.status != "completed" {
            continue;
        }
        let code = match procedure.code.as_ref().map(|c| classify(c, mapping)) {
            None | Some(Classified::NotFacet) => continue,
            Some(Classified::Facet(code)) => Some(code),
            Some(Classified::Conflicting) => None,
        };
        let at = match procedure.performed().map(|t| (t, fhir::parse_moment(t))) {
            None | Some((_, Some(Moment::Imprecise))) => {
                imprecise = true;
                continue;
            }
            Some((_, Some(Moment::At(at)))) => at,
            Some((_, None)) => {
                return Err(CdsError::invalid(
                    "is not a FHIR dateTime",
                    format!("{}.performed", entry.path),
                ));
            }
        };
        events.push(FacetEvent {
            id: procedure.id.clone().filter(|id| fhir::is_id(id)),
            at,
            code,
        });
    }
    events.sort_by_key(|e| e.at);
    Ok((events, imprecise))
}

/// Usable pain scores with a precise time, oldest first (ties keep bundle order), and the pain
/// scores skipped for a value out of range or a status the mapping does not use, each named.
fn pain_scores(
    pain: &[Entry<fhir::Observation>],
    mapping: &FhirMapping,
) -> Result<(Vec<Score>, Vec<String>), CdsError> {
    let mut scores = Vec::new();
    let mut skipped = Vec::new();
    for entry in pain {
        let observation = &entry.resource;
        let is_pain = observation.code.coding.iter().any(|c| {
            matches!((c.system.as_deref(), c.code.as_deref()),
                (Some(system), Some(code)) if mapping.is_pain_code(system, code))
        });
        if !is_pain {
            continue;
        }
        if !mapping.pain.statuses.contains(&observation.status) {
            skipped.push(format!(
                "`{}`: its status is not one of {}",
                entry.path,
                mapping.pain.statuses.join(", ")
            ));
            continue;
        }
        let Some(value) = observation.value() else {
            continue;
        };
        if !(mapping.pain.min..=mapping.pain.max).contains(&value) {
            skipped.push(format!(
                "`{}`: its value is outside {} to {}",
                entry.path, mapping.pain.min, mapping.pain.max
            ));
            continue;
        }
        let at = match observation.effective().map(fhir::parse_moment) {
            None | Some(Some(Moment::Imprecise)) => continue,
            Some(Some(Moment::At(at))) => at,
            Some(None) => {
                return Err(CdsError::invalid(
                    "is not a FHIR dateTime",
                    format!("{}.effective", entry.path),
                ));
            }
        };
        scores.push(Score { at, value });
    }
    scores.sort_by_key(|s| s.at);
    Ok((scores, skipped))
}

/// Radicular symptoms and red flags from the mapped codes of active conditions.
fn conditions(prefetch: &Prefetch, mapping: &FhirMapping) -> (bool, Vec<RedFlag>) {
    let mut radicular = false;
    let mut red_flags = Vec::new();
    for entry in &prefetch.conditions {
        let condition = &entry.resource;
        if !condition.is_active() {
            continue;
        }
        let Some(code) = &condition.code else {
            continue;
        };
        for coding in &code.coding {
            let (Some(system), Some(value)) = (coding.system.as_deref(), coding.code.as_deref())
            else {
                continue;
            };
            for entry in mapping
                .conditions
                .iter()
                .filter(|e| e.matches(system, value))
            {
                match entry.meaning {
                    ConditionMeaning::RadicularSymptoms => radicular = true,
                    ConditionMeaning::RedFlag(flag) if !red_flags.contains(&flag) => {
                        red_flags.push(flag);
                    }
                    ConditionMeaning::RedFlag(_) => {}
                }
            }
        }
    }
    red_flags.sort();
    (radicular, red_flags)
}

/// The relief after a procedure at `at`, up to the next facet procedure at `next`, with the
/// baseline no more than `baseline_window` seconds before.
fn relief_after(
    at: i64,
    next: Option<i64>,
    scores: &[Score],
    baseline_window: i64,
) -> Result<Relief, ReliefGap> {
    let baseline = scores
        .iter()
        .rev()
        .find(|s| s.at < at && at - s.at <= baseline_window)
        .copied()
        .ok_or(ReliefGap::NoBaseline)?;
    if baseline.value <= 0.0 {
        return Err(ReliefGap::ZeroBaseline);
    }
    let after: Vec<Score> = scores
        .iter()
        .filter(|s| s.at > at && next.is_none_or(|next| s.at < next))
        .copied()
        .collect();
    if after.is_empty() {
        return Err(ReliefGap::NoFollowUp);
    }
    let relief_at = |s: &Score| (baseline.value - s.value) / baseline.value;
    let (peak_index, peak_relief) = after
        .iter()
        .enumerate()
        .map(|(i, s)| (i, relief_at(s)))
        .fold((0, f64::NEG_INFINITY), |best, (i, r)| {
            if r > best.1 { (i, r) } else { best }
        });
    if peak_relief <= 0.0 {
        return Ok(Relief {
            baseline,
            peak: None,
            percent: 0.0,
            end: None,
            ongoing: false,
            duration_seconds: 0,
        });
    }
    let worn_off = after[peak_index + 1..]
        .iter()
        .find(|s| relief_at(s) < peak_relief / 2.0);
    let (end, ongoing) = match worn_off {
        Some(score) => (*score, false),
        None => (after[after.len() - 1], true),
    };
    Ok(Relief {
        baseline,
        peak: Some(after[peak_index]),
        percent: (peak_relief * 100.0).min(100.0),
        end: Some(end),
        ongoing,
        duration_seconds: end.at - at,
    })
}

/// A duration in the unit a clinician would say: hours under 2 days, days under 8 weeks, else weeks.
pub fn duration_for(seconds: i64) -> Duration {
    let seconds = seconds as f64;
    let unit = if seconds < (2 * DAY) as f64 {
        DurationUnit::Hour
    } else if seconds < (56 * DAY) as f64 {
        DurationUnit::Day
    } else {
        DurationUnit::Week
    };
    Duration {
        value: seconds / unit.seconds(),
        unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cds::fhir::Coding;
    use serde_json::json;

    /// A mapping with made-up codes: A1 is an injection code of either kind in the lumbar region,
    /// B1 one of either kind in the cervical or thoracic region, R1 an ablation code (lumbar), and
    /// S1 (another system) says medial branch block.
    fn test_mapping() -> FhirMapping {
        let text = r#"
pathway = "p"
[[sources]]
id = "s"
title = "Source"
url = "https://example.org"
[windows]
baseline = { value = 30, unit = "d", source = "s" }
comparative_block = { value = 180, unit = "d", source = "s" }
[pain]
source = "s"
codes = [{ system = "urn:x:obs", code = "P1" }]
min = 0
max = 10
statuses = ["final"]
[[procedures]]
source = "s"
systems = ["urn:x:proc", "urn:oid:9.9"]
codes = ["A1", "A2"]
procedures = ["intra_articular_injection", "medial_branch_block"]
regions = ["lumbar"]
[[procedures]]
source = "s"
systems = ["urn:x:proc"]
codes = ["B1"]
procedures = ["intra_articular_injection", "medial_branch_block"]
regions = ["cervical", "thoracic"]
[[procedures]]
source = "s"
systems = ["urn:x:proc"]
codes = ["R1"]
procedures = ["radiofrequency_ablation"]
regions = ["lumbar"]
[[procedures]]
source = "s"
systems = ["urn:x:sct"]
codes = ["S1"]
procedures = ["medial_branch_block"]
regions = ["lumbar", "cervical", "thoracic"]
[[text_rules]]
source = "s"
contains = "Medial Branch"
procedure = "medial_branch_block"
[[text_rules]]
source = "s"
contains = "thoracic"
region = "thoracic"
[override_reasons]
system = "urn:x:override"
codes = [{ code = "no", display = "No" }]
"#;
        crate::pathway::fhir_mapping::parse("test.fhir.toml", text).unwrap()
    }

    fn concept(codes: &[(&str, &str)], text: &str) -> CodeableConcept {
        CodeableConcept {
            coding: codes
                .iter()
                .map(|(system, code)| Coding {
                    system: Some((*system).into()),
                    code: Some((*code).into()),
                    display: None,
                })
                .collect(),
            text: Some(text.into()),
        }
    }

    fn facet(procedure: Procedure, region: Region) -> Classified {
        Classified::Facet(FacetCode { procedure, region })
    }

    #[test]
    fn classifies_kind_and_region_from_codes_then_text() {
        use Procedure::*;
        use Region::*;
        let m = test_mapping();
        let p = "urn:x:proc";
        assert_eq!(
            classify(&concept(&[(p, "A1")], "Facet joint injection"), &m),
            facet(IntraArticularInjection, Lumbar)
        );
        assert_eq!(
            classify(
                &concept(&[("urn:oid:9.9", "A1")], "Facet joint injection"),
                &m
            ),
            facet(IntraArticularInjection, Lumbar),
            "the same code under the OID"
        );
        assert_eq!(
            classify(&concept(&[(p, "A2"), (p, "A1")], "MEDIAL BRANCH block"), &m),
            facet(MedialBranchBlock, Lumbar)
        );
        assert_eq!(
            classify(&concept(&[(p, "A1"), ("urn:x:sct", "S1")], "injection"), &m),
            facet(MedialBranchBlock, Lumbar),
            "the second coding narrows the kind"
        );
        assert_eq!(
            classify(&concept(&[("urn:x:sct", "S1")], "thoracic"), &m),
            facet(MedialBranchBlock, Thoracic),
            "a coding of the second system alone is mapped"
        );
        assert_eq!(
            classify(&concept(&[(p, "B1")], "Thoracic medial branch block"), &m),
            facet(MedialBranchBlock, Thoracic)
        );
        assert_eq!(
            classify(&concept(&[(p, "B1")], "injection C5-6"), &m),
            facet(IntraArticularInjection, Cervical)
        );
        assert_eq!(
            classify(&concept(&[(p, "Z9")], "epidural"), &m),
            Classified::NotFacet
        );
        assert_eq!(
            classify(&concept(&[(p, "A1"), (p, "R1")], ""), &m),
            Classified::Conflicting
        );
        let mut displayed = concept(&[(p, "B1")], "");
        displayed.text = None;
        displayed.coding[0].display = Some("Medial Branch Block, second level".into());
        assert_eq!(classify(&displayed, &m), facet(MedialBranchBlock, Cervical));
        assert_eq!(
            classify(&concept(&[("urn:x:other", "A1")], ""), &m),
            Classified::NotFacet
        );
    }

    #[test]
    fn history_lists_earlier_procedures_of_the_region_most_recent_first() {
        let event = |at: i64, procedure, region| FacetEvent {
            id: None,
            at,
            code: Some(FacetCode { procedure, region }),
        };
        let events = vec![
            event(-98 * DAY, Procedure::MedialBranchBlock, Region::Lumbar),
            event(-90 * DAY, Procedure::MedialBranchBlock, Region::Cervical),
            event(
                -30 * DAY,
                Procedure::IntraArticularInjection,
                Region::Lumbar,
            ),
            event(0, Procedure::RadiofrequencyAblation, Region::Lumbar),
        ];
        let out = history(&events, &events[3], Region::Lumbar, 14 * DAY);
        assert_eq!(
            serde_json::to_value(out).unwrap(),
            json!([
                {"procedure": "intra_articular_injection", "time_ago": {"value": 44.0, "unit": "d"}},
                {"procedure": "medial_branch_block", "time_ago": {"value": 16.0, "unit": "wk"}},
            ])
        );
    }

    #[test]
    fn history_keeps_the_50_most_recent_and_never_outruns_the_index() {
        let events: Vec<FacetEvent> = (0..=60)
            .map(|i| FacetEvent {
                id: None,
                at: (i - 60) * 7 * DAY,
                code: Some(FacetCode {
                    procedure: Procedure::IntraArticularInjection,
                    region: Region::Lumbar,
                }),
            })
            .collect();
        let out = history(&events, &events[60], Region::Lumbar, DAY);
        let out = serde_json::to_value(out).unwrap();
        let list = out.as_array().unwrap();
        assert_eq!(list.len(), max_history());
        // Most recent first: one week before the index, the 50th is 50 weeks before it.
        assert_eq!(list[0]["time_ago"], json!({"value": 8.0, "unit": "d"}));
        assert_eq!(
            list[max_history() - 1]["time_ago"],
            json!({"value": 50.0 + 1.0 / 7.0, "unit": "wk"})
        );
    }

    fn scores(list: &[(i64, f64)]) -> Vec<Score> {
        list.iter()
            .map(|&(h, v)| Score {
                at: h * HOUR,
                value: v,
            })
            .collect()
    }

    #[test]
    fn relief_follows_the_peak_until_it_halves() {
        // The contract example: baseline 7, best 1, back to 6 eight hours after the block.
        let s = scores(&[(-24, 7.0), (1, 1.0), (3, 1.0), (8, 6.0), (24, 7.0)]);
        let r = relief_after(0, None, &s, 30 * DAY).unwrap();
        assert!((r.percent - 600.0 / 7.0).abs() < 1e-9);
        assert_eq!(r.duration_seconds, 8 * HOUR);
        assert!(!r.ongoing);
        assert_eq!(r.peak.unwrap().at, HOUR);
    }

    #[test]
    fn relief_still_going_runs_to_the_latest_score() {
        let s = scores(&[(-48, 8.0), (24, 4.0), (24 * 14, 3.0), (24 * 70, 3.5)]);
        let r = relief_after(0, None, &s, 30 * DAY).unwrap();
        assert!((r.percent - 62.5).abs() < 1e-9);
        assert!(r.ongoing);
        assert_eq!(r.duration_seconds, 70 * DAY);
        assert_eq!(duration_for(r.duration_seconds).unit, DurationUnit::Week);
        assert_eq!(duration_for(r.duration_seconds).value, 10.0);
    }

    #[test]
    fn relief_stops_at_the_next_facet_procedure() {
        let s = scores(&[(-10, 6.0), (2, 0.0), (20, 5.0), (40, 0.0)]);
        let r = relief_after(0, Some(30 * HOUR), &s, 30 * DAY).unwrap();
        assert_eq!(r.percent, 100.0);
        assert_eq!(r.duration_seconds, 20 * HOUR);
    }

    #[test]
    fn relief_needs_a_recent_nonzero_baseline_and_a_later_score() {
        let old = scores(&[(-24 * 31, 7.0), (5, 2.0)]);
        assert_eq!(
            relief_after(0, None, &old, 30 * DAY),
            Err(ReliefGap::NoBaseline)
        );
        assert_eq!(
            relief_after(0, None, &scores(&[(-1, 0.0), (5, 0.0)]), 30 * DAY),
            Err(ReliefGap::ZeroBaseline)
        );
        assert_eq!(
            relief_after(0, None, &scores(&[(-1, 5.0), (0, 2.0)]), 30 * DAY),
            Err(ReliefGap::NoFollowUp)
        );
        let worse = relief_after(0, None, &scores(&[(-1, 5.0), (3, 6.0)]), 30 * DAY).unwrap();
        assert_eq!(
            (worse.percent, worse.duration_seconds, worse.ongoing),
            (0.0, 0, false)
        );
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(
            duration_for(8 * HOUR),
            Duration {
                value: 8.0,
                unit: DurationUnit::Hour
            }
        );
        assert_eq!(duration_for(47 * HOUR).unit, DurationUnit::Hour);
        assert_eq!(
            duration_for(2 * DAY),
            Duration {
                value: 2.0,
                unit: DurationUnit::Day
            }
        );
        assert_eq!(duration_for(55 * DAY).unit, DurationUnit::Day);
        assert_eq!(
            duration_for(84 * DAY),
            Duration {
                value: 12.0,
                unit: DurationUnit::Week
            }
        );
    }
}
