//! What the request's types cannot say: the ranges its schema declares, checked on a typed request,
//! and the rules between fields (contract 4.1 v2): relief needs a duration, the medial branch block
//! fields, the lumbar-only fields, the timeline, and the 100-year limit on every duration.
//!
//! The rules run on [`Related`], the fields they relate, read either from a typed request or from
//! the members of a body that failed to read, where each rule still runs on the fields that are
//! valid, so that one answer names every offending field.

use super::shape::{self, Object, Shape};
use super::{FieldError, HistoryEntry, PreviousBlock, TriageRequest};
use crate::json::Json;
use crate::vocab::{Duration, ModicChanges, Procedure, Region};
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Longest accepted duration, whatever the unit: 100 Julian years.
pub const MAX_DURATION_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// The shapes a typed request's values are checked against, found once in its schema, the one
/// place that declares their ranges and lengths.
struct Declared {
    percent_relief: &'static Shape,
    previous_percent_relief: &'static Shape,
    pain_duration_months: &'static Shape,
    conservative_care_weeks: &'static Shape,
    block_number: &'static Shape,
    /// Every duration's `value` (`RequestDuration`).
    duration_value: &'static Shape,
    profile: &'static Shape,
    pathway: &'static Shape,
    procedure_history: &'static Shape,
}

/// The most `procedure_history` entries a request may carry, as its schema declares.
pub fn max_history() -> usize {
    match declared().procedure_history {
        Shape::Array {
            max_items: Some(max),
            ..
        } => *max,
        other => panic!("procedure_history is not a bounded list: {other:?}"),
    }
}

fn declared() -> &'static Declared {
    static DECLARED: OnceLock<Declared> = OnceLock::new();
    DECLARED.get_or_init(|| {
        let at = |path: &[&str]| shape::request().at(path);
        Declared {
            percent_relief: at(&["percent_relief"]),
            previous_percent_relief: at(&["previous_block", "percent_relief"]),
            pain_duration_months: at(&["pain_duration_months"]),
            conservative_care_weeks: at(&["conservative_care_weeks"]),
            block_number: at(&["block_number"]),
            duration_value: at(&["relief_duration", "value"]),
            profile: at(&["profile"]),
            pathway: at(&["pathway"]),
            procedure_history: at(&["procedure_history"]),
        }
    })
}

/// Checks a typed number against its shape; `pointer` is written only for an error.
fn number(
    shape: &Shape,
    value: f64,
    pointer: impl FnOnce() -> String,
    errors: &mut Vec<FieldError>,
) {
    if !shape.admits_number(value) {
        errors.push(FieldError::new(pointer(), shape.limits_message()));
    }
}

/// Checks the ranges of a typed request, as the schema declares them.
pub(super) fn check_ranges(request: &TriageRequest, errors: &mut Vec<FieldError>) {
    let declared = declared();
    number(
        declared.percent_relief,
        request.percent_relief,
        || "/percent_relief".into(),
        errors,
    );
    if let Some(previous) = &request.previous_block {
        let shape = declared.previous_percent_relief;
        let pointer = || "/previous_block/percent_relief".into();
        number(shape, previous.percent_relief, pointer, errors);
    }
    if let Some(months) = request.pain_duration_months {
        let pointer = || "/pain_duration_months".into();
        number(declared.pain_duration_months, months, pointer, errors);
    }
    if let Some(weeks) = request.conservative_care_weeks {
        let pointer = || "/conservative_care_weeks".into();
        number(declared.conservative_care_weeks, weeks, pointer, errors);
    }
    if let Some(block) = request.block_number {
        let pointer = || "/block_number".into();
        number(declared.block_number, f64::from(block), pointer, errors);
    }
    let duration = declared.duration_value;
    let value = request.relief_duration.value;
    number(duration, value, || "/relief_duration/value".into(), errors);
    if let Some(previous) = &request.previous_block {
        let pointer = || "/previous_block/relief_duration/value".into();
        number(duration, previous.relief_duration.value, pointer, errors);
    }
    if let Some(since) = request.time_since_procedure {
        number(
            duration,
            since.value,
            || "/time_since_procedure/value".into(),
            errors,
        );
    }
    if let Some(history) = &request.procedure_history {
        let shape = declared.procedure_history;
        if !shape.admits_entries(history.len()) {
            errors.push(FieldError::new(
                "/procedure_history",
                shape.limits_message(),
            ));
        }
        for (index, entry) in history.iter().enumerate() {
            let pointer = || format!("/procedure_history/{index}/time_ago/value");
            number(duration, entry.time_ago.value, pointer, errors);
        }
    }
    for (id, shape, pointer) in [
        (&request.profile, declared.profile, "/profile"),
        (&request.pathway, declared.pathway, "/pathway"),
    ] {
        if let Some(id) = id
            && !shape.admits_length(id.chars().count())
        {
            errors.push(FieldError::new(pointer, shape.limits_message()));
        }
    }
}

