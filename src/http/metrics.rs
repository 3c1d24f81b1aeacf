//! `GET /metrics`: Prometheus text format. Requests are counted and timed per method, matched route
//! (never the raw URI, so label values stay few and hold no request data) and status; evaluations
//! are counted per profile and top-ranked option id, both pathway words, never request values.
//!
//! Each router owns its recorder, so tests that build many routers do not share counts.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics::{
    Counter, Histogram, Unit, counter, describe_counter, describe_histogram, histogram,
    with_local_recorder,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::sync::Arc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const EVALUATIONS: &str = "triage_evaluations_total";
/// Latency buckets in seconds, from 100 µs to 10 s (the request timeout's range).
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The service's Prometheus recorder. Cloned per request, so it is one `Arc`.
#[derive(Clone)]
pub struct Metrics(Arc<Recorder>);

struct Recorder {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    handles: Handles,
}

/// Most label sets remembered per route, or per profile; past it, recording looks labels up each time.
const MAX_CACHED_PER_KEY: usize = 64;

/// A method and status, with the request counter and latency histogram of that label set.
type RequestHandles = (String, u16, Counter, Histogram);

/// Metric handles already registered, by their labels, so recording a request is a read lock and
/// two atomic updates (under that lock, without cloning the handles) instead of building a label set
/// and looking it up in the registry. The keys are few (routes, profiles), so they are scanned: no
/// hashing per request. Kept because the plain `counter!`/`histogram!` macros cost about 8,000 more
/// instructions per triage request (callgrind, `docs/performance.md`).
#[derive(Default)]
struct Handles {
    /// By route, then (method, status): the request counter and the latency histogram.
    requests: RwLock<Keyed<RequestHandles>>,
    /// By profile, then top option: the evaluation counter.
    evaluations: RwLock<Keyed<(String, Counter)>>,
}

/// Entries by key, in the order the keys were first seen.
type Keyed<T> = Vec<(String, Vec<T>)>;

/// The entries of `key`.
fn entries<'a, T>(keyed: &'a Keyed<T>, key: &str) -> Option<&'a [T]> {
    keyed
        .iter()
        .find(|(known, _)| known == key)
        .map(|(_, entries)| entries.as_slice())
}

/// The entries of `key`, added empty when it is new.
fn entries_mut<'a, T>(keyed: &'a mut Keyed<T>, key: &str) -> &'a mut Vec<T> {
    let at = match keyed.iter().position(|(known, _)| known == key) {
        Some(at) => at,
        None => {
            keyed.push((key.to_owned(), Vec::new()));
            keyed.len() - 1
        }
    };
    &mut keyed[at].1
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        with_local_recorder(&recorder, || {
            describe_counter!(
                REQUESTS,
                "HTTP requests answered, by method, route and status."
            );
            describe_histogram!(
                DURATION,
                Unit::Seconds,
                "Time to answer an HTTP request, by method, route and status."
            );
            describe_counter!(
                EVALUATIONS,
                "Triage evaluations, by profile and top-ranked option id (`none` when no option)."
            );
        });
        Metrics(Arc::new(Recorder {
            recorder: Arc::new(recorder),
            handle,
            handles: Handles::default(),
        }))
    }

    /// Counts and times one answered request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Some((_, _, counter, histogram)) = entries(&read(&self.0.handles.requests), route)
            .and_then(|entries| {
                entries
                    .iter()
                    .find(|(m, s, _, _)| m == method && *s == status)
            })
        {
            counter.increment(1);
            histogram.record(seconds);
            return;
        }
        let (counter, histogram) = {
            let labels = [
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ];
            let handles = with_local_recorder(self.0.recorder.as_ref(), || {
                (counter!(REQUESTS, &labels), histogram!(DURATION, &labels))
            });
            let mut requests = write(&self.0.handles.requests);
            let entries = entries_mut(&mut requests, route);
            if entries.len() < MAX_CACHED_PER_KEY {
                entries.push((
                    method.to_owned(),
                    status,
                    handles.0.clone(),
                    handles.1.clone(),
                ));
            }
            handles
        };
        counter.increment(1);
        histogram.record(seconds);
    }

    /// Counts one evaluation by the profile used and the top-ranked option id.
    pub fn record_evaluation(&self, top_option: Option<&str>, profile: &str) {
        let top_option = top_option.unwrap_or("none");
        if let Some((_, counter)) = entries(&read(&self.0.handles.evaluations), profile)
            .and_then(|entries| entries.iter().find(|(option, _)| option == top_option))
        {
            counter.increment(1);
            return;
        }
        let counter = {
            let labels = [
                ("profile", profile.to_owned()),
                ("top_option", top_option.to_owned()),
            ];
            let counter =
                with_local_recorder(self.0.recorder.as_ref(), || counter!(EVALUATIONS, &labels));
            let mut evaluations = write(&self.0.handles.evaluations);
            let entries = entries_mut(&mut evaluations, profile);
            if entries.len() < MAX_CACHED_PER_KEY {
                entries.push((top_option.to_owned(), counter.clone()));
            }
            counter
        };
        counter.increment(1);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.0.handle.render()
    }

    /// Makes this recorder the process-wide one, so counters recorded outside a request's middleware
    /// (pathway reloads, CDS Hooks calls, auth refusals, shed requests) reach `/metrics` too. The
    /// server calls it once; `false` if a global recorder was already set.
    pub fn install_global(&self) -> bool {
        let installed = metrics::set_global_recorder(Arc::clone(&self.0.recorder)).is_ok();
        if installed {
            describe_counter!(
                "pathway_reloads_total",
                "Pathway reloads, by outcome (`replaced`, or `rejected`: the previous version kept serving)."
            );
            describe_counter!(
                "http_requests_shed_total",
                "Requests refused with 503 because the concurrency limit was reached."
            );
            describe_counter!(
                "api_auth_refusals_total",
                "/v1 requests refused with 401, by reason (`missing`, `scheme`, `unknown_token`)."
            );
        }
        installed
    }

    /// Drains histogram buffers; the server calls this every few seconds.
    pub fn run_upkeep(&self) {
        self.0.handle.run_upkeep();
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `GET /metrics` alone, for a listen address of its own (`--metrics-addr`).
pub fn standalone_router(metrics: Metrics) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|| async move { exposition(&metrics) }),
        )
        .fallback(|| async { super::ApiError::NoRoute })
}

/// Prometheus metrics
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    exposition(state.metrics())
}

fn exposition(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_evaluations_render_with_their_labels() {
        let metrics = Metrics::new();
        metrics.record_request("POST", "/v1/triage", 200, 0.002);
        metrics.record_evaluation(Some("option-a"), "profile-a");
        metrics.record_evaluation(None, "profile-b");
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{method="POST",route="/v1/triage",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"http_request_duration_seconds_bucket{method="POST",route="/v1/triage",status="200",le="0.0025"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"triage_evaluations_total{profile="profile-a",top_option="option-a"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"top_option="none""#), "{text}");
    }
}
