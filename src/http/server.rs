//! `facet-triage serve` (the runtime, the listener, signals: graceful shutdown, reload on SIGHUP) and
//! `facet-triage healthcheck`.

use super::{
    ApiTokens, AppState, CdsConfig, Cors, HttpOptions, Metrics, Readiness, access, connections,
    router_with,
};
use crate::config::{HealthcheckArgs, ServeArgs};
use crate::db::Database;
use crate::db::replay::DbReplay;
use crate::store::{PathwaySource, PathwayStore};
use crate::telemetry;
use axum::http::HeaderValue;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How long the suggestions of a CDS answer are kept to trace feedback on its cards to options.
const SUGGESTION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl ServeArgs {
    /// The API tokens of the tokens file and of FACET_TRIAGE_API_TOKENS; `None` when there are none.
    fn api_tokens(&self) -> Result<Option<ApiTokens>, String> {
        let file = match &self.api_tokens_file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|error| {
                format!("--api-tokens-file: cannot read {}: {error}", path.display())
            })?),
            None => None,
        };
        let source = self
            .api_tokens_file
            .as_ref()
            .map(|path| path.display().to_string());
        let env = std::env::var(access::TOKENS_ENV).ok();
        let tokens = ApiTokens::parse(source.as_deref().zip(file.as_deref()), env.as_deref())?;
        if self.api_tokens_file.is_some() && tokens.is_none() {
            return Err("--api-tokens-file: the file holds no token".to_owned());
        }
        Ok(tokens)
    }

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
            if origins.len() > 1 {
                return Err("--cors-origins: `*` stands alone, not in a list of origins".to_owned());
            }
            return Ok(Cors::AnyOrigin);
        }
        origins
            .iter()
            .map(|origin| {
                // `null` is the origin of sandboxed frames and local files: anyone can send it.
                let shaped = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && origin
                        .split("://")
                        .nth(1)
                        .is_some_and(|host| !host.is_empty() && !host.contains(['/', '*']));
                HeaderValue::from_str(origin)
                    .ok()
                    .filter(|_| shaped)
                    .ok_or_else(|| {
                        format!(
                            "--cors-origins: `{origin}` is not an origin (scheme://host[:port]; \
                             `null` and wildcards are refused)"
                        )
                    })
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
    let api_tokens = match args.api_tokens() {
        Ok(tokens) => tokens.map(Arc::new),
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    let store = match PathwayStore::load_bounded(
        args.pathways.source(),
        args.pathways.max_pathway_file_size,
    ) {
        Ok(store) => store,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(1);
        }
    };
    let cds = match CdsConfig::from_args(&args.cds).and_then(|cds| {
        cds.check_profile(&store.current())?;
        Ok(cds)
    }) {
        Ok(cds) => cds,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    let database = match Database::open(&args.database) {
        Ok(database) => database,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(1);
        }
    };
    let cds = cds.with_replay_store(Arc::new(DbReplay::new(
        database.clone(),
        crate::auth::jwt::Limits::default().replay_capacity,
    )));
    cds.log_startup();
    // A reload that drops the CDS profile in use is rejected like an invalid file.
    let store = Arc::new(store.accepting_only(Box::new({
        let cds = cds.clone();
        move |set| cds.check_profile(set)
    })));
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
        let metrics_listener = match args.metrics_addr {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    eprintln!("cannot listen on {addr} (--metrics-addr): {error}");
                    return ExitCode::from(1);
                }
            },
            None => None,
        };
        // Reloads: on directory changes and on SIGHUP; the watcher lives as long as the server.
        let _watcher = match store.source() {
            PathwaySource::Directory(dir) => {
                match crate::store::watch_directory(Arc::clone(&store), dir) {
                    Ok(watcher) => Some(watcher),
                    Err(error) => {
                        eprintln!("cannot watch {}: {error}", dir.display());
                        return ExitCode::from(1);
                    }
                }
            }
            PathwaySource::Embedded => None,
        };
        #[cfg(unix)]
        if let Err(error) = reload_on_sighup(Arc::clone(&store)) {
            eprintln!("cannot handle SIGHUP: {error}");
            return ExitCode::from(1);
        }
        let options = HttpOptions {
            request_timeout: Duration::from_secs(args.request_timeout),
            max_concurrency: args.max_concurrency,
            api_tokens,
            metrics_route: metrics_listener.is_none(),
            cds,
            cors,
            readiness: Readiness::default(),
        };
        let state = AppState::with_database(store, database.clone());
        state.metrics().install_global();
        let upkeep = tokio::spawn(run_upkeep(state.metrics().clone()));
        let purge = tokio::spawn(run_purge(database));
        let readiness = options.readiness.clone();
        for pathway in state.store().current().iter() {
            tracing::info!(pathway = %pathway.id, version = %pathway.version, digest = %pathway.digest, "pathway loaded");
        }
        match &options.api_tokens {
            Some(tokens) => tracing::info!(tokens = tokens.len(), "/v1 requires a bearer token"),
            None => tracing::warn!("/v1 is open: no API token configured"),
        }
        let limits = connections::ConnectionLimits {
            header_read_timeout: Duration::from_secs(args.header_read_timeout),
            max_connections: args.max_connections,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        };
        let metrics_server = metrics_listener.map(|listener| {
            if let Ok(local) = listener.local_addr() {
                tracing::info!(addr = %local, "serving /metrics on its own address");
            }
            let app = super::metrics::standalone_router(state.metrics().clone());
            let readiness = Readiness::default();
            tokio::spawn(connections::serve(
                listener,
                app,
                limits,
                readiness,
                std::future::pending(),
            ))
        });
        let app = router_with(state, options);
        let local = listener.local_addr().map_or(args.addr, |addr| addr);
        tracing::info!(addr = %local, max_concurrency = args.max_concurrency, "listening");
        let drained = connections::serve(
            listener,
            app,
            limits,
            readiness.clone(),
            shutdown_signal(readiness, Duration::from_secs(args.shutdown_delay)),
        )
        .await;
        upkeep.abort();
        purge.abort();
        if let Some(server) = metrics_server {
            server.abort();
        }
        if drained {
            tracing::info!("stopped; in-flight requests finished");
        } else {
            tracing::warn!("stopped at the shutdown timeout");
        }
        ExitCode::SUCCESS
    })
}

