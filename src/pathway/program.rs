//! Conditions compiled at load to flat programs, the form the engine evaluates.
//!
//! Each comparison of a [`Condition`] becomes one step that reads the request's
//! [`Readings`] directly and names the step to take next when it holds and
//! when it does not; `all`, `any` and `not` become those jumps, so they cost nothing when evaluated.
//! This is the service's one evaluator of conditions; the property tests (`tests/properties.rs`)
//! hold it to a plain reading of the [`Condition`] tree on every condition of the pathways they load.

use super::condition::{BoundTest, Condition, Context, CountSpec, Op, Operand, Scope};
use super::{Limits, ParamValue};
use crate::facts::{FactType, Field, Readings};

/// A condition and the program it compiles to.
#[derive(Debug)]
pub struct When {
    /// The condition as the file states it, for descriptions and the trace.
    pub condition: Condition,
    steps: Box<[Step]>,
}

/// The step to take next, or the end with the condition's value.
type Target = u32;
const HOLDS: Target = Target::MAX;
const FAILS: Target = Target::MAX - 1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Step {
    test: Test,
    on_true: Target,
    on_false: Target,
}

/// One comparison, specialised to what it reads. (`repr(u8)` gives it a plain tag to dispatch on.)
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum Test {
    /// The value of an empty `all` (true) or `any` (false).
    Constant(bool),
    Present(Field),
    /// The fact's choice bits meet the mask: `one_of`, `any_of`, and `eq`/`ne` on a choice or boolean.
    Choices {
        field: Field,
        mask: u32,
    },
    /// An ordered fact against a constant.
    Value {
        field: Field,
        op: Op,
        value: f64,
    },
    /// An ordered fact against another.
    Fields {
        field: Field,
        op: Op,
        other: Field,
    },
    /// An ordered fact against a plain parameter of the request's row.
    Param {
        field: Field,
        op: Op,
        param: usize,
    },
    /// A count of `procedure_history` entries ([`super::Pathway::counts`] holds it).
    Count(usize),
    /// A boolean parameter of the request's row has this value.
    Flag {
        param: usize,
        value: bool,
        scope: Scope,
    },
    /// A number or duration against a parameter's bounds.
    Bounds {
        field: Field,
        param: usize,
        scope: Scope,
        test: BoundTest,
    },
}

impl When {
    pub fn new(condition: Condition) -> When {
        let mut steps = Vec::with_capacity(step_count(&condition));
        emit(&condition, HOLDS, FAILS, &mut steps);
        When {
            condition,
            steps: steps.into_boxed_slice(),
        }
    }

    /// Whether the condition holds for the request and row of `ctx`.
    #[inline(always)]
    pub fn holds(&self, ctx: &Context) -> bool {
        run(&self.steps, ctx)
    }

