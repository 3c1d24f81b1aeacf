//! From FHIR R4 prefetch to a triage request, exactly as contract section 7 defines it.
//!
//! - index procedure: the latest `completed` Procedure, by `performed[x]`, with a facet CPT code;
//! - kind: 64633-64636 is radiofrequency ablation; 64490-64495 is a medial branch block when
//!   `code.text` or a coding's `display` contains "medial branch" (any case), else an
//!   intra-articular injection;
//! - region: 64493-64495 and 64635-64636 lumbar; 64490-64492 and 64633-64634 cervical, or thoracic
//!   when `code.text` or a `display` contains "thoracic" (any case);
//! - `block_number` 2 when an earlier completed medial branch block of the same region lies within
//!   180 days before; `previous_block` is that block's result (the latest such block);
//! - relief: the baseline is the last LOINC 72514-3 score in the 30 days before the procedure;
//!   relief at a later score is (baseline - score) / baseline; `percent_relief` is the highest relief
//!   before the next facet procedure; `relief_duration` runs from the procedure to the first score
//!   after that peak whose relief is below half the peak, else to the latest score, with
//!   `relief_ongoing`;
//! - `radicular_symptoms`: an active Condition coded ICD-10-CM M54.1x, M51.1x or M50.1x; red flag
//!   `cauda_equina`: G83.4.
//!
//! These codes and windows are the contract's interface between FHIR and the triage request, not
//! pathway content: what the pathway does with the request stays in the pathway file.

use super::fhir::{self, CPT, CodeableConcept, ICD_10_CM, LOINC, Moment};
use super::hook::{Entry, Prefetch};
use super::outcome::CdsError;
use crate::json::Json;
use crate::request::{self, RequestError, TriageRequest};
use crate::vocab::{Duration, DurationUnit, Procedure, RedFlag, Region};
use serde::Deserialize;
use serde_json::{Value, json};

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;
/// The baseline pain score must lie this close before the procedure.
const BASELINE_WINDOW: i64 = 30 * DAY;
/// An earlier medial branch block this close before makes the index block the second one.
const COMPARATIVE_BLOCK_WINDOW: i64 = 180 * DAY;
/// The pain score the mapping reads: LOINC "Pain severity - 0-10 verbal numeric rating".
pub const PAIN_SCORE_LOINC: &str = "72514-3";
/// Pain scores are on a 0 to 10 scale.
const PAIN_SCORE_MAX: f64 = 10.0;

/// CPT codes of facet procedures, as `(code, ablation, lumbar)`; the others are cervical or thoracic.
const FACET_CPT: &[(&str, bool, bool)] = &[
    ("64490", false, false),
    ("64491", false, false),
    ("64492", false, false),
    ("64493", false, true),
    ("64494", false, true),
    ("64495", false, true),
    ("64633", true, false),
    ("64634", true, false),
    ("64635", true, true),
    ("64636", true, true),
];

/// Every facet procedure CPT code, for the prefetch templates.
pub fn facet_cpt_codes() -> impl Iterator<Item = &'static str> {
    FACET_CPT.iter().map(|(code, _, _)| *code)
}

/// ICD-10-CM code prefixes (without the dot) that mean radicular symptoms: M54.1x, M51.1x, M50.1x.
const RADICULOPATHY_ICD: &[&str] = &["M541", "M511", "M501"];
/// ICD-10-CM codes (without the dot) read as red flags: G83.4 cauda equina syndrome.
const RED_FLAG_ICD: &[(&str, RedFlag)] = &[("G834", RedFlag::CaudaEquina)];

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
    /// Facet CPT codes of different kinds or regions in one concept.
    Conflicting,
}

