//! Compiled conditions: typed, resolved to indices, and evaluated without any lookup by name.

use super::{Limits, ParamValue, Pathway};
use crate::facts::{Fact, Facts, Field};
use std::fmt::Write;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "≠",
            Op::Lt => "<",
            Op::Le => "≤",
            Op::Gt => ">",
            Op::Ge => "≥",
        }
    }

    pub(super) fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Number(f64),
    /// In seconds.
    Duration(f64),
    Boolean(bool),
    /// Index into the compared field's choices.
    Choice(u8),
    Field(Field),
    Param(usize),
}

/// Which test of a parameter's bounds a condition makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundTest {
    /// Within every bound.
    Meets,
    /// Below the lower bound.
    ShortOf,
    /// Above the upper bound.
    Exceeds,
}

impl BoundTest {
    pub fn word(self) -> &'static str {
        match self {
            BoundTest::Meets => "meets",
            BoundTest::ShortOf => "short of",
            BoundTest::Exceeds => "exceeds",
        }
    }
}

/// Whose parameter values `meets` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The request's profile.
    Current,
    /// Any profile of the pathway.
    AnyProfile,
    /// One named profile.
    Profile(usize),
}

/// A typed condition over a request's facts and the profile's parameters. The engine runs its
/// compiled form ([`super::program::When`]); the tree is kept for rendering and for what it reads.
///
/// A comparison that reads an absent optional fact is false (so its `not` is true).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Box<[Condition]>),
    Any(Box<[Condition]>),
    Not(Box<Condition>),
    Present(Field),
    Compare {
        field: Field,
        op: Op,
        rhs: Operand,
    },
    Meets {
        field: Field,
        param: usize,
        scope: Scope,
        test: BoundTest,
    },
    /// A choice field holds one of the choices in the bit mask.
    OneOf {
        field: Field,
        mask: u32,
    },
    /// A choice-list field holds at least one of the choices in the bit mask.
    AnyOf {
        field: Field,
        mask: u32,
    },
    /// A count of `procedure_history` entries ([`Pathway::counts`] holds it).
    Count(usize),
    /// A boolean parameter of the request's profile and region has this value.
    Flag {
        param: usize,
        value: bool,
        scope: Scope,
    },
}

/// How many `procedure_history` entries of `procedures` (a bit per procedure) lie at most `within`
/// ago, plus `plus`, compared with `rhs`. False when the request has no `procedure_history`.
#[derive(Debug, Clone, PartialEq)]
pub struct CountSpec {
    pub procedures: u32,
    /// A duration in seconds, or a duration parameter.
    pub within: Operand,
    pub plus: f64,
    pub op: Op,
    /// A number, or a count parameter.
    pub rhs: Operand,
}

impl CountSpec {
    pub fn holds(&self, ctx: &Context) -> bool {
        if ctx.facts.get(Field::ProcedureHistory) == Fact::Absent {
            return false;
        }
        let value = |operand: &Operand| match operand {
            Operand::Number(v) | Operand::Duration(v) => Some(*v),
            Operand::Param(param) => match ctx.param(*param) {
                ParamValue::Number(v) | ParamValue::Duration(v, _) => Some(*v),
                _ => None,
            },
            _ => None,
        };
        let (Some(within), Some(limit)) = (value(&self.within), value(&self.rhs)) else {
            return false;
        };
        let count = (ctx.facts.history.iter())
            .filter(|(procedure, ago)| self.procedures & (1 << procedure) != 0 && *ago <= within)
            .count();
        self.op.holds(count as f64 + self.plus, limit)
    }
}

/// Everything a condition may read during one evaluation.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub pathway: &'a Pathway,
    pub facts: &'a Facts,
    pub profile: usize,
    pub region_slot: usize,
    /// The parameter values of the profile and region (see [`Pathway::row_params`]).
    pub params: &'a [ParamValue],
    /// Their bounds as tests read them (see [`Pathway::row_limits`]).
    pub limits: &'a [Limits],
}

impl<'a> Context<'a> {
    pub fn new(
        pathway: &'a Pathway,
        facts: &'a Facts,
        profile: usize,
        region_slot: usize,
    ) -> Context<'a> {
        Context {
            pathway,
            facts,
            profile,
            region_slot,
            params: pathway.row_params(profile, region_slot),
            limits: pathway.row_limits(profile, region_slot),
        }
    }

    /// The row of the request's profile and region (see [`Pathway::row`]).
    #[inline]
    pub fn row(&self) -> usize {
        self.pathway.row(self.profile, self.region_slot)
    }

    #[inline]
    pub fn param(&self, param: usize) -> &'a ParamValue {
        &self.params[param]
    }
}

