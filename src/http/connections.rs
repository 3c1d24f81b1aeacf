//! Accepting and serving HTTP/1.1 connections with bounds a client cannot hold open forever:
//!
//! - **Header-read timeout**: hyper starts it whenever a connection waits for a request head (just
//!   opened, or idle after an answer on keep-alive) and closes the connection when the head is not
//!   complete in time, so it bounds silent, slowloris and idle keep-alive connections alike.
//! - **Connection cap**: at most `max_connections` connections are served at once; beyond it new
//!   connections wait in the listen backlog until one closes, so idle sockets cannot exhaust the
//!   process's file descriptors.
//! - **Drain**: while the server drains (`/readyz` at `503`, during the shutdown delay too), every
//!   answer carries `Connection: close`, so keep-alive clients reconnect elsewhere instead of sending
//!   a request into a closing connection. When shutdown begins, the listener closes and every
//!   connection is asked to finish (hyper answers the request in progress with `Connection: close` and closes idle ones); the
//!   connections still open after `shutdown_timeout` are dropped, so shutdown completes in bounded
//!   time.

use super::Readiness;
use axum::Router;
use axum::http::{HeaderValue, header};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::Service;

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: crate::config::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: crate::config::DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains the connections within the
/// shutdown timeout. Returns `false` when connections had to be dropped at the deadline.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    readiness: Readiness,
    shutdown: impl Future<Output = ()>,
) -> bool {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // EMFILE and the like: wait a little rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = {
            let (app, readiness) = (app.clone(), readiness.clone());
            hyper::service::service_fn(move |request| {
                let answer = app.clone().call(request);
                let draining = !readiness.is_ready();
                async move {
                    let mut response = answer.await?;
                    if draining {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.wait_for(|stop| *stop) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !drained {
        tracing::warn!(
            connections = connections.len(),
            "shutdown timeout reached; closing the connections still open"
        );
        connections.abort_all();
    } else if open > 0 {
        tracing::info!(connections = open, "connections drained");
    }
    drained
}
