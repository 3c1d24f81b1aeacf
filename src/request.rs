//! The triage request (contract section 4.1) and its strict parser.
//!
//! Parsing checks the syntax first (`400`), then every field (`422`): unknown and duplicate keys,
//! `null`, types, ranges, enumerations, units and fields that do not fit the procedure. Every
//! offending field is reported by JSON Pointer with a message naming the rule broken; the submitted
//! value is never repeated, because it is patient data.

use crate::json::{self, Json, SyntaxError, push_pointer_token};
use crate::vocab::{
    Anesthetic, Duration, DurationUnit, Guidance, ModicChanges, Procedure, RedFlag, Region,
};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// Longest accepted relief duration, whatever the unit: 100 years.
const MAX_DURATION_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;
/// Longest accepted `pain_duration_months`.
const MAX_PAIN_MONTHS: f64 = 1_200.0;
/// Longest accepted `conservative_care_weeks`.
const MAX_CARE_WEEKS: f64 = 5_200.0;
/// Longest accepted pathway or profile id.
const MAX_ID_LEN: usize = 64;

/// A validated triage request. Defaults of the contract are already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageRequest {
    pub region: Region,
    pub procedure: Procedure,
    pub percent_relief: f64,
    pub relief_duration: Duration,
    pub relief_ongoing: bool,
    pub radicular_symptoms: bool,
    /// `1` unless the client sent `2` for a medial branch block.
    pub block_number: u8,
    pub previous_block: Option<PreviousBlock>,
    pub anesthetic: Option<Anesthetic>,
    pub guidance: Guidance,
    /// The red flags present, without duplicates, in vocabulary order.
    pub red_flags: Vec<RedFlag>,
    pub pain_duration_months: Option<f64>,
    pub conservative_care_weeks: Option<f64>,
    pub recent_imaging: bool,
    pub rfa_contraindicated: bool,
    pub psychosocial_risk: bool,
    pub spinal_instability: bool,
    pub sacroiliac_signs: bool,
    /// Time from the index procedure to this assessment.
    pub time_since_procedure: Option<Duration>,
    /// Earlier facet procedures in the same region, not counting the index one.
    pub procedure_history: Option<Vec<HistoryEntry>>,
    pub myofascial_trigger_points: bool,
    /// Modic changes at L3 to S1 (lumbar only).
    pub modic_changes: Option<ModicChanges>,
    /// Criteria profile id; checked against the pathway when it is resolved.
    pub profile: Option<String>,
    /// Pathway id; checked against the loaded pathways.
    pub pathway: Option<String>,
}

/// The first block's result, given with a confirmatory (second) medial branch block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviousBlock {
    pub percent_relief: f64,
    pub relief_duration: Duration,
    pub anesthetic: Option<Anesthetic>,
}

/// An earlier facet procedure in the same region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryEntry {
    pub procedure: Procedure,
    /// How long before this assessment it was done.
    pub time_ago: Duration,
}

/// One offending field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// RFC 6901 JSON Pointer to the deepest offending member (`""` for the whole body).
    pub field: String,
    /// The rule broken, never the submitted value.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a body is not a valid triage request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON at all (`400`).
    #[error("{0}")]
    Syntax(SyntaxError),
    /// JSON, but not a valid request (`422`); every offending field, in document order.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

