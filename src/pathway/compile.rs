//! Validation and compilation of a pathway file into a `Pathway`.
//!
//! Every check runs and every error is kept, each with the position of the offending name, so one
//! `validate` run lists all that is wrong with a file. Names are resolved to indices here once.

mod count;
mod flag;

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

mod catalogue;

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

        self.alerts = self.register(
            "alert",
            &(file.alerts.iter())
                .map(|a| a.id.as_ref().unwrap_or(&a.code))
                .collect::<Vec<_>>(),
        );
        let alerts: Vec<AlertDef> = file
            .alerts
            .iter()
            .filter_map(|alert| {
                let severity = self.parse_word(
                    &alert.severity,
                    "severity",
                    Severity::parse,
                    Severity::NAMES,
                );
                let message = self.template(&alert.message, true);
                let name_profiles_where = match &alert.name_profiles_where {
                    Some(name) => {
                        let conditions = std::mem::take(&mut self.named_conditions);
                        let index = self.lookup(&conditions, "condition", name);
                        self.named_conditions = conditions;
                        Some(When::new(self.named_condition(index?)?))
                    }
                    None => None,
                };
                Some(AlertDef {
                    code: alert.code.get_ref().clone(),
                    severity: severity?,
                    message: message?,
                    name_profiles_where,
                })
            })
            .collect();

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
            response_json: ResponseJson::default(),
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
        pathway.response_json = ResponseJson::new(&pathway);
        Some(pathway)
    }

    fn parameters(
        &mut self,
        files: &[file::ParameterFile],
    ) -> (Vec<Parameter>, Option<Vec<ParamValue>>) {
        self.params = self.register(
            "parameter",
            &files.iter().map(|p| &p.id).collect::<Vec<_>>(),
        );
        let regions = self.regions.len();
        let mut table: Vec<Option<ParamValue>> =
            vec![None; self.profile_count * regions * files.len()];
        let mut parameters = Vec::new();
        for (index, parameter) in files.iter().enumerate() {
            let kind = match parameter.kind.get_ref().as_str() {
                "percent" => Some(ParamKind::Number(Quantity::Percent)),
                "months" => Some(ParamKind::Number(Quantity::Months)),
                "weeks" => Some(ParamKind::Number(Quantity::Weeks)),
                "count" => Some(ParamKind::Number(Quantity::Count)),
                "duration" => Some(ParamKind::Duration),
                "boolean" => Some(ParamKind::Boolean),
                other => {
                    self.error(
                        parameter.kind.span(),
                        format!("unknown parameter type `{other}`; expected percent, months, weeks, count, duration or boolean"),
                    );
                    None
                }
            };
            let Some(kind) = kind else {
                self.param_kinds.push((ParamKind::Boolean, None));
                parameters.push(Parameter {
                    id: parameter.id.get_ref().clone(),
                    kind: ParamKind::Boolean,
                    description: parameter.description.clone(),
                    values: Vec::new(),
                });
                continue;
            };
            let mut form = None;
            let mut shown_values = Vec::new();
            for row in &parameter.values {
                let span = row.span();
                let row = row.get_ref();
                let profiles = self.profile_indices(&row.profiles);
                let slots = self.region_slots(&row.regions);
                let source = self.source(&row.source);
                let verification = self.verification(&row.verification);
                let extrapolated_from = row
                    .extrapolated_from
                    .as_ref()
                    .and_then(|name| self.parse_word(name, "region", Region::parse, Region::NAMES));
                let Some((value, row_form)) = self.parameter_value(kind, row, span.clone()) else {
                    continue;
                };
                if form.is_some_and(|f| f != row_form) {
                    self.error(
                        span.clone(),
                        format!(
                            "parameter `{}` mixes plain values and bounds",
                            parameter.id.get_ref()
                        ),
                    );
                }
                form = Some(row_form);
                for &profile in &profiles {
                    for &slot in &slots {
                        let cell = &mut table[(profile * regions + slot) * files.len() + index];
                        if cell.is_some() {
                            self.error(
                                span.clone(),
                                format!(
                                    "parameter `{}` has two values for profile `{}`, region `{}`",
                                    parameter.id.get_ref(),
                                    self.profile_name(profile),
                                    self.regions[slot]
                                ),
                            );
                        }
                        *cell = Some(value.clone());
                    }
                }
                shown_values.push(ParameterValue {
                    profiles: row
                        .profiles
                        .as_ref()
                        .map(|names| names.iter().map(|n| n.get_ref().clone()).collect())
                        .unwrap_or_default(),
                    regions: slots.iter().map(|slot| self.regions[*slot]).collect(),
                    value: value.text(),
                    source: source
                        .map(|_| row.source.get_ref().clone())
                        .unwrap_or_default(),
                    verification: verification.unwrap_or(Verification::Unverified),
                    extrapolated_from,
                    note: row.note.clone(),
                });
            }
            self.param_kinds.push((kind, form));
            for profile in 0..self.profile_count {
                for slot in 0..regions {
                    if table[(profile * regions + slot) * files.len() + index].is_none() {
                        self.error(
                            parameter.id.span(),
                            format!(
                                "parameter `{}` has no value for profile `{}`, region `{}`",
                                parameter.id.get_ref(),
                                self.profile_name(profile),
                                self.regions[slot]
                            ),
                        );
                    }
                }
            }
            parameters.push(Parameter {
                id: parameter.id.get_ref().clone(),
                kind,
                description: parameter.description.clone(),
                values: shown_values,
            });
        }
        let table = table.into_iter().collect::<Option<Vec<_>>>();
        (parameters, table)
    }

    fn profile_name(&self, index: usize) -> String {
        self.profiles
            .iter()
            .find(|(_, i)| **i == index)
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    }

    fn parameter_value(
        &mut self,
        kind: ParamKind,
        row: &file::ParameterValueFile,
        span: Range<usize>,
    ) -> Option<(ParamValue, ParamForm)> {
        let bounds = [&row.at_least, &row.more_than, &row.at_most, &row.less_than];
        let bound_count = bounds.iter().filter(|b| b.is_some()).count();
        match (&row.value, bound_count) {
            (Some(value), 0) => {
                let value = match kind {
                    ParamKind::Boolean => match value.get_ref() {
                        toml::Value::Boolean(flag) => ParamValue::Boolean(*flag),
                        _ => return self.type_error(value.span(), "a boolean"),
                    },
                    ParamKind::Number(_) => ParamValue::Number(self.number(value)?),
                    ParamKind::Duration => {
                        let duration = self.duration(value)?;
                        ParamValue::Duration(duration.seconds(), duration)
                    }
                };
                Some((value, ParamForm::Plain))
            }
            (None, 1..) => {
                if kind == ParamKind::Boolean {
                    self.error(span, "a boolean parameter takes `value`, not bounds");
                    return None;
                }
                if row.at_least.is_some() && row.more_than.is_some()
                    || row.at_most.is_some() && row.less_than.is_some()
                {
                    self.error(span, "give at most one lower bound (at_least or more_than) and one upper bound (at_most or less_than)");
                    return None;
                }
                let mut bound =
                    |value: &Option<Spanned<toml::Value>>, strict: bool| -> Option<Option<Bound>> {
                        let Some(value) = value else {
                            return Some(None);
                        };
                        let (limit, shown) = match kind {
                            ParamKind::Number(quantity) => {
                                let number = self.number(value)?;
                                (number, Shown::Number(quantity, number))
                            }
                            _ => {
                                let duration = self.duration(value)?;
                                (duration.seconds(), Shown::Duration(duration))
                            }
                        };
                        Some(Some(Bound {
                            limit,
                            strict,
                            shown,
                        }))
                    };
                let lower = bound(&row.at_least, false)?.or(bound(&row.more_than, true)?);
                let upper = bound(&row.at_most, false)?.or(bound(&row.less_than, true)?);
                Some((
                    ParamValue::Bounds(Bounds { lower, upper }),
                    ParamForm::Bounds,
                ))
            }
            (Some(_), 1..) => {
                self.error(span, "give either `value` or bounds (at_least, more_than, at_most, less_than), not both");
                None
            }
            (None, 0) => {
                self.error(span, "a parameter value needs `value` or a bound (at_least, more_than, at_most, less_than)");
                None
            }
        }
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

    fn groups(&mut self, groups: &Spanned<toml::Table>) {
        for (name, members) in groups.get_ref() {
            let span = groups.span();
            if self.options.contains_key(name) {
                self.error(
                    span.clone(),
                    format!("group `{name}` has the name of an option"),
                );
            }
            let Some(members) = members.as_array() else {
                self.error(span, format!("group `{name}` must be a list of option ids"));
                continue;
            };
            let mut indices = Vec::new();
            for member in members {
                match member.as_str().and_then(|id| self.options.get(id)) {
                    Some(index) => indices.push(*index),
                    None => self.error(
                        span.clone(),
                        format!("group `{name}` names an unknown option"),
                    ),
                }
            }
            self.groups.insert(name.clone(), indices);
        }
    }

    fn named_condition(&mut self, index: usize) -> Option<Condition> {
        if let Some(done) = &self.named_compiled[index] {
            return done.clone();
        }
        if self.named_in_progress[index] {
            self.error(
                self.named_spans[index].clone(),
                "condition refers to itself through `condition`",
            );
            self.named_compiled[index] = Some(None);
            return None;
        }
        self.named_in_progress[index] = true;
        let file = self.named_files[index].take();
        let compiled = file.as_ref().and_then(|file| self.condition(file));
        self.named_files[index] = file;
        self.named_in_progress[index] = false;
        self.named_compiled[index] = Some(compiled.clone());
        compiled
    }

    fn condition(&mut self, spanned: &Spanned<ConditionFile>) -> Option<Condition> {
        let span = spanned.span();
        let c = spanned.get_ref();
        let forms = [
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
            c.condition.is_some(),
            c.present.is_some(),
            c.field.is_some(),
            c.param.is_some(),
            c.count.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            self.error(
                span,
                "a condition needs exactly one of: all, any, not, condition, present, field, param, count",
            );
            return None;
        }
        if let Some(name) = &c.param {
            return self.flag(span, name, c);
        }
        if c.count.is_some() {
            return self.count(span, c);
        }
        if c.field.is_none() {
            let operators = [&c.eq, &c.ne, &c.lt, &c.le, &c.gt, &c.ge]
                .iter()
                .any(|o| o.is_some())
                || c.meets.is_some()
                || c.short_of.is_some()
                || c.exceeds.is_some()
                || c.one_of.is_some()
                || c.any_of.is_some()
                || c.in_profile.is_some();
            if operators {
                self.error(span, "comparison operators need a `field`");
                return None;
            }
        }
        if let Some(parts) = c.all.as_ref().or(c.any.as_ref()) {
            if parts.is_empty() {
                self.error(span, "`all` and `any` need at least one condition");
                return None;
            }
            let compiled: Option<Vec<Condition>> = parts
                .iter()
                .map(|p| self.condition(p))
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            let compiled = compiled?.into_boxed_slice();
            return Some(if c.all.is_some() {
                Condition::All(compiled)
            } else {
                Condition::Any(compiled)
            });
        }
        if let Some(inner) = &c.not {
            return Some(Condition::Not(Box::new(self.condition(inner)?)));
        }
        if let Some(name) = &c.condition {
            let conditions = std::mem::take(&mut self.named_conditions);
            let index = self.lookup(&conditions, "condition", name);
            self.named_conditions = conditions;
            return self.named_condition(index?);
        }
        if let Some(name) = &c.present {
            let field = self.field(name)?;
            if !field.optional() {
                self.error(
                    name.span(),
                    format!(
                        "`{}` is always present (the contract gives it a default or requires it)",
                        name.get_ref()
                    ),
                );
                return None;
            }
            return Some(Condition::Present(field));
        }
        let name = c.field.as_ref()?;
        let field = self.field(name)?;
        self.comparison(span, field, c)
    }

    /// Whose parameter values a test reads: the request's profile, `"any"` profile or a named one.
    fn scope(&mut self, in_profile: Option<&Name>) -> Option<Scope> {
        Some(match in_profile {
            None => Scope::Current,
            Some(name) if name.get_ref() == "any" => Scope::AnyProfile,
            Some(name) => {
                let profiles = std::mem::take(&mut self.profiles);
                let found = self.lookup(&profiles, "profile", name);
                self.profiles = profiles;
                Scope::Profile(found?)
            }
        })
    }

    fn field(&mut self, name: &Name) -> Option<Field> {
        let field = Field::lookup(name.get_ref());
        if field.is_none() {
            self.error(
                name.span(),
                format!("unknown request field `{}`", name.get_ref()),
            );
        }
        field
    }

    fn comparison(
        &mut self,
        span: Range<usize>,
        field: Field,
        c: &ConditionFile,
    ) -> Option<Condition> {
        let operators = [
            (Op::Eq, &c.eq),
            (Op::Ne, &c.ne),
            (Op::Lt, &c.lt),
            (Op::Le, &c.le),
            (Op::Gt, &c.gt),
            (Op::Ge, &c.ge),
        ];
        let compared: Vec<_> = operators
            .iter()
            .filter_map(|(op, value)| value.as_ref().map(|v| (*op, v)))
            .collect();
        let bound_tests = [
            (BoundTest::Meets, &c.meets),
            (BoundTest::ShortOf, &c.short_of),
            (BoundTest::Exceeds, &c.exceeds),
        ];
        let bound_test = bound_tests
            .iter()
            .find_map(|(test, name)| name.as_ref().map(|name| (*test, name)));
        let count = compared.len()
            + bound_tests
                .iter()
                .filter(|(_, name)| name.is_some())
                .count()
            + usize::from(c.one_of.is_some())
            + usize::from(c.any_of.is_some());
        if count != 1 {
            self.error(
                span,
                "a field condition needs exactly one of: eq, ne, lt, le, gt, ge, meets, short_of, exceeds, one_of, any_of",
            );
            return None;
        }
        if c.in_profile.is_some() && bound_test.is_none() {
            self.error(
                span,
                "`in_profile` goes with `meets`, `short_of` or `exceeds`",
            );
            return None;
        }
        let fact_type = field.fact_type();
        if let Some((op, value)) = compared.first() {
            let rhs = self.operand(field, *op, value)?;
            return Some(Condition::Compare {
                field,
                op: *op,
                rhs,
            });
        }
        if let Some((test, param_name)) = bound_test {
            let params = std::mem::take(&mut self.params);
            let param = self.lookup(&params, "parameter", param_name);
            self.params = params;
            let param = param?;
            let (kind, form) = self.param_kinds.get(param).copied()?;
            if form == Some(ParamForm::Plain) {
                self.error(param_name.span(), format!("`{}` needs a parameter with bounds; `{}` has plain values (compare it with eq, lt, ...)", test.word(), param_name.get_ref()));
                return None;
            }
            if !compatible(fact_type, kind) {
                self.error(
                    param_name.span(),
                    format!(
                        "type mismatch: `{}` is {} but parameter `{}` is {}",
                        field.name(),
                        fact_type.describe(),
                        param_name.get_ref(),
                        kind.name()
                    ),
                );
                return None;
            }
            let scope = self.scope(c.in_profile.as_ref())?;
            return Some(Condition::Meets {
                field,
                param,
                scope,
                test,
            });
        }
        let (list, wanted_set) = match (&c.one_of, &c.any_of) {
            (Some(list), _) => (list, false),
            (_, Some(list)) => (list, true),
            _ => return None,
        };
        let choices = match (fact_type, wanted_set) {
            (FactType::Choice(choices), false) | (FactType::ChoiceSet(choices), true) => choices,
            _ => {
                let form = if wanted_set {
                    "`any_of` needs a list field"
                } else {
                    "`one_of` needs a single-choice field"
                };
                self.error(
                    span,
                    format!(
                        "type mismatch: {form}; `{}` is {}",
                        field.name(),
                        fact_type.describe()
                    ),
                );
                return None;
            }
        };
        if list.is_empty() {
            self.error(span, "the list of values must not be empty");
            return None;
        }
        let mut mask = 0u32;
        for name in list {
            match choices.iter().position(|choice| choice == name.get_ref()) {
                Some(index) => mask |= 1 << index,
                None => self.error(
                    name.span(),
                    format!(
                        "`{}` is not a value of `{}` ({})",
                        name.get_ref(),
                        field.name(),
                        choices.join(", ")
                    ),
                ),
            }
        }
        Some(if wanted_set {
            Condition::AnyOf { field, mask }
        } else {
            Condition::OneOf { field, mask }
        })
    }

    fn operand(&mut self, field: Field, op: Op, value: &Spanned<toml::Value>) -> Option<Operand> {
        let span = value.span();
        let fact_type = field.fact_type();
        let ordered = !matches!(op, Op::Eq | Op::Ne);
        let mismatch = |this: &mut Self, what: &str| -> Option<Operand> {
            this.error(
                span.clone(),
                format!(
                    "type mismatch: `{}` is {} but is compared with {what}",
                    field.name(),
                    fact_type.describe()
                ),
            );
            None
        };
        match value.get_ref() {
            toml::Value::Integer(_) | toml::Value::Float(_) => match fact_type {
                FactType::Number(_) => Some(Operand::Number(self.number(value)?)),
                _ => mismatch(self, "a number"),
            },
            toml::Value::Boolean(flag) => match fact_type {
                FactType::Boolean if !ordered => Some(Operand::Boolean(*flag)),
                FactType::Boolean => mismatch(self, "an ordering of booleans"),
                _ => mismatch(self, "a boolean"),
            },
            toml::Value::String(text) => match fact_type {
                FactType::Choice(choices) if !ordered => {
                    match choices.iter().position(|c| c == text) {
                        Some(index) => Some(Operand::Choice(index as u8)),
                        None => {
                            self.error(
                                span,
                                format!(
                                    "`{text}` is not a value of `{}` ({})",
                                    field.name(),
                                    choices.join(", ")
                                ),
                            );
                            None
                        }
                    }
                }
                FactType::Choice(_) => mismatch(self, "an ordering of choices"),
                _ => mismatch(self, "a string"),
            },
            toml::Value::Table(table) if table.contains_key("field") => {
                let name = table
                    .get("field")
                    .and_then(|f| f.as_str())
                    .unwrap_or_default();
                if table.len() != 1 {
                    self.error(span, "a field reference has only `field`");
                    return None;
                }
                let Some(other) = Field::lookup(name) else {
                    self.error(span, format!("unknown request field `{name}`"));
                    return None;
                };
                let other_type = other.fact_type();
                let same = match (fact_type, other_type) {
                    (FactType::Choice(a), FactType::Choice(b)) => a == b && !ordered,
                    (FactType::Number(a), FactType::Number(b)) => a == b,
                    (a, b) => a == b && matches!(a, FactType::Duration | FactType::Boolean),
                };
                if !same {
                    return mismatch(
                        self,
                        &format!("`{name}`, which is {}", other_type.describe()),
                    );
                }
                Some(Operand::Field(other))
            }
            toml::Value::Table(table) if table.contains_key("param") => {
                let name = table
                    .get("param")
                    .and_then(|p| p.as_str())
                    .unwrap_or_default()
                    .to_owned();
                if table.len() != 1 {
                    self.error(span, "a parameter reference has only `param`");
                    return None;
                }
                let Some(param) = self.params.get(&name).copied() else {
                    self.error(span, format!("unknown parameter `{name}`"));
                    return None;
                };
                let (kind, form) = self.param_kinds.get(param).copied()?;
                if form == Some(ParamForm::Bounds) {
                    self.error(
                        span,
                        format!("parameter `{name}` has bounds; test it with `meets`"),
                    );
                    return None;
                }
                if !compatible(fact_type, kind) || (kind == ParamKind::Boolean && ordered) {
                    return mismatch(
                        self,
                        &format!("parameter `{name}`, which is {}", kind.name()),
                    );
                }
                Some(Operand::Param(param))
            }
            toml::Value::Table(_) => match fact_type {
                FactType::Duration => Some(Operand::Duration(self.duration(value)?.seconds())),
                _ => mismatch(self, "a duration"),
            },
            _ => mismatch(self, "an unsupported value"),
        }
    }

    fn assessments(
        &mut self,
        files: &[file::AssessmentFile],
        meta: &file::Metadata,
    ) -> Vec<Assessment> {
        let mut assessments = Vec::new();
        let mut default_seen = false;
        for entry in files {
            if default_seen {
                self.error(
                    entry.response.span(),
                    "assessment entry after the default (an entry without `when`) can never apply",
                );
            }
            default_seen |= entry.when.is_none();
            let response = self.parse_word(
                &entry.response,
                "response",
                ResponseLevel::parse,
                ResponseLevel::NAMES,
            );
            let when = entry.when.as_ref().map(|c| self.condition(c));
            let summary = self.template(&entry.summary, true);
            if let (Some(response), Some(summary)) = (response, summary) {
                assessments.push(Assessment {
                    response,
                    when: when.flatten().map(When::new),
                    summary,
                });
            }
        }
        if !default_seen {
            self.error(
                meta.id.span(),
                "the assessment needs a default: a last [[assessment]] entry without `when`",
            );
        }
        assessments
    }

    fn nodes(&mut self, files: &[file::NodeFile], start_name: &Name) -> (Vec<Node>, Option<usize>) {
        self.nodes = self.register("node", &files.iter().map(|n| &n.id).collect::<Vec<_>>());
        let node_map = std::mem::take(&mut self.nodes);
        let start = self.lookup(&node_map, "node", start_name);
        let mut nodes = Vec::new();
        for node in files {
            let guard = node
                .when
                .as_ref()
                .and_then(|c| self.condition(c))
                .map(When::new);
            let mut offers = Vec::new();
            for offer in &node.offer {
                let option = self.option(&offer.option);
                let rationale = self.template(&offer.rationale, true);
                let when = offer.when.as_ref().map(|c| self.condition(c));
                let citations: Vec<usize> = offer
                    .citations
                    .iter()
                    .filter_map(|c| self.source(c))
                    .collect();
                if let (Some(option), Some(rationale)) = (option, rationale) {
                    offers.push(Offer {
                        option,
                        priority: offer.priority,
                        rationale,
                        when: when.flatten().map(When::new),
                        citations,
                    });
                }
            }
            let mut avoids = Vec::new();
            for avoid in &node.avoid {
                let option = self.option(&avoid.option);
                let reason = self.template(&avoid.reason, true);
                let when = avoid.when.as_ref().map(|c| self.condition(c));
                let citations: Vec<usize> = avoid
                    .citations
                    .iter()
                    .filter_map(|c| self.source(c))
                    .collect();
                if let (Some(option), Some(reason)) = (option, reason) {
                    avoids.push(Avoid {
                        option,
                        reason,
                        when: when.flatten().map(When::new),
                        citations,
                    });
                }
            }
            let alert_map = std::mem::take(&mut self.alerts);
            let alerts = node
                .alerts
                .iter()
                .filter_map(|code| self.lookup(&alert_map, "alert", code))
                .collect();
            self.alerts = alert_map;
            let mut suppress = Vec::new();
            for name in &node.suppress {
                if let Some(group) = self.groups.get(name.get_ref()) {
                    suppress.extend(group.iter().copied());
                } else if let Some(option) = self.options.get(name.get_ref()) {
                    suppress.push(*option);
                } else {
                    self.error(
                        name.span(),
                        format!("unknown option or group `{}`", name.get_ref()),
                    );
                }
            }
            let route = match (&node.next, node.branches.is_empty(), &node.otherwise) {
                (None, true, None) => Some(Route::End),
                (Some(next), true, None) => self.lookup(&node_map, "node", next).map(Route::Next),
                (None, false, Some(otherwise)) => {
                    let otherwise = self.lookup(&node_map, "node", otherwise);
                    let branches: Vec<Option<(Condition, usize, Option<String>)>> = node
                        .branches
                        .iter()
                        .map(|b| {
                            let when = self.condition(&b.when);
                            let to = self.lookup(&node_map, "node", &b.to);
                            Some((when?, to?, b.label.clone()))
                        })
                        .collect();
                    let branches: Option<Vec<_>> = branches.into_iter().collect();
                    match (branches, otherwise) {
                        (Some(branches), Some(otherwise)) => Some(Route::Decide {
                            branches: branches
                                .into_iter()
                                .map(|(when, to, label)| Branch {
                                    when: When::new(when),
                                    to,
                                    label: label.unwrap_or_default(),
                                })
                                .collect(),
                            otherwise,
                        }),
                        _ => None,
                    }
                }
                (None, false, None) => {
                    self.error(
                        node.id.span(),
                        format!(
                            "decision `{}` has no default branch (`otherwise`)",
                            node.id.get_ref()
                        ),
                    );
                    None
                }
                (None, true, Some(_)) => {
                    self.error(
                        node.id.span(),
                        format!(
                            "node `{}` has `otherwise` but no branches (use `next`)",
                            node.id.get_ref()
                        ),
                    );
                    None
                }
                (Some(_), _, _) => {
                    self.error(
                        node.id.span(),
                        format!("node `{}` has both `next` and branches", node.id.get_ref()),
                    );
                    None
                }
            };
            let mut reads = Vec::new();
            let mut reads_params = Vec::new();
            let conditions = guard
                .iter()
                .chain(offers.iter().filter_map(|o| o.when.as_ref()))
                .chain(avoids.iter().filter_map(|a| a.when.as_ref()));
            for when in conditions {
                when.condition.collect_fields(&mut reads);
                when.condition.collect_params(&mut reads_params);
            }
            if let Some(Route::Decide { branches, .. }) = &route {
                for branch in branches {
                    branch.when.condition.collect_fields(&mut reads);
                    branch.when.condition.collect_params(&mut reads_params);
                }
            }
            reads.sort();
            reads.dedup();
            reads_params.sort();
            reads_params.dedup();
            nodes.push(Node {
                id: node.id.get_ref().clone(),
                title: node.title.clone(),
                rules: node.rules.clone(),
                guard,
                offers,
                avoids,
                alerts,
                suppress,
                route: route.unwrap_or(Route::End),
                reads,
                reads_params,
            });
        }
        self.nodes = node_map;
        if self.errors.is_empty()
            && let Some(start) = start
        {
            self.graph_checks(files, &nodes, start);
        }
        (nodes, start)
    }

    /// Cycles and unreachable nodes.
    fn graph_checks(&mut self, files: &[file::NodeFile], nodes: &[Node], start: usize) {
        let successors = |node: &Node| -> Vec<usize> {
            match &node.route {
                Route::End => Vec::new(),
                Route::Next(next) => vec![*next],
                Route::Decide {
                    branches,
                    otherwise,
                } => branches
                    .iter()
                    .map(|b| b.to)
                    .chain(std::iter::once(*otherwise))
                    .collect(),
            }
        };
        // Iterative depth-first search with colours: 0 new, 1 on the stack, 2 done.
        let mut colour = vec![0u8; nodes.len()];
        for root in 0..nodes.len() {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            colour[root] = 1;
            while let Some((node, child)) = stack.pop() {
                let next = successors(&nodes[node]);
                if child < next.len() {
                    stack.push((node, child + 1));
                    let target = next[child];
                    match colour[target] {
                        0 => {
                            colour[target] = 1;
                            stack.push((target, 0));
                        }
                        1 => self.error(
                            files[node].id.span(),
                            format!(
                                "cycle: node `{}` leads back to `{}`",
                                nodes[node].id, nodes[target].id
                            ),
                        ),
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                }
            }
        }
        let mut reached = vec![false; nodes.len()];
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if !std::mem::replace(&mut reached[node], true) {
                stack.extend(successors(&nodes[node]));
            }
        }
        for (index, reached) in reached.iter().enumerate() {
            if !reached {
                self.error(
                    files[index].id.span(),
                    format!(
                        "node `{}` is unreachable from the start node",
                        nodes[index].id
                    ),
                );
            }
        }
    }
}

/// Serializes catalogue text once, so responses copy it instead of serializing it again.
fn raw_json<T: serde::Serialize + ?Sized>(value: &T) -> Box<serde_json::value::RawValue> {
    // Plain structs of strings and enums always serialize.
    serde_json::value::to_raw_value(value).expect("catalogue entries serialize to JSON")
}

fn compatible(fact: FactType, kind: ParamKind) -> bool {
    match (fact, kind) {
        (FactType::Number(a), ParamKind::Number(b)) => a == b,
        (FactType::Duration, ParamKind::Duration) | (FactType::Boolean, ParamKind::Boolean) => true,
        _ => false,
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
