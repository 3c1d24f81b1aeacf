//! The pathway file as written: a TOML document a clinician can read and review.
//!
//! These types mirror the file one to one (`deny_unknown_fields` everywhere) and keep the span of
//! every name that later checks may need to point at. `compile` turns them into the graph.
//! `docs/pathway-format.md` explains each table with examples.

use serde::Deserialize;
use toml::Spanned;

pub type Name = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathwayFile {
    pub pathway: Metadata,
    #[serde(default)]
    pub sources: Vec<SourceFile>,
    #[serde(default)]
    pub profiles: Vec<ProfileFile>,
    #[serde(default)]
    pub parameters: Vec<ParameterFile>,
    #[serde(default)]
    pub groups: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub conditions: Vec<NamedConditionFile>,
    #[serde(default)]
    pub criteria: Vec<CriterionFile>,
    #[serde(default)]
    pub options: Vec<OptionFile>,
    #[serde(default)]
    pub alerts: Vec<AlertFile>,
    #[serde(default)]
    pub assessment: Vec<AssessmentFile>,
    #[serde(default)]
    pub nodes: Vec<NodeFile>,
}

/// `[pathway]`: what this pathway is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub id: Name,
    pub title: String,
    pub version: Name,
    pub regions: Vec<Name>,
    pub default_profile: Name,
    /// The node the walk starts at.
    pub start: Name,
    /// Evidence strengths, strongest first; ranking breaks ties with it.
    pub strength_scale: Vec<Name>,
    pub disclaimer: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The alert raised when another profile avoids an option this answer offers, or offers one it
    /// avoids; its message is followed by those options and the profiles on each side.
    #[serde(default)]
    pub disagreement_alert: Option<Name>,
}

/// `[[sources]]`: a citable document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    pub id: Name,
    pub title: String,
    pub year: u16,
    pub url: String,
    /// Short name shown in evidence displays ("ASIPP 2020").
    pub label: String,
    /// Word placed before an evidence level from this source ("Level", "Grade"); none by default.
    #[serde(default)]
    pub scale: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `[[profiles]]`: a set of guideline thresholds the caller may choose.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub id: Name,
    pub title: String,
    /// Short name used in generated text ("ASIPP 2020").
    pub label: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// `[[parameters]]`: a threshold or value that differs by profile or region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    pub id: Name,
    /// `percent`, `months`, `weeks`, `count`, `duration` or `boolean`.
    #[serde(rename = "type")]
    pub kind: Name,
    pub description: String,
    pub values: Vec<Spanned<ParameterValueFile>>,
}

/// One value of a parameter, for some profiles and regions, with its provenance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterValueFile {
    /// Profiles this value applies to; all when left out.
    #[serde(default)]
    pub profiles: Option<Vec<Name>>,
    /// Regions this value applies to; all of the pathway's when left out.
    #[serde(default)]
    pub regions: Option<Vec<Name>>,
    /// A plain value, compared with `eq`, `lt`, ...
    #[serde(default)]
    pub value: Option<Spanned<toml::Value>>,
    /// Bounds, tested with `meets`: inclusive ...
    #[serde(default)]
    pub at_least: Option<Spanned<toml::Value>>,
    /// ... or strict.
    #[serde(default)]
    pub more_than: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub at_most: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub less_than: Option<Spanned<toml::Value>>,
    pub source: Name,
    pub verification: Name,
    /// The region this value was carried over from, when its source does not cover this one.
    #[serde(default)]
    pub extrapolated_from: Option<Name>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `[[conditions]]`: a named condition other conditions can refer to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedConditionFile {
    pub id: Name,
    #[serde(default)]
    pub description: Option<String>,
    pub when: Spanned<ConditionFile>,
}

/// A condition: exactly one of its forms.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionFile {
    pub all: Option<Vec<Spanned<ConditionFile>>>,
    pub any: Option<Vec<Spanned<ConditionFile>>>,
    pub not: Option<Box<Spanned<ConditionFile>>>,
    /// A named condition (`[[conditions]]`).
    pub condition: Option<Name>,
    /// The optional field is in the request.
    pub present: Option<Name>,
    /// The field compared by one of the operators below.
    pub field: Option<Name>,
    /// A boolean parameter of the request's profile and region, tested with `eq` or `ne`.
    pub param: Option<Name>,
    /// Counts `procedure_history` entries of `procedures` within `within`, plus `plus`, compared
    /// with one of the operators.
    pub count: Option<Name>,
    pub procedures: Option<Vec<Name>>,
    pub within: Option<Spanned<toml::Value>>,
    pub plus: Option<Spanned<toml::Value>>,
    pub eq: Option<Spanned<toml::Value>>,
    pub ne: Option<Spanned<toml::Value>>,
    pub lt: Option<Spanned<toml::Value>>,
    pub le: Option<Spanned<toml::Value>>,
    pub gt: Option<Spanned<toml::Value>>,
    pub ge: Option<Spanned<toml::Value>>,
    /// The field satisfies the bounds of this parameter.
    pub meets: Option<Name>,
    /// The field is below the lower bound of this parameter.
    pub short_of: Option<Name>,
    /// The field is above the upper bound of this parameter.
    pub exceeds: Option<Name>,
    /// With `meets`, `short_of` or `exceeds`: whose bounds; the request's profile when left out,
    /// `"any"` for any profile.
    pub in_profile: Option<Name>,
    /// The choice field is one of these values.
    pub one_of: Option<Vec<Name>>,
    /// The list field holds at least one of these values.
    pub any_of: Option<Vec<Name>>,
}