/// The fields an object may have, in the order they are checked, and the position of a key among
/// them by a `match`: a few length and byte comparisons, where a scan compared the key with each name.
struct Fields<const N: usize> {
    names: [&'static str; N],
    position: fn(&str) -> Option<usize>,
}

macro_rules! fields {
    ($($name:literal),+ $(,)?) => {{
        const NAMES: &[&str] = &[$($name),+];
        Fields {
            names: [$($name),+],
            position: |key| match key {
                $($name => Some(const { index_of(NAMES, $name) }),)+
                _ => None,
            },
        }
    }};
}

/// Where `name` stands in `names` (at compile time, for [`fields!`]).
const fn index_of(names: &[&str], name: &str) -> usize {
    let mut index = 0;
    while index < names.len() {
        let (a, b) = (names[index].as_bytes(), name.as_bytes());
        let mut at = 0;
        while at < a.len() && at < b.len() && a[at] == b[at] {
            at += 1;
        }
        if at == a.len() && at == b.len() {
            return index;
        }
        index += 1;
    }
    panic!("a field list holds each of its names")
}

/// Every top-level field the contract defines, in the order they are checked.
const REQUEST_FIELDS: Fields<24> = fields![
    "region",
    "procedure",
    "percent_relief",
    "relief_duration",
    "relief_ongoing",
    "radicular_symptoms",
    "block_number",
    "previous_block",
    "anesthetic",
    "guidance",
    "red_flags",
    "pain_duration_months",
    "conservative_care_weeks",
    "recent_imaging",
    "rfa_contraindicated",
    "psychosocial_risk",
    "spinal_instability",
    "sacroiliac_signs",
    "time_since_procedure",
    "procedure_history",
    "myofascial_trigger_points",
    "modic_changes",
    "profile",
    "pathway",
];

const DURATION_FIELDS: Fields<2> = fields!["value", "unit"];
const PREVIOUS_BLOCK_FIELDS: Fields<3> = fields!["percent_relief", "relief_duration", "anesthetic"];

/// Parses and validates a request body. The members of the body go straight into their fields'
/// slots as they are read; only nested values are collected into [`Json`].
pub fn parse(body: &[u8]) -> Result<TriageRequest, RequestError> {
    let mut errors = Vec::new();
    let mut slots = slots(&REQUEST_FIELDS);
    let object = json::parse_members(body, |key, value| {
        place(&REQUEST_FIELDS, &mut slots, &"", &key, value, &mut errors);
    })
    .map_err(RequestError::Syntax)?;
    if !object {
        return Err(not_an_object());
    }
    validate(&mut slots, errors)
}

/// Validates an already parsed JSON document as a request.
pub fn from_json(document: Json<'_>) -> Result<TriageRequest, RequestError> {
    let Json::Object(members) = document else {
        return Err(not_an_object());
    };
    let mut errors = Vec::new();
    let mut slots = sort(&REQUEST_FIELDS, members, &"", &mut errors);
    validate(&mut slots, errors)
}

fn not_an_object() -> RequestError {
    RequestError::Invalid(vec![FieldError::new("", "the body must be a JSON object")])
}

/// Checks every field, in the order of [`REQUEST_FIELDS`], then the rules between fields, taking
/// the values out of `slots`. `errors` holds the unknown and duplicate keys already found.
fn validate(
    slots: &mut [Slot<'_>; 24],
    mut errors: Vec<FieldError>,
) -> Result<TriageRequest, RequestError> {
    let [
        region,
        procedure,
        percent_relief,
        relief_duration,
        relief_ongoing,
        radicular_symptoms,
        block_number,
        previous_block,
        anesthetic,
        guidance,
        red_flags,
        pain_duration_months,
        conservative_care_weeks,
        recent_imaging,
        rfa_contraindicated,
        psychosocial_risk,
        spinal_instability,
        sacroiliac_signs,
        time_since_procedure,
        procedure_history,
        myofascial_trigger_points,
        modic_changes,
        profile,
        pathway,
    ] = slots;
    let mut body = Reader {
        base: &"",
        errors: &mut errors,
    };

    let region = body
        .required(region)
        .and_then(|(p, v)| enumeration(v, &p, Region::parse, Region::NAMES, body.errors));
    let procedure = body
        .required(procedure)
        .and_then(|(p, v)| enumeration(v, &p, Procedure::parse, Procedure::NAMES, body.errors));
    let percent_relief = body
        .required(percent_relief)
        .and_then(|(p, v)| percent(v, &p, body.errors));
    let relief_duration = body
        .required(relief_duration)
        .and_then(|(p, v)| duration(v, &p, body.errors));
    let relief_ongoing = body
        .optional(relief_ongoing)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let radicular_symptoms = body
        .required(radicular_symptoms)
        .and_then(|(p, v)| boolean(v, &p, body.errors));
    let block_number = body
        .optional(block_number)
        .map(|(p, v)| one_or_two(v, &p, body.errors));
    let previous_block = body
        .optional(previous_block)
        .map(|(p, v)| first_block(v, &p, body.errors));
    let anesthetic = body
        .optional(anesthetic)
        .map(|(p, v)| enumeration(v, &p, Anesthetic::parse, Anesthetic::NAMES, body.errors));
    let guidance = body
        .optional(guidance)
        .map(|(p, v)| enumeration(v, &p, Guidance::parse, Guidance::NAMES, body.errors));
    let red_flags = body
        .optional(red_flags)
        .map(|(p, v)| red_flag_set(v, &p, body.errors));
    let pain_duration_months = body
        .optional(pain_duration_months)
        .map(|(p, v)| bounded(v, &p, MAX_PAIN_MONTHS, body.errors));
    let conservative_care_weeks = body
        .optional(conservative_care_weeks)
        .map(|(p, v)| bounded(v, &p, MAX_CARE_WEEKS, body.errors));
    let recent_imaging = body
        .optional(recent_imaging)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let rfa_contraindicated = body
        .optional(rfa_contraindicated)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let psychosocial_risk = body
        .optional(psychosocial_risk)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let spinal_instability = body
        .optional(spinal_instability)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let sacroiliac_signs = body
        .optional(sacroiliac_signs)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let time_since_procedure = body
        .optional(time_since_procedure)
        .map(|(p, v)| duration(v, &p, body.errors));
    let procedure_history = body
        .optional(procedure_history)
        .map(|(p, v)| history::procedure_history(v, &p, body.errors));
    let myofascial_trigger_points = body
        .optional(myofascial_trigger_points)
        .map(|(p, v)| boolean(v, &p, body.errors));
    let modic_changes = body
        .optional(modic_changes)
        .map(|(p, v)| enumeration(v, &p, ModicChanges::parse, ModicChanges::NAMES, body.errors));
    let profile = body
        .optional(profile)
        .map(|(p, v)| identifier(v, &p, body.errors));
    let pathway = body
        .optional(pathway)
        .map(|(p, v)| identifier(v, &p, body.errors));

    // Rules that relate fields to each other; only checked where the fields themselves were valid.
    if let (Some(percent), Some(duration)) = (percent_relief, relief_duration) {
        require_duration_with_relief(percent, duration, &"/relief_duration/value", &mut errors);
    }
    if let Some(procedure) = procedure
        && procedure != Procedure::MedialBranchBlock
    {
        if block_number.is_some() {
            errors.push(FieldError::new(
                "/block_number",
                "is only valid when procedure is medial_branch_block",
            ));
        }
        if previous_block.is_some() {
            errors.push(FieldError::new(
                "/previous_block",
                "is only valid when procedure is medial_branch_block",
            ));
        }
    } else if previous_block.is_some()
        && block_number.flatten() != Some(2)
        && !matches!(block_number, Some(None))
    {
        errors.push(FieldError::new(
            "/previous_block",
            "is only valid when block_number is 2",
        ));
    }
    if let (Some(region), Some(Some(true))) = (region, sacroiliac_signs)
        && region != Region::Lumbar
    {
        errors.push(FieldError::new(
            "/sacroiliac_signs",
            "may be true only when region is lumbar",
        ));
    }
    if let (Some(region), Some(Some(_))) = (region, modic_changes)
        && region != Region::Lumbar
    {
        errors.push(FieldError::new(
            "/modic_changes",
            "is only valid when region is lumbar",
        ));
    }
    history::check_timeline(
        relief_duration,
        time_since_procedure.flatten(),
        procedure_history.as_ref().and_then(|h| h.as_deref()),
        &mut errors,
    );

    if !errors.is_empty() {
        return Err(RequestError::Invalid(errors));
    }
    // Every required field was present and valid, or an error was recorded above.
    let (
        Some(region),
        Some(procedure),
        Some(percent_relief),
        Some(relief_duration),
        Some(radicular_symptoms),
    ) = (
        region,
        procedure,
        percent_relief,
        relief_duration,
        radicular_symptoms,
    )
    else {
        return Err(RequestError::Invalid(vec![FieldError::new(
            "",
            "the request is incomplete",
        )]));
    };
    Ok(TriageRequest {
        region,
        procedure,
        percent_relief,
        relief_duration,
        relief_ongoing: relief_ongoing.flatten().unwrap_or(false),
        radicular_symptoms,
        block_number: block_number.flatten().unwrap_or(1),
        previous_block: previous_block.flatten(),
        anesthetic: anesthetic.flatten(),
        guidance: guidance.flatten().unwrap_or(Guidance::Fluoroscopy),
        red_flags: red_flags.flatten().unwrap_or_default(),
        pain_duration_months: pain_duration_months.flatten(),
        conservative_care_weeks: conservative_care_weeks.flatten(),
        recent_imaging: recent_imaging.flatten().unwrap_or(false),
        rfa_contraindicated: rfa_contraindicated.flatten().unwrap_or(false),
        psychosocial_risk: psychosocial_risk.flatten().unwrap_or(false),
        spinal_instability: spinal_instability.flatten().unwrap_or(false),
        sacroiliac_signs: sacroiliac_signs.flatten().unwrap_or(false),
        time_since_procedure: time_since_procedure.flatten(),
        procedure_history: procedure_history.flatten(),
        myofascial_trigger_points: myofascial_trigger_points.flatten().unwrap_or(false),
        modic_changes: modic_changes.flatten(),
        profile: profile.flatten(),
        pathway: pathway.flatten(),
    })
}

/// Where a member is: its object's JSON Pointer and its name. Written out only when an error names it.
#[derive(Clone, Copy)]
struct At<'a> {
    base: &'a dyn fmt::Display,
    name: &'a str,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut token = String::with_capacity(self.name.len() + 1);
        push_pointer_token(&mut token, self.name);
        write!(f, "{}{token}", self.base)
    }
}

