//! The facts a pathway may read from a request: their names, types and values.
//!
//! A pathway file names request fields in its conditions and templates (`percent_relief`,
//! `previous_block.relief_duration`, ...). This registry is the one place that knows those names,
//! so a pathway is checked against it at load and evaluation reads facts by index, never by name.
//!
//! It names the members of [`TriageRequest`] again, as an enum the engine indexes at compile time
//! and with what the schema cannot say (the quantity a number measures); a test
//! (`the_facts_are_the_members_of_the_schema`) holds names, types and optionality to the schema.

use crate::request::TriageRequest;
use crate::vocab::{
    Anesthetic, Duration, Guidance, ModicChanges, Procedure, RedFlag, Region, write_number,
};
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
    TimeSinceProcedure = "time_since_procedure": FactType::Duration, optional = true;
    ProcedureHistory = "procedure_history": FactType::Group, optional = true;
    MyofascialTriggerPoints = "myofascial_trigger_points": FactType::Boolean, optional = false;
    ModicChanges = "modic_changes": FactType::Choice(ModicChanges::NAMES), optional = true;
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
    /// `procedure_history` as count conditions read it: each entry's procedure index and how long
    /// ago it was, in seconds.
    pub history: Vec<(usize, f64)>,
    /// The same facts as conditions read them.
    pub readings: Readings,
}

/// Bit sets over fields hold one bit per field.
const _: () = assert!(Field::COUNT <= 32);

/// One request's facts reduced to what conditions test, built once per request: each comparison
/// then reads a number or tests a bit instead of converting a [`Fact`]. A field's type is fixed, so
/// whether a given fact is a number, a choice, ... is known from its field.
#[derive(Debug, Clone)]
pub struct Readings {
    /// Bit `field` set when the fact is given.
    pub given: u32,
    /// Numbers as they are, durations in seconds, booleans as 0 or 1, choices as their index.
    pub values: [f64; Field::COUNT],
    /// A choice as the bit of its index, a boolean as bit 0 (false) or bit 1 (true), a choice list
    /// as its bits; 0 when absent.
    pub choices: [u32; Field::COUNT],
}

impl Readings {
    /// No fact given.
    const NONE: Readings = Readings {
        given: 0,
        values: [0.0; Field::COUNT],
        choices: [0; Field::COUNT],
    };
}

impl Facts {
    /// The request's facts. Each is written straight into both forms (a test checks that a request
    /// giving every field gives every fact).
    pub fn from_request(request: &TriageRequest) -> Facts {
        let mut facts = Facts::blank();
        facts.choice(Field::Region, request.region.index());
        facts.choice(Field::Procedure, request.procedure.index());
        facts.number(Field::PercentRelief, request.percent_relief);
        facts.duration(Field::ReliefDuration, request.relief_duration);
        facts.boolean(Field::ReliefOngoing, request.relief_ongoing);
        facts.boolean(Field::RadicularSymptoms, request.radicular_symptoms);
        facts.number(Field::BlockNumber, f64::from(request.block_number()));
        if let Some(previous) = &request.previous_block {
            facts.set(Field::PreviousBlock, Fact::Present, 0.0, 0);
            facts.number(Field::PreviousPercentRelief, previous.percent_relief);
            facts.duration(Field::PreviousReliefDuration, previous.relief_duration);
            if let Some(anesthetic) = previous.anesthetic {
                facts.choice(Field::PreviousAnesthetic, anesthetic.index());
            }
        }
        if let Some(anesthetic) = request.anesthetic {
            facts.choice(Field::Anesthetic, anesthetic.index());
        }
        facts.choice(Field::Guidance, request.guidance.index());
        let red_flags = (request.red_flags.iter()).fold(0, |bits, flag| bits | 1 << flag.index());
        facts.set(Field::RedFlags, Fact::ChoiceSet(red_flags), 0.0, red_flags);
        if let Some(months) = request.pain_duration_months {
            facts.number(Field::PainDurationMonths, months);
        }
        if let Some(weeks) = request.conservative_care_weeks {
            facts.number(Field::ConservativeCareWeeks, weeks);
        }
        facts.boolean(Field::RecentImaging, request.recent_imaging);
        facts.boolean(Field::RfaContraindicated, request.rfa_contraindicated);
        facts.boolean(Field::PsychosocialRisk, request.psychosocial_risk);
        facts.boolean(Field::SpinalInstability, request.spinal_instability);
        facts.boolean(Field::SacroiliacSigns, request.sacroiliac_signs);
        if let Some(since) = request.time_since_procedure {
            facts.duration(Field::TimeSinceProcedure, since);
        }
        if let Some(history) = &request.procedure_history {
            facts.set(Field::ProcedureHistory, Fact::Present, 0.0, 0);
            facts.history = (history.iter())
                .map(|entry| (entry.procedure.index(), entry.time_ago.seconds()))
                .collect();
        }
        facts.boolean(
            Field::MyofascialTriggerPoints,
            request.myofascial_trigger_points,
        );
        if let Some(modic) = request.modic_changes {
            facts.choice(Field::ModicChanges, modic.index());
        }
        facts
    }