/// Reloads the store on every SIGHUP (a logged no-op for the embedded pathways).
#[cfg(unix)]
fn reload_on_sighup(store: Arc<PathwayStore>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if store.source() == &PathwaySource::Embedded {
                tracing::info!(
                    "SIGHUP ignored: the pathways are the embedded copy; start with --pathways DIR to reload them"
                );
                continue;
            }
            let store = store.clone();
            let _ = tokio::task::spawn_blocking(move || store.reload()).await;
        }
    });
    Ok(())
}

/// Drains the metrics' histogram buffers every few seconds.
async fn run_upkeep(metrics: Metrics) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    loop {
        interval.tick().await;
        metrics.run_upkeep();
    }
}

/// Connects and migrates the database at start (or says it cannot yet), then every minute removes
/// expired replay-cache entries and suggestions too old to receive feedback.
async fn run_purge(database: Database) {
    match database.ping().await {
        Ok(()) => tracing::info!(database = database.kind(), "database ready"),
        Err(error) => {
            tracing::warn!(%error, "database not reachable yet; /readyz answers 503 until it is")
        }
    }
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    loop {
        interval.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let before = i64::try_from(now.saturating_sub(SUGGESTION_RETENTION.as_secs())).unwrap_or(0);
        if let Ok(purged) = database.purge(now, before).await
            && purged > 0
        {
            tracing::debug!(purged, "purged expired stored rows");
        }
    }
}

/// Resolves on SIGINT or SIGTERM: marks the server as not ready, keeps serving for `delay`, then
/// lets the server stop accepting and finish in-flight requests.
async fn shutdown_signal(readiness: Readiness, delay: Duration) {
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
    if !delay.is_zero() {
        tracing::info!(
            delay_seconds = delay.as_secs(),
            "draining: /readyz answers 503, still serving during the shutdown delay"
        );
        tokio::time::sleep(delay).await;
    }
    tracing::info!("shutdown signal received; no new connections, finishing in-flight requests");
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
    fn cors_origins_refuse_null_wildcards_in_lists_and_paths() {
        for bad in [
            "null",
            "*,https://a.example",
            "https://*.example",
            "https://a.example/path",
            "a.example",
        ] {
            assert!(parse(&["--cors-origins", bad]).cors().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_the_documentation() {
        let args = parse(&[]);
        assert_eq!(args.request_timeout, 10);
        assert_eq!(args.worker_threads, None);
        assert_eq!(args.max_concurrency, 512);
        assert_eq!(args.shutdown_delay, 0);
        assert_eq!(args.header_read_timeout, 5);
        assert_eq!(args.max_connections, 768);
        assert_eq!(args.shutdown_timeout, 15);
        assert_eq!(args.metrics_addr, None);
        assert_eq!(args.api_tokens_file, None);
        assert_eq!(args.database, "sqlite://facet-triage.db");
    }
}
