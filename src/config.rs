//! The settings of the command line and the environment that more than one layer reads: where
//! pathways come from (every command), and the options of `serve` and `healthcheck`, CDS Hooks
//! included. `cli` parses them; `http` and the CDS services act on them. Neither imports the other.

use crate::pathway::PathwaySet;
use crate::store::PathwaySource;
use crate::telemetry::LogArgs;
use clap::Args;
use clap::builder::TypedValueParser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default time allowed to receive a request and answer it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests answered at once by default. An evaluation takes microseconds, so this bounds memory and
/// latency under a spike without refusing ordinary traffic.
pub const DEFAULT_MAX_CONCURRENCY: usize = 512;
/// Default time for a connection to send a complete request head (also its keep-alive idle time).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default most connections served at once; well under a usual `nofile` limit of 1024 with room
/// for pathway files, the metrics listener and logs.
pub const DEFAULT_MAX_CONNECTIONS: usize = 768;
/// Default time connections get to finish after shutdown begins.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// Where pathways come from: a directory, or the embedded default.
#[derive(Debug, Clone, Args)]
pub struct PathwaysArg {
    /// Load pathway files from DIR instead of the embedded default.
    #[arg(long, value_name = "DIR", env = "FACET_TRIAGE_PATHWAYS")]
    pub pathways: Option<PathBuf>,
    /// Largest pathway file read, in bytes; a larger file is refused before it is parsed (at start
    /// and on reload).
    #[arg(long, value_name = "BYTES", env = "FACET_TRIAGE_MAX_PATHWAY_FILE_SIZE", default_value_t = crate::pathway::DEFAULT_MAX_FILE_BYTES, value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    pub max_pathway_file_size: u64,
}

impl PathwaysArg {
    pub fn source(&self) -> PathwaySource {
        match &self.pathways {
            Some(dir) => PathwaySource::Directory(dir.clone()),
            None => PathwaySource::Embedded,
        }
    }

    pub fn load(&self) -> Result<PathwaySet, crate::pathway::LoadErrors> {
        self.source().load_bounded(self.max_pathway_file_size)
    }
}

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
    /// Requests answered at once (all routes but /healthz, /readyz, /metrics); beyond it a request
    /// gets `503` with `Retry-After` at once, never a queue.
    #[arg(long, env = "FACET_TRIAGE_MAX_CONCURRENCY", default_value_t = DEFAULT_MAX_CONCURRENCY, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|n| n as usize))]
    pub max_concurrency: usize,
    /// File of bearer tokens `/v1/*` requires (one per line, `#` comments); tokens can also come
    /// from FACET_TRIAGE_API_TOKENS (comma-separated). Without either, `/v1/*` is open.
    #[arg(long, env = "FACET_TRIAGE_API_TOKENS_FILE", value_name = "FILE")]
    pub api_tokens_file: Option<PathBuf>,
    /// Serve `GET /metrics` on this address instead of the main one (where it is then absent).
    #[arg(long, env = "FACET_TRIAGE_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds to keep serving after SIGTERM/SIGINT with `/readyz` at 503, so load balancers stop
    /// sending work before the listener closes; in-flight requests then finish.
    #[arg(long, env = "FACET_TRIAGE_SHUTDOWN_DELAY", default_value_t = 0, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=300))]
    pub shutdown_delay: u64,
    /// Seconds a connection has to send a complete request head, counted from when it waits for one
    /// (just opened, or idle on keep-alive after an answer); then it is closed.
    #[arg(long, env = "FACET_TRIAGE_HEADER_READ_TIMEOUT", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Connections served at once; more wait in the listen backlog until one closes.
    #[arg(long, env = "FACET_TRIAGE_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000).map(|n| n as usize))]
    pub max_connections: usize,
    /// Seconds open connections get to finish once the listener closes at shutdown; then they are
    /// dropped and the process exits.
    #[arg(long, env = "FACET_TRIAGE_SHUTDOWN_TIMEOUT", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_timeout: u64,
    /// Runtime worker threads; the number of CPU cores when left out.
    #[arg(long, env = "FACET_TRIAGE_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub cds: CdsArgs,
    /// Where CDS feedback and the JWT replay cache are kept: sqlite://PATH (created if missing),
    /// sqlite::memory: (throwaway), or postgres://USER:PASSWORD@HOST/DB for several replicas.
    #[arg(long, env = "FACET_TRIAGE_DATABASE", default_value = crate::db::DEFAULT_URL, value_name = "URL", hide_env_values = true)]
    pub database: String,
}