impl Condition {
    /// Every fact this condition may read.
    pub fn collect_fields(&self, out: &mut Vec<Field>) {
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().for_each(|p| p.collect_fields(out))
            }
            Condition::Not(inner) => inner.collect_fields(out),
            Condition::Present(field)
            | Condition::Meets { field, .. }
            | Condition::OneOf { field, .. }
            | Condition::AnyOf { field, .. } => out.push(*field),
            Condition::Compare { field, rhs, .. } => {
                out.push(*field);
                if let Operand::Field(other) = rhs {
                    out.push(*other);
                }
            }
            Condition::Flag { .. } => {}
            Condition::Count(_) => out.push(Field::ProcedureHistory),
        }
    }

    /// Every parameter this condition may read.
    pub fn collect_params(&self, out: &mut Vec<usize>) {
        match self {
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().for_each(|p| p.collect_params(out))
            }
            Condition::Not(inner) => inner.collect_params(out),
            Condition::Meets { param, .. }
            | Condition::Flag { param, .. }
            | Condition::Compare {
                rhs: Operand::Param(param),
                ..
            } => out.push(*param),
            _ => {}
        }
    }

    /// A reader's rendering, used for graph labels and traces.
    pub fn describe(&self, pathway: &Pathway, out: &mut String) {
        let join = |parts: &[Condition], word: &str, out: &mut String| {
            out.push('(');
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    let _ = write!(out, " {word} ");
                }
                part.describe(pathway, out);
            }
            out.push(')');
        };
        let choices = |field: Field, mask: u32| -> String {
            let names = match field.fact_type() {
                crate::facts::FactType::Choice(names)
                | crate::facts::FactType::ChoiceSet(names) => names,
                _ => &[],
            };
            names
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Condition::All(parts) => join(parts, "and", out),
            Condition::Any(parts) => join(parts, "or", out),
            Condition::Not(inner) => {
                out.push_str("not ");
                inner.describe(pathway, out);
            }
            Condition::Present(field) => {
                let _ = write!(out, "{} given", field.name());
            }
            Condition::Compare { field, op, rhs } => {
                let _ = write!(out, "{} {} ", field.name(), op.symbol());
                match rhs {
                    Operand::Number(value) => {
                        let _ = crate::vocab::write_number(out, *value);
                    }
                    Operand::Duration(seconds) => {
                        let _ = crate::vocab::write_number(out, seconds / 3_600.0);
                        out.push_str(" h");
                    }
                    Operand::Boolean(flag) => {
                        let _ = write!(out, "{flag}");
                    }
                    Operand::Choice(index) => out.push_str(&choices(*field, 1 << index)),
                    Operand::Field(other) => out.push_str(other.name()),
                    Operand::Param(param) => out.push_str(&pathway.parameters[*param].id),
                }
            }
            Condition::Meets {
                field,
                param,
                scope,
                test,
            } => {
                let _ = write!(
                    out,
                    "{} {} {}",
                    field.name(),
                    test.word(),
                    pathway.parameters[*param].id
                );
                match scope {
                    Scope::Current => {}
                    Scope::AnyProfile => out.push_str(" (any profile)"),
                    Scope::Profile(profile) => {
                        let _ = write!(out, " ({})", pathway.profiles[*profile].id);
                    }
                }
            }
            Condition::OneOf { field, mask } => {
                let _ = write!(out, "{} in [{}]", field.name(), choices(*field, *mask));
            }
            Condition::Count(spec) => {
                let spec = &pathway.counts[*spec];
                let _ = write!(
                    out,
                    "count of procedure_history [{}] within ",
                    choices(Field::Procedure, spec.procedures)
                );
                let operand = |operand: &Operand, out: &mut String| match operand {
                    Operand::Param(param) => out.push_str(&pathway.parameters[*param].id),
                    Operand::Duration(seconds) => {
                        let _ = crate::vocab::write_number(out, seconds / 86_400.0);
                        out.push_str(" d");
                    }
                    Operand::Number(value) => {
                        let _ = crate::vocab::write_number(out, *value);
                    }
                    _ => {}
                };
                operand(&spec.within, out);
                out.push_str(" + ");
                let _ = crate::vocab::write_number(out, spec.plus);
                let _ = write!(out, " {} ", spec.op.symbol());
                operand(&spec.rhs, out);
            }
            Condition::Flag {
                param,
                value,
                scope,
            } => {
                let _ = write!(out, "{} = {value}", pathway.parameters[*param].id);
                match scope {
                    Scope::Current => {}
                    Scope::AnyProfile => out.push_str(" (any profile)"),
                    Scope::Profile(profile) => {
                        let _ = write!(out, " ({})", pathway.profiles[*profile].id);
                    }
                }
            }
            Condition::AnyOf { field, mask } => {
                let _ = write!(
                    out,
                    "{} has any of [{}]",
                    field.name(),
                    choices(*field, *mask)
                );
            }
        }
    }
}
