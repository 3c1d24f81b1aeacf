//! Validation and compilation of a pathway file into a `Pathway`.
//!
//! Every check runs and every error is kept, each with the position of the offending name, so one
//! `validate` run lists all that is wrong with a file. Names are resolved to indices here once.
//!
//! This module holds the compiler's shared state and lookups and runs the sections in order; each
//! section (parameters, conditions, catalogue, alerts and assessment, graph) compiles in its own
//! submodule.

mod alerts;
mod catalogue;
mod conditions;
mod count;
mod flag;
mod graph;
mod parameters;

use super::condition::CountSpec;
use super::condition::{BoundTest, Condition, Op, Operand, Scope};
use super::error::{LoadErrors, Positions};
use super::file::{self, ConditionFile, Name, PathwayFile};
use super::program::When;
use super::template::{Names, Template};
use super::*;
use crate::facts::{FactType, Facts};
use crate::vocab::{Category, DurationUnit, ResponseLevel, Severity, Verification};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;

/// Parses, validates and compiles one pathway file.
pub fn compile(file_name: &str, text: &str) -> Result<Pathway, LoadErrors> {
    let positions = Positions::new(file_name, text);
    let parsed: PathwayFile = toml::from_str(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        LoadErrors(vec![positions.error(offset, error.message().trim_end())])
    })?;
    let mut compiler = Compiler::default();
    let pathway = compiler.pathway(parsed, text);
    if compiler.errors.is_empty()
        && let Some(pathway) = pathway
    {
        return Ok(pathway);
    }
    compiler.errors.sort_by_key(|(offset, _)| *offset);
    Err(LoadErrors(
        compiler
            .errors
            .into_iter()
            .map(|(offset, message)| positions.error(offset, message))
            .collect(),
    ))
}

/// Whether a parameter's values are plain values or bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamForm {
    Plain,
    Bounds,
}

#[derive(Default)]
struct Compiler {
    errors: Vec<(usize, String)>,
    regions: Vec<Region>,
    sources: HashMap<String, usize>,
    profiles: HashMap<String, usize>,
    profile_count: usize,
    params: HashMap<String, usize>,
    param_kinds: Vec<(ParamKind, Option<ParamForm>)>,
    options: HashMap<String, usize>,
    groups: HashMap<String, Vec<usize>>,
    criteria: HashMap<String, usize>,
    alerts: HashMap<String, usize>,
    nodes: HashMap<String, usize>,
    named_conditions: HashMap<String, usize>,
    named_files: Vec<Option<Spanned<ConditionFile>>>,
    /// Where each named condition's `when` is, kept apart because `named_files` entries are taken
    /// out while they compile.
    named_spans: Vec<Range<usize>>,
    named_compiled: Vec<Option<Option<Condition>>>,
    named_in_progress: Vec<bool>,
    /// The count conditions compiled so far, as [`Condition::Count`] indexes them.
    counts: Vec<CountSpec>,
}

impl Names for Compiler {
    fn param(&self, name: &str) -> Option<usize> {
        self.params.get(name).copied()
    }
}

fn start(span: Range<usize>) -> usize {
    span.start
}

