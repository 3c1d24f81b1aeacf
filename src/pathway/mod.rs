//! The pathway: its file model, loading and validation, and the compiled decision graph.
//!
//! A pathway file (`pathways/*.toml`) holds every clinical fact the service knows: thresholds per
//! profile and region, the options catalogue with graded evidence, the sources, and the decision graph.
//! `compile` validates a file completely and resolves every name to an index, so evaluating a loaded
//! pathway can neither fail nor look anything up by name.
//!
//! `Source`, `ParameterValue`, `ProvenanceFlag`, `Code` and `Evidence` derive `utoipa::ToSchema`:
//! answers and the pathway document serve them as they are, and a mirror type would repeat each field.

mod compile;
pub mod condition;
mod error;
pub mod fhir_mapping;
pub mod file;
pub mod program;
mod render;
mod set;
pub mod template;
pub mod walk;

pub use compile::compile;
pub use error::{LoadError, LoadErrors};
pub use render::GraphFormat;
pub use set::{DEFAULT_FILE_NAME, DEFAULT_MAX_FILE_BYTES, DEFAULT_PATHWAY, PathwaySet};

/// The most options a pathway may define: the engine keeps sets of options in that many bits.
pub const MAX_OPTIONS: usize = 256;

use crate::facts::{Field, Quantity};
use crate::request::TriageRequest;
use crate::vocab::{Category, Direction, Duration, Region, ResponseLevel, Severity, Verification};
use program::When;
use serde::Serialize;
use template::Template;

/// A validated, compiled pathway.
#[derive(Debug)]
pub struct Pathway {
    pub id: String,
    pub title: String,
    pub version: String,
    /// `sha256:` of the file's bytes.
    pub digest: String,
    pub description: Option<String>,
    pub disclaimer: String,
    /// The alert R26 raises when profiles disagree about an option (see [`file::Metadata`]).
    pub disagreement_alert: Option<usize>,
    /// The count conditions ([`condition::Condition::Count`] indexes them).
    pub counts: Vec<condition::CountSpec>,
    /// Regions served, in file order; a region's position here is its "slot".
    pub regions: Vec<Region>,
    pub default_profile: usize,
    pub strength_scale: Vec<String>,
    pub sources: Vec<Source>,
    pub profiles: Vec<Profile>,
    pub parameters: Vec<Parameter>,
    /// Values indexed by `(profile * regions + slot) * parameters + parameter`.
    param_table: Vec<ParamValue>,
    /// `param_table` as bound tests read it, indexed alike.
    param_limits: Vec<Limits>,
    pub groups: Vec<Group>,
    pub criteria: Vec<Criterion>,
    pub options: Vec<OptionDef>,
    pub alerts: Vec<AlertDef>,
    pub assessments: Vec<Assessment>,
    pub nodes: Vec<Node>,
    pub start: usize,
    /// What the engine's walk reads from `nodes`, `options` and `assessments`, laid out for it.
    pub walk: walk::Walk,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub year: u16,
    pub url: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub label: String,
    pub description: Option<String>,
}

/// The type of a parameter's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Number(Quantity),
    Duration,
    Boolean,
}

impl ParamKind {
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Number(quantity) => quantity.name(),
            ParamKind::Duration => "duration",
            ParamKind::Boolean => "boolean",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub id: String,
    pub kind: ParamKind,
    pub description: String,
    /// The values as the file gives them, with their provenance.
    pub values: Vec<ParameterValue>,
}

/// One row of a parameter's values, for the pathway document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParameterValue {
    pub profiles: Vec<String>,
    pub regions: Vec<Region>,
    /// The value for a reader ("at least 80%").
    pub value: String,
    pub source: String,
    pub verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extrapolated_from: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A parameter's value for one profile and region.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Number(f64),
    /// Seconds, and the duration as written.
    Duration(f64, Duration),
    Boolean(bool),
    Bounds(Bounds),
}

/// One side of a range: the limit (seconds for durations) and whether it is excluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub limit: f64,
    pub strict: bool,
    /// The limit as written, for display.
    pub shown: Shown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    Number(Quantity, f64),
    Duration(Duration),
}

impl Shown {
    fn write(&self, out: &mut String) {
        match self {
            Shown::Number(quantity, value) => quantity.write(out, *value),
            Shown::Duration(duration) => {
                let _ = duration.write(out);
            }
        }
    }
}

/// A range a fact must fall in to meet a criterion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

impl Bounds {
    #[inline]
    pub fn contains(&self, value: f64) -> bool {
        !self.short_of(value) && !self.exceeds(value)
    }

