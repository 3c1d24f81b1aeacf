//! The FHIR R4 resources the CDS Hooks services read from prefetch, and FHIR date-times.
//!
//! The types are tolerant of members they do not read (a real EHR sends far more than we use) and
//! strict about the ones they do: a member of the wrong type makes the resource invalid, never
//! silently absent. Only the members the mapping reads are modelled.

use serde::Deserialize;

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

/// Parses a FHIR `date`/`dateTime`/`instant`; `None` when the text is not one.
pub fn parse_moment(text: &str) -> Option<Moment> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let slice = b.get(range)?;
        if slice.is_empty() || !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(slice.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let year = digits(0..4)?;
    if b.len() == 4 {
        return Some(Moment::Imprecise);
    }
    if b.get(4) != Some(&b'-') {
        return None;
    }
    let month = digits(5..7).filter(|m| (1..=12).contains(m))?;
    if b.len() == 7 {
        return Some(Moment::Imprecise);
    }
    if b.get(7) != Some(&b'-') {
        return None;
    }
    let day = digits(8..10).filter(|d| (1..=days_in_month(year, month)).contains(d))?;
    let date = days_from_civil(year, month, day) * 86_400;
    if b.len() == 10 {
        return Some(Moment::At(date));
    }
    if b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let hour = digits(11..13).filter(|h| *h < 24)?;
    let minute = digits(14..16).filter(|m| *m < 60)?;
    let second = digits(17..19).filter(|s| *s <= 60)?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        rest = &fraction[end..];
    }
    let offset = match rest.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = two_digits(*h1, *h2).filter(|h| *h <= 14)?;
            let minutes = two_digits(*m1, *m2).filter(|m| *m < 60)?;
            let offset = hours * 3_600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    Some(Moment::At(
        date + hour * 3_600 + minute * 60 + second - offset,
    ))
}

fn two_digits(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The UTC calendar date of a day number (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-02 08:00 UTC`, for card text.
pub fn format_moment(seconds: i64) -> String {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        in_day / 3_600,
        in_day % 3_600 / 60
    )
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
