//! The CDS Hooks 2.0 service call: its envelope, context and prefetch, read and checked.
//!
//! Checks run in this order: JSON syntax and duplicate keys, the envelope (`hook`, `hookInstance`,
//! `context`, `fhirAuthorization` only with `fhirServer`), then the prefetch: a key the service
//! needs and the client did not satisfy is a `412`, and every resource read must be well formed and
//! about the patient of `context.patientId`. Keys fetched from `fhirServer` ([`super::fetch`]) are
//! already in the prefetch when the call is read here, and are checked like sent ones.

use super::fhir::{self, Condition, Observation, Procedure, Reference, ServiceRequest};
use super::outcome::{CdsError, Issue};
use crate::json::{self, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A prefetch key: its name, its 2.0-safe query template, and whether the service needs it.
#[derive(Debug, Clone, Copy)]
pub struct PrefetchKey {
    pub name: &'static str,
    pub resource_type: &'static str,
    pub required: bool,
}

/// The patient, read only to check it is the patient of the context.
pub const PATIENT: PrefetchKey = PrefetchKey {
    name: "patient",
    resource_type: "Patient",
    required: false,
};
/// Facet procedures (searchset Bundle of `Procedure`).
pub const PROCEDURES: PrefetchKey = PrefetchKey {
    name: "procedures",
    resource_type: "Procedure",
    required: true,
};
/// Pain scores (searchset Bundle of `Observation`).
pub const PAIN: PrefetchKey = PrefetchKey {
    name: "pain",
    resource_type: "Observation",
    required: true,
};
/// Active conditions (searchset Bundle of `Condition`).
pub const CONDITIONS: PrefetchKey = PrefetchKey {
    name: "conditions",
    resource_type: "Condition",
    required: true,
};

/// One resource read from a prefetch Bundle, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    /// `prefetch.<key>.entry[<n>].resource`.
    pub path: String,
    pub resource: T,
}

/// What the client prefetched, typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefetch {
    pub procedures: Vec<Entry<Procedure>>,
    pub pain: Vec<Entry<Observation>>,
    pub conditions: Vec<Entry<Condition>>,
    /// Keys whose Bundle is one page of a longer result (it has a `next` link).
    pub paged: Vec<&'static str>,
}

/// A checked service call.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCall {
    pub hook_instance: String,
    pub patient_id: String,
    /// `context.userId` (`Type/id`).
    pub user_id: Option<String>,
    /// The service's public base URL (no trailing `/`), when the operator configured one.
    pub public_url: Option<String>,
    pub encounter_id: Option<String>,
    pub prefetch: Prefetch,
    /// The orders of an `order-select` call; `None` for other hooks.
    pub orders: Option<Orders>,
}

/// The hook the order check answers.
pub const ORDER_SELECT: &str = "order-select";

/// `context.selections` and the draft `ServiceRequest`s of `context.draftOrders` (order-select).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Orders {
    /// `Type/id` of each newly selected order, in context order, each naming a draft order.
    pub selections: Vec<String>,
    /// The draft `ServiceRequest`s (other resource types are not read).
    pub service_requests: Vec<Entry<ServiceRequest>>,
}

/// Most selections of one order-select call examined: a clinician selects a few orders at a time,
/// and each selection is looked up among the draft orders, so a call with thousands of selections
/// would cost their product.
pub const MAX_SELECTIONS_EXAMINED: usize = 64;

impl Orders {
    /// The selected draft `ServiceRequest`s, in selection order, for the first
    /// [`MAX_SELECTIONS_EXAMINED`] selections.
    pub fn selected(&self) -> impl Iterator<Item = &Entry<ServiceRequest>> {
        let examined = &self.selections[..self.selections.len().min(MAX_SELECTIONS_EXAMINED)];
        examined.iter().filter_map(|selection| {
            self.service_requests.iter().find(|entry| {
                entry
                    .resource
                    .id
                    .as_deref()
                    .is_some_and(|id| selection.strip_prefix("ServiceRequest/") == Some(id))
            })
        })
    }
}

