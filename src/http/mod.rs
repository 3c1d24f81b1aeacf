//! The HTTP layer: a thin axum router over the triage use case. No clinical logic lives here.

mod cds;
mod triage;

pub use cds::{CdsArgs, CdsConfig};

use crate::cli::PathwaysArg;
use crate::pathway::PathwaySet;
use axum::Router;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Options of `facet-triage serve`.
#[derive(Debug, Clone, clap::Parser)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FACET_TRIAGE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub pathways: PathwaysArg,
    #[command(flatten)]
    pub cds: CdsArgs,
}

/// Options of `facet-triage healthcheck`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// Address of the running server.
    #[arg(long, env = "FACET_TRIAGE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pathways: Arc<PathwaySet>,
}

/// The application's routes with unauthenticated CDS Hooks services; shared by `main` and the tests.
pub fn router(state: AppState) -> Router {
    router_with_cds(state, CdsConfig::default())
}

/// The application's routes, the CDS Hooks services configured by `cds`.
pub fn router_with_cds(state: AppState, cds: CdsConfig) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .route("/v1/triage", post(triage::triage))
        .merge(cds::routes(cds))
        .with_state(state)
}

/// Loads the pathways and serves until the process is stopped.
pub fn serve_blocking(args: ServeArgs) -> ExitCode {
    let pathways = match args.pathways.load() {
        Ok(pathways) => pathways,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(1);
        }
    };
    let cds = match CdsConfig::from_args(&args.cds).and_then(|cds| {
        cds.check_profile(&pathways)?;
        Ok(cds)
    }) {
        Ok(cds) => cds,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    cds.log_startup();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("cannot listen on {}: {error}", args.addr);
                return ExitCode::from(1);
            }
        };
        let app = router_with_cds(
            AppState {
                pathways: Arc::new(pathways),
            },
            cds,
        );
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("server error: {error}");
                ExitCode::from(1)
            }
        }
    })
}

/// `GET /healthz` on a running server, without curl.
pub fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    use std::io::{Read, Write};
    let attempt = || -> std::io::Result<bool> {
        let timeout = std::time::Duration::from_secs(3);
        let mut stream = std::net::TcpStream::connect_timeout(&args.addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            args.addr
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response.starts_with(b"HTTP/1.1 200"))
    };
    match attempt() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}