    /// Below the lower bound (false when there is none).
    #[inline]
    pub fn short_of(&self, value: f64) -> bool {
        (self.lower.as_ref()).is_some_and(|bound| below(value, bound.limit, bound.strict))
    }

    /// Above the upper bound (false when there is none).
    #[inline]
    pub fn exceeds(&self, value: f64) -> bool {
        (self.upper.as_ref()).is_some_and(|bound| above(value, bound.limit, bound.strict))
    }
}

/// Whether `value` falls short of a lower bound at `limit`: below it, or at it when it is strict.
#[inline]
fn below(value: f64, limit: f64, strict: bool) -> bool {
    if strict {
        value <= limit
    } else {
        value < limit
    }
}

/// Whether `value` goes beyond an upper bound at `limit`: above it, or at it when it is strict.
#[inline]
fn above(value: f64, limit: f64, strict: bool) -> bool {
    if strict {
        value >= limit
    } else {
        value > limit
    }
}

/// A parameter's bounds as two comparisons, for evaluation: a missing bound is an infinite one,
/// which no value is short of or exceeds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Whether the parameter has bounds at all (a plain value meets none).
    pub bounded: bool,
    pub lower: f64,
    pub lower_strict: bool,
    pub upper: f64,
    pub upper_strict: bool,
}

impl Limits {
    fn of(value: &ParamValue) -> Limits {
        let (bounded, lower, upper) = match value {
            ParamValue::Bounds(Bounds { lower, upper }) => (true, lower.as_ref(), upper.as_ref()),
            _ => (false, None, None),
        };
        Limits {
            bounded,
            lower: lower.map_or(f64::NEG_INFINITY, |bound| bound.limit),
            lower_strict: lower.is_some_and(|bound| bound.strict),
            upper: upper.map_or(f64::INFINITY, |bound| bound.limit),
            upper_strict: upper.is_some_and(|bound| bound.strict),
        }
    }

    /// Below the lower bound, as [`Bounds::short_of`].
    #[inline]
    pub fn short_of(&self, value: f64) -> bool {
        below(value, self.lower, self.lower_strict)
    }

    /// Above the upper bound, as [`Bounds::exceeds`].
    #[inline]
    pub fn exceeds(&self, value: f64) -> bool {
        above(value, self.upper, self.upper_strict)
    }
}

impl ParamValue {
    /// Writes the value for a reader: "at least 80%", "more than 50%", "26 weeks", "1 hour to 4 hours".
    pub fn write(&self, out: &mut String) {
        match self {
            ParamValue::Number(value) => {
                let _ = crate::vocab::write_number(out, *value);
            }
            ParamValue::Duration(_, duration) => Shown::Duration(*duration).write(out),
            ParamValue::Boolean(flag) => out.push_str(if *flag { "yes" } else { "no" }),
            ParamValue::Bounds(Bounds { lower, upper }) => match (lower, upper) {
                (Some(low), Some(high)) if !low.strict && !high.strict => {
                    low.shown.write(out);
                    out.push_str(" to ");
                    high.shown.write(out);
                }
                _ => {
                    if let Some(low) = lower {
                        out.push_str(if low.strict {
                            "more than "
                        } else {
                            "at least "
                        });
                        low.shown.write(out);
                    }
                    if let Some(high) = upper {
                        if lower.is_some() {
                            out.push_str(" and ");
                        }
                        out.push_str(if high.strict {
                            "less than "
                        } else {
                            "at most "
                        });
                        high.shown.write(out);
                    }
                }
            },
        }
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// A named set of options, for `suppress`.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub options: Vec<usize>,
}

#[derive(Debug)]
pub struct Criterion {
    pub id: String,
    /// Rendered text, indexed by `profile * regions + slot`.
    pub texts: Vec<String>,
    /// Whether it is reported under each profile.
    pub profiles: Vec<bool>,
    pub source: usize,
    pub verification: Verification,
    pub unknown_when: Option<When>,
    pub met_when: Option<When>,
}

/// A coded concept, such as a CPT procedure code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Code {
    pub system: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// Present and true for an add-on code, billed only with a primary procedure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub add_on: bool,
}