/// `[[criteria]]`: a guideline or coverage criterion reported on options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionFile {
    pub id: Name,
    /// May name parameters (`{param.x}`), not patient facts: it is rendered once per profile.
    pub text: Spanned<String>,
    /// Profiles under which it is reported; all when left out.
    #[serde(default)]
    pub profiles: Option<Vec<Name>>,
    pub source: Name,
    pub verification: Name,
    /// When true the status is `unknown` (the request lacks the information).
    #[serde(default)]
    pub unknown_when: Option<Spanned<ConditionFile>>,
    /// When true the status is `met`, otherwise `unmet`; without it the status is always `unknown`.
    #[serde(default)]
    pub met_when: Option<Spanned<ConditionFile>>,
}

/// `[[options]]`: the catalogue of next options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionFile {
    pub id: Name,
    pub title: String,
    pub category: Name,
    /// 0 (none) to 5 (open surgery); ranking breaks ties with it, least invasive first.
    pub invasiveness: Spanned<u8>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub codes: Vec<CodeFile>,
    #[serde(default)]
    pub criteria: Vec<Name>,
    /// Regions the option serves; all of the pathway's when left out.
    #[serde(default)]
    pub regions: Option<Vec<Name>>,
    /// Reuse another option's evidence (repeat RFA carries RFA's).
    #[serde(default)]
    pub evidence_from: Option<Name>,
    #[serde(default)]
    pub evidence: Vec<Spanned<EvidenceFile>>,
}

/// A coded concept (`{system, code, display}`), for some regions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFile {
    pub system: String,
    pub code: String,
    #[serde(default)]
    pub display: Option<String>,
    /// Regions the code applies to; all when left out.
    #[serde(default)]
    pub regions: Option<Vec<Name>>,
    /// An add-on code, billed only with a primary procedure (an additional level or segment).
    #[serde(default)]
    pub add_on: bool,
}

/// One graded statement about an option, for some regions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceFile {
    #[serde(default)]
    pub regions: Option<Vec<Name>>,
    pub source: Name,
    /// `for` (the default) or `against`: whether the source supports the option or recommends
    /// against it.
    #[serde(default)]
    pub direction: Option<Name>,
    pub level: String,
    pub strength: Name,
    pub verification: Name,
    #[serde(default)]
    pub extrapolated_from: Option<Name>,
    /// The source's statement is applied beyond what it graded (another procedure or population);
    /// a region carried over is `extrapolated_from` instead.
    #[serde(default)]
    pub extrapolated: bool,
    /// Overrides the generated display text.
    #[serde(default)]
    pub display: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `[[alerts]]`: the catalogue of alerts nodes may raise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFile {
    /// How nodes name this alert; its `code` when left out. Variants of one code (a severity or
    /// message per case) have ids of their own.
    #[serde(default)]
    pub id: Option<Name>,
    pub code: Name,
    pub severity: Name,
    pub message: Spanned<String>,
    /// A named condition: the message is followed by the labels of the other profiles under which
    /// it holds for the request (R8: the profiles that would count the block positive).
    #[serde(default)]
    pub name_profiles_where: Option<Name>,
}

/// `[[assessment]]`: how the response is classified; the first entry whose `when` holds wins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentFile {
    pub response: Name,
    #[serde(default)]
    pub when: Option<Spanned<ConditionFile>>,
    pub summary: Spanned<String>,
}

/// `[[nodes]]`: one step of the decision graph.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    pub id: Name,
    pub title: String,
    /// Contract rules this node implements, for reviewers ("R4").
    #[serde(default)]
    pub rules: Vec<String>,
    /// Outcomes apply only when this holds; the walk goes on either way.
    #[serde(default)]
    pub when: Option<Spanned<ConditionFile>>,
    #[serde(default)]
    pub offer: Vec<OfferFile>,
    #[serde(default)]
    pub avoid: Vec<AvoidFile>,
    #[serde(default)]
    pub alerts: Vec<Name>,
    /// Options or groups that must not be offered, whatever other nodes offer.
    #[serde(default)]
    pub suppress: Vec<Name>,
    /// Where the walk goes next (no routing at all ends the walk).
    #[serde(default)]
    pub next: Option<Name>,
    /// A decision: the first branch whose `when` holds is taken ...
    #[serde(default)]
    pub branches: Vec<BranchFile>,
    /// ... and this one when none does.
    #[serde(default)]
    pub otherwise: Option<Name>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchFile {
    pub when: Spanned<ConditionFile>,
    pub to: Name,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferFile {
    pub option: Name,
    /// Higher ranks first.
    pub priority: i32,
    pub rationale: Spanned<String>,
    #[serde(default)]
    pub when: Option<Spanned<ConditionFile>>,
    #[serde(default)]
    pub citations: Vec<Name>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvoidFile {
    pub option: Name,
    pub reason: Spanned<String>,
    #[serde(default)]
    pub when: Option<Spanned<ConditionFile>>,
    #[serde(default)]
    pub citations: Vec<Name>,
}