/// One field an object may have, and the value it was given (the first one, if the key repeats).
struct Slot<'a> {
    name: &'static str,
    value: Option<Json<'a>>,
}

/// One empty slot per field.
fn slots<'a, const N: usize>(fields: &Fields<N>) -> [Slot<'a>; N] {
    fields.names.map(|name| Slot { name, value: None })
}

/// Drops one member of an object into its field's slot; an unknown or repeated key is reported at
/// once, so these errors come in document order.
fn place<'a, const N: usize>(
    fields: &Fields<N>,
    slots: &mut [Slot<'a>; N],
    base: &dyn fmt::Display,
    key: &str,
    value: Json<'a>,
    errors: &mut Vec<FieldError>,
) {
    let message = match (fields.position)(key).map(|index| &mut slots[index].value) {
        Some(slot @ None) => {
            *slot = Some(value);
            return;
        }
        Some(Some(_)) => "duplicate key",
        None => "unknown field",
    };
    errors.push(FieldError::new(At { base, name: key }.to_string(), message));
}

/// Sorts the members of an object into one slot per field, in one pass.
fn sort<'a, const N: usize>(
    fields: &Fields<N>,
    members: Vec<(Cow<'a, str>, Json<'a>)>,
    base: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> [Slot<'a>; N] {
    let mut slots = slots(fields);
    for (key, value) in members {
        place(fields, &mut slots, base, &key, value, errors);
    }
    slots
}