/// A graded evidence statement as the response shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub source: String,
    /// `for` entries come first, `against` entries (recommendations against the option) after.
    pub direction: Direction,
    pub level: String,
    pub strength: String,
    pub display: String,
    pub verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extrapolated_from: Option<Region>,
    /// Present and true when the source's statement is applied beyond what it graded (another
    /// procedure or population).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub extrapolated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct OptionDef {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub invasiveness: u8,
    pub description: Option<String>,
    /// Per region slot: the codes that order the option there.
    pub codes: Vec<Vec<Code>>,
    pub criteria: Vec<usize>,
    /// Per region slot: whether the option serves it.
    pub serves: Vec<bool>,
    /// Per region slot: the evidence, strongest source first as the file orders it.
    pub evidence: Vec<Vec<Evidence>>,
    /// Per region slot: the evidence sources, without repeats.
    pub citations: Vec<Vec<usize>>,
    /// Per region slot: the option's place among all options for offers of equal priority: by the
    /// strength of `evidence[0]` (its position in the strength scale), then invasiveness, then id.
    pub tie_order: Vec<usize>,
}

#[derive(Debug)]
pub struct AlertDef {
    pub code: String,
    pub severity: Severity,
    pub message: Template,
    /// The message is followed by the labels of the other profiles where this holds.
    pub name_profiles_where: Option<When>,
}

#[derive(Debug)]
pub struct Assessment {
    pub response: ResponseLevel,
    pub when: Option<When>,
    pub summary: Template,
}

#[derive(Debug)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub rules: Vec<String>,
    pub guard: Option<When>,
    pub offers: Vec<Offer>,
    pub avoids: Vec<Avoid>,
    pub alerts: Vec<usize>,
    pub suppress: Vec<usize>,
    pub route: Route,
    /// Facts and parameters any part of the node may read, for the trace.
    pub reads: Vec<Field>,
    pub reads_params: Vec<usize>,
}

/// (`repr(u8)`: a plain tag, quicker to dispatch on at every node of a walk than a niche.)
#[derive(Debug)]
#[repr(u8)]
pub enum Route {
    End,
    Next(usize),
    Decide {
        branches: Vec<Branch>,
        otherwise: usize,
    },
}

#[derive(Debug)]
pub struct Branch {
    pub when: When,
    pub to: usize,
    /// The file's label, or the condition in words.
    pub label: String,
}

#[derive(Debug)]
pub struct Offer {
    pub option: usize,
    pub priority: i32,
    pub rationale: Template,
    pub when: Option<When>,
    pub citations: Vec<usize>,
}

#[derive(Debug)]
pub struct Avoid {
    pub option: usize,
    pub reason: Template,
    pub when: Option<When>,
    pub citations: Vec<usize>,
}

/// A request matched to this pathway: its profile and region as indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub profile: usize,
    pub region_slot: usize,
}

/// A member of a request that this pathway cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// `profile` names none of the pathway's profiles.
    Profile,
    /// `region` is not one the pathway covers.
    Region,
}

impl Pathway {
    /// The row of a profile and region slot, as criterion texts and parameter values are indexed.
    #[inline]
    pub fn row(&self, profile: usize, region_slot: usize) -> usize {
        profile * self.regions.len() + region_slot
    }

    /// The values of every parameter for a profile and region slot, indexed by parameter.
    #[inline]
    pub fn row_params(&self, profile: usize, region_slot: usize) -> &[ParamValue] {
        &self.param_table[self.param_span(profile, region_slot)]
    }

    /// The bounds of every parameter for a profile and region slot, indexed by parameter.
    #[inline]
    pub fn row_limits(&self, profile: usize, region_slot: usize) -> &[Limits] {
        &self.param_limits[self.param_span(profile, region_slot)]
    }

    /// Where a row's parameters stand in `param_table` and `param_limits`.
    #[inline]
    fn param_span(&self, profile: usize, region_slot: usize) -> std::ops::Range<usize> {
        let start = self.row(profile, region_slot) * self.parameters.len();
        start..start + self.parameters.len()
    }

    #[inline]
    pub fn param_value(&self, profile: usize, region_slot: usize, param: usize) -> &ParamValue {
        &self.row_params(profile, region_slot)[param]
    }

