//! The FHIR mapping file beside a pathway (`<name>.fhir.toml`): which FHIR codes mean which index
//! procedure and region, which pain observations are read and within which range and statuses, which
//! condition codes mean radicular symptoms or a red flag, the windows of the mapping, and the
//! override reasons offered on cards (contract section 7). This module owns reading and validating it
//! (`file:line:column` errors); the CDS Hooks services interpret it. No code or window is known here.

use super::error::{LoadErrors, Positions};
use crate::vocab::{Duration, DurationUnit, Procedure, RedFlag, Region};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// File-name suffix of a mapping file; such files are never read as pathways.
pub const MAPPING_SUFFIX: &str = ".fhir.toml";
/// File name of the default mapping, in `pathways/` and in error messages about the embedded copy.
pub const DEFAULT_MAPPING_FILE_NAME: &str = "pathways/facet-pain.fhir.toml";
/// The default mapping, embedded at compile time beside the default pathway.
pub const DEFAULT_MAPPING: &str = include_str!("../../pathways/facet-pain.fhir.toml");

/// A system and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRef {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

/// Codes of a facet procedure, and the kinds and regions they may mean (in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureCodes {
    /// Equivalent system URIs (such as a code system's URI and its OID).
    pub systems: Vec<String>,
    pub codes: Vec<String>,
    pub procedures: Vec<Procedure>,
    pub regions: Vec<Region>,
}

/// A phrase of `code.text` or a `display` that picks a kind or a region left open by the codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRule {
    pub contains: String,
    pub procedure: Option<Procedure>,
    pub region: Option<Region>,
}

/// What a condition code means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionMeaning {
    RadicularSymptoms,
    RedFlag(RedFlag),
}

/// Condition codes of one system with one meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionCodes {
    pub system: String,
    /// Exact codes and code prefixes, normalised by [`normalise_code`].
    pub codes: Vec<String>,
    pub prefixes: Vec<String>,
    pub meaning: ConditionMeaning,
}

impl ConditionCodes {
    /// Whether this code of `system` is one of these.
    pub fn matches(&self, system: &str, code: &str) -> bool {
        let code = normalise_code(code);
        system == self.system
            && (self.codes.contains(&code) || self.prefixes.iter().any(|p| code.starts_with(p)))
    }
}

/// Codes compare without dots and in upper case (`AB1.2` and `ab12` are one code).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The pain scores read.
#[derive(Debug, Clone, PartialEq)]
pub struct PainScores {
    pub codes: Vec<CodeRef>,
    pub min: f64,
    pub max: f64,
    pub statuses: Vec<String>,
}

/// A checked FHIR mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirMapping {
    /// The id of the pathway it serves.
    pub pathway: String,
    /// Byte offset of the `pathway` value in its file, for errors found across files.
    pub pathway_offset: usize,
    /// Seconds before a procedure within which the baseline score lies.
    pub baseline_window: i64,
    /// Seconds before a medial branch block within which an earlier one makes it the second.
    pub comparative_block_window: i64,
    pub pain: PainScores,
    pub procedures: Vec<ProcedureCodes>,
    pub text_rules: Vec<TextRule>,
    pub conditions: Vec<ConditionCodes>,
    /// System of the override reasons, and the reasons.
    pub override_system: String,
    pub override_reasons: Vec<CodeRef>,
}

impl FhirMapping {
    /// The embedded default mapping.
    pub fn embedded() -> Result<FhirMapping, LoadErrors> {
        parse(DEFAULT_MAPPING_FILE_NAME, DEFAULT_MAPPING)
    }

    /// The procedure entry a coding matches, if any.
    pub fn procedure_entry(&self, system: &str, code: &str) -> Option<&ProcedureCodes> {
        self.procedures.iter().find(|entry| {
            entry.systems.iter().any(|s| s == system) && entry.codes.iter().any(|c| c == code)
        })
    }

