//! The FHIR-server fallback of the CDS Hooks services (contract section 7): when a prefetch key the
//! service needs was not sent (or is `null`, or holds an `OperationOutcome`) and the call names
//! `fhirServer` and `fhirAuthorization`, the service runs the key's query itself and puts the result
//! in the prefetch. Without them, a `null` search key reads as an empty result.
//!
//! Rules: the base must be one the operator allows for the calling issuer (exact match, trailing `/`
//! ignored) and HTTPS unless plain HTTP is allowed for testing; the bearer token goes to that base
//! only (redirects are not followed, and a `next` link outside the base is an error); each call has
//! a 2 s budget; `next` links are followed up to 10 pages. When it cannot fetch, the answer is `412`
//! with an `OperationOutcome` naming the key and why, never the token or the server's reply.

use super::hook::{CONDITIONS, PAIN, PROCEDURES, PrefetchKey};
use super::outcome::{CdsError, Issue};
use crate::pathway::fhir_mapping::FhirMapping;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Time budget of the whole fallback of one call.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Pages read per query at most.
pub const MAX_PAGES: usize = 10;
/// Largest FHIR response page read.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The fallback's HTTP client and whether plain HTTP bases may be used.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_http: bool,
}

impl Fetcher {
    /// A client with the 2 s timeout that never follows redirects. `allow_http` lets a plain-HTTP
    /// base be used (for testing against a local server).
    pub fn new(allow_http: bool) -> Result<Fetcher, String> {
        // The ring provider serves every rustls user of the process; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("cannot build the FHIR client: {error}"))?;
        Ok(Fetcher { client, allow_http })
    }

    /// Completes the prefetch of a service call from its `fhirServer`, when keys are missing and the
    /// call allows it. `allowed` are the FHIR bases allowed for the caller. `Ok(None)`: nothing to
    /// fetch, or the call cannot be completed for a reason the call's own checks report (no
    /// `fhirServer`, no token, a malformed body); `Ok(Some(body))`: the body with the fetched keys.
    pub async fn complete(
        &self,
        body: &[u8],
        allowed: &[String],
        mapping: &FhirMapping,
    ) -> Result<Option<Vec<u8>>, CdsError> {
        let Ok(Value::Object(mut root)) = serde_json::from_slice::<Value>(body) else {
            return Ok(None);
        };
        let missing: Vec<PrefetchKey> = [PROCEDURES, PAIN, CONDITIONS]
            .into_iter()
            .filter(|key| is_missing(root.get("prefetch"), key.name))
            .collect();
        if missing.is_empty() {
            return Ok(None);
        }
        let server = root.get("fhirServer").and_then(Value::as_str);
        let token = root
            .get("fhirAuthorization")
            .and_then(|auth| auth.get("access_token"))
            .and_then(Value::as_str);
        let patient = root
            .get("context")
            .and_then(|context| context.get("patientId"))
            .and_then(Value::as_str)
            .filter(|id| super::fhir::is_id(id));
        let (Some(server), Some(token), Some(patient)) = (server, token, patient) else {
            return Ok(None);
        };
        let base = server.trim_end_matches('/').to_owned();
        let refuse = |why: &str| Err(unfetched(&missing, why));
        if !(base.starts_with("https://") || (self.allow_http && base.starts_with("http://"))) {
            return refuse("fhirServer must be an https URL");
        }
        if !allowed.iter().any(|a| a.trim_end_matches('/') == base) {
            return refuse("fhirServer is not a FHIR server the operator allows for this client");
        }
        let mut fetched = Map::new();
        for key in &missing {
            let query = super::template(key, mapping).replace("{{context.patientId}}", patient);
            match self.search(&base, &query, token).await {
                Ok(bundle) => {
                    fetched.insert(key.name.to_owned(), bundle);
                }
                Err(why) => return Err(unfetched(std::slice::from_ref(key), why)),
            }
        }
        let prefetch = root
            .entry("prefetch")
            .or_insert_with(|| Value::Object(Map::new()));
        if !prefetch.is_object() {
            *prefetch = Value::Object(Map::new());
        }
        if let Value::Object(prefetch) = prefetch {
            prefetch.extend(fetched);
        }
        Ok(serde_json::to_vec(&Value::Object(root)).ok())
    }