/// Takes the values out of the slots of one object, reporting `null` and missing required fields.
struct Reader<'a, 'e> {
    base: &'a dyn fmt::Display,
    errors: &'e mut Vec<FieldError>,
}

/// `optional` and `required` are always inlined: most fields of a body are absent, and testing a
/// slot costs less than a call; reporting an error is the cold path.
impl<'a> Reader<'a, '_> {
    fn at(&self, name: &'static str) -> At<'a> {
        At {
            base: self.base,
            name,
        }
    }

    /// A field that may be absent. `Some((pointer, value))` when present and not `null`.
    #[inline(always)]
    fn optional<'j>(&mut self, slot: &mut Slot<'j>) -> Option<(At<'a>, Json<'j>)> {
        match slot.value.take()? {
            Json::Null => {
                self.report(slot.name, "must not be null; leave the field out instead");
                None
            }
            value => Some((self.at(slot.name), value)),
        }
    }

    /// A field that must be present.
    #[inline(always)]
    fn required<'j>(&mut self, slot: &mut Slot<'j>) -> Option<(At<'a>, Json<'j>)> {
        if slot.value.is_none() {
            self.report(slot.name, "is required");
            return None;
        }
        self.optional(slot)
    }

    #[cold]
    fn report(&mut self, name: &'static str, message: &str) {
        let pointer = self.at(name).to_string();
        self.errors.push(FieldError::new(pointer, message));
    }
}

fn type_error(
    pointer: &dyn fmt::Display,
    expected: &str,
    value: &Json,
    errors: &mut Vec<FieldError>,
) {
    errors.push(FieldError::new(
        pointer.to_string(),
        format!("must be {expected}, not {}", value.type_name()),
    ));
}

fn boolean(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<bool> {
    match value {
        Json::Bool(flag) => Some(flag),
        other => {
            type_error(pointer, "a boolean", &other, errors);
            None
        }
    }
}

fn number(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    match value {
        Json::Number(number) => Some(number),
        other => {
            type_error(pointer, "a number", &other, errors);
            None
        }
    }
}

fn percent(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let number = number(value, pointer, errors)?;
    if (0.0..=100.0).contains(&number) {
        Some(number)
    } else {
        errors.push(FieldError::new(
            pointer.to_string(),
            "must be a number from 0 to 100",
        ));
        None
    }
}

fn bounded(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    max: f64,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let number = number(value, pointer, errors)?;
    if (0.0..=max).contains(&number) {
        Some(number)
    } else {
        let mut message = String::from("must be a number from 0 to ");
        let _ = crate::vocab::write_number(&mut message, max);
        errors.push(FieldError::new(pointer.to_string(), message));
        None
    }
}

fn enumeration<T>(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    parse: fn(&str) -> Option<T>,
    names: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match value {
        Json::String(text) => {
            let parsed = parse(&text);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    pointer.to_string(),
                    format!("must be one of: {}", names.join(", ")),
                ));
            }
            parsed
        }
        other => {
            type_error(
                pointer,
                &format!("one of the strings {}", names.join(", ")),
                &other,
                errors,
            );
            None
        }
    }
}