/// Options of `facet-triage healthcheck`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// Address of the running server.
    #[arg(long, env = "FACET_TRIAGE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

/// Options of the CDS Hooks services (flattened into `serve`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CdsArgs {
    /// Trusted CDS clients: a JSON file `{"issuers": [{"iss": ..., "jwks": {"keys": [...]}}]}`. With it,
    /// every CDS Hooks call must carry a JWT signed by one of these issuers (needs --public-url).
    #[arg(
        long = "cds-trust",
        value_name = "FILE",
        env = "FACET_TRIAGE_CDS_TRUST"
    )]
    pub trust: Option<PathBuf>,
    /// The service's public base URL as CDS clients call it (e.g. https://cds.example.org); a token's
    /// `aud` must be this URL plus the path called.
    #[arg(
        long = "public-url",
        value_name = "URL",
        env = "FACET_TRIAGE_PUBLIC_URL"
    )]
    pub public_url: Option<String>,
    /// Criteria profile of the CDS Hooks services (e.g. cms-lcd); the pathway's default when left out.
    #[arg(
        long = "cds-profile",
        value_name = "ID",
        env = "FACET_TRIAGE_CDS_PROFILE"
    )]
    pub profile: Option<String>,
    /// Origins browser-based CDS clients may call from (CORS), e.g. http://localhost:8080;
    /// repeat the flag or separate with commas. None by default.
    #[arg(
        long = "cds-cors-origin",
        value_name = "ORIGIN",
        env = "FACET_TRIAGE_CDS_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cds_cors_origins: Vec<String>,
    /// Token signatures verified at once, on threads apart from the request workers; a call beyond
    /// it gets `503` with `Retry-After` at once. Half the CPU cores (at least 1) when left out, so a
    /// flood of forged tokens leaves the other half to triage.
    #[arg(
        long = "cds-verify-concurrency",
        value_name = "N",
        env = "FACET_TRIAGE_CDS_VERIFY_CONCURRENCY",
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub verify_concurrency: Option<u16>,
    /// FHIR server bases callers may ask the services to query when prefetch is missing, for
    /// unauthenticated calls (with --cds-trust, each issuer's `fhirServers` in the trust file
    /// apply instead); repeat the flag or separate with commas.
    #[arg(
        long = "cds-fhir-server",
        value_name = "URL",
        env = "FACET_TRIAGE_CDS_FHIR_SERVERS",
        value_delimiter = ','
    )]
    pub fhir_servers: Vec<String>,
    /// Let the FHIR-server fallback use plain-HTTP bases (testing against a local server only).
    #[arg(long = "cds-fhir-allow-http", env = "FACET_TRIAGE_CDS_FHIR_ALLOW_HTTP")]
    pub fhir_allow_http: bool,
    /// Refuse to serve CDS Hooks without --cds-trust unless --cds-insecure is given (the container
    /// image sets this).
    #[arg(long = "cds-require-trust", env = "FACET_TRIAGE_CDS_REQUIRE_TRUST")]
    pub require_trust: bool,
    /// Serve CDS Hooks without authentication even where --cds-require-trust is set: any client can
    /// call them.
    #[arg(long = "cds-insecure", env = "FACET_TRIAGE_CDS_INSECURE")]
    pub insecure: bool,
}