    /// Gives a fact, with its value and choice bits as [`Readings`] holds them.
    #[inline(always)]
    fn set(&mut self, field: Field, fact: Fact, value: f64, choices: u32) {
        let index = field as usize;
        self.values[index] = fact;
        self.readings.given |= 1 << index;
        self.readings.values[index] = value;
        self.readings.choices[index] = choices;
    }

    fn number(&mut self, field: Field, value: f64) {
        self.set(field, Fact::Number(value), value, 0);
    }

    fn duration(&mut self, field: Field, duration: Duration) {
        self.set(field, Fact::Duration(duration), duration.seconds(), 0);
    }

    fn boolean(&mut self, field: Field, flag: bool) {
        let bit = u8::from(flag);
        self.set(field, Fact::Boolean(flag), f64::from(bit), 1 << bit);
    }

    fn choice(&mut self, field: Field, index: usize) {
        self.set(field, Fact::Choice(index as u8), index as f64, 1 << index);
    }

    /// Facts with every value absent, for text that names parameters only.
    pub fn blank() -> Facts {
        Facts {
            values: [Fact::Absent; Field::COUNT],
            history: Vec::new(),
            readings: Readings::NONE,
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
        Field::ModicChanges => ModicChanges::ALL[index].label(),
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
    fn a_request_giving_every_field_gives_every_fact() {
        let request = crate::request::parse(
            br#"{"region":"lumbar","procedure":"medial_branch_block","percent_relief":85,
            "relief_duration":{"value":2,"unit":"h"},"radicular_symptoms":false,"relief_ongoing":true,
            "block_number":2,"previous_block":{"percent_relief":90,"relief_duration":{"value":3,"unit":"h"},
            "anesthetic":"lidocaine"},"anesthetic":"bupivacaine","guidance":"fluoroscopy","red_flags":[],
            "pain_duration_months":6,"conservative_care_weeks":12,"recent_imaging":true,
            "rfa_contraindicated":false,"psychosocial_risk":false,"spinal_instability":false,
            "sacroiliac_signs":false,"time_since_procedure":{"value":1,"unit":"d"},
            "procedure_history":[],"myofascial_trigger_points":false,"modic_changes":"type_1"}"#,
        )
        .unwrap();
        let facts = Facts::from_request(&request);
        for field in Field::ALL {
            assert_ne!(facts.get(*field), Fact::Absent, "{}", field.name());
        }
        assert_eq!(facts.readings.given, (1 << Field::COUNT) - 1);
    }

    #[test]
    fn lists_read_as_sentences() {
        let mut text = String::new();
        write_list(&mut text, &["a", "b", "c"]);
        assert_eq!(text, "a, b and c");
    }
}