    /// Every procedure coding as `system|code`, for the prefetch query.
    pub fn procedure_tokens(&self) -> Vec<String> {
        self.procedures
            .iter()
            .flat_map(|entry| {
                entry.systems.iter().flat_map(move |system| {
                    entry
                        .codes
                        .iter()
                        .map(move |code| format!("{system}|{code}"))
                })
            })
            .collect()
    }

    /// Whether two system URIs name one code system: equal, or listed together by a procedure entry.
    pub fn same_system(&self, a: &str, b: &str) -> bool {
        a == b
            || self.procedures.iter().any(|entry| {
                entry.systems.iter().any(|s| s == a) && entry.systems.iter().any(|s| s == b)
            })
    }

    /// Whether an observation coding is a pain score.
    pub fn is_pain_code(&self, system: &str, code: &str) -> bool {
        self.pain
            .codes
            .iter()
            .any(|c| c.system == system && c.code == code)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    pathway: Spanned<String>,
    sources: Vec<SourceFile>,
    windows: WindowsFile,
    pain: PainFile,
    procedures: Vec<Spanned<ProcedureFile>>,
    #[serde(default)]
    text_rules: Vec<Spanned<TextRuleFile>>,
    #[serde(default)]
    conditions: Vec<Spanned<ConditionFile>>,
    override_reasons: OverrideFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    id: Spanned<String>,
    title: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowsFile {
    baseline: Spanned<WindowFile>,
    comparative_block: Spanned<WindowFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    value: f64,
    unit: Spanned<String>,
    source: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeFile {
    system: Spanned<String>,
    code: Spanned<String>,
    #[serde(default)]
    display: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PainFile {
    source: Spanned<String>,
    codes: Spanned<Vec<CodeFile>>,
    min: Spanned<f64>,
    max: Spanned<f64>,
    statuses: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedureFile {
    source: Spanned<String>,
    systems: Spanned<Vec<String>>,
    codes: Spanned<Vec<String>>,
    procedures: Spanned<Vec<Spanned<String>>>,
    regions: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextRuleFile {
    source: Spanned<String>,
    contains: Spanned<String>,
    #[serde(default)]
    procedure: Option<Spanned<String>>,
    #[serde(default)]
    region: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    source: Spanned<String>,
    system: Spanned<String>,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    code_prefixes: Vec<String>,
    #[serde(default)]
    radicular_symptoms: Option<Spanned<bool>>,
    #[serde(default)]
    red_flag: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    system: Spanned<String>,
    codes: Spanned<Vec<ReasonFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonFile {
    code: Spanned<String>,
    display: Spanned<String>,
}

/// Reads and checks a mapping file; every error as `file:line:column: message`.
pub fn parse(file_name: &str, text: &str) -> Result<FhirMapping, LoadErrors> {
    let positions = Positions::new(file_name, text);
    let parsed: MappingFile = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        LoadErrors(vec![positions.error(offset, error.message().trim_end())])
    })?;
    let mut checker = Checker::default();
    let mapping = checker.mapping(parsed);
    if checker.errors.is_empty() {
        return Ok(mapping);
    }
    checker.errors.sort_by_key(|(offset, _)| *offset);
    Err(LoadErrors(
        checker
            .errors
            .into_iter()
            .map(|(offset, message)| positions.error(offset, message))
            .collect(),
    ))
}

#[derive(Default)]
struct Checker {
    errors: Vec<(usize, String)>,
    sources: Vec<String>,
}

impl Checker {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push((span.start, message.into()));
    }

    fn source(&mut self, id: &Spanned<String>) {
        if !self.sources.contains(id.get_ref()) {
            self.error(id.span(), format!("unknown source `{}`", id.get_ref()));
        }
    }

    fn non_empty(&mut self, text: &Spanned<String>, what: &str) -> String {
        if text.get_ref().trim().is_empty() {
            self.error(text.span(), format!("{what} must not be empty"));
        }
        text.get_ref().clone()
    }

    fn mapping(&mut self, file: MappingFile) -> FhirMapping {
        for source in &file.sources {
            if source.title.trim().is_empty() || !source.url.starts_with("http") {
                self.error(
                    source.id.span(),
                    "a source needs a title and an http(s) url",
                );
            }
            if self.sources.contains(source.id.get_ref()) {
                self.error(
                    source.id.span(),
                    format!("duplicate source `{}`", source.id.get_ref()),
                );
            }
            self.sources.push(source.id.get_ref().clone());
        }
        let pathway = self.non_empty(&file.pathway, "pathway");
        let baseline_window = self.window(&file.windows.baseline);
        let comparative_block_window = self.window(&file.windows.comparative_block);
        let pain = self.pain(&file.pain);
        let procedures = file
            .procedures
            .iter()
            .filter_map(|entry| self.procedure(entry))
            .collect();
        self.check_overlaps(&file.procedures);
        let text_rules = file
            .text_rules
            .iter()
            .filter_map(|rule| self.text_rule(rule))
            .collect();
        let conditions = file
            .conditions
            .iter()
            .filter_map(|entry| self.condition(entry))
            .collect();
        let override_system = self.non_empty(&file.override_reasons.system, "system");
        let override_reasons = self.reasons(&file.override_reasons.codes, &override_system);
        for (i, reason) in override_reasons.iter().enumerate() {
            if override_reasons[..i].iter().any(|r| r.code == reason.code) {
                self.error(
                    file.override_reasons.codes.span(),
                    format!("duplicate override reason `{}`", reason.code),
                );
            }
        }
        FhirMapping {
            pathway,
            pathway_offset: file.pathway.span().start,
            baseline_window,
            comparative_block_window,
            pain,
            procedures,
            text_rules,
            conditions,
            override_system,
            override_reasons,
        }
    }

    fn window(&mut self, window: &Spanned<WindowFile>) -> i64 {
        let inner = window.get_ref();
        self.source(&inner.source);
        let Some(unit) = DurationUnit::parse(inner.unit.get_ref()) else {
            self.error(
                inner.unit.span(),
                format!("unit must be one of {}", DurationUnit::NAMES.join(", ")),
            );
            return 0;
        };
        if !(inner.value.is_finite() && inner.value > 0.0) {
            self.error(window.span(), "a window must be a positive duration");
            return 0;
        }
        (Duration {
            value: inner.value,
            unit,
        })
        .seconds()
        .round() as i64
    }

    fn reasons(&mut self, codes: &Spanned<Vec<ReasonFile>>, system: &str) -> Vec<CodeRef> {
        if codes.get_ref().is_empty() {
            self.error(codes.span(), "at least one override reason is needed");
        }
        codes
            .get_ref()
            .iter()
            .map(|reason| CodeRef {
                system: system.to_owned(),
                code: self.non_empty(&reason.code, "code"),
                display: Some(self.non_empty(&reason.display, "display")),
            })
            .collect()
    }

    fn codes(&mut self, codes: &Spanned<Vec<CodeFile>>) -> Vec<CodeRef> {
        if codes.get_ref().is_empty() {
            self.error(codes.span(), "at least one code is needed");
        }
        codes
            .get_ref()
            .iter()
            .map(|code| {
                let system = self.non_empty(&code.system, "system");
                let value = self.non_empty(&code.code, "code");
                CodeRef {
                    system,
                    code: value,
                    display: code.display.clone(),
                }
            })
            .collect()
    }

    fn pain(&mut self, pain: &PainFile) -> PainScores {
        self.source(&pain.source);
        let codes = self.codes(&pain.codes);
        let (min, max) = (*pain.min.get_ref(), *pain.max.get_ref());
        if !(min.is_finite() && max.is_finite() && min < max) {
            self.error(pain.max.span(), "max must be a number above min");
        }
        if pain.statuses.get_ref().is_empty() {
            self.error(pain.statuses.span(), "at least one status is needed");
        }
        PainScores {
            codes,
            min,
            max,
            statuses: pain.statuses.get_ref().clone(),
        }
    }

    fn procedure(&mut self, entry: &Spanned<ProcedureFile>) -> Option<ProcedureCodes> {
        let inner = entry.get_ref();
        self.source(&inner.source);
        for (list, what) in [(&inner.systems, "systems"), (&inner.codes, "codes")] {
            if list.get_ref().is_empty() || list.get_ref().iter().any(|s| s.trim().is_empty()) {
                self.error(list.span(), format!("{what} must list non-empty strings"));
            }
        }
        let procedures = self.names(&inner.procedures, Procedure::parse, Procedure::NAMES)?;
        let regions = self.names(&inner.regions, Region::parse, Region::NAMES)?;
        Some(ProcedureCodes {
            systems: inner.systems.get_ref().clone(),
            codes: inner.codes.get_ref().clone(),
            procedures,
            regions,
        })
    }

    /// A code listed by two entries for one system would make its meaning depend on file order.
    fn check_overlaps(&mut self, entries: &[Spanned<ProcedureFile>]) {
        for (i, entry) in entries.iter().enumerate() {
            for earlier in &entries[..i] {
                let (a, b) = (entry.get_ref(), earlier.get_ref());
                let shared_system = a
                    .systems
                    .get_ref()
                    .iter()
                    .any(|s| b.systems.get_ref().contains(s));
                if let Some(code) = a
                    .codes
                    .get_ref()
                    .iter()
                    .find(|c| b.codes.get_ref().contains(c))
                    && shared_system
                {
                    self.error(
                        a.codes.span(),
                        format!(
                            "code `{code}` is already mapped by an earlier entry of the same system"
                        ),
                    );
                }
            }
        }
    }

    fn names<T: Copy + PartialEq>(
        &mut self,
        names: &Spanned<Vec<Spanned<String>>>,
        parse: fn(&str) -> Option<T>,
        known: &[&str],
    ) -> Option<Vec<T>> {
        if names.get_ref().is_empty() {
            self.error(names.span(), "at least one value is needed");
            return None;
        }
        let mut out = Vec::new();
        for name in names.get_ref() {
            match parse(name.get_ref()) {
                Some(value) if !out.contains(&value) => out.push(value),
                Some(_) => self.error(name.span(), format!("`{}` is listed twice", name.get_ref())),
                None => self.error(
                    name.span(),
                    format!(
                        "unknown value `{}`; expected one of {}",
                        name.get_ref(),
                        known.join(", ")
                    ),
                ),
            }
        }
        (out.len() == names.get_ref().len()).then_some(out)
    }

    fn text_rule(&mut self, rule: &Spanned<TextRuleFile>) -> Option<TextRule> {
        let inner = rule.get_ref();
        self.source(&inner.source);
        let contains = self.non_empty(&inner.contains, "contains");
        let procedure = inner.procedure.as_ref().and_then(|name| {
            let parsed = Procedure::parse(name.get_ref());
            if parsed.is_none() {
                self.error(
                    name.span(),
                    format!("unknown procedure `{}`", name.get_ref()),
                );
            }
            parsed
        });
        let region = inner.region.as_ref().and_then(|name| {
            let parsed = Region::parse(name.get_ref());
            if parsed.is_none() {
                self.error(name.span(), format!("unknown region `{}`", name.get_ref()));
            }
            parsed
        });
        if inner.procedure.is_some() == inner.region.is_some() {
            self.error(
                rule.span(),
                "a text rule names exactly one of procedure or region",
            );
            return None;
        }
        (procedure.is_some() || region.is_some()).then(|| TextRule {
            contains: contains.to_lowercase(),
            procedure,
            region,
        })
    }

    fn condition(&mut self, entry: &Spanned<ConditionFile>) -> Option<ConditionCodes> {
        let inner = entry.get_ref();
        self.source(&inner.source);
        let system = self.non_empty(&inner.system, "system");
        if inner.codes.is_empty() && inner.code_prefixes.is_empty() {
            self.error(
                entry.span(),
                "a condition entry needs codes or code_prefixes",
            );
        }
        let meaning = match (&inner.radicular_symptoms, &inner.red_flag) {
            (Some(flag), None) if *flag.get_ref() => ConditionMeaning::RadicularSymptoms,
            (None, Some(name)) => match RedFlag::parse(name.get_ref()) {
                Some(flag) => ConditionMeaning::RedFlag(flag),
                None => {
                    self.error(
                        name.span(),
                        format!(
                            "unknown red flag; expected one of {}",
                            RedFlag::NAMES.join(", ")
                        ),
                    );
                    return None;
                }
            },
            _ => {
                self.error(
                    entry.span(),
                    "a condition entry says either radicular_symptoms = true or red_flag = \"...\"",
                );
                return None;
            }
        };
        Some(ConditionCodes {
            system,
            codes: inner.codes.iter().map(|c| normalise_code(c)).collect(),
            prefixes: inner
                .code_prefixes
                .iter()
                .map(|c| normalise_code(c))
                .collect(),
            meaning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
pathway = "p"
[[sources]]
id = "s"
title = "Source"
url = "https://example.org"
[windows]
baseline = { value = 30, unit = "d", source = "s" }
comparative_block = { value = 2, unit = "wk", source = "s" }
[pain]
source = "s"
codes = [{ system = "urn:x:obs", code = "P1" }]
min = 0
max = 10
statuses = ["final"]
[[procedures]]
source = "s"
systems = ["urn:x:proc", "urn:oid:1.2.3"]
codes = ["A1", "A2"]
procedures = ["intra_articular_injection", "medial_branch_block"]
regions = ["lumbar"]
[[conditions]]
source = "s"
system = "urn:x:dx"
code_prefixes = ["R1.2"]
radicular_symptoms = true
[override_reasons]
system = "urn:x:override"
codes = [{ code = "no", display = "No" }]
"#;

    #[test]
    fn the_embedded_mapping_loads() {
        let mapping = FhirMapping::embedded().unwrap();
        assert!(!mapping.procedures.is_empty());
        assert!(!mapping.override_reasons.is_empty());
        assert_eq!(mapping.baseline_window, 30 * 86_400);
    }

    #[test]
    fn reads_a_minimal_mapping() {
        let mapping = parse("m.fhir.toml", MINIMAL).unwrap();
        assert_eq!(mapping.comparative_block_window, 14 * 86_400);
        assert!(mapping.procedure_entry("urn:oid:1.2.3", "A2").is_some());
        assert!(mapping.procedure_entry("urn:oid:1.2.3", "A3").is_none());
        assert_eq!(mapping.procedure_tokens().len(), 4);
        assert!(mapping.conditions[0].matches("urn:x:dx", "r1.25"));
        assert!(!mapping.conditions[0].matches("urn:x:other", "R1.25"));
    }

    #[test]
    fn errors_point_at_the_offending_value() {
        let text = MINIMAL
            .replace("\"medial_branch_block\"", "\"medial_block\"")
            .replace(
                "source = \"s\"\nsystem = \"urn:x:dx\"",
                "source = \"nope\"\nsystem = \"urn:x:dx\"",
            );
        let errors = parse("m.fhir.toml", &text).unwrap_err().to_string();
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), 2, "{errors}");
        assert!(lines[0].starts_with("m.fhir.toml:20:"), "{errors}");
        assert!(
            lines[0].contains("unknown value `medial_block`"),
            "{errors}"
        );
        assert!(lines[1].contains("unknown source `nope`"), "{errors}");
    }

    #[test]
    fn unknown_fields_and_overlapping_codes_are_errors() {
        let unknown = parse("m.fhir.toml", &MINIMAL.replace("min = 0", "minimum = 0")).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `minimum`"),
            "{unknown}"
        );
        let twice = format!(
            "{MINIMAL}[[procedures]]\nsource = \"s\"\nsystems = [\"urn:x:proc\"]\ncodes = [\"A2\"]\nprocedures = [\"radiofrequency_ablation\"]\nregions = [\"lumbar\"]\n"
        );
        let errors = parse("m.fhir.toml", &twice).unwrap_err().to_string();
        assert!(errors.contains("code `A2` is already mapped"), "{errors}");
    }
}
