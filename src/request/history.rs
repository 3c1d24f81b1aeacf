//! The request's timeline (contract 4.1 v2): `procedure_history`, an array of at most
//! [`MAX_HISTORY`] earlier procedures, and the rules that relate it, `time_since_procedure` and
//! `relief_duration` to each other.

use super::{
    At, Duration, FieldError, Fields, HistoryEntry, Json, Procedure, Reader, duration, enumeration,
    index_of, sort, type_error,
};
use std::fmt;

/// The most `procedure_history` entries a request may carry.
pub const MAX_HISTORY: usize = 50;

const ENTRY_FIELDS: Fields<2> = fields!["procedure", "time_ago"];

/// Parses `procedure_history`: an array of `{ procedure, time_ago }`.
pub(super) fn procedure_history(
    value: Json<'_>,
    pointer: &dyn fmt::Display,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<HistoryEntry>> {
    let Json::Array(items) = value else {
        type_error(pointer, "an array of earlier procedures", &value, errors);
        return None;
    };
    if items.len() > MAX_HISTORY {
        errors.push(FieldError::new(
            pointer.to_string(),
            format!("must have at most {MAX_HISTORY} entries"),
        ));
        return None;
    }
    let before = errors.len();
    let mut entries = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item_pointer = format!("{pointer}/{index}");
        let Json::Object(members) = item else {
            type_error(&item_pointer, "an object", &item, errors);
            continue;
        };
        let [procedure, time_ago] = &mut sort(&ENTRY_FIELDS, members, &item_pointer, errors);
        let mut object = Reader {
            base: &item_pointer,
            errors,
        };
        let procedure = object.required(procedure).and_then(|(p, v)| {
            enumeration(v, &p, Procedure::parse, Procedure::NAMES, object.errors)
        });
        let time_ago = object
            .required(time_ago)
            .and_then(|(p, v)| duration(v, &p, object.errors));
        if let (Some(procedure), Some(time_ago)) = (procedure, time_ago) {
            entries.push(HistoryEntry {
                procedure,
                time_ago,
            });
        }
    }
    (errors.len() == before).then_some(entries)
}

/// The rules between the timeline's fields: the relief cannot have lasted longer than the time
/// since the procedure, and every earlier procedure lies before the index one.
pub(super) fn check_timeline(
    relief_duration: Option<Duration>,
    time_since_procedure: Option<Duration>,
    history: Option<&[HistoryEntry]>,
    errors: &mut Vec<FieldError>,
) {
    let Some(since) = time_since_procedure else {
        return;
    };
    if relief_duration.is_some_and(|relief| relief.seconds() > since.seconds()) {
        errors.push(FieldError::new(
            "/relief_duration",
            "must not be longer than time_since_procedure",
        ));
    }
    for (index, entry) in history.unwrap_or_default().iter().enumerate() {
        if entry.time_ago.seconds() < since.seconds() {
            let base = format!("/procedure_history/{index}");
            errors.push(FieldError::new(
                At {
                    base: &base,
                    name: "time_ago",
                }
                .to_string(),
                "must not be shorter than time_since_procedure: earlier procedures come before the index one",
            ));
        }
    }
}