    /// The criteria an option reports under a profile, with their indices.
    pub fn reported_criteria<'a>(
        &'a self,
        option: &'a OptionDef,
        profile: usize,
    ) -> impl Iterator<Item = (usize, &'a Criterion)> {
        option
            .criteria
            .iter()
            .map(|c| (*c, &self.criteria[*c]))
            .filter(move |(_, criterion)| criterion.profiles[profile])
    }

    /// The sources an offer cites in a region: its option's, then its own not already listed.
    pub fn offer_citations(&self, offer: &Offer, region_slot: usize) -> Vec<usize> {
        let mut sources = self.options[offer.option].citations[region_slot].clone();
        for source in &offer.citations {
            if !sources.contains(source) {
                sources.push(*source);
            }
        }
        sources
    }

    /// The evidence an avoid entry shows in a region: its option's `against` entries there whose
    /// source the avoid cites.
    pub fn avoid_evidence<'a>(
        &'a self,
        avoid: &'a Avoid,
        region_slot: usize,
    ) -> impl Iterator<Item = &'a Evidence> + 'a {
        let cited = self.avoid_citations(avoid, region_slot);
        self.options[avoid.option].evidence[region_slot]
            .iter()
            .filter(move |entry| {
                entry.direction == Direction::Against
                    && cited
                        .iter()
                        .any(|&source| self.sources[source].id == entry.source)
            })
    }

    /// The sources an avoid entry cites in a region: its own, or else its option's.
    pub fn avoid_citations<'a>(&'a self, avoid: &'a Avoid, region_slot: usize) -> &'a [usize] {
        if avoid.citations.is_empty() {
            &self.options[avoid.option].citations[region_slot]
        } else {
            &avoid.citations
        }
    }

    pub fn profile_index(&self, id: &str) -> Option<usize> {
        self.profiles.iter().position(|profile| profile.id == id)
    }

    pub fn region_slot(&self, region: Region) -> Option<usize> {
        self.regions.iter().position(|r| *r == region)
    }

    /// Checks the request's profile and region against this pathway; the error lists each one it
    /// cannot serve.
    pub fn resolve(&self, request: &TriageRequest) -> Result<Resolved, Vec<Unresolved>> {
        let profile = match request.profile.as_deref() {
            None => Some(self.default_profile),
            Some(id) => self.profile_index(id),
        };
        let region_slot = self.region_slot(request.region);
        match (profile, region_slot) {
            (Some(profile), Some(region_slot)) => Ok(Resolved {
                profile,
                region_slot,
            }),
            _ => Err([
                profile.is_none().then_some(Unresolved::Profile),
                region_slot.is_none().then_some(Unresolved::Region),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }

    /// Parameters and evidence entries whose source is unverified, secondary or extrapolated (to
    /// another region, procedure or population).
    pub fn provenance_flags(&self) -> Vec<ProvenanceFlag> {
        let mut flags = Vec::new();
        for parameter in &self.parameters {
            for value in &parameter.values {
                if value.verification != Verification::Verified || value.extrapolated_from.is_some()
                {
                    flags.push(ProvenanceFlag {
                        kind: "parameter",
                        id: parameter.id.clone(),
                        regions: value.regions.clone(),
                        profiles: value.profiles.clone(),
                        source: value.source.clone(),
                        verification: value.verification,
                        extrapolated_from: value.extrapolated_from,
                        extrapolated: false,
                    });
                }
            }
        }
        for option in &self.options {
            for (slot, entries) in option.evidence.iter().enumerate() {
                for entry in entries {
                    if entry.verification != Verification::Verified
                        || entry.extrapolated_from.is_some()
                        || entry.extrapolated
                    {
                        flags.push(ProvenanceFlag {
                            kind: "evidence",
                            id: option.id.clone(),
                            regions: vec![self.regions[slot]],
                            profiles: Vec::new(),
                            source: entry.source.clone(),
                            verification: entry.verification,
                            extrapolated_from: entry.extrapolated_from,
                            extrapolated: entry.extrapolated,
                        });
                    }
                }
            }
        }
        flags
    }
}

/// A parameter or evidence entry a reviewer should know is not fully verified.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProvenanceFlag {
    /// `parameter` or `evidence`.
    pub kind: &'static str,
    /// Parameter or option id.
    pub id: String,
    pub regions: Vec<Region>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    pub source: String,
    pub verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extrapolated_from: Option<Region>,
    /// An evidence entry applied beyond what its source graded (another procedure or population).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub extrapolated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(limit: f64, strict: bool) -> Option<Bound> {
        Some(Bound {
            limit,
            strict,
            shown: Shown::Number(Quantity::Percent, limit),
        })
    }

    #[test]
    fn bounds_tell_which_side_a_value_misses() {
        let inclusive = Bounds {
            lower: bound(1.0, false),
            upper: bound(4.0, false),
        };
        assert!(inclusive.contains(1.0) && inclusive.contains(4.0));
        assert!(inclusive.short_of(0.99) && !inclusive.short_of(1.0));
        assert!(inclusive.exceeds(4.01) && !inclusive.exceeds(4.0));
        let strict = Bounds {
            lower: bound(50.0, true),
            upper: None,
        };
        assert!(strict.short_of(50.0) && !strict.contains(50.0) && strict.contains(50.1));
        assert!(!strict.exceeds(1e9), "no upper bound is never exceeded");
        assert_eq!(ParamValue::Bounds(inclusive).text(), "1% to 4%");
        assert_eq!(ParamValue::Bounds(strict).text(), "more than 50%");
    }
}