/// A duration is at most 100 years; `pointer` is written only for an error.
fn within(
    duration: Duration,
    pointer: impl FnOnce() -> String,
    errors: &mut Vec<FieldError>,
) -> bool {
    let ok = duration.seconds() <= MAX_DURATION_SECONDS;
    if !ok {
        errors.push(FieldError::new(pointer(), "must not exceed 100 years"));
    }
    ok
}

/// What a rule knows of a field that may be left out.
#[derive(Debug, Clone, Copy)]
pub(super) enum Given<T> {
    Absent,
    /// Given, but not valid on its own.
    Invalid,
    Valid(T),
}

impl<T> From<Option<T>> for Given<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Given::Absent, Given::Valid)
    }
}

impl<T> Given<T> {
    fn valid(self) -> Option<T> {
        match self {
            Given::Valid(value) => Some(value),
            _ => None,
        }
    }

    fn is_given(&self) -> bool {
        !matches!(self, Given::Absent)
    }
}

/// The fields the rules relate; `None` where a field is absent or not valid on its own.
pub(super) struct Related<'a> {
    region: Option<Region>,
    procedure: Option<Procedure>,
    percent_relief: Option<f64>,
    relief_duration: Option<Duration>,
    block_number: Given<u8>,
    previous_block: Given<&'a PreviousBlock>,
    sacroiliac_signs: Option<bool>,
    modic_changes: Option<ModicChanges>,
    time_since_procedure: Option<Duration>,
    procedure_history: Option<&'a [HistoryEntry]>,
}

