//! `facet-triage serve` (the runtime, the listener, graceful shutdown) and `facet-triage healthcheck`.

use super::{
    AppState, CdsArgs, CdsConfig, Cors, DEFAULT_REQUEST_TIMEOUT, HttpOptions, Metrics, Readiness,
    router_with,
};
use crate::cli::PathwaysArg;
use crate::telemetry::{self, LogArgs};
use axum::http::HeaderValue;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Options of `facet-triage serve`.
#[derive(Debug, Clone, clap::Parser)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FACET_TRIAGE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub pathways: PathwaysArg,
    /// Origins browsers may call the API from, comma-separated, or `*` for any; none by default
    /// (same-origin only).
    #[arg(
        long,
        env = "FACET_TRIAGE_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub cors_origins: Vec<String>,
    /// Seconds allowed to receive a request and answer it (then `408`).
    #[arg(long, env = "FACET_TRIAGE_REQUEST_TIMEOUT", default_value_t = DEFAULT_REQUEST_TIMEOUT.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Runtime worker threads; the number of CPU cores when left out.
    #[arg(long, env = "FACET_TRIAGE_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    #[command(flatten)]
    pub log: LogArgs,
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

impl ServeArgs {
    fn cors(&self) -> Result<Cors, String> {
        let origins: Vec<&str> = self
            .cors_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .collect();
        if origins.is_empty() {
            return Ok(Cors::Off);
        }
        if origins.contains(&"*") {
            return Ok(Cors::AnyOrigin);
        }
        origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin)
                    .map_err(|_| format!("--cors-origins: `{origin}` is not a valid origin"))
            })
            .collect::<Result<_, _>>()
            .map(Cors::Origins)
    }
}

/// Loads the pathways and serves until SIGTERM or SIGINT, then finishes in-flight requests.
pub fn serve_blocking(args: ServeArgs) -> ExitCode {
    if let Err(error) = telemetry::init(&args.log) {
        eprintln!("{error}");
        return ExitCode::from(1);
    }
    let cors = match args.cors() {
        Ok(cors) => cors,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
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
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.worker_threads {
        builder.worker_threads(usize::from(threads));
    }
    let runtime = match builder.enable_all().build() {
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
        let options = HttpOptions {
            request_timeout: Duration::from_secs(args.request_timeout),
            cds,
            cors,
            metrics: Metrics::new(),
            readiness: Readiness::default(),
        };
        let upkeep = tokio::spawn(run_upkeep(options.metrics.clone()));
        let readiness = options.readiness.clone();
        for pathway in pathways.iter() {
            tracing::info!(pathway = %pathway.id, version = %pathway.version, digest = %pathway.digest, "pathway loaded");
        }
        let app = router_with(AppState::new(pathways), options);
        let local = listener.local_addr().map_or(args.addr, |addr| addr);
        tracing::info!(addr = %local, "listening");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal(readiness))
            .await;
        upkeep.abort();
        match served {
            Ok(()) => {
                tracing::info!("stopped; in-flight requests finished");
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "server error");
                ExitCode::from(1)
            }
        }
    })
}

/// Drains the metrics' histogram buffers every few seconds.
async fn run_upkeep(metrics: Metrics) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    loop {
        interval.tick().await;
        metrics.run_upkeep();
    }
}

/// Resolves on SIGINT or SIGTERM, after marking the server as not ready.
async fn shutdown_signal(readiness: Readiness) {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    readiness.drain();
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// `GET /healthz` on a running server, without curl.
pub fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    use std::io::{Read, Write};
    let attempt = || -> std::io::Result<bool> {
        let timeout = Duration::from_secs(3);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> ServeArgs {
        ServeArgs::parse_from(std::iter::once("serve").chain(args.iter().copied()))
    }

    #[test]
    fn cors_is_off_by_default_and_takes_a_list_or_any() {
        assert_eq!(parse(&[]).cors(), Ok(Cors::Off));
        assert_eq!(parse(&["--cors-origins", "*"]).cors(), Ok(Cors::AnyOrigin));
        assert_eq!(
            parse(&["--cors-origins", "https://a.example,https://b.example"]).cors(),
            Ok(Cors::Origins(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("https://b.example"),
            ]))
        );
    }

    #[test]
    fn defaults_match_the_documentation() {
        let args = parse(&[]);
        assert_eq!(args.request_timeout, 10);
        assert_eq!(args.worker_threads, None);
    }
}