impl Compiler {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push((start(span), message.into()));
    }

    /// Registers ids in a namespace, reporting duplicates.
    fn register(&mut self, kind: &str, names: &[&Name]) -> HashMap<String, usize> {
        let mut map = HashMap::new();
        for (index, name) in names.iter().enumerate() {
            if name.get_ref().is_empty() {
                self.error(name.span(), format!("{kind} id must not be empty"));
            } else if map.insert(name.get_ref().clone(), index).is_some() {
                self.error(
                    name.span(),
                    format!("duplicate {kind} id `{}`", name.get_ref()),
                );
            }
        }
        map
    }

    fn lookup(&mut self, map: &HashMap<String, usize>, kind: &str, name: &Name) -> Option<usize> {
        let found = map.get(name.get_ref()).copied();
        if found.is_none() {
            self.error(name.span(), format!("unknown {kind} `{}`", name.get_ref()));
        }
        found
    }

    fn source(&mut self, name: &Name) -> Option<usize> {
        let sources = std::mem::take(&mut self.sources);
        let found = self.lookup(&sources, "source", name);
        self.sources = sources;
        found
    }

    fn option(&mut self, name: &Name) -> Option<usize> {
        let options = std::mem::take(&mut self.options);
        let found = self.lookup(&options, "option", name);
        self.options = options;
        found
    }

    fn parse_word<T>(
        &mut self,
        name: &Name,
        kind: &str,
        parse: fn(&str) -> Option<T>,
        names: &[&str],
    ) -> Option<T> {
        let parsed = parse(name.get_ref());
        if parsed.is_none() {
            self.error(
                name.span(),
                format!(
                    "unknown {kind} `{}`; expected one of {}",
                    name.get_ref(),
                    names.join(", ")
                ),
            );
        }
        parsed
    }

    fn region(&mut self, name: &Name) -> Option<Region> {
        let region = self.parse_word(name, "region", Region::parse, Region::NAMES)?;
        if !self.regions.contains(&region) {
            self.error(
                name.span(),
                format!(
                    "region `{}` is not one of this pathway's regions",
                    name.get_ref()
                ),
            );
            return None;
        }
        Some(region)
    }

    fn verification(&mut self, name: &Name) -> Option<Verification> {
        self.parse_word(
            name,
            "verification status",
            Verification::parse,
            Verification::NAMES,
        )
    }

    /// Region slots named by an optional list (all when absent).
    fn region_slots(&mut self, names: &Option<Vec<Name>>) -> Vec<usize> {
        match names {
            None => (0..self.regions.len()).collect(),
            Some(names) => {
                if names.is_empty() {
                    // An empty list would silently apply to nothing.
                    self.errors
                        .push((0, "a `regions` list must not be empty".into()));
                }
                let mut slots = Vec::new();
                for name in names {
                    if let Some(region) = self.region(name) {
                        let slot = self
                            .regions
                            .iter()
                            .position(|r| *r == region)
                            .unwrap_or_default();
                        if !slots.contains(&slot) {
                            slots.push(slot);
                        }
                    }
                }
                slots
            }
        }
    }

    fn profile_indices(&mut self, names: &Option<Vec<Name>>) -> Vec<usize> {
        match names {
            None => (0..self.profile_count).collect(),
            Some(names) => {
                let profiles = std::mem::take(&mut self.profiles);
                let indices = names
                    .iter()
                    .filter_map(|name| self.lookup(&profiles, "profile", name))
                    .collect();
                self.profiles = profiles;
                indices
            }
        }
    }

    fn template(&mut self, text: &Spanned<String>, allow_facts: bool) -> Option<Template> {
        match Template::parse(text.get_ref(), self, allow_facts) {
            Ok(template) => Some(template),
            Err((offset, message)) => {
                // The span starts at the opening quote; point inside the string where possible.
                self.errors.push((text.span().start + 1 + offset, message));
                None
            }
        }
    }

    fn pathway(&mut self, file: PathwayFile, text: &str) -> Option<Pathway> {
        let meta = &file.pathway;
        self.regions = meta
            .regions
            .iter()
            .filter_map(|name| self.parse_word(name, "region", Region::parse, Region::NAMES))
            .collect();
        if meta.regions.is_empty() {
            self.error(meta.id.span(), "the pathway must serve at least one region");
        }
        let repeated: Vec<usize> = (0..self.regions.len())
            .filter(|&i| self.regions[..i].contains(&self.regions[i]))
            .collect();
        for i in repeated {
            let span = meta.regions[i].span();
            self.error(
                span,
                format!("region `{}` is listed twice", self.regions[i]),
            );
        }
        if !is_semver(meta.version.get_ref()) {
            self.error(
                meta.version.span(),
                "version must be a semantic version such as 1.2.0",
            );
        }
        let strength_scale: Vec<String> = meta
            .strength_scale
            .iter()
            .map(|s| s.get_ref().clone())
            .collect();
        if strength_scale.is_empty() {
            self.error(
                meta.id.span(),
                "strength_scale must list at least one strength",
            );
        }
        let _ = self.register("strength", &meta.strength_scale.iter().collect::<Vec<_>>());

        self.sources = self.register(
            "source",
            &file.sources.iter().map(|s| &s.id).collect::<Vec<_>>(),
        );
        let sources: Vec<Source> = file
            .sources
            .iter()
            .map(|s| Source {
                id: s.id.get_ref().clone(),
                title: s.title.clone(),
                year: s.year,
                url: s.url.clone(),
                label: s.label.clone(),
                note: s.note.clone(),
            })
            .collect();
        let source_scales: Vec<Option<String>> =
            file.sources.iter().map(|s| s.scale.clone()).collect();

        self.profiles = self.register(
            "profile",
            &file.profiles.iter().map(|p| &p.id).collect::<Vec<_>>(),
        );
        self.profile_count = file.profiles.len();
        if file.profiles.is_empty() {
            self.error(
                meta.id.span(),
                "the pathway must define at least one profile",
            );
        }
        let profiles: Vec<Profile> = file
            .profiles
            .iter()
            .map(|p| Profile {
                id: p.id.get_ref().clone(),
                title: p.title.clone(),
                label: p.label.clone(),
                description: p.description.clone(),
            })
            .collect();
        let default_profile = {
            let map = std::mem::take(&mut self.profiles);
            let found = self.lookup(&map, "profile", &meta.default_profile);
            self.profiles = map;
            found
        };

        let (parameters, param_table) = self.parameters(&file.parameters);

        self.options = self.register(
            "option",
            &file.options.iter().map(|o| &o.id).collect::<Vec<_>>(),
        );
        if let Some(over) = file.options.get(MAX_OPTIONS) {
            self.error(
                over.id.span(),
                format!("a pathway defines at most {MAX_OPTIONS} options"),
            );
        }
        if let Some(groups) = &file.groups {
            self.groups(groups);
        }
        self.named_conditions = self.register(
            "condition",
            &file.conditions.iter().map(|c| &c.id).collect::<Vec<_>>(),
        );
        self.named_compiled = vec![None; file.conditions.len()];
        self.named_in_progress = vec![false; file.conditions.len()];
        self.named_spans = file.conditions.iter().map(|c| c.when.span()).collect();
        self.named_files = file.conditions.into_iter().map(|c| Some(c.when)).collect();
        for index in 0..self.named_files.len() {
            self.named_condition(index);
        }

        self.criteria = self.register(
            "criterion",
            &file.criteria.iter().map(|c| &c.id).collect::<Vec<_>>(),
        );
        let criteria_files = file.criteria;
        let mut criteria: Vec<Criterion> = Vec::new();
        let mut criterion_texts = Vec::new();
        for criterion in &criteria_files {
            let text = self.template(&criterion.text, false);
            let profiles = self.profile_indices(&criterion.profiles);
            let source = self.source(&criterion.source);
            let verification = self.verification(&criterion.verification);
            let unknown_when = criterion
                .unknown_when
                .as_ref()
                .and_then(|c| self.condition(c))
                .map(When::new);
            let met_when = criterion
                .met_when
                .as_ref()
                .and_then(|c| self.condition(c))
                .map(When::new);
            criterion_texts.push(text);
            criteria.push(Criterion {
                id: criterion.id.get_ref().clone(),
                texts: Vec::new(),
                profiles: (0..self.profile_count)
                    .map(|p| profiles.contains(&p))
                    .collect(),
                source: source.unwrap_or_default(),
                verification: verification.unwrap_or(Verification::Unverified),
                unknown_when,
                met_when,
            });
        }

        let options =
            self.options_catalogue(&file.options, &strength_scale, &sources, &source_scales);

        let alerts = self.alerts(&file.alerts);

        let assessments = self.assessments(&file.assessment, meta);
        let (nodes, start) = self.nodes(&file.nodes, &meta.start);
        let disagreement_alert = match &meta.disagreement_alert {
            Some(name) => {
                let alert_map = std::mem::take(&mut self.alerts);
                let found = self.lookup(&alert_map, "alert", name);
                self.alerts = alert_map;
                found
            }
            None => None,
        };

        let digest = format!("sha256:{:x}", Sha256::digest(text.as_bytes()));
        let mut pathway = Pathway {
            id: meta.id.get_ref().clone(),
            title: meta.title.clone(),
            version: meta.version.get_ref().clone(),
            digest,
            description: meta.description.clone(),
            disclaimer: meta.disclaimer.clone(),
            regions: self.regions.clone(),
            default_profile: default_profile?,
            strength_scale,
            sources,
            profiles,
            parameters,
            param_limits: param_table
                .iter()
                .flatten()
                .map(super::Limits::of)
                .collect(),
            param_table: param_table?,
            groups: {
                let mut groups: Vec<Group> = self
                    .groups
                    .iter()
                    .map(|(name, options)| Group {
                        name: name.clone(),
                        options: options.clone(),
                    })
                    .collect();
                groups.sort_by(|a, b| a.name.cmp(&b.name));
                groups
            },
            criteria,
            options,
            alerts,
            disagreement_alert,
            counts: std::mem::take(&mut self.counts),
            assessments,
            nodes,
            start: start?,
            walk: Default::default(),
        };
        if !self.errors.is_empty() {
            return None;
        }
        // Criteria texts name parameters only, so they are rendered once per profile and region.
        let blank = Facts::blank();
        let rows = pathway.profiles.len() * pathway.regions.len();
        let texts: Vec<Vec<String>> = criterion_texts
            .iter()
            .map(|template| {
                (0..rows)
                    .map(|row| {
                        let ctx = condition::Context::new(
                            &pathway,
                            &blank,
                            row / pathway.regions.len(),
                            row % pathway.regions.len(),
                        );
                        template
                            .as_ref()
                            .map(|t| t.to_string(&ctx))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect();
        for (criterion, texts) in pathway.criteria.iter_mut().zip(texts) {
            criterion.texts = texts;
        }
        // A branch without a label is named by its condition in words, once, for the graph, the
        // pathway document and the trace alike.
        let mut described = Vec::new();
        for (node, route) in pathway.nodes.iter().enumerate() {
            if let Route::Decide { branches, .. } = &route.route {
                for (index, branch) in branches.iter().enumerate() {
                    if branch.label.is_empty() {
                        let mut words = String::new();
                        branch.when.condition.describe(&pathway, &mut words);
                        described.push((node, index, words));
                    }
                }
            }
        }
        for (node, index, words) in described {
            if let Route::Decide { branches, .. } = &mut pathway.nodes[node].route {
                branches[index].label = words;
            }
        }
        pathway.walk = pathway.build_walk();
        Some(pathway)
    }

    fn type_error<T>(&mut self, span: Range<usize>, expected: &str) -> Option<T> {
        self.error(span, format!("type mismatch: expected {expected}"));
        None
    }

    fn number(&mut self, value: &Spanned<toml::Value>) -> Option<f64> {
        match value.get_ref() {
            toml::Value::Integer(n) => Some(*n as f64),
            toml::Value::Float(n) if n.is_finite() => Some(*n),
            _ => self.type_error(value.span(), "a number"),
        }
    }

    fn duration(&mut self, value: &Spanned<toml::Value>) -> Option<crate::vocab::Duration> {
        let toml::Value::Table(table) = value.get_ref() else {
            return self.type_error(
                value.span(),
                "a duration such as { value = 12, unit = \"wk\" }",
            );
        };
        let amount = match table.get("value") {
            Some(toml::Value::Integer(n)) if *n >= 0 => Some(*n as f64),
            Some(toml::Value::Float(n)) if n.is_finite() && *n >= 0.0 => Some(*n),
            _ => None,
        };
        let unit = table
            .get("unit")
            .and_then(|u| u.as_str())
            .and_then(DurationUnit::parse);
        if table.len() != 2 || amount.is_none() || unit.is_none() {
            self.error(
                value.span(),
                format!(
                    "a duration needs a `value` of at least 0 and a `unit` among {}",
                    DurationUnit::NAMES.join(", ")
                ),
            );
            return None;
        }
        Some(crate::vocab::Duration {
            value: amount?,
            unit: unit?,
        })
    }
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