    /// The compiled program, for tables that keep many programs together ([`super::walk`]).
    pub(super) fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// Runs a compiled program (its step targets count from its first step) for the request and row
/// of `ctx`.
#[inline(always)]
pub(super) fn run(steps: &[Step], ctx: &Context) -> bool {
    let readings = &ctx.facts.readings;
    let mut at = 0;
    loop {
        let step = &steps[at as usize];
        // Choice tests are the most common by far: they come first and inline.
        let holds = match step.test {
            Test::Choices { field, mask } => readings.choices[field as usize] & mask != 0,
            Test::Bounds {
                field,
                param,
                scope: Scope::Current,
                test,
            } => {
                readings.given & bit(field) != 0
                    && test.holds(&ctx.limits[param], readings.values[field as usize])
            }
            _ => step.test.holds(ctx, readings),
        };
        at = if holds { step.on_true } else { step.on_false };
        if at >= FAILS {
            return at == HOLDS;
        }
    }
}

impl Step {
    /// The parameters the step reads from the request's profile (a test of facts alone, or of named
    /// profiles' parameters, reads none): the step holds alike under profiles that agree on them.
    pub(super) fn profile_params(&self, counts: &[CountSpec]) -> [Option<usize>; 2] {
        let param = |operand: &Operand| match operand {
            Operand::Param(param) => Some(*param),
            _ => None,
        };
        match self.test {
            Test::Param { param, .. }
            | Test::Flag {
                param,
                scope: Scope::Current,
                ..
            }
            | Test::Bounds {
                param,
                scope: Scope::Current,
                ..
            } => [Some(param), None],
            Test::Count(spec) => [param(&counts[spec].within), param(&counts[spec].rhs)],
            _ => [None, None],
        }
    }
}

/// The number of steps a condition compiles to: one per comparison (or empty `all`/`any`).
fn step_count(condition: &Condition) -> usize {
    match condition {
        Condition::All(parts) | Condition::Any(parts) if !parts.is_empty() => {
            parts.iter().map(step_count).sum()
        }
        Condition::Not(inner) => step_count(inner),
        _ => 1,
    }
}

/// Appends the steps of `condition`, which continue at `on_true` or `on_false`.
fn emit(condition: &Condition, on_true: Target, on_false: Target, steps: &mut Vec<Step>) {
    let mut push = |test| {
        steps.push(Step {
            test,
            on_true,
            on_false,
        })
    };
    match condition {
        Condition::Not(inner) => emit(inner, on_false, on_true, steps),
        Condition::All(parts) | Condition::Any(parts) if parts.is_empty() => {
            push(Test::Constant(matches!(condition, Condition::All(_))))
        }
        Condition::All(parts) | Condition::Any(parts) => {
            let all = matches!(condition, Condition::All(_));
            let (last, rest) = parts.split_last().expect("not empty");
            for part in rest {
                let next = (steps.len() + step_count(part)) as Target;
                if all {
                    emit(part, next, on_false, steps);
                } else {
                    emit(part, on_true, next, steps);
                }
            }
            emit(last, on_true, on_false, steps);
        }
        Condition::Present(field) => push(Test::Present(*field)),
        Condition::OneOf { field, mask } | Condition::AnyOf { field, mask } => {
            push(Test::Choices {
                field: *field,
                mask: *mask,
            })
        }
        Condition::Compare { field, op, rhs } => push(compare(*field, *op, rhs)),
        Condition::Count(spec) => push(Test::Count(*spec)),
        Condition::Flag {
            param,
            value,
            scope,
        } => push(Test::Flag {
            param: *param,
            value: *value,
            scope: *scope,
        }),
        // Only a number or a duration meets bounds.
        Condition::Meets { field, .. }
            if !matches!(field.fact_type(), FactType::Number(_) | FactType::Duration) =>
        {
            push(Test::Constant(false))
        }
        Condition::Meets {
            field,
            param,
            scope,
            test,
        } => push(Test::Bounds {
            field: *field,
            param: *param,
            scope: *scope,
            test: *test,
        }),
    }
}

/// Whether a field's facts have a value comparisons can order (lists and groups do not).
fn ordered(field: Field) -> bool {
    !matches!(field.fact_type(), FactType::ChoiceSet(_) | FactType::Group)
}

fn compare(field: Field, op: Op, rhs: &Operand) -> Test {
    if !ordered(field) || matches!(rhs, Operand::Field(other) if !ordered(*other)) {
        return Test::Constant(false);
    }
    // Equality with one choice (a boolean is choice 0 or 1) is a test of the fact's choice bits;
    // an absent fact has none, so both `eq` and `ne` fail, as comparisons with absent facts do.
    let choice = |index: u32| match op {
        Op::Eq => Test::Choices {
            field,
            mask: 1 << index,
        },
        Op::Ne => Test::Choices {
            field,
            mask: !(1 << index),
        },
        _ => Test::Value {
            field,
            op,
            value: f64::from(index),
        },
    };
    match rhs {
        Operand::Number(value) | Operand::Duration(value) => Test::Value {
            field,
            op,
            value: *value,
        },
        Operand::Boolean(flag) => choice(u32::from(*flag)),
        Operand::Choice(index) => choice(u32::from(*index)),
        Operand::Field(other) => Test::Fields {
            field,
            op,
            other: *other,
        },
        Operand::Param(param) => Test::Param {
            field,
            op,
            param: *param,
        },
    }
}

fn bit(field: Field) -> u32 {
    1 << field as u32
}

impl Test {
    #[inline(never)]
    fn holds(&self, ctx: &Context, readings: &Readings) -> bool {
        let value = |field: Field| readings.values[field as usize];
        match *self {
            Test::Constant(value) => value,
            Test::Present(field) => readings.given & bit(field) != 0,
            Test::Choices { field, mask } => readings.choices[field as usize] & mask != 0,
            Test::Value {
                field,
                op,
                value: right,
            } => readings.given & bit(field) != 0 && op.holds(value(field), right),
            Test::Fields { field, op, other } => {
                let both = bit(field) | bit(other);
                readings.given & both == both && op.holds(value(field), value(other))
            }
            Test::Param { field, op, param } => {
                readings.given & bit(field) != 0
                    && param_holds(op, value(field), &ctx.params[param])
            }
            Test::Count(spec) => ctx.pathway.counts[spec].holds(ctx),
            Test::Flag {
                param,
                value,
                scope: Scope::Current,
            } => matches!(ctx.params[param], ParamValue::Boolean(flag) if flag == value),
            Test::Flag {
                param,
                value,
                scope,
            } => {
                let holds = |profile| {
                    let row = ctx.pathway.row_params(profile, ctx.region_slot);
                    matches!(row[param], ParamValue::Boolean(flag) if flag == value)
                };
                match scope {
                    Scope::Profile(profile) => holds(profile),
                    _ => (0..ctx.pathway.profiles.len()).any(holds),
                }
            }
            Test::Bounds {
                field,
                param,
                scope,
                test,
            } => {
                readings.given & bit(field) != 0
                    && bounds_hold(ctx, value(field), param, scope, test)
            }
        }
    }
}

/// A comparison with a plain parameter, apart so that the common tests stay small.
#[inline(never)]
fn param_holds(op: Op, fact: f64, param: &ParamValue) -> bool {
    match *param {
        ParamValue::Number(right) | ParamValue::Duration(right, _) => op.holds(fact, right),
        ParamValue::Boolean(flag) => op.holds(fact, f64::from(u8::from(flag))),
        ParamValue::Bounds(_) => false,
    }
}

#[inline(always)]
fn bounds_hold(ctx: &Context, fact: f64, param: usize, scope: Scope, test: BoundTest) -> bool {
    let meets = |limits: &Limits| test.holds(limits, fact);
    match scope {
        Scope::Current => meets(&ctx.limits[param]),
        _ => other_profiles_hold(ctx, param, scope, meets),
    }
}

impl BoundTest {
    #[inline(always)]
    fn holds(self, limits: &Limits, fact: f64) -> bool {
        limits.bounded
            && match self {
                BoundTest::Meets => !limits.short_of(fact) && !limits.exceeds(fact),
                BoundTest::ShortOf => limits.short_of(fact),
                BoundTest::Exceeds => limits.exceeds(fact),
            }
    }
}

/// Bound tests `in_profile`, apart so that the common tests stay small.
#[inline(never)]
fn other_profiles_hold(
    ctx: &Context,
    param: usize,
    scope: Scope,
    meets: impl Fn(&Limits) -> bool,
) -> bool {
    let of_profile = |profile| &ctx.pathway.row_limits(profile, ctx.region_slot)[param];
    match scope {
        Scope::Current => meets(&ctx.limits[param]),
        Scope::Profile(profile) => meets(of_profile(profile)),
        Scope::AnyProfile => (0..ctx.pathway.profiles.len()).any(|p| meets(of_profile(p))),
    }
}
