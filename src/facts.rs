//! The facts a pathway may read from a request: their names, types and values.
//!
//! A pathway file names request fields in its conditions and templates (`percent_relief`,
//! `previous_block.relief_duration`, ...). This registry is the one place that knows those names,
//! so a pathway is checked against it at load and evaluation reads facts by index, never by name.

use crate::request::TriageRequest;
use crate::vocab::{Anesthetic, Duration, Guidance, Procedure, RedFlag, Region, write_number};
use std::fmt::Write;

/// What a number measures, so that only like is compared with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Percent,
    Months,
    Weeks,
    Count,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Percent => "percent",
            Quantity::Months => "months",
            Quantity::Weeks => "weeks",
            Quantity::Count => "count",
        }
    }

    /// Writes a number of this quantity for a reader ("60%", "3 months").
    pub fn write(self, out: &mut impl Write, value: f64) {
        let _ = write_number(out, value);
        let _ = out.write_str(match self {
            Quantity::Percent => "%",
            Quantity::Months if value == 1.0 => " month",
            Quantity::Months => " months",
            Quantity::Weeks if value == 1.0 => " week",
            Quantity::Weeks => " weeks",
            Quantity::Count => "",
        });
    }
}

/// The type of a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    Number(Quantity),
    Duration,
    Boolean,
    /// One value of a closed list.
    Choice(&'static [&'static str]),
    /// Any number of values of a closed list.
    ChoiceSet(&'static [&'static str]),
    /// An optional group of fields; only its presence can be tested.
    Group,
}

impl FactType {
    pub fn describe(self) -> String {
        match self {
            FactType::Number(quantity) => format!("a number ({})", quantity.name()),
            FactType::Duration => "a duration".into(),
            FactType::Boolean => "a boolean".into(),
            FactType::Choice(names) => format!("one of {}", names.join(", ")),
            FactType::ChoiceSet(names) => format!("a list of {}", names.join(", ")),
            FactType::Group => "a group of fields".into(),
        }
    }
}

macro_rules! fields {
    ($($variant:ident = $name:literal : $ty:expr, optional = $optional:literal;)+) => {
        /// A request fact a pathway can read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field { $($variant),+ }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];
            pub const COUNT: usize = Field::ALL.len();

            /// The name a pathway file uses (`previous_block.percent_relief` for nested fields).
            pub fn name(self) -> &'static str {
                match self { $(Field::$variant => $name),+ }
            }

            pub fn fact_type(self) -> FactType {
                match self { $(Field::$variant => $ty),+ }
            }

            /// Whether a request may leave this fact out (so `present` can test it).
            pub fn optional(self) -> bool {
                match self { $(Field::$variant => $optional),+ }
            }

            pub fn lookup(name: &str) -> Option<Field> {
                match name { $($name => Some(Field::$variant),)+ _ => None }
            }
        }
    };
}

fields! {
    Region = "region": FactType::Choice(Region::NAMES), optional = false;
    Procedure = "procedure": FactType::Choice(Procedure::NAMES), optional = false;
    PercentRelief = "percent_relief": FactType::Number(Quantity::Percent), optional = false;
    ReliefDuration = "relief_duration": FactType::Duration, optional = false;
    ReliefOngoing = "relief_ongoing": FactType::Boolean, optional = false;
    RadicularSymptoms = "radicular_symptoms": FactType::Boolean, optional = false;
    BlockNumber = "block_number": FactType::Number(Quantity::Count), optional = false;
    PreviousBlock = "previous_block": FactType::Group, optional = true;
    PreviousPercentRelief = "previous_block.percent_relief": FactType::Number(Quantity::Percent), optional = true;
    PreviousReliefDuration = "previous_block.relief_duration": FactType::Duration, optional = true;
    PreviousAnesthetic = "previous_block.anesthetic": FactType::Choice(Anesthetic::NAMES), optional = true;
    Anesthetic = "anesthetic": FactType::Choice(Anesthetic::NAMES), optional = true;
    Guidance = "guidance": FactType::Choice(Guidance::NAMES), optional = false;
    RedFlags = "red_flags": FactType::ChoiceSet(RedFlag::NAMES), optional = false;
    PainDurationMonths = "pain_duration_months": FactType::Number(Quantity::Months), optional = true;
    ConservativeCareWeeks = "conservative_care_weeks": FactType::Number(Quantity::Weeks), optional = true;
    RecentImaging = "recent_imaging": FactType::Boolean, optional = false;
    RfaContraindicated = "rfa_contraindicated": FactType::Boolean, optional = false;
    PsychosocialRisk = "psychosocial_risk": FactType::Boolean, optional = false;
    SpinalInstability = "spinal_instability": FactType::Boolean, optional = false;
    SacroiliacSigns = "sacroiliac_signs": FactType::Boolean, optional = false;
}

