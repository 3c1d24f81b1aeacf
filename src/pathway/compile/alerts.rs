//! Compiles the alert definitions and the `[[assessment]]` entries that choose the response level.

use super::*;

impl Compiler {
    /// The alert definitions, registered by id (or by code where an alert has no id).
    pub(super) fn alerts(&mut self, files: &[file::AlertFile]) -> Vec<AlertDef> {
        self.alerts = self.register(
            "alert",
            &(files.iter())
                .map(|a| a.id.as_ref().unwrap_or(&a.code))
                .collect::<Vec<_>>(),
        );
        files
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
            .collect()
    }

    pub(super) fn assessments(
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
}