/// Reads a service call for `hook`.
pub fn parse(body: &[u8], hook: &str) -> Result<HookCall, CdsError> {
    let document = json::parse(body)
        .map_err(|error| CdsError::new(400, "structure", error.to_string(), None))?;
    if let Some(path) = first_duplicate(&document, &mut String::new()) {
        return Err(CdsError::invalid("duplicate key", path));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| CdsError::new(400, "structure", "the body is not valid JSON", None))?;
    let Value::Object(root) = &value else {
        return Err(CdsError::invalid("the body must be a JSON object", "$this"));
    };

    match root.get("hook") {
        Some(Value::String(name)) if name == hook => {}
        Some(Value::String(_)) => {
            return Err(CdsError::invalid(
                format!("this service answers the `{hook}` hook only"),
                "hook",
            ));
        }
        Some(_) => return Err(CdsError::invalid("must be a string", "hook")),
        None => return Err(CdsError::invalid("is required", "hook")),
    }
    let hook_instance = required_string(root, "hookInstance", "hookInstance")?;
    if hook_instance.is_empty() || hook_instance.len() > 128 {
        return Err(CdsError::invalid(
            "must be a UUID (1 to 128 characters)",
            "hookInstance",
        ));
    }
    if let Some(server) = root.get("fhirServer")
        && !server.is_string()
    {
        return Err(CdsError::invalid("must be a string", "fhirServer"));
    }
    match root.get("fhirAuthorization") {
        Some(Value::Object(_)) if !root.contains_key("fhirServer") => {
            return Err(CdsError::invalid(
                "fhirAuthorization requires fhirServer (cds-r-1)",
                "fhirAuthorization",
            ));
        }
        Some(Value::Object(_)) | None => {}
        Some(_) => return Err(CdsError::invalid("must be an object", "fhirAuthorization")),
    }
    let context = match root.get("context") {
        Some(Value::Object(context)) => context,
        Some(_) => return Err(CdsError::invalid("must be an object", "context")),
        None => return Err(CdsError::invalid("is required", "context")),
    };
    let user_id = required_string(context, "userId", "context.userId")?;
    let patient_id = required_string(context, "patientId", "context.patientId")?;
    if !fhir::is_id(&patient_id) {
        return Err(CdsError::invalid(
            "must be a FHIR id (1 to 64 letters, digits, '-' or '.')",
            "context.patientId",
        ));
    }
    let encounter_id = match context.get("encounterId") {
        None => None,
        Some(Value::String(id)) if fhir::is_id(id) => Some(id.clone()),
        Some(_) => {
            return Err(CdsError::invalid(
                "must be a FHIR id (1 to 64 letters, digits, '-' or '.')",
                "context.encounterId",
            ));
        }
    };

    let empty = Map::new();
    let prefetch = match root.get("prefetch") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(prefetch)) => prefetch,
        Some(_) => return Err(CdsError::invalid("must be an object", "prefetch")),
    };
    check_satisfied(prefetch)?;
    check_patient(prefetch, &patient_id)?;
    let mut typed = Prefetch::default();
    typed.procedures = read_bundle(prefetch, PROCEDURES, &patient_id, &mut typed.paged)?;
    typed.pain = read_bundle(prefetch, PAIN, &patient_id, &mut typed.paged)?;
    typed.conditions = read_bundle(prefetch, CONDITIONS, &patient_id, &mut typed.paged)?;
    let orders = if hook == ORDER_SELECT {
        Some(read_orders(context, &patient_id)?)
    } else {
        None
    };
    Ok(HookCall {
        hook_instance,
        patient_id,
        user_id: Some(user_id),
        public_url: None,
        encounter_id,
        prefetch: typed,
        orders,
    })
}