impl<'a> Related<'a> {
    pub fn of(request: &'a TriageRequest) -> Related<'a> {
        Related {
            region: Some(request.region),
            procedure: Some(request.procedure),
            percent_relief: Some(request.percent_relief),
            relief_duration: Some(request.relief_duration),
            block_number: Given::from(request.block_number),
            previous_block: Given::from(request.previous_block.as_ref()),
            sacroiliac_signs: Some(request.sacroiliac_signs),
            modic_changes: request.modic_changes,
            time_since_procedure: request.time_since_procedure,
            procedure_history: request.procedure_history.as_deref(),
        }
    }

    /// Reports every rule broken by the fields that are valid on their own.
    pub fn check(self, errors: &mut Vec<FieldError>) {
        let relief_duration = (self.relief_duration)
            .filter(|duration| within(*duration, || "/relief_duration/value".into(), errors));
        if let Given::Valid(previous) = self.previous_block {
            let pointer = "/previous_block/relief_duration/value";
            if within(previous.relief_duration, || pointer.into(), errors) {
                relief_needs_duration(
                    previous.percent_relief,
                    previous.relief_duration,
                    pointer,
                    errors,
                );
            }
        }
        let since = (self.time_since_procedure)
            .filter(|duration| within(*duration, || "/time_since_procedure/value".into(), errors));
        let history = self.procedure_history.filter(|history| {
            let mut ok = true;
            for (index, entry) in history.iter().enumerate() {
                let pointer = || format!("/procedure_history/{index}/time_ago/value");
                ok &= within(entry.time_ago, pointer, errors);
            }
            ok
        });

        if let (Some(percent), Some(duration)) = (self.percent_relief, relief_duration) {
            relief_needs_duration(percent, duration, "/relief_duration/value", errors);
        }
        let only_mbb = "is only valid when procedure is medial_branch_block";
        if let Some(procedure) = self.procedure
            && procedure != Procedure::MedialBranchBlock
        {
            if self.block_number.is_given() {
                errors.push(FieldError::new("/block_number", only_mbb));
            }
            if self.previous_block.is_given() {
                errors.push(FieldError::new("/previous_block", only_mbb));
            }
        } else if self.previous_block.is_given()
            && !matches!(self.block_number, Given::Valid(2) | Given::Invalid)
        {
            errors.push(FieldError::new(
                "/previous_block",
                "is only valid when block_number is 2",
            ));
        }
        let outside_lumbar = self.region.is_some_and(|region| region != Region::Lumbar);
        if outside_lumbar && self.sacroiliac_signs == Some(true) {
            errors.push(FieldError::new(
                "/sacroiliac_signs",
                "may be true only when region is lumbar",
            ));
        }
        if outside_lumbar && self.modic_changes.is_some() {
            errors.push(FieldError::new(
                "/modic_changes",
                "is only valid when region is lumbar",
            ));
        }
        check_timeline(relief_duration, since, history, errors);
    }
}

/// Runs the rules on the members of a body whose fields were checked against `shape`, with
/// `states` saying which members are valid on their own ([`Object::check_members`]).
pub(super) fn check_members(
    members: &[(Cow<'_, str>, Json<'_>)],
    shape: &Object,
    states: &[Option<bool>],
    errors: &mut Vec<FieldError>,
) {
    let state = |name: &str| -> Given<&Json<'_>> {
        let index = shape.members.iter().position(|m| m.name == name);
        match index.and_then(|index| states[index]) {
            // Left out, or `null` (already reported): the rules see the field as left out.
            None => Given::Absent,
            Some(false) => Given::Invalid,
            Some(true) => members
                .iter()
                .find(|(key, _)| key == name)
                .map_or(Given::Absent, |(_, value)| Given::Valid(value)),
        }
    };
    let previous_block: Given<PreviousBlock> = read(state("previous_block"));
    let history: Option<Vec<HistoryEntry>> = read(state("procedure_history")).valid();
    let related = Related {
        region: read(state("region")).valid(),
        procedure: read(state("procedure")).valid(),
        percent_relief: read(state("percent_relief")).valid(),
        relief_duration: read(state("relief_duration")).valid(),
        block_number: read(state("block_number")),
        previous_block: match &previous_block {
            Given::Absent => Given::Absent,
            Given::Invalid => Given::Invalid,
            Given::Valid(block) => Given::Valid(block),
        },
        sacroiliac_signs: read(state("sacroiliac_signs")).valid(),
        modic_changes: read(state("modic_changes")).valid(),
        time_since_procedure: read(state("time_since_procedure")).valid(),
        procedure_history: history.as_deref(),
    };
    related.check(errors);
}

/// The typed value of a member that is valid on its own.
fn read<T: DeserializeOwned>(state: Given<&Json<'_>>) -> Given<T> {
    match state {
        Given::Absent => Given::Absent,
        Given::Invalid => Given::Invalid,
        Given::Valid(value) => {
            serde_json::from_value(value.to_value()).map_or(Given::Invalid, Given::Valid)
        }
    }
}

fn relief_needs_duration(
    percent: f64,
    duration: Duration,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) {
    if percent > 0.0 && duration.value == 0.0 {
        errors.push(FieldError::new(
            pointer,
            "must be greater than 0 when percent_relief is greater than 0",
        ));
    }
}

/// The rules between the timeline's fields: the relief cannot have lasted longer than the time
/// since the procedure, and every earlier procedure lies before the index one.
fn check_timeline(
    relief_duration: Option<Duration>,
    time_since_procedure: Option<Duration>,
    history: Option<&[HistoryEntry]>,
    errors: &mut Vec<FieldError>,
) {
    let Some(since) = time_since_procedure else {
        return;
    };
    if relief_duration.is_some_and(|relief| relief.seconds() > since.seconds()) {
        errors.push(FieldError::new(
            "/relief_duration",
            "must not be longer than time_since_procedure",
        ));
    }
    for (index, entry) in history.unwrap_or_default().iter().enumerate() {
        if entry.time_ago.seconds() < since.seconds() {
            errors.push(FieldError::new(
                format!("/procedure_history/{index}/time_ago"),
                "must not be shorter than time_since_procedure: earlier procedures come before the index one",
            ));
        }
    }
}