/// Reads a Procedure's (or a ServiceRequest's) `code` as a facet procedure.
pub fn classify(code: &CodeableConcept) -> Classified {
    let mut found: Option<FacetCode> = None;
    for cpt in code.codes(CPT) {
        let Some(&(_, ablation, lumbar)) = FACET_CPT.iter().find(|(c, _, _)| *c == cpt) else {
            continue;
        };
        let procedure = if ablation {
            Procedure::RadiofrequencyAblation
        } else if code.mentions("medial branch") {
            Procedure::MedialBranchBlock
        } else {
            Procedure::IntraArticularInjection
        };
        let region = if lumbar {
            Region::Lumbar
        } else if code.mentions("thoracic") {
            Region::Thoracic
        } else {
            Region::Cervical
        };
        let this = FacetCode { procedure, region };
        match found {
            Some(earlier) if earlier != this => return Classified::Conflicting,
            _ => found = Some(this),
        }
    }
    found.map_or(Classified::NotFacet, Classified::Facet)
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
    /// What is missing, for a clinician.
    pub fn missing(self) -> &'static str {
        match self {
            ReliefGap::NoBaseline => {
                "a baseline pain score (LOINC 72514-3) in the 30 days before the procedure"
            }
            ReliefGap::ZeroBaseline => {
                "a baseline pain score above 0: the last score before the procedure is 0, so relief cannot be measured"
            }
            ReliefGap::NoFollowUp => {
                "a pain score (LOINC 72514-3) recorded after the procedure, before any later facet procedure"
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
    pub missing: Vec<&'static str>,
    /// Red flags on record, which a clinician must not miss even without a triage answer.
    pub red_flags: Vec<RedFlag>,
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
    /// The request as JSON, exactly as validated.
    pub request_json: Value,
    pub request: TriageRequest,
}

/// Maps the prefetched record to a triage request.
pub fn map(prefetch: &Prefetch) -> Result<Mapping, CdsError> {
    let (events, imprecise) = facet_events(&prefetch.procedures)?;
    let scores = pain_scores(&prefetch.pain)?;
    let (radicular, red_flags) = conditions(prefetch);

    let Some(index) = events.last().cloned() else {
        if imprecise {
            return Ok(Mapping::Unassessable(Unassessable {
                procedure: None,
                missing: vec![
                    "the date and time the facet procedure was performed (performedDateTime or performedPeriod, at least a full date)",
                ],
                red_flags,
            }));
        }
        return Ok(Mapping::NoFacetProcedure);
    };
    let Some(code) = index.code else {
        return Ok(Mapping::Unassessable(Unassessable {
            procedure: Some(index),
            missing: vec![
                "one kind and region for the latest facet procedure: its CPT codes name different ones",
            ],
            red_flags,
        }));
    };
    let relief = match relief_after(index.at, None, &scores) {
        Ok(relief) => relief,
        Err(gap) => {
            return Ok(Mapping::Unassessable(Unassessable {
                procedure: Some(index),
                missing: vec![gap.missing()],
                red_flags,
            }));
        }
    };

    let previous = (code.procedure == Procedure::MedialBranchBlock)
        .then(|| {
            events
                .iter()
                .rev()
                .skip(1)
                .take_while(|e| index.at - e.at <= COMPARATIVE_BLOCK_WINDOW)
                .find(|e| e.at < index.at && e.code == Some(code))
        })
        .flatten()
        .map(|block| {
            let next = events.iter().find(|e| e.at > block.at).map(|e| e.at);
            (block.clone(), relief_after(block.at, next, &scores))
        });

    let mut request_json = json!({
        "region": code.region.as_str(),
        "procedure": code.procedure.as_str(),
        "percent_relief": relief.percent,
        "relief_duration": duration_json(relief.duration_seconds),
        "radicular_symptoms": radicular,
    });
    let body = request_json.as_object_mut().expect("a JSON object literal");
    if relief.ongoing {
        body.insert("relief_ongoing".into(), Value::Bool(true));
    }
    if let Some((_, first)) = &previous {
        body.insert("block_number".into(), json!(2));
        if let Ok(first) = first {
            body.insert(
                "previous_block".into(),
                json!({
                    "percent_relief": first.percent,
                    "relief_duration": duration_json(first.duration_seconds),
                }),
            );
        }
    }
    if !red_flags.is_empty() {
        let names: Vec<&str> = red_flags.iter().map(|f| f.as_str()).collect();
        body.insert("red_flags".into(), json!(names));
    }
    let document = Json::deserialize(&request_json).map_err(|_| {
        CdsError::new(
            500,
            "exception",
            "the triage request could not be built",
            None,
        )
    })?;
    let request = request::from_json(document).map_err(|error| {
        let detail = match error {
            RequestError::Syntax(_) => "the triage request could not be built".to_owned(),
            RequestError::Invalid(fields) => fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        };
        CdsError::new(
            422,
            "business-rule",
            format!("the prefetched record maps to an invalid triage request ({detail})"),
            Some("prefetch".to_owned()),
        )
    })?;
    Ok(Mapping::Mapped(Box::new(Mapped {
        index,
        code,
        relief,
        previous,
        radicular,
        red_flags,
        request_json,
        request,
    })))
}

/// Completed facet procedures with a precise time, oldest first (ties keep bundle order), and
/// whether any was left out for an imprecise or missing time.
fn facet_events(
    procedures: &[Entry<fhir::Procedure>],
) -> Result<(Vec<FacetEvent>, bool), CdsError> {
    let mut events = Vec::new();
    let mut imprecise = false;
    for entry in procedures {
        let procedure = &entry.resource;
        if procedure.status != "completed" {
            continue;
        }
        let code = match procedure.code.as_ref().map(classify) {
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

/// Usable 72514-3 scores with a precise time, oldest first (ties keep bundle order).
fn pain_scores(pain: &[Entry<fhir::Observation>]) -> Result<Vec<Score>, CdsError> {
    let mut scores = Vec::new();
    for entry in pain {
        let observation = &entry.resource;
        if !observation.is_usable() || !observation.code.codes(LOINC).any(|c| c == PAIN_SCORE_LOINC)
        {
            continue;
        }
        let Some(value) = observation.value() else {
            continue;
        };
        if !(0.0..=PAIN_SCORE_MAX).contains(&value) {
            return Err(CdsError::new(
                422,
                "value",
                "a 72514-3 pain score must be from 0 to 10",
                Some(format!("{}.value", entry.path)),
            ));
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
    Ok(scores)
}

/// Radicular symptoms and red flags from the active ICD-10-CM coded conditions.
fn conditions(prefetch: &Prefetch) -> (bool, Vec<RedFlag>) {
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
        for icd in code.codes(ICD_10_CM) {
            let compact: String = icd
                .chars()
                .filter(|c| *c != '.')
                .map(|c| c.to_ascii_uppercase())
                .collect();
            if RADICULOPATHY_ICD.iter().any(|p| compact.starts_with(p)) {
                radicular = true;
            }
            for (prefix, flag) in RED_FLAG_ICD {
                if compact.starts_with(prefix) && !red_flags.contains(flag) {
                    red_flags.push(*flag);
                }
            }
        }
    }
    red_flags.sort();
    (radicular, red_flags)
}

/// The relief after a procedure at `at`, up to the next facet procedure at `next`.
fn relief_after(at: i64, next: Option<i64>, scores: &[Score]) -> Result<Relief, ReliefGap> {
    let baseline = scores
        .iter()
        .rev()
        .find(|s| s.at < at && at - s.at <= BASELINE_WINDOW)
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

fn duration_json(seconds: i64) -> Value {
    let duration = duration_for(seconds);
    json!({"value": duration.value, "unit": duration.unit.as_str()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cds::fhir::Coding;

    fn concept(codes: &[&str], text: &str) -> CodeableConcept {
        CodeableConcept {
            coding: codes
                .iter()
                .map(|c| Coding {
                    system: Some(CPT.into()),
                    code: Some((*c).into()),
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
    fn classifies_kind_and_region_from_cpt_and_text() {
        use Procedure::*;
        use Region::*;
        assert_eq!(
            classify(&concept(&["64493"], "Facet joint injection")),
            facet(IntraArticularInjection, Lumbar)
        );
        assert_eq!(
            classify(&concept(&["64494", "64493"], "MEDIAL BRANCH block")),
            facet(MedialBranchBlock, Lumbar)
        );
        assert_eq!(
            classify(&concept(&["64490"], "medial branch block C5-6")),
            facet(MedialBranchBlock, Cervical)
        );
        assert_eq!(
            classify(&concept(&["64490"], "Thoracic medial branch block")),
            facet(MedialBranchBlock, Thoracic)
        );
        assert_eq!(
            classify(&concept(&["64633"], "thoracic medial branch RFA")),
            facet(RadiofrequencyAblation, Thoracic)
        );
        assert_eq!(
            classify(&concept(&["64636"], "")),
            facet(RadiofrequencyAblation, Lumbar)
        );
        assert_eq!(
            classify(&concept(&["64483"], "epidural")),
            Classified::NotFacet
        );
        assert_eq!(
            classify(&concept(&["64493", "64635"], "")),
            Classified::Conflicting
        );
        let mut displayed = concept(&["64491"], "");
        displayed.text = None;
        displayed.coding[0].display = Some("Medial Branch Block, second level".into());
        assert_eq!(classify(&displayed), facet(MedialBranchBlock, Cervical));
        let mut other_system = concept(&["64493"], "");
        other_system.coding[0].system = Some("http://snomed.info/sct".into());
        assert_eq!(classify(&other_system), Classified::NotFacet);
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
        let r = relief_after(0, None, &s).unwrap();
        assert!((r.percent - 600.0 / 7.0).abs() < 1e-9);
        assert_eq!(r.duration_seconds, 8 * HOUR);
        assert!(!r.ongoing);
        assert_eq!(r.peak.unwrap().at, HOUR);
    }

    #[test]
    fn relief_still_going_runs_to_the_latest_score() {
        let s = scores(&[(-48, 8.0), (24, 4.0), (24 * 14, 3.0), (24 * 70, 3.5)]);
        let r = relief_after(0, None, &s).unwrap();
        assert!((r.percent - 62.5).abs() < 1e-9);
        assert!(r.ongoing);
        assert_eq!(r.duration_seconds, 70 * DAY);
        assert_eq!(duration_for(r.duration_seconds).unit, DurationUnit::Week);
        assert_eq!(duration_for(r.duration_seconds).value, 10.0);
    }

    #[test]
    fn relief_stops_at_the_next_facet_procedure() {
        let s = scores(&[(-10, 6.0), (2, 0.0), (20, 5.0), (40, 0.0)]);
        let r = relief_after(0, Some(30 * HOUR), &s).unwrap();
        assert_eq!(r.percent, 100.0);
        assert_eq!(r.duration_seconds, 20 * HOUR);
    }

    #[test]
    fn relief_needs_a_recent_nonzero_baseline_and_a_later_score() {
        let old = scores(&[(-24 * 31, 7.0), (5, 2.0)]);
        assert_eq!(relief_after(0, None, &old), Err(ReliefGap::NoBaseline));
        assert_eq!(
            relief_after(0, None, &scores(&[(-1, 0.0), (5, 0.0)])),
            Err(ReliefGap::ZeroBaseline)
        );
        assert_eq!(
            relief_after(0, None, &scores(&[(-1, 5.0), (0, 2.0)])),
            Err(ReliefGap::NoFollowUp)
        );
        let worse = relief_after(0, None, &scores(&[(-1, 5.0), (3, 6.0)])).unwrap();
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
