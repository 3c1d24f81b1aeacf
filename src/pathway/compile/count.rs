//! Compiles the count form of the condition language: how many `procedure_history` entries of some
//! procedures lie within a time window, plus a constant, compared with a number or a count
//! parameter (R22's frequency limits).

use super::Compiler;
use super::ParamForm;
use super::conditions::compared_operators;
use crate::facts::Field;
use crate::pathway::ParamKind;
use crate::pathway::condition::{Condition, CountSpec, Operand};
use crate::pathway::file::ConditionFile;
use crate::vocab::Procedure;
use std::ops::Range;
use toml::Spanned;

impl Compiler {
    /// `{ count = "procedure_history", procedures = [..], within = <duration or param>, plus = n,
    /// le = <number or param> }`.
    pub(super) fn count(&mut self, span: Range<usize>, c: &ConditionFile) -> Option<Condition> {
        let name = c.count.as_ref()?;
        if name.get_ref() != Field::ProcedureHistory.name() {
            self.error(
                name.span(),
                format!(
                    "`count` counts `{}` entries",
                    Field::ProcedureHistory.name()
                ),
            );
            return None;
        }
        let compared = compared_operators(c);
        let others = c.meets.is_some()
            || c.short_of.is_some()
            || c.exceeds.is_some()
            || c.one_of.is_some()
            || c.any_of.is_some()
            || c.in_profile.is_some();
        let (Some(procedures), Some(within), [(op, rhs)], false) =
            (&c.procedures, &c.within, compared.as_slice(), others)
        else {
            self.error(
                span,
                "a count condition has `procedures`, `within`, optionally `plus`, and one of eq, ne, lt, le, gt, ge",
            );
            return None;
        };
        let mut mask = 0u32;
        for procedure in procedures {
            match Procedure::parse(procedure.get_ref()) {
                Some(p) => mask |= 1 << p.index(),
                None => self.error(
                    procedure.span(),
                    format!(
                        "unknown procedure `{}`; one of {}",
                        procedure.get_ref(),
                        Procedure::NAMES.join(", ")
                    ),
                ),
            }
        }
        let within = self.count_operand(within, ParamKind::Duration)?;
        let rhs = self.count_operand(rhs, ParamKind::Number(crate::facts::Quantity::Count))?;
        let plus = match &c.plus {
            Some(value) => self.number(value)?,
            None => 0.0,
        };
        self.counts.push(CountSpec {
            procedures: mask,
            within,
            plus,
            op: *op,
            rhs,
        });
        Some(Condition::Count(self.counts.len() - 1))
    }

    /// A window (a duration or a duration parameter) or a limit (a number or a count parameter).
    fn count_operand(&mut self, value: &Spanned<toml::Value>, kind: ParamKind) -> Option<Operand> {
        if let toml::Value::Table(table) = value.get_ref()
            && let Some(name) = table.get("param").and_then(|p| p.as_str())
        {
            let Some(param) = self.params.get(name).copied() else {
                self.error(value.span(), format!("unknown parameter `{name}`"));
                return None;
            };
            let (found, form) = self.param_kinds.get(param).copied()?;
            if found != kind || form == Some(ParamForm::Bounds) {
                self.error(
                    value.span(),
                    format!("parameter `{name}` must be a plain {} value", kind.name()),
                );
                return None;
            }
            return Some(Operand::Param(param));
        }
        Some(match kind {
            ParamKind::Duration => Operand::Duration(self.duration(value)?.seconds()),
            _ => Operand::Number(self.number(value)?),
        })
    }
}
