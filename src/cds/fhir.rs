//! The FHIR R4 resources the CDS Hooks services read from prefetch, and FHIR date-times.
//!
//! The types are tolerant of members they do not read (a real EHR sends far more than we use) and
//! strict about the ones they do: a member of the wrong type makes the resource invalid, never
//! silently absent. Only the members the mapping reads are modelled.

use serde::Deserialize;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::parsing::Parsed;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

impl CodeableConcept {
    /// Whether `text` or any coding's `display` contains `needle` (ASCII case-insensitive).
    pub fn mentions(&self, needle: &str) -> bool {
        let needle = needle.to_ascii_lowercase();
        let contains = |text: &str| text.to_ascii_lowercase().contains(&needle);
        self.text.as_deref().is_some_and(contains)
            || self
                .coding
                .iter()
                .filter_map(|c| c.display.as_deref())
                .any(contains)
    }

    /// Whether any coding has one of these codes (in any system).
    fn has_code(&self, codes: &[&str]) -> bool {
        self.coding
            .iter()
            .filter_map(|c| c.code.as_deref())
            .any(|code| codes.contains(&code))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Reference {
    pub reference: Option<String>,
}

impl Reference {
    /// Whether the reference, relative (`Patient/1`) or absolute (`https://…/Patient/1`), names
    /// this patient.
    pub fn is_patient(&self, patient_id: &str) -> bool {
        self.reference.as_deref().is_some_and(|reference| {
            reference
                .strip_suffix(patient_id)
                .is_some_and(|head| head == "Patient/" || head.ends_with("/Patient/"))
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Quantity {
    pub value: Option<f64>,
}

/// A FHIR R4 `Procedure`, as far as the mapping reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Procedure {
    pub id: Option<String>,
    pub status: String,
    pub code: Option<CodeableConcept>,
    pub subject: Reference,
    pub performed_date_time: Option<String>,
    pub performed_period: Option<Period>,
}

impl Procedure {
    /// When the procedure was performed: `performedDateTime`, else the period's start, else its end.
    pub fn performed(&self) -> Option<&str> {
        self.performed_date_time.as_deref().or_else(|| {
            self.performed_period
                .as_ref()
                .and_then(|p| p.start.as_deref().or(p.end.as_deref()))
        })
    }
}

/// A FHIR R4 `ServiceRequest` from `context.draftOrders` of `order-select`, as far as the order
/// check reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    pub id: Option<String>,
    pub status: String,
    pub intent: String,
    pub code: Option<CodeableConcept>,
    pub subject: Reference,
}

/// A FHIR R4 `Observation`, as far as the mapping reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub status: String,
    pub code: CodeableConcept,
    pub subject: Option<Reference>,
    pub effective_date_time: Option<String>,
    pub effective_instant: Option<String>,
    pub effective_period: Option<Period>,
    pub value_integer: Option<i64>,
    pub value_quantity: Option<Quantity>,
}

impl Observation {
    /// When the observation applies: `effectiveDateTime`, `effectiveInstant`, else the period's start.
    pub fn effective(&self) -> Option<&str> {
        self.effective_date_time
            .as_deref()
            .or(self.effective_instant.as_deref())
            .or_else(|| {
                self.effective_period
                    .as_ref()
                    .and_then(|p| p.start.as_deref())
            })
    }

    /// `valueInteger`, else `valueQuantity.value`.
    pub fn value(&self) -> Option<f64> {
        self.value_integer
            .map(|v| v as f64)
            .or_else(|| self.value_quantity.as_ref().and_then(|q| q.value))
    }
}

/// A FHIR R4 `Condition`, as far as the mapping reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    pub subject: Reference,
}

impl Condition {
    /// Clinically active (`active`, `recurrence`, `relapse`) and neither refuted nor entered in error.
    pub fn is_active(&self) -> bool {
        let active = self
            .clinical_status
            .as_ref()
            .is_some_and(|s| s.has_code(&["active", "recurrence", "relapse"]));
        let voided = self
            .verification_status
            .as_ref()
            .is_some_and(|s| s.has_code(&["refuted", "entered-in-error"]));
        active && !voided
    }
}

/// A FHIR id: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// A point in time read from a FHIR `date`, `dateTime` or `instant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Seconds since 1970-01-01T00:00:00Z. A date without a time is taken as 00:00 UTC.
    At(i64),
    /// Only a year, or a year and a month: too coarse to order pain scores and procedures.
    Imprecise,
}

/// `2026`: a FHIR year (four digits).
const YEAR: &[BorrowedFormatItem<'_>] = format_description!("[year]");
/// `2026-11`: a FHIR year and month.
const YEAR_MONTH: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]");
/// `2026-11-02`: a FHIR `date`.
const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");
/// `2026-11-02T08:00:00(.125)`: a FHIR `dateTime` before its zone.
const LOCAL: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
/// `2026-11-02T10:00:00(.125)+02:00`: a FHIR `dateTime` with a numeric offset.
const OFFSET: &[BorrowedFormatItem<'_>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
);
/// `2026-11-02 08:00 UTC`, for card text.
const CARD: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// Parses a FHIR `date`/`dateTime`/`instant`; `None` when the text is not one.
pub fn parse_moment(text: &str) -> Option<Moment> {
    // `[year]` also takes a sign, which a FHIR year never has.
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let whole = |format| {
        Parsed::new()
            .parse_items(text.as_bytes(), format)
            .is_ok_and(|rest| rest.is_empty())
    };
    if whole(YEAR) || whole(YEAR_MONTH) {
        return Some(Moment::Imprecise);
    }
    if let Ok(date) = Date::parse(text, DATE) {
        return Some(Moment::At(date.midnight().assume_utc().unix_timestamp()));
    }
    // FHIR allows a leap second (`:60`), which the formats refuse: read as the second after `:59`.
    let (text, leap) = match (text.get(..17), text.get(17..19), text.get(19..)) {
        (Some(head), Some("60"), Some(tail)) => (format!("{head}59{tail}").into(), 1),
        _ => (std::borrow::Cow::Borrowed(text), 0),
    };
    let at = if let Some(local) = text.strip_suffix('Z') {
        PrimitiveDateTime::parse(local, LOCAL).ok()?.assume_utc()
    } else {
        // FHIR offsets run from -14:00 to +14:00.
        OffsetDateTime::parse(&text, OFFSET)
            .ok()
            .filter(|at| at.offset().whole_hours().abs() <= 14)?
    };
    Some(Moment::At(at.unix_timestamp() + leap))
}

/// `2026-11-02 08:00 UTC`, for card text.
pub fn format_moment(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| at.format(CARD).ok())
        .unwrap_or_else(|| format!("{seconds} seconds after 1970-01-01 UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fhir_date_times_to_utc_seconds() {
        assert_eq!(parse_moment("1970-01-01"), Some(Moment::At(0)));
        assert_eq!(
            parse_moment("1970-01-02T00:00:00Z"),
            Some(Moment::At(86_400))
        );
        assert_eq!(
            parse_moment("2026-11-02T10:00:00+02:00"),
            parse_moment("2026-11-02T08:00:00Z")
        );
        assert_eq!(
            parse_moment("2026-11-02T08:00:00.125-00:30"),
            parse_moment("2026-11-02T08:30:00Z")
        );
        assert_eq!(
            parse_moment("2024-02-29"),
            parse_moment("2024-02-29T00:00:00Z")
        );
        assert_eq!(
            parse_moment("2016-12-31T23:59:60Z"),
            parse_moment("2017-01-01T00:00:00Z")
        );
        assert_eq!(parse_moment("2026"), Some(Moment::Imprecise));
        assert_eq!(parse_moment("2026-11"), Some(Moment::Imprecise));
    }

    #[test]
    fn rejects_what_is_not_a_fhir_date_time() {
        for bad in [
            "",
            "26-11-02",
            "2026-13-01",
            "2025-02-29",
            "2026-11-02T08:00Z",
            "2026-11-02T08:00:00",
            "2026-11-02T24:00:00Z",
            "2026-11-02T08:00:00.Z",
            "2026-11-02 08:00:00Z",
            "2026-11-02T08:00:00+0200",
            "2026-11-02t08:00:00Z",
            "2026-11-02T08:00:00z",
            "2026-11-02T08:00:00+15:00",
            "2026-11-02T08:00:61Z",
            "2026-11-02T08:00:00Z ",
            "-2026",
            "+2026-11-02",
            "2026-1",
            "20261",
            "yesterday",
        ] {
            assert_eq!(parse_moment(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip_through_civil_dates() {
        let Some(Moment::At(at)) = parse_moment("2026-11-02T08:05:00Z") else {
            panic!("parses")
        };
        assert_eq!(format_moment(at), "2026-11-02 08:05 UTC");
        let Some(Moment::At(leap)) = parse_moment("2000-02-29T23:59:00Z") else {
            panic!("parses")
        };
        assert_eq!(format_moment(leap), "2000-02-29 23:59 UTC");
        let Some(Moment::At(before)) = parse_moment("1969-12-31T23:59:00Z") else {
            panic!("parses")
        };
        assert_eq!(format_moment(before), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn patient_references_relative_or_absolute() {
        let reference = |text: &str| Reference {
            reference: Some(text.to_owned()),
        };
        assert!(reference("Patient/p1").is_patient("p1"));
        assert!(reference("https://ehr.example/fhir/Patient/p1").is_patient("p1"));
        assert!(!reference("Patient/xp1").is_patient("p1"));
        assert!(!reference("Group/p1").is_patient("p1"));
        assert!(!Reference::default().is_patient("p1"));
    }

    #[test]
    fn reads_only_the_members_it_models_and_checks_their_types() {
        let procedure: Procedure = serde_json::from_str(
            r#"{"resourceType":"Procedure","status":"completed","subject":{"reference":"Patient/1"},
                "performedPeriod":{"start":"2026-01-01"},"note":[{"text":"ignored"}]}"#,
        )
        .unwrap();
        assert_eq!(procedure.performed(), Some("2026-01-01"));
        assert!(
            serde_json::from_str::<Procedure>(
                r#"{"status":7,"subject":{"reference":"Patient/1"}}"#
            )
            .is_err()
        );
        let observation: Observation = serde_json::from_str(
            r#"{"status":"final","code":{"text":"pain"},"valueQuantity":{"value":4,"unit":"{score}"}}"#,
        )
        .unwrap();
        assert_eq!(observation.value(), Some(4.0));
    }
}
