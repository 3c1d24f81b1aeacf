//! Compiles the parameter form of the condition language: `{ param = "id", eq = true }` tests a
//! boolean parameter of the request's profile and region, or of any or one named profile (R15, R23).

use super::Compiler;
use crate::pathway::ParamKind;
use crate::pathway::condition::Condition;
use crate::pathway::file::{ConditionFile, Name};
use std::ops::Range;

impl Compiler {
    /// `{ param = "id", eq = true }`: a boolean parameter of the request's profile and region (or,
    /// with `in_profile`, of any or one named profile).
    pub(super) fn flag(
        &mut self,
        span: Range<usize>,
        name: &Name,
        c: &ConditionFile,
    ) -> Option<Condition> {
        let others = [&c.lt, &c.le, &c.gt, &c.ge].iter().any(|o| o.is_some())
            || c.meets.is_some()
            || c.short_of.is_some()
            || c.exceeds.is_some()
            || c.one_of.is_some()
            || c.any_of.is_some();
        let value = match (&c.eq, &c.ne) {
            (Some(value), None) if !others => value.get_ref().as_bool(),
            (None, Some(value)) if !others => value.get_ref().as_bool().map(|flag| !flag),
            _ => None,
        };
        let Some(value) = value else {
            self.error(
                span,
                "a parameter condition is `{ param = \"id\", eq = true }` (or `ne`, or `false`)",
            );
            return None;
        };
        let Some(param) = self.params.get(name.get_ref()).copied() else {
            self.error(
                name.span(),
                format!("unknown parameter `{}`", name.get_ref()),
            );
            return None;
        };
        if self.param_kinds.get(param).map(|(kind, _)| *kind) != Some(ParamKind::Boolean) {
            self.error(
                name.span(),
                format!("parameter `{}` is not a boolean", name.get_ref()),
            );
            return None;
        }
        let scope = self.scope(c.in_profile.as_ref())?;
        Some(Condition::Flag {
            param,
            value,
            scope,
        })
    }
}