fn identifier(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match value {
        Json::String(text) if !text.is_empty() && text.len() <= MAX_ID_LEN => {
            Some(text.into_owned())
        }
        Json::String(_) => {
            errors.push(FieldError::new(
                pointer.to_string(),
                format!("must be an id of 1 to {MAX_ID_LEN} characters"),
            ));
            None
        }
        other => {
            type_error(pointer, "a string", &other, errors);
            None
        }
    }
}

fn one_or_two(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<u8> {
    match value {
        Json::Number(1.0) => Some(1),
        Json::Number(2.0) => Some(2),
        Json::Number(_) => {
            errors.push(FieldError::new(pointer.to_string(), "must be 1 or 2"));
            None
        }
        other => {
            type_error(pointer, "the number 1 or 2", &other, errors);
            None
        }
    }
}

fn duration(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<Duration> {
    let Json::Object(members) = value else {
        type_error(pointer, "an object with value and unit", &value, errors);
        return None;
    };
    let [amount, unit] = &mut sort(&DURATION_FIELDS, members, pointer, errors);
    let mut object = Reader {
        base: pointer,
        errors,
    };
    let amount = object.required(amount).and_then(|(p, v)| {
        let amount = number(v, &p, object.errors)?;
        if amount < 0.0 {
            object
                .errors
                .push(FieldError::new(p.to_string(), "must be at least 0"));
            None
        } else {
            Some((p, amount))
        }
    });
    let unit = object.required(unit).and_then(|(p, v)| {
        enumeration(
            v,
            &p,
            DurationUnit::parse,
            DurationUnit::NAMES,
            object.errors,
        )
    });
    let ((value_pointer, value), unit) = (amount?, unit?);
    let duration = Duration { value, unit };
    if duration.seconds() > MAX_DURATION_SECONDS {
        errors.push(FieldError::new(
            value_pointer.to_string(),
            "must not exceed 100 years",
        ));
        return None;
    }
    Some(duration)
}

fn first_block(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<PreviousBlock> {
    let Json::Object(members) = value else {
        type_error(pointer, "an object", &value, errors);
        return None;
    };
    let [percent_relief, relief_duration, anesthetic] =
        &mut sort(&PREVIOUS_BLOCK_FIELDS, members, pointer, errors);
    let mut object = Reader {
        base: pointer,
        errors,
    };
    let percent_relief = object
        .required(percent_relief)
        .and_then(|(p, v)| percent(v, &p, object.errors));
    let relief_duration = object
        .required(relief_duration)
        .and_then(|(p, v)| duration(v, &p, object.errors));
    let anesthetic = object
        .optional(anesthetic)
        .map(|(p, v)| enumeration(v, &p, Anesthetic::parse, Anesthetic::NAMES, object.errors));
    let (percent_relief, relief_duration) = (percent_relief?, relief_duration?);
    let before = errors.len();
    require_duration_with_relief(
        percent_relief,
        relief_duration,
        &format_args!("{pointer}/relief_duration/value"),
        errors,
    );
    if errors.len() > before {
        return None;
    }
    Some(PreviousBlock {
        percent_relief,
        relief_duration,
        anesthetic: anesthetic.flatten(),
    })
}

fn red_flag_set(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<RedFlag>> {
    let Json::Array(items) = value else {
        type_error(pointer, "an array of red flag names", &value, errors);
        return None;
    };
    let mut present = [false; RedFlag::ALL.len()];
    let before = errors.len();
    for (index, item) in items.into_iter().enumerate() {
        let item_pointer = format_args!("{pointer}/{index}");
        if let Some(flag) = enumeration(item, &item_pointer, RedFlag::parse, RedFlag::NAMES, errors)
        {
            present[flag.index()] = true;
        }
    }
    (errors.len() == before).then(|| {
        RedFlag::ALL
            .iter()
            .copied()
            .filter(|flag| present[flag.index()])
            .collect()
    })
}

fn require_duration_with_relief(
    percent: f64,
    duration: Duration,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) {
    if percent > 0.0 && duration.value == 0.0 {
        errors.push(FieldError::new(
            pointer.to_string(),
            "must be greater than 0 when percent_relief is greater than 0",
        ));
    }
}

mod history;
#[cfg(test)]
mod tests;

pub use history::MAX_HISTORY;
