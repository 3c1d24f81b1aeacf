//! Overload behaviour: a fixed number of requests are answered at once; one more is refused at once
//! with `503` and `Retry-After` (a problem document) instead of waiting in an unbounded queue.
//!
//! One count of requests in flight is shared by every route of a router; a request takes a place
//! without waiting or is refused, and holds it until it is answered (an atomic count: a semaphore's
//! release takes a lock on every request). The router exempts `/healthz`, `/readyz` and
//! `/metrics`, so probes and scrapes still answer under load.
//!
//! A request whose body is still arriving reads it first (up to its route's size limit, within the
//! request timeout of the `observe` layer outside) and takes its place only then, so clients that
//! trickle bodies cannot hold every place while sending nothing. A declared `Content-Length` over
//! the route's limit is not read: the handler refuses it with `413` at once. Kept instead of tower's
//! `LoadShed` over a global concurrency limit (behind axum's `HandleErrorLayer`, which boxes the
//! future and clones the service per request): see `http/observe.rs` for the measured cost.

use super::error::ApiError;
use super::{UnreadBody, read_body};
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Seconds a refused client is asked to wait before retrying.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// The count of requests in flight shared by every route of one router but the exempt paths; as a
/// layer, it limits a route.
#[derive(Debug, Clone)]
pub struct Limit {
    in_flight: Arc<InFlight>,
    exempt: &'static [&'static str],
    body_limit: fn(&str) -> usize,
}

#[derive(Debug)]
struct InFlight {
    count: AtomicUsize,
    max: usize,
}

impl Limit {
    /// At least one request at a time; requests for the `exempt` paths always pass. `body_limit`
    /// gives the largest body the route of a path accepts.
    pub fn new(
        max_concurrency: usize,
        exempt: &'static [&'static str],
        body_limit: fn(&str) -> usize,
    ) -> Limit {
        Limit {
            in_flight: Arc::new(InFlight {
                count: AtomicUsize::new(0),
                max: max_concurrency.max(1),
            }),
            exempt,
            body_limit,
        }
    }

    /// A place among the requests in flight, or `None` when all are taken.
    fn admit(&self) -> Option<Place> {
        let InFlight { count, max } = &*self.in_flight;
        count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |taken| {
                (taken < *max).then_some(taken + 1)
            })
            .ok()
            .map(|_| Place(Arc::clone(&self.in_flight)))
    }
}

/// A request's place among those in flight, freed when the request is answered (or dropped).
pub struct Place(Arc<InFlight>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S> Layer<S> for Limit {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner,
            limit: self.clone(),
        }
    }
}

/// A route behind a [`Limit`].
#[derive(Debug, Clone)]
pub struct Limited<S> {
    inner: S,
    limit: Limit,
}

impl<S> Service<Request> for Limited<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Unpin + Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Admission<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Admission<S::Future> {
        if self.limit.exempt.contains(&request.uri().path()) {
            return Admission::Exempt(self.inner.call(request));
        }
        let body_limit = (self.limit.body_limit)(request.uri().path());
        let body = request.body();
        if !body.is_end_stream() && body.size_hint().lower() <= body_limit as u64 {
            let (mut inner, limit) = (self.inner.clone(), self.limit.clone());
            return Admission::Reading(Box::pin(async move {
                let (parts, body) = request.into_parts();
                let body = match read_body(body, body_limit).await {
                    Ok(bytes) => Body::from(bytes),
                    Err(error) => Body::new(UnreadBody(error)),
                };
                let request = Request::from_parts(parts, body);
                match limit.admit() {
                    Some(_place) => inner.call(request).await,
                    None => {
                        metrics::counter!("http_requests_shed_total").increment(1);
                        Ok(ApiError::Overloaded.into_response())
                    }
                }
            }));
        }
        match self.limit.admit() {
            Some(place) => Admission::Admitted {
                answer: self.inner.call(request),
                _place: place,
            },
            None => {
                metrics::counter!("http_requests_shed_total").increment(1);
                Admission::Refused
            }
        }
    }
}

/// A request's answer, with the place it holds until then; an exempt request's answer; a request
/// reading its body before it takes a place; or a refusal.
pub enum Admission<F> {
    Admitted { answer: F, _place: Place },
    Exempt(F),
    Reading(Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>),
    Refused,
}

impl<F> Future for Admission<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Admission::Admitted { answer, .. } | Admission::Exempt(answer) => {
                Pin::new(answer).poll(cx)
            }
            Admission::Reading(reading) => reading.as_mut().poll(cx),
            Admission::Refused => Poll::Ready(Ok(ApiError::Overloaded.into_response())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_beyond_the_limit_is_refused_at_once_and_a_freed_place_serves_again() {
        let release = Arc::new(Notify::new());
        let app = axum::Router::new()
            .route(
                "/slow",
                axum::routing::get({
                    let release = Arc::clone(&release);
                    move || async move { release.notified().await }
                }),
            )
            .route("/probe", axum::routing::get(|| async {}))
            .route_layer(Limit::new(1, &["/probe"], |_| 16));
        let get = || Request::get("/slow").body(Body::empty()).unwrap();
        let first = tokio::spawn(app.clone().oneshot(get()));
        tokio::task::yield_now().await;
        let refused = app.clone().oneshot(get()).await.unwrap();
        assert_eq!(refused.status(), 503);
        let probe = Request::get("/probe").body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(probe).await.unwrap().status(), 200);
        assert_eq!(refused.headers()["retry-after"], "1");
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap().status(), 200);
        release.notify_one();
        assert_eq!(app.oneshot(get()).await.unwrap().status(), 200);
    }
}
