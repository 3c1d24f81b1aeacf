//! `facet-triage cds-token`: mints a CDS Hooks client JWT from a private key file, so that an
//! integrator can call a secured service in a minute. The token carries what the services check:
//! `alg`, `kid` and `typ` in the header; `iss`, `aud`, `iat`, `exp` and a fresh `jti` in the claims.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use time::OffsetDateTime;

/// Options of `cds-token`.
#[derive(Debug, Clone, clap::Args)]
pub struct MintArgs {
    /// PEM private key (EC P-256 for ES256, EC P-384 for ES384, RSA for RS384).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Signing algorithm: ES256, ES384 or RS384.
    #[arg(long, default_value = "ES384", value_parser = ["ES256", "ES384", "RS384"])]
    pub alg: String,
    /// Key id (`kid`): the id of the matching public key in the issuer's JWK Set.
    #[arg(long)]
    pub kid: String,
    /// Issuer (`iss`), as listed in the service's trust file.
    #[arg(long)]
    pub iss: String,
    /// Audience (`aud`): the exact URL to call, e.g. `https://cds.example.org/cds-services/facet-pain-next-step`.
    #[arg(long)]
    pub aud: String,
    /// Lifetime in seconds (at most 300, as CDS Hooks clients use).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub ttl: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

/// A signed token for `args` at `now` (seconds since 1970); the error says what is wrong with the
/// key or the options, never the key.
pub fn mint(args: &MintArgs, now: u64) -> Result<String, String> {
    let pem = std::fs::read(&args.key)
        .map_err(|error| format!("cannot read {}: {error}", args.key.display()))?;
    let (alg, key) = match args.alg.as_str() {
        "ES256" => (Algorithm::ES256, EncodingKey::from_ec_pem(&pem)),
        "ES384" => (Algorithm::ES384, EncodingKey::from_ec_pem(&pem)),
        _ => (Algorithm::RS384, EncodingKey::from_rsa_pem(&pem)),
    };
    let key = key.map_err(|_| {
        format!(
            "{} is not a PEM private key for {}",
            args.key.display(),
            args.alg
        )
    })?;
    if args.kid.is_empty() {
        return Err("--kid must not be empty: CDS Hooks services require it".into());
    }
    let mut header = Header::new(alg);
    header.kid = Some(args.kid.clone());
    let claims = Claims {
        iss: &args.iss,
        aud: &args.aud,
        iat: now,
        exp: now + args.ttl,
        jti: fresh_jti(now),
    };
    encode(&header, &claims, &key).map_err(|_| {
        format!(
            "the key in {} cannot sign with {}",
            args.key.display(),
            args.alg
        )
    })
}

/// A jti unique per process and call: a hash of the time in nanoseconds, the process id and a
/// counter.
fn fresh_jti(now: u64) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let digest = Sha256::digest(format!("{now}:{nanos}:{}:{count}", std::process::id()));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `cds-token`: prints the token, exit 0; or the error, exit 1.
pub fn run(args: &MintArgs) -> std::process::ExitCode {
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    match mint(args, now) {
        Ok(token) => {
            println!("{token}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cds-token: {error}");
            std::process::ExitCode::from(1)
        }
    }
}
