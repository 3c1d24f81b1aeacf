//! What happens around every request, in one layer: the request id, metrics, logging, panics and bare
//! error statuses. Kept instead of tower-http's request-id, trace, timeout and catch-panic layers
//! because that standard stack (with tower's load shedding for `overload`) served 10 to 13% fewer
//! triage requests per second in the paired benchmark (`docs/performance.md`, "HTTP throughput").
//!
//! - **Request id**: a client's `x-request-id` is kept when it is short and plain (letters, digits,
//!   `-._:`), so a log line never carries arbitrary client text; otherwise one is generated. It is set
//!   on the request, for handlers that log, and echoed on the response.
//! - **Metrics**: every answered request is counted and timed under its matched route.
//! - **Logs**: a `debug` span per request (id, method, matched route; never the URI or the body) and a
//!   `debug` line when it is answered; `5xx` answers are logged at `error`. Handlers that log at `info`
//!   or above name the request id themselves ([`request_id`]).
//! - **Timeout**: a request not answered within the timeout gets `408`. The timer is armed only when
//!   the route does not answer on its first poll (a body still arriving): nearly every request is
//!   answered in one poll, and a timer per request cost more than the rest of this layer.
//! - **Panics** become a `500` problem document; the panic message is not logged, as it could hold
//!   request data.
//! - **Bare error statuses** (`405` from routing, for one) become problem documents.

use super::error::{ApiError, problem_for_bare_errors};
use super::metrics::Metrics;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;
use tower::{Layer, Service};

/// The request id header, generated when the client sends none (or an unusable one) and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest client-sent request id kept as is.
const MAX_REQUEST_ID_LEN: usize = 128;
/// Route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// The request id of a request that went through the observe layer, for log events (`-` outside it).
pub fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
}

/// The layer; see the module documentation. Routing clones it per request, so it is one `Arc`.
#[derive(Clone)]
pub struct ObserveLayer(Arc<Observer>);

struct Observer {
    metrics: Metrics,
    ids: SequentialRequestId,
    timeout: Duration,
}

impl ObserveLayer {
    /// Records into `metrics`; answers `408` when a request takes longer than `timeout`.
    pub fn new(metrics: Metrics, timeout: Duration) -> ObserveLayer {
        ObserveLayer(Arc::new(Observer {
            metrics,
            ids: SequentialRequestId::new(),
            timeout,
        }))
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around a route.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    layer: ObserveLayer,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Observed<S::Future> {
        let started = Instant::now();
        let id = self.layer.0.ids.keep_or_make(request.headers());
        request.headers_mut().insert(REQUEST_ID, id.clone());
        let method = method_label(request.method());
        let route = request.extensions().get::<MatchedPath>().cloned();
        let route_label = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        let span = tracing::debug_span!(
            "request",
            id = %request_id_text(&id),
            method,
            route = %route_label,
        );
        let call = {
            let _entered = span.enter();
            catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))
        };
        Observed {
            inner: call.ok(),
            deadline: None,
            observer: Arc::clone(&self.layer.0),
            span,
            started,
            id,
            method,
            route,
        }
    }
}

/// The future of one observed request.
pub struct Observed<F> {
    /// `None` when calling the route panicked, or once it timed out.
    inner: Option<F>,
    /// Armed when the route's first poll does not answer.
    deadline: Option<Pin<Box<Sleep>>>,
    observer: Arc<Observer>,
    span: tracing::Span,
    started: Instant,
    id: HeaderValue,
    method: &'static str,
    route: Option<MatchedPath>,
}

impl<F> Future for Observed<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let polled = this
            .inner
            .as_mut()
            .and_then(|inner| catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))).ok());
        let response = match polled {
            Some(Poll::Pending) => {
                let deadline = tokio::time::Instant::from_std(this.started + this.observer.timeout);
                let timer = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.inner = None;
                ApiError::Status(axum::http::StatusCode::REQUEST_TIMEOUT).into_response()
            }
            Some(Poll::Ready(Ok(response))) => response,
            None => {
                this.inner = None;
                tracing::error!(request_id = %request_id_text(&this.id), "a handler panicked");
                ApiError::Status(axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
            }
        };
        let mut response = problem_for_bare_errors(response);
        response.headers_mut().insert(
            REQUEST_ID,
            std::mem::replace(&mut this.id, HeaderValue::from_static("-")),
        );
        let elapsed = this.started.elapsed();
        let status = response.status();
        let route = this.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        this.observer.metrics.record_request(
            this.method,
            route,
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                latency_us = elapsed.as_micros() as u64,
                "answered with a server error"
            );
        } else {
            tracing::debug!(
                status = status.as_u16(),
                latency_us = elapsed.as_micros() as u64,
                "answered"
            );
        }
        Poll::Ready(Ok(response))
    }
}