/// `context.selections` and `context.draftOrders` of an `order-select` call: every selection must
/// name a resource of the draft orders Bundle, and every draft `ServiceRequest` must be about the
/// patient of the context.
fn read_orders(context: &Map<String, Value>, patient_id: &str) -> Result<Orders, CdsError> {
    let bundle = match context.get("draftOrders") {
        Some(bundle @ Value::Object(_)) if resource_type(bundle) == Some("Bundle") => bundle,
        Some(_) => {
            return Err(CdsError::invalid(
                "must be a FHIR Bundle",
                "context.draftOrders",
            ));
        }
        None => return Err(CdsError::invalid("is required", "context.draftOrders")),
    };
    let entries = match bundle.get("entry") {
        None => &Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(CdsError::invalid(
                "must be an array",
                "context.draftOrders.entry",
            ));
        }
    };
    let mut named = Vec::new();
    let mut service_requests = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("context.draftOrders.entry[{index}].resource");
        let resource = match entry.get("resource") {
            Some(resource @ Value::Object(_)) => resource,
            _ => return Err(CdsError::invalid("must be a FHIR resource", path)),
        };
        let (Some(kind), Some(id)) = (
            resource_type(resource),
            resource.get("id").and_then(Value::as_str),
        ) else {
            return Err(CdsError::invalid(
                "a draft order needs a resourceType and an id",
                path,
            ));
        };
        named.push(format!("{kind}/{id}"));
        if kind != "ServiceRequest" {
            continue;
        }
        let typed = ServiceRequest::deserialize(resource).map_err(|_| {
            CdsError::invalid(
                "is not a valid FHIR R4 ServiceRequest: a member this service reads is missing or of the wrong type",
                path.clone(),
            )
        })?;
        if !typed.subject.is_patient(patient_id) {
            return Err(CdsError::new(
                422,
                "business-rule",
                "subject is not the patient of context.patientId",
                Some(format!("{path}.subject")),
            ));
        }
        service_requests.push(Entry {
            path,
            resource: typed,
        });
    }
    let selections = match context.get("selections") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(CdsError::invalid(
                "must name at least one order",
                "context.selections",
            ));
        }
        Some(_) => return Err(CdsError::invalid("must be an array", "context.selections")),
        None => return Err(CdsError::invalid("is required", "context.selections")),
    };
    let mut out = Vec::new();
    for (index, selection) in selections.iter().enumerate() {
        let path = format!("context.selections[{index}]");
        match selection {
            Value::String(reference) if named.contains(reference) => {
                out.push(reference.clone());
            }
            Value::String(_) => {
                return Err(CdsError::invalid(
                    "must name a resource of context.draftOrders as Type/id",
                    path,
                ));
            }
            _ => return Err(CdsError::invalid("must be a string", path)),
        }
    }
    Ok(Orders {
        selections: out,
        service_requests,
    })
}

fn required_string(object: &Map<String, Value>, key: &str, path: &str) -> Result<String, CdsError> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(CdsError::invalid("must be a string", path)),
        None => Err(CdsError::invalid("is required", path)),
    }
}

/// `412` naming every needed key the client left out or could not fetch.
fn check_satisfied(prefetch: &Map<String, Value>) -> Result<(), CdsError> {
    let mut issues = Vec::new();
    for key in [PROCEDURES, PAIN, CONDITIONS] {
        let path = format!("prefetch.{}", key.name);
        let diagnostics = match prefetch.get(key.name) {
            None => format!(
                "prefetch key `{}` is required and was not sent, and the call names no fhirServer \
                 with fhirAuthorization to fetch it from",
                key.name
            ),
            Some(value) if resource_type(value) == Some("OperationOutcome") => format!(
                "prefetch key `{}` holds an OperationOutcome: the client could not fetch it",
                key.name
            ),
            Some(_) => continue,
        };
        issues.push(Issue {
            severity: "error",
            code: "required",
            diagnostics,
            expression: vec![path],
        });
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(CdsError {
            status: 412,
            issues,
        })
    }
}

