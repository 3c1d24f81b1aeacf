//! Compiles the `[[parameters]]` table: per-profile, per-region values and bounds, checked
//! against each parameter's kind.

use super::*;

impl Compiler {
    pub(super) fn parameters(
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
}