/// A request method as a metric label and log field: one of the standard methods, or `other` for an
/// extension method a client made up, so a client cannot add label values (or bytes) at will.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

fn request_id_text(id: &HeaderValue) -> &str {
    id.to_str().unwrap_or("-")
}

/// Request ids for requests that come without a usable one: a random prefix drawn once per
/// process, then a counter (`5f0c9a1e-000000000000002a`). Unique across restarts without a random
/// draw per request.
struct SequentialRequestId {
    prefix: u32,
    next: AtomicU64,
}

impl SequentialRequestId {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // `RandomState` is seeded from the operating system's randomness once per process.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos()),
        );
        SequentialRequestId {
            prefix: hasher.finish() as u32,
            next: AtomicU64::new(1),
        }
    }

    /// The client's id when usable, else a fresh one.
    fn keep_or_make(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(given) = headers.get(&REQUEST_ID).filter(|value| usable(value)) {
            return given.clone();
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = [0u8; 25];
        hex(&mut text[..8], u64::from(self.prefix));
        text[8] = b'-';
        hex(&mut text[9..], n);
        // Shared bytes: the copy on the request and the one on the response are one allocation.
        HeaderValue::from_maybe_shared(Bytes::from_owner(text))
            .unwrap_or(HeaderValue::from_static("-"))
    }
}

/// Writes the low `out.len()` hex digits of `value`, most significant first.
fn hex(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}

fn usable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn get(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    async fn boom() -> &'static str {
        panic!("request data could be here")
    }

    #[tokio::test]
    async fn a_panic_answers_a_500_problem_with_the_request_id_and_is_counted() {
        let metrics = Metrics::new();
        let app = axum::Router::new()
            .route("/boom", axum::routing::get(boom))
            .layer(ObserveLayer::new(metrics.clone(), TIMEOUT));
        let response = app.oneshot(get("/boom")).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            crate::problem::PROBLEM_JSON
        );
        assert!(response.headers().contains_key(REQUEST_ID));
        assert!(
            metrics
                .render()
                .contains(r#"http_requests_total{method="GET",route="/boom",status="500"} 1"#)
        );
    }

    #[tokio::test]
    async fn a_panic_while_calling_the_service_is_caught_too() {
        let service = ObserveLayer::new(Metrics::new(), TIMEOUT).layer(tower::service_fn(
            |_: Request| -> std::future::Ready<Result<Response, Infallible>> { panic!("in call") },
        ));
        let response = service.oneshot(get("/anywhere")).await.unwrap();
        assert_eq!(response.status(), 500);
    }

    #[tokio::test]
    async fn bare_error_statuses_become_problems_under_an_unmatched_label() {
        let metrics = Metrics::new();
        let service =
            ObserveLayer::new(metrics.clone(), TIMEOUT).layer(tower::service_fn(|_: Request| {
                std::future::ready(Ok::<_, Infallible>(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response(),
                ))
            }));
        let response = service.oneshot(get("/x")).await.unwrap();
        assert_eq!(response.status(), 405);
        assert_eq!(
            response.headers()[axum::http::header::CONTENT_TYPE],
            crate::problem::PROBLEM_JSON
        );
        assert!(
            metrics
                .render()
                .contains(r#"route="unmatched",status="405""#)
        );
    }

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(&[b'X'; 5000]).unwrap();
        assert_eq!(method_label(&made_up), "other");
    }

    #[test]
    fn generated_ids_are_a_prefix_and_a_counter() {
        let ids = SequentialRequestId::new();
        let first = ids.keep_or_make(&HeaderMap::new());
        let second = ids.keep_or_make(&HeaderMap::new());
        let (prefix, counter) = first.to_str().unwrap().split_once('-').unwrap();
        assert_eq!((prefix.len(), counter), (8, "0000000000000001"));
        assert!(second.to_str().unwrap().ends_with("-0000000000000002"));
    }

    #[test]
    fn only_short_plain_client_ids_are_kept() {
        let ids = SequentialRequestId::new();
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(value).unwrap());
            ids.keep_or_make(&headers)
        };
        assert_eq!(with("ehr-7f3a.2026:01"), "ehr-7f3a.2026:01");
        for unusable in ["has space", "quote\"d", "", &"x".repeat(129)] {
            assert_ne!(with(unusable), unusable);
        }
    }
}