    /// Runs one search and follows its `next` links (within `base`, up to [`MAX_PAGES`]); one
    /// searchset Bundle of every entry read, with a `next` link when pages were left unread.
    async fn search(&self, base: &str, query: &str, token: &str) -> Result<Value, &'static str> {
        let mut url = format!("{base}/{query}");
        let mut entries = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.page(&url, token).await?;
            if page.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
                return Err("the FHIR server did not answer with a Bundle");
            }
            match page.get("entry") {
                None => {}
                Some(Value::Array(items)) => entries.extend(items.iter().cloned()),
                Some(_) => return Err("the FHIR server answered with a malformed Bundle"),
            }
            let next = page
                .get("link")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|link| link.get("relation").and_then(Value::as_str) == Some("next"))
                .and_then(|link| link.get("url").and_then(Value::as_str))
                .map(str::to_owned);
            match next {
                None => return Ok(searchset(entries, None)),
                Some(next) if within(base, &next) => url = next,
                Some(_) => return Err("the FHIR server's next link leaves fhirServer"),
            }
        }
        Ok(searchset(entries, Some(url)))
    }

    async fn page(&self, url: &str, token: &str) -> Result<Value, &'static str> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/fhir+json")
            .send()
            .await
            .map_err(|error| {
                if error.is_timeout() {
                    "the FHIR server did not answer within 2 s"
                } else {
                    "the FHIR server could not be reached"
                }
            })?;
        if !response.status().is_success() {
            return Err("the FHIR server refused the query");
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_PAGE_BYTES as u64)
        {
            return Err("the FHIR server's answer is too large");
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|_| "the FHIR server's answer could not be read")?;
        if bytes.len() > MAX_PAGE_BYTES {
            return Err("the FHIR server's answer is too large");
        }
        serde_json::from_slice(&bytes).map_err(|_| "the FHIR server's answer is not JSON")
    }
}

/// Whether a needed key was not satisfied: absent, `null`, or an `OperationOutcome`.
fn is_missing(prefetch: Option<&Value>, key: &str) -> bool {
    match prefetch.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => true,
        Some(value) => {
            value.get("resourceType").and_then(Value::as_str) == Some("OperationOutcome")
        }
    }
}

/// Whether `url` lies under `base` (same scheme, host, port and path prefix).
fn within(base: &str, url: &str) -> bool {
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

fn searchset(entries: Vec<Value>, unread: Option<String>) -> Value {
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
    if let Some(url) = unread {
        bundle["link"] = json!([{"relation": "next", "url": url}]);
    }
    bundle
}

/// `412` naming each key that could not be fetched, and why.
fn unfetched(keys: &[PrefetchKey], why: &str) -> CdsError {
    CdsError {
        status: 412,
        issues: keys
            .iter()
            .map(|key| Issue {
                severity: "error",
                code: "required",
                diagnostics: format!(
                    "prefetch key `{}` was not sent and could not be fetched: {why}",
                    key.name
                ),
                expression: vec![format!("prefetch.{}", key.name)],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_must_stay_under_the_base() {
        let base = "https://ehr.example/fhir";
        assert!(within(base, "https://ehr.example/fhir/Procedure?page=2"));
        assert!(within(base, "https://ehr.example/fhir?_getpages=x"));
        assert!(!within(base, "https://ehr.example/fhir2/Procedure"));
        assert!(!within(base, "https://evil.example/fhir/Procedure"));
        assert!(!within(base, "https://ehr.example.evil/fhir/x"));
    }

    #[test]
    fn absent_and_null_keys_and_operation_outcomes_are_missing() {
        let prefetch = json!({"pain": {"resourceType": "OperationOutcome"}, "conditions": null,
            "procedures": {"resourceType": "Bundle"}});
        assert!(is_missing(Some(&prefetch), "pain"));
        assert!(is_missing(Some(&prefetch), "conditions"));
        assert!(!is_missing(Some(&prefetch), "procedures"));
        assert!(is_missing(Some(&prefetch), "patient"));
        assert!(is_missing(None, "pain"));
    }

    #[tokio::test]
    async fn refuses_a_plain_http_or_unlisted_base_without_a_request() {
        let mapping = FhirMapping::embedded().unwrap();
        let body = |server: &str| {
            serde_json::to_vec(&json!({
                "hook": "patient-view", "hookInstance": "h", "fhirServer": server,
                "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
                "context": {"userId": "Practitioner/1", "patientId": "p1"}
            }))
            .unwrap()
        };
        let allowed = vec!["https://ehr.example/fhir".to_owned()];
        let strict = Fetcher::new(false).unwrap();
        let plain = strict
            .complete(&body("http://ehr.example/fhir"), &allowed, &mapping)
            .await
            .unwrap_err();
        assert_eq!(plain.status, 412);
        assert_eq!(plain.issues.len(), 3);
        let unlisted = strict
            .complete(&body("https://other.example/fhir"), &allowed, &mapping)
            .await
            .unwrap_err();
        assert!(
            unlisted.issues[0]
                .diagnostics
                .contains("not a FHIR server the operator allows")
        );
        let no_server = serde_json::to_vec(&json!({"hook": "patient-view",
            "context": {"patientId": "p1"}}))
        .unwrap();
        assert_eq!(
            strict
                .complete(&no_server, &allowed, &mapping)
                .await
                .unwrap(),
            None
        );
    }
}