fn resource_type(value: &Value) -> Option<&str> {
    value.get("resourceType").and_then(Value::as_str)
}

/// The optional `patient` key, when sent, must be the patient of the context.
fn check_patient(prefetch: &Map<String, Value>, patient_id: &str) -> Result<(), CdsError> {
    let path = format!("prefetch.{}", PATIENT.name);
    match prefetch.get(PATIENT.name) {
        None | Some(Value::Null) => Ok(()),
        Some(value) => match resource_type(value) {
            Some("OperationOutcome") => Ok(()),
            Some(kind) if kind == PATIENT.resource_type => {
                if value.get("id").and_then(Value::as_str) == Some(patient_id) {
                    Ok(())
                } else {
                    Err(CdsError::new(
                        422,
                        "business-rule",
                        "the prefetched Patient is not the patient of context.patientId",
                        Some(path),
                    ))
                }
            }
            _ => Err(CdsError::invalid("must be a Patient resource", path)),
        },
    }
}

/// The resources of `key`'s type in its searchset Bundle; other entries (such as an
/// `OperationOutcome` with search mode `outcome`) are skipped. `null` reads as an empty result.
fn read_bundle<T: DeserializeOwned + Subject>(
    prefetch: &Map<String, Value>,
    key: PrefetchKey,
    patient_id: &str,
    paged: &mut Vec<&'static str>,
) -> Result<Vec<Entry<T>>, CdsError> {
    let path = format!("prefetch.{}", key.name);
    let bundle = match prefetch.get(key.name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(bundle) => bundle,
    };
    if resource_type(bundle) != Some("Bundle") {
        return Err(CdsError::invalid("must be a searchset Bundle", path));
    }
    let has_next = match bundle.get("link") {
        None => false,
        Some(Value::Array(links)) => links
            .iter()
            .any(|link| link.get("relation").and_then(Value::as_str) == Some("next")),
        Some(_) => {
            return Err(CdsError::invalid(
                "must be an array",
                format!("{path}.link"),
            ));
        }
    };
    if has_next {
        paged.push(key.name);
    }
    let entries = match bundle.get("entry") {
        None => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(CdsError::invalid(
                "must be an array",
                format!("{path}.entry"),
            ));
        }
    };
    let mut out = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_path = format!("{path}.entry[{index}]");
        let Value::Object(entry) = entry else {
            return Err(CdsError::invalid("must be an object", entry_path));
        };
        let resource = match entry.get("resource") {
            None => continue,
            Some(resource @ Value::Object(_)) => resource,
            Some(_) => {
                return Err(CdsError::invalid(
                    "must be an object",
                    format!("{entry_path}.resource"),
                ));
            }
        };
        if resource_type(resource) != Some(key.resource_type) {
            continue;
        }
        let resource_path = format!("{entry_path}.resource");
        let typed = T::deserialize(resource).map_err(|_| {
            CdsError::invalid(
                format!(
                    "is not a valid FHIR R4 {}: a member this service reads is missing or of the wrong type",
                    key.resource_type
                ),
                resource_path.clone(),
            )
        })?;
        if !typed.about(patient_id) {
            return Err(CdsError::new(
                422,
                "business-rule",
                "subject is not the patient of context.patientId",
                Some(format!("{resource_path}.subject")),
            ));
        }
        out.push(Entry {
            path: resource_path,
            resource: typed,
        });
    }
    Ok(out)
}

/// A resource about a patient.
trait Subject {
    /// Whether the resource is about this patient (or, where the subject is optional, names none).
    fn about(&self, patient_id: &str) -> bool;
}

impl Subject for Procedure {
    fn about(&self, patient_id: &str) -> bool {
        self.subject.is_patient(patient_id)
    }
}

