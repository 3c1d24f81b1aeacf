//! The reference semantics of a pathway condition: a plain recursive reading of the public
//! `Condition` tree, which the compiled programs the engine runs (`pathway::program`) must agree
//! with. Kept out of `src/` so the service has one evaluator.

use facet_triage::facts::Fact;
use facet_triage::pathway::ParamValue;
use facet_triage::pathway::condition::{BoundTest, Condition, Context, Op, Operand, Scope};

/// A fact reduced to what comparisons need.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Scalar {
    Number(f64),
    Boolean(bool),
    Choice(u8),
}

fn scalar(fact: Fact) -> Option<Scalar> {
    match fact {
        Fact::Number(value) => Some(Scalar::Number(value)),
        Fact::Duration(duration) => Some(Scalar::Number(duration.seconds())),
        Fact::Boolean(flag) => Some(Scalar::Boolean(flag)),
        Fact::Choice(index) => Some(Scalar::Choice(index)),
        Fact::Absent | Fact::Present | Fact::ChoiceSet(_) => None,
    }
}

fn compare<T: PartialOrd>(op: Op, left: T, right: T) -> bool {
    match op {
        Op::Eq => left == right,
        Op::Ne => left != right,
        Op::Lt => left < right,
        Op::Le => left <= right,
        Op::Gt => left > right,
        Op::Ge => left >= right,
    }
}

/// Whether `condition` holds for the request and row of `ctx`. A comparison that reads an absent
/// optional fact is false (so its `not` is true).
pub fn holds(condition: &Condition, ctx: &Context) -> bool {
    match condition {
        Condition::All(parts) => parts.iter().all(|part| holds(part, ctx)),
        Condition::Any(parts) => parts.iter().any(|part| holds(part, ctx)),
        Condition::Not(inner) => !holds(inner, ctx),
        Condition::Present(field) => ctx.facts.get(*field) != Fact::Absent,
        Condition::Compare { field, op, rhs } => {
            let Some(left) = scalar(ctx.facts.get(*field)) else {
                return false;
            };
            let right = match rhs {
                Operand::Number(value) | Operand::Duration(value) => Scalar::Number(*value),
                Operand::Boolean(flag) => Scalar::Boolean(*flag),
                Operand::Choice(index) => Scalar::Choice(*index),
                Operand::Field(other) => match scalar(ctx.facts.get(*other)) {
                    Some(value) => value,
                    None => return false,
                },
                Operand::Param(param) => match ctx.param(*param) {
                    ParamValue::Number(value) | ParamValue::Duration(value, _) => {
                        Scalar::Number(*value)
                    }
                    ParamValue::Boolean(flag) => Scalar::Boolean(*flag),
                    ParamValue::Bounds(_) => return false,
                },
            };
            compare(*op, left, right)
        }
        Condition::Meets {
            field,
            param,
            scope,
            test,
        } => {
            let Some(Scalar::Number(value)) = scalar(ctx.facts.get(*field)) else {
                return false;
            };
            let meets =
                |profile: usize| match ctx.pathway.param_value(profile, ctx.region_slot, *param) {
                    ParamValue::Bounds(bounds) => match test {
                        BoundTest::Meets => bounds.contains(value),
                        BoundTest::ShortOf => bounds.short_of(value),
                        BoundTest::Exceeds => bounds.exceeds(value),
                    },
                    _ => false,
                };
            match scope {
                Scope::Current => meets(ctx.profile),
                Scope::Profile(profile) => meets(*profile),
                Scope::AnyProfile => (0..ctx.pathway.profiles.len()).any(meets),
            }
        }
        Condition::OneOf { field, mask } => match ctx.facts.get(*field) {
            Fact::Choice(index) => mask & (1 << index) != 0,
            _ => false,
        },
        Condition::AnyOf { field, mask } => match ctx.facts.get(*field) {
            Fact::ChoiceSet(bits) => bits & mask != 0,
            _ => false,
        },
        Condition::Count(spec) => ctx.pathway.counts[*spec].holds(ctx),
        Condition::Flag {
            param,
            value,
            scope,
        } => {
            let flag = |profile: usize| {
                matches!(ctx.pathway.param_value(profile, ctx.region_slot, *param),
                    ParamValue::Boolean(flag) if flag == value)
            };
            match scope {
                Scope::Current => flag(ctx.profile),
                Scope::Profile(profile) => flag(*profile),
                Scope::AnyProfile => (0..ctx.pathway.profiles.len()).any(flag),
            }
        }
    }
}
