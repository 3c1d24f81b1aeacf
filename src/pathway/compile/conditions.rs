//! Compiles the condition language: named conditions (with cycle detection), `all`/`any`/`not`,
//! presence tests and field comparisons against literals or parameters. The parameter and count
//! forms live in `flag` and `count`.

use super::*;

impl Compiler {
    pub(super) fn named_condition(&mut self, index: usize) -> Option<Condition> {
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

    pub(super) fn condition(&mut self, spanned: &Spanned<ConditionFile>) -> Option<Condition> {
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
    pub(super) fn scope(&mut self, in_profile: Option<&Name>) -> Option<Scope> {
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
        let compared = compared_operators(c);
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
}

fn compatible(fact: FactType, kind: ParamKind) -> bool {
    match (fact, kind) {
        (FactType::Number(a), ParamKind::Number(b)) => a == b,
        (FactType::Duration, ParamKind::Duration) | (FactType::Boolean, ParamKind::Boolean) => true,
        _ => false,
    }
}

/// The comparison operators a condition gives (`eq`, `ne`, `lt`, `le`, `gt`, `ge`), in that order,
/// with their operands; a valid comparison gives exactly one.
pub(super) fn compared_operators(c: &ConditionFile) -> Vec<(Op, &Spanned<toml::Value>)> {
    [
        (Op::Eq, &c.eq),
        (Op::Ne, &c.ne),
        (Op::Lt, &c.lt),
        (Op::Le, &c.le),
        (Op::Gt, &c.gt),
        (Op::Ge, &c.ge),
    ]
    .into_iter()
    .filter_map(|(op, value)| value.as_ref().map(|v| (op, v)))
    .collect()
}