impl Subject for Observation {
    fn about(&self, patient_id: &str) -> bool {
        self.subject
            .as_ref()
            .is_none_or(|subject: &Reference| subject.is_patient(patient_id))
    }
}

impl Subject for Condition {
    fn about(&self, patient_id: &str) -> bool {
        self.subject.is_patient(patient_id)
    }
}

/// The path of the first repeated key, FHIRPath-style (`prefetch.pain.entry[0].resource.status`).
fn first_duplicate(json: &Json, path: &mut String) -> Option<String> {
    match json {
        Json::Object(members) => {
            for (index, (key, value)) in members.iter().enumerate() {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if members[..index].iter().any(|(earlier, _)| earlier == key) {
                    return Some(path.clone());
                }
                if let Some(found) = first_duplicate(value, path) {
                    return Some(found);
                }
                path.truncate(length);
            }
            None
        }
        Json::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                if let Some(found) = first_duplicate(item, path) {
                    return Some(found);
                }
                path.truncate(length);
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(prefetch: Value) -> Value {
        json!({"hook": "patient-view", "hookInstance": "6f1c2a9e-0a51-4a8e-9c3e-2d7f4b1e8a10",
               "context": {"userId": "Practitioner/1", "patientId": "p1"}, "prefetch": prefetch})
    }

    fn bundle(resources: Vec<Value>) -> Value {
        json!({"resourceType": "Bundle", "type": "searchset",
               "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
    }

    fn parse_value(value: &Value) -> Result<HookCall, CdsError> {
        parse(&serde_json::to_vec(value).unwrap(), "patient-view")
    }

    #[test]
    fn only_the_first_selections_are_examined() {
        let request = |id: usize| Entry {
            path: format!("draftOrders.entry[{id}].resource"),
            resource: crate::cds::fhir::ServiceRequest {
                id: Some(id.to_string()),
                status: "draft".to_owned(),
                intent: "order".to_owned(),
                code: None,
                subject: crate::cds::fhir::Reference { reference: None },
            },
        };
        let count = MAX_SELECTIONS_EXAMINED + 10;
        let orders = Orders {
            selections: (0..count)
                .map(|id| format!("ServiceRequest/{id}"))
                .collect(),
            service_requests: (0..count).map(request).collect(),
        };
        assert_eq!(orders.selected().count(), MAX_SELECTIONS_EXAMINED);
    }

    #[test]
    fn missing_keys_are_412_naming_each() {
        let error = parse_value(&call(json!({"procedures": bundle(vec![])}))).unwrap_err();
        assert_eq!(error.status, 412);
        let named: Vec<_> = error
            .issues
            .iter()
            .map(|i| i.expression[0].as_str())
            .collect();
        assert_eq!(named, ["prefetch.pain", "prefetch.conditions"]);
        let mut no_prefetch = call(json!(null));
        no_prefetch.as_object_mut().unwrap().remove("prefetch");
        assert_eq!(parse_value(&no_prefetch).unwrap_err().issues.len(), 3);
        let failed = call(
            json!({"procedures": bundle(vec![]), "conditions": bundle(vec![]),
            "pain": {"resourceType": "OperationOutcome", "issue": []}}),
        );
        assert_eq!(parse_value(&failed).unwrap_err().status, 412);
    }

    #[test]
    fn envelope_errors_name_the_member() {
        let mut wrong_hook = call(json!({}));
        wrong_hook["hook"] = json!("order-select");
        assert_eq!(
            parse_value(&wrong_hook).unwrap_err().issues[0].expression,
            ["hook"]
        );
        let mut bad_patient = call(json!({}));
        bad_patient["context"]["patientId"] = json!("no spaces allowed");
        let error = parse_value(&bad_patient).unwrap_err();
        assert_eq!(error.issues[0].expression, ["context.patientId"]);
        assert!(!error.issues[0].diagnostics.contains("no spaces"));
        let mut auth = call(json!({}));
        auth["fhirAuthorization"] = json!({"access_token": "x"});
        assert_eq!(
            parse_value(&auth).unwrap_err().issues[0].expression,
            ["fhirAuthorization"]
        );
        let error = parse(
            br#"{"hook":"patient-view","hook":"patient-view"}"#,
            "patient-view",
        )
        .unwrap_err();
        assert_eq!(error.issues[0].expression, ["hook"]);
        assert_eq!(
            parse(b"{\"hook\":", "patient-view").unwrap_err().status,
            400
        );
    }

    #[test]
    fn resources_must_be_about_the_context_patient_and_well_typed() {
        let other = json!({"resourceType": "Condition", "subject": {"reference": "Patient/p2"}});
        let value = call(json!({"procedures": bundle(vec![]), "pain": bundle(vec![]),
                                "conditions": bundle(vec![other])}));
        let error = parse_value(&value).unwrap_err();
        assert_eq!(error.status, 422);
        assert_eq!(
            error.issues[0].expression,
            ["prefetch.conditions.entry[0].resource.subject"]
        );
        let bad = json!({"resourceType": "Observation", "status": "final", "code": {},
                         "valueInteger": "seven"});
        let value = call(
            json!({"procedures": bundle(vec![]), "conditions": bundle(vec![]),
                                "pain": bundle(vec![bad])}),
        );
        let error = parse_value(&value).unwrap_err();
        assert_eq!(
            error.issues[0].expression,
            ["prefetch.pain.entry[0].resource"]
        );
        assert!(!error.issues[0].diagnostics.contains("seven"));
    }

    #[test]
    fn skips_other_resource_types_and_notes_paged_bundles() {
        let mut pain = bundle(vec![
            json!({"resourceType": "OperationOutcome", "issue": []}),
        ]);
        pain["link"] = json!([{"relation": "next", "url": "https://ehr.example/page2"}]);
        let value = call(
            json!({"procedures": null, "conditions": bundle(vec![]), "pain": pain,
                                "patient": {"resourceType": "Patient", "id": "p1"}}),
        );
        let call = parse_value(&value).unwrap();
        assert!(call.prefetch.pain.is_empty());
        assert_eq!(call.prefetch.paged, ["pain"]);
    }

    #[test]
    fn order_select_reads_selections_and_draft_service_requests() {
        let order = |id: &str, patient: &str| {
            json!({"resourceType": "ServiceRequest", "id": id, "status": "draft", "intent": "order",
                   "subject": {"reference": format!("Patient/{patient}")}})
        };
        let mut value = call(json!({"procedures": bundle(vec![]), "pain": bundle(vec![]),
                                    "conditions": bundle(vec![])}));
        value["hook"] = json!(ORDER_SELECT);
        value["context"]["selections"] = json!(["ServiceRequest/b", "MedicationRequest/m"]);
        value["context"]["draftOrders"] = json!({"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": order("a", "p1")}, {"resource": order("b", "p1")},
                      {"resource": {"resourceType": "MedicationRequest", "id": "m"}}]});
        let parsed = parse(&serde_json::to_vec(&value).unwrap(), ORDER_SELECT).unwrap();
        let orders = parsed.orders.unwrap();
        assert_eq!(orders.service_requests.len(), 2);
        let selected: Vec<_> = orders.selected().map(|e| e.resource.id.clone()).collect();
        assert_eq!(selected, [Some("b".to_owned())]);

        let mut foreign = value.clone();
        foreign["context"]["draftOrders"]["entry"][0]["resource"] = order("a", "p2");
        let error = parse(&serde_json::to_vec(&foreign).unwrap(), ORDER_SELECT).unwrap_err();
        assert_eq!(error.status, 422);
        let mut empty = value.clone();
        empty["context"]["selections"] = json!([]);
        let error = parse(&serde_json::to_vec(&empty).unwrap(), ORDER_SELECT).unwrap_err();
        assert_eq!(error.issues[0].expression, ["context.selections"]);
    }
}