/// The value of one fact in one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact {
    Absent,
    Present,
    Number(f64),
    Duration(Duration),
    Boolean(bool),
    /// Index into the field's choice list.
    Choice(u8),
    /// Bit `i` set when choice `i` is present.
    ChoiceSet(u32),
}

/// Every fact of one request, indexed by `Field`.
#[derive(Debug, Clone)]
pub struct Facts {
    values: [Fact; Field::COUNT],
    /// The same facts as conditions read them.
    pub readings: Readings,
}

/// Bit sets over fields hold one bit per field.
const _: () = assert!(Field::COUNT <= 32);

/// One request's facts reduced to what conditions test, built once per request: each comparison
/// then reads a number or tests a bit instead of converting a [`Fact`].
#[derive(Debug, Clone, Default)]
pub struct Readings {
    /// Bit `field` set when the fact is given.
    pub given: u32,
    /// Bit `field` set when the fact has an ordered value: a number, duration, boolean or choice.
    pub scalar: u32,
    /// Bit `field` set when the fact is a number or a duration.
    pub numeric: u32,
    /// Numbers as they are, durations in seconds, booleans as 0 or 1, choices as their index.
    pub values: [f64; Field::COUNT],
    /// A choice as the bit of its index, a boolean as bit 0 (false) or bit 1 (true), a choice list
    /// as its bits; 0 when absent.
    pub choices: [u32; Field::COUNT],
}

impl Readings {
    fn read(facts: &[Fact; Field::COUNT]) -> Readings {
        let mut readings = Readings::default();
        for (index, fact) in facts.iter().enumerate() {
            let bit = 1 << index;
            let (value, choices, numeric) = match *fact {
                Fact::Absent => continue,
                Fact::Present => {
                    readings.given |= bit;
                    continue;
                }
                Fact::ChoiceSet(bits) => {
                    readings.given |= bit;
                    readings.choices[index] = bits;
                    continue;
                }
                Fact::Number(value) => (value, 0, true),
                Fact::Duration(duration) => (duration.seconds(), 0, true),
                Fact::Boolean(flag) => (f64::from(u8::from(flag)), 1 << u8::from(flag), false),
                Fact::Choice(choice) => (f64::from(choice), 1 << choice, false),
            };
            readings.given |= bit;
            readings.scalar |= bit;
            if numeric {
                readings.numeric |= bit;
            }
            readings.values[index] = value;
            readings.choices[index] = choices;
        }
        readings
    }
}

impl Facts {
    pub fn from_request(request: &TriageRequest) -> Facts {
        let previous = request.previous_block.as_ref();
        let choice = |index: usize| Fact::Choice(index as u8);
        let optional_choice =
            |index: Option<usize>| index.map_or(Fact::Absent, |i| Fact::Choice(i as u8));
        let optional_number = |value: Option<f64>| value.map_or(Fact::Absent, Fact::Number);
        let values: [Fact; Field::COUNT] = std::array::from_fn(|i| match Field::ALL[i] {
            Field::Region => choice(request.region.index()),
            Field::Procedure => choice(request.procedure.index()),
            Field::PercentRelief => Fact::Number(request.percent_relief),
            Field::ReliefDuration => Fact::Duration(request.relief_duration),
            Field::ReliefOngoing => Fact::Boolean(request.relief_ongoing),
            Field::RadicularSymptoms => Fact::Boolean(request.radicular_symptoms),
            Field::BlockNumber => Fact::Number(f64::from(request.block_number)),
            Field::PreviousBlock => previous.map_or(Fact::Absent, |_| Fact::Present),
            Field::PreviousPercentRelief => optional_number(previous.map(|p| p.percent_relief)),
            Field::PreviousReliefDuration => {
                previous.map_or(Fact::Absent, |p| Fact::Duration(p.relief_duration))
            }
            Field::PreviousAnesthetic => {
                optional_choice(previous.and_then(|p| p.anesthetic).map(Anesthetic::index))
            }
            Field::Anesthetic => optional_choice(request.anesthetic.map(Anesthetic::index)),
            Field::Guidance => choice(request.guidance.index()),
            Field::RedFlags => Fact::ChoiceSet(
                request
                    .red_flags
                    .iter()
                    .fold(0, |bits, flag| bits | 1 << flag.index()),
            ),
            Field::PainDurationMonths => optional_number(request.pain_duration_months),
            Field::ConservativeCareWeeks => optional_number(request.conservative_care_weeks),
            Field::RecentImaging => Fact::Boolean(request.recent_imaging),
            Field::RfaContraindicated => Fact::Boolean(request.rfa_contraindicated),
            Field::PsychosocialRisk => Fact::Boolean(request.psychosocial_risk),
            Field::SpinalInstability => Fact::Boolean(request.spinal_instability),
            Field::SacroiliacSigns => Fact::Boolean(request.sacroiliac_signs),
        });
        let readings = Readings::read(&values);
        Facts { values, readings }
    }

    /// Facts with every value absent, for text that names parameters only.
    pub fn blank() -> Facts {
        Facts {
            values: [Fact::Absent; Field::COUNT],
            readings: Readings::default(),
        }
    }

    #[inline]
    pub fn get(&self, field: Field) -> Fact {
        self.values[field as usize]
    }
}

/// Writes a fact for a reader: "60%", "2 weeks", "medial branch block", "not reported".
pub fn write_fact(out: &mut impl Write, field: Field, fact: Fact) {
    let words = match (fact, field.fact_type()) {
        (Fact::Number(value), FactType::Number(quantity)) => return quantity.write(out, value),
        (Fact::Duration(duration), _) => {
            let _ = duration.write(out);
            return;
        }
        (Fact::ChoiceSet(bits), _) => {
            let mut labels = [""; 32];
            let mut count = 0;
            for index in (0..32).filter(|i| bits & (1 << i) != 0) {
                labels[count] = choice_label(field, index);
                count += 1;
            }
            return write_list(out, &labels[..count]);
        }
        (Fact::Boolean(flag), _) => {
            if flag {
                "yes"
            } else {
                "no"
            }
        }
        (Fact::Choice(index), _) => choice_label(field, index as usize),
        (Fact::Present, _) => "reported",
        _ => "not reported",
    };
    let _ = out.write_str(words);
}

/// Plain-language label of choice `index` of a field.
fn choice_label(field: Field, index: usize) -> &'static str {
    match field {
        Field::Region => Region::ALL[index].label(),
        Field::Procedure => Procedure::ALL[index].label(),
        Field::Anesthetic | Field::PreviousAnesthetic => Anesthetic::ALL[index].label(),
        Field::Guidance => Guidance::ALL[index].label(),
        Field::RedFlags => RedFlag::ALL[index].label(),
        _ => "",
    }
}

/// Joins words as a sentence does: "a", "a and b", "a, b and c".
pub fn write_list(out: &mut impl Write, items: &[&str]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            let _ = out.write_str(if i + 1 == items.len() { " and " } else { ", " });
        }
        let _ = out.write_str(item);
    }
}

/// The fact as JSON, for the evaluation trace.
pub fn fact_json(field: Field, fact: Fact) -> serde_json::Value {
    use serde_json::{Value, json};
    let names = |field: Field| match field.fact_type() {
        FactType::Choice(names) | FactType::ChoiceSet(names) => names,
        _ => &[],
    };
    match fact {
        Fact::Absent => Value::Null,
        Fact::Present => Value::Bool(true),
        Fact::Number(value) => json!(value),
        Fact::Duration(duration) => {
            json!({ "value": duration.value, "unit": duration.unit.as_str() })
        }
        Fact::Boolean(flag) => Value::Bool(flag),
        Fact::Choice(index) => json!(names(field)[index as usize]),
        Fact::ChoiceSet(bits) => {
            let chosen: Vec<&str> = names(field)
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect();
            json!(chosen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_resolves_to_itself() {
        for field in Field::ALL {
            assert_eq!(Field::lookup(field.name()), Some(*field));
        }
        assert_eq!(Field::lookup("percent_releif"), None);
    }

    #[test]
    fn facts_read_the_request_with_its_defaults() {
        let request = crate::request::parse(
            br#"{"region":"cervical","procedure":"medial_branch_block","percent_relief":85,
            "relief_duration":{"value":2,"unit":"h"},"radicular_symptoms":false,"red_flags":["suspected_fracture"]}"#,
        )
        .unwrap();
        let facts = Facts::from_request(&request);
        assert_eq!(
            facts.get(Field::Region),
            Fact::Choice(Region::Cervical.index() as u8)
        );
        assert_eq!(facts.get(Field::BlockNumber), Fact::Number(1.0));
        assert_eq!(facts.get(Field::PreviousBlock), Fact::Absent);
        let mut text = String::new();
        write_fact(&mut text, Field::RedFlags, facts.get(Field::RedFlags));
        assert_eq!(text, "suspected fracture");
        assert_eq!(
            fact_json(Field::RedFlags, facts.get(Field::RedFlags)),
            serde_json::json!(["suspected_fracture"])
        );
    }

    #[test]
    fn lists_read_as_sentences() {
        let mut text = String::new();
        write_list(&mut text, &["a", "b", "c"]);
        assert_eq!(text, "a, b and c");
    }
}
