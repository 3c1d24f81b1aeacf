//! CDS Hooks 2.0 JWT verification.
//!
//! A CDS client signs a JWT with an asymmetric key (ES256, ES384 or RS384; `none` and HMAC are always
//! refused) and sends it as `Authorization: Bearer <jwt>`. The service trusts the issuers an operator
//! lists with their public keys (a JWKS per issuer), checks the signature, that `aud` is the exact public
//! URL called (built from the configured base URL, never from the Host header), `exp` and `iat` with a
//! small clock-skew allowance, and that `jti` was not seen before. The replay cache is bounded in memory
//! (a maximum number of entries) and in time (entries leave when their token expires; tokens may not
//! live longer than a configured maximum). [`JwtVerifier::verify`] records `jti` values in that
//! in-process cache; replicas share one through a [`ReplayStore`] (the database's) instead, after
//! [`JwtVerifier::check`].

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Accepted signature algorithms, as the specification recommends (ES384, RS384) plus the
/// sandbox's ES256.
const ACCEPTED: [Algorithm; 3] = [Algorithm::ES256, Algorithm::ES384, Algorithm::RS384];

/// Longest accepted token, in bytes; a longer one is refused before it is decoded.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest accepted `jti`, in bytes.
pub const MAX_JTI_LEN: usize = 256;
/// Bytes a replay cache entry costs beyond its issuer and `jti` (two map entries, tuple headers).
const REPLAY_ENTRY_OVERHEAD: usize = 128;

/// Why a token was refused. The messages name the rule, never the token or its claims' values. An
/// unknown issuer, an unknown key and a bad signature read the same to the caller, so a forger
/// learns nothing about which issuers and keys are trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("no bearer token in the Authorization header")]
    Missing,
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error(
        "the token's header lists critical extensions (`crit`), which this service does not support"
    )]
    Critical,
    #[error("the token's algorithm is not accepted (ES256, ES384 or RS384 only)")]
    Algorithm,
    #[error("the token is not signed by a trusted key")]
    UnknownIssuer,
    #[error("the token is not signed by a trusted key")]
    UnknownKey,
    #[error("the token is not signed by a trusted key")]
    Signature,
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the token has expired")]
    Expired,
    #[error("the token is issued in the future")]
    NotYetValid,
    #[error("the token lives longer than this service accepts")]
    TooLongLived,
    #[error("the token's audience is not the URL called")]
    Audience,
    #[error("the token was already used (replayed jti)")]
    Replayed,
    #[error("too many recent tokens to track; try again shortly")]
    ReplayCacheFull,
    #[error("the replay cache cannot be reached; try again shortly")]
    ReplayStoreUnavailable,
}

/// What [`ReplayStore::remember`] returns.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JwtError>> + Send + 'a>>;

/// Where accepted `jti` values are kept until their token expires (plus the leeway), so that a
/// replayed token is refused: a verifier's own in-process cache, or a store shared by replicas.
pub trait ReplayStore: Send + Sync {
    /// Records `jti` of `iss` until `until` (seconds since the Unix epoch). `Replayed` when it is
    /// recorded and unexpired at `now`; `ReplayCacheFull` at the store's bound;
    /// `ReplayStoreUnavailable` when the store cannot answer.
    fn remember<'a>(&'a self, iss: &'a str, jti: &'a str, until: u64, now: u64)
    -> ReplayFuture<'a>;
}

/// The trust configuration file: each trusted issuer with its public keys.
///
/// ```json
/// { "issuers": [ { "iss": "https://ehr.example.org", "jwks": { "keys": [ { "kty": "EC", ... } ] } } ] }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    pub issuers: Vec<TrustedIssuerFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerFile {
    pub iss: String,
    pub jwks: JwkSet,
    /// FHIR server bases this issuer's calls may ask the CDS services to query (`fhirServer`).
    #[serde(default, rename = "fhirServers")]
    pub fhir_servers: Vec<String>,
}

/// A verifying key of a trusted issuer.
struct TrustedKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// Limits of verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Clock skew allowed on `exp` and `iat`, in seconds.
    pub leeway: u64,
    /// Longest accepted remaining lifetime of a token (`exp` - now), in seconds.
    pub max_lifetime: u64,
    /// Most `jti` values remembered at once.
    pub replay_capacity: usize,
    /// Most bytes the remembered `jti` values (with their issuers) take at once.
    pub replay_max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            leeway: 60,
            max_lifetime: 3_600,
            replay_capacity: 100_000,
            replay_max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// The claims a verified token carries that the service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub iss: String,
    pub jti: String,
    pub exp: u64,
}

/// Verifies tokens against the trusted issuers; remembers `jti` values until their token expires.
pub struct JwtVerifier {
    issuers: HashMap<String, Vec<TrustedKey>>,
    limits: Limits,
    replay: Mutex<ReplayCache>,
}

/// Why a trust file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the trust file is not valid JSON of the expected shape: {0}")]
    Format(#[from] serde_json::Error),
    #[error("issuer {iss}: key {index} is not usable: {reason}")]
    Key {
        iss: String,
        index: usize,
        reason: String,
    },
    #[error("the trust file lists no issuer")]
    Empty,
}

impl JwtVerifier {
    /// Reads a trust file. Symmetric (`oct`) keys, and keys whose `alg` is not accepted, are refused.
    pub fn from_trust_json(text: &str, limits: Limits) -> Result<JwtVerifier, TrustError> {
        let file: TrustFile = serde_json::from_str(text)?;
        if file.issuers.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut issuers = HashMap::new();
        for issuer in file.issuers {
            let mut keys = Vec::new();
            for (index, jwk) in issuer.jwks.keys.iter().enumerate() {
                let key = trusted_key(jwk).map_err(|reason| TrustError::Key {
                    iss: issuer.iss.clone(),
                    index,
                    reason,
                })?;
                keys.push(key);
            }
            issuers.insert(issuer.iss, keys);
        }
        Ok(JwtVerifier {
            issuers,
            limits,
            replay: Mutex::new(ReplayCache::default()),
        })
    }

    /// Verifies the `Authorization` header value for a call to `audience` (the public URL called) at
    /// `now` (seconds since the Unix epoch), and records its `jti` in this verifier's cache.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        audience: &str,
        now: u64,
    ) -> Result<VerifiedToken, JwtError> {
        let token = self.check(authorization, audience, now)?;
        self.record(&token.iss, &token.jti, self.replay_until(&token), now)?;
        Ok(token)
    }

    /// Until when a verified token's `jti` must be remembered: its `exp` plus the leeway.
    pub fn replay_until(&self, token: &VerifiedToken) -> u64 {
        token.exp.saturating_add(self.limits.leeway)
    }

    fn record(&self, iss: &str, jti: &str, until: u64, now: u64) -> Result<(), JwtError> {
        let mut replay = self
            .replay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        replay.insert(iss, jti, until, now, self.limits.replay_capacity)?;
        if replay.bytes > self.limits.replay_max_bytes {
            replay.forget(iss, jti, until);
            return Err(JwtError::ReplayCacheFull);
        }
        Ok(())
    }

    /// Everything [`JwtVerifier::verify`] checks but the replay: the caller records the `jti` in a
    /// [`ReplayStore`] until [`JwtVerifier::replay_until`].
    pub fn check(
        &self,
        authorization: Option<&str>,
        audience: &str,
        now: u64,
    ) -> Result<VerifiedToken, JwtError> {
        let token = authorization
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(JwtError::Missing)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        // `alg: none` and unknown algorithms fail here already: the header does not parse.
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Algorithm)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(JwtError::Algorithm);
        }
        if has_critical_header(token)? {
            return Err(JwtError::Critical);
        }
        if header
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(JwtError::Malformed);
        }
        // CDS Hooks requires `kid` in the header (it names the key in the issuer's JWK Set).
        if header.kid.as_deref().is_none_or(str::is_empty) {
            return Err(JwtError::MissingClaim("kid"));
        }
        // The issuer is read before the signature is checked only to choose the keys to check it with.
        let unverified: Claims = jsonwebtoken::dangerous::insecure_decode(token)
            .map_err(|_| JwtError::Malformed)?
            .claims;
        let iss = unverified.iss.ok_or(JwtError::MissingClaim("iss"))?;
        let keys = self.issuers.get(&iss).ok_or(JwtError::UnknownIssuer)?;
        let candidates: Vec<&TrustedKey> = keys
            .iter()
            .filter(|key| key.algorithms.contains(&header.alg))
            .filter(|key| match (&header.kid, &key.kid) {
                (Some(wanted), Some(kid)) => wanted == kid,
                (Some(_), None) | (None, _) => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(JwtError::UnknownKey);
        }
        let mut validation = Validation::new(header.alg);
        // Time and audience are checked below against the caller's clock and URL.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims: Claims = candidates
            .iter()
            .find_map(|key| jsonwebtoken::decode::<Claims>(token, &key.key, &validation).ok())
            .ok_or(JwtError::Signature)?
            .claims;
        let exp = claims.exp.ok_or(JwtError::MissingClaim("exp"))?;
        let iat = claims.iat.ok_or(JwtError::MissingClaim("iat"))?;
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty())
            .ok_or(JwtError::MissingClaim("jti"))?;
        if jti.len() > MAX_JTI_LEN {
            return Err(JwtError::Malformed);
        }
        let audience_ok = match claims.aud.ok_or(JwtError::MissingClaim("aud"))? {
            Audience::One(aud) => aud == audience,
            Audience::Many(auds) => auds.iter().any(|aud| aud == audience),
        };
        if now > exp.saturating_add(self.limits.leeway) {
            return Err(JwtError::Expired);
        }
        if iat > now.saturating_add(self.limits.leeway)
            || claims.nbf.is_some_and(|nbf| nbf > now + self.limits.leeway)
        {
            return Err(JwtError::NotYetValid);
        }
        if exp > now.saturating_add(self.limits.max_lifetime) {
            return Err(JwtError::TooLongLived);
        }
        if !audience_ok {
            return Err(JwtError::Audience);
        }
        Ok(VerifiedToken { iss, jti, exp })
    }
}

/// Whether the token's protected header names critical extensions (RFC 7515 4.1.11): none is
/// understood here, so such a token must be refused.
fn has_critical_header(token: &str) -> Result<bool, JwtError> {
    use base64::Engine;
    let encoded = token.split('.').next().unwrap_or_default();
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| JwtError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&decoded).map_err(|_| JwtError::Malformed)?;
    Ok(header.contains_key("crit"))
}

/// The verifier's own in-process cache, for a single process.
impl ReplayStore for JwtVerifier {
    fn remember<'a>(
        &'a self,
        iss: &'a str,
        jti: &'a str,
        until: u64,
        now: u64,
    ) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(self.record(iss, jti, until, now)))
    }
}

fn trusted_key(jwk: &Jwk) -> Result<TrustedKey, String> {
    let algorithms = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            jsonwebtoken::jwk::EllipticCurve::P256 => vec![Algorithm::ES256],
            jsonwebtoken::jwk::EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return Err("only the P-256 and P-384 curves are accepted".into()),
        },
        AlgorithmParameters::RSA(_) => vec![Algorithm::RS384],
        AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are never trusted".into()),
        _ => return Err("unsupported key type".into()),
    };
    if let Some(declared) = jwk.common.key_algorithm {
        let declared = format!("{declared:?}").parse::<Algorithm>().ok();
        if !declared.is_some_and(|alg| algorithms.contains(&alg)) {
            return Err("the key's `alg` is not ES256, ES384 or RS384 for its key type".into());
        }
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|error| error.to_string())?;
    Ok(TrustedKey {
        kid: jwk.common.key_id.clone(),
        algorithms,
        key,
    })
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    iat: Option<u64>,
    nbf: Option<u64>,
    jti: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `jti` values seen, each until its token expires.
#[derive(Default)]
struct ReplayCache {
    seen: HashMap<(String, String), u64>,
    by_expiry: BTreeSet<(u64, String, String)>,
    /// About the bytes the entries take.
    bytes: usize,
}

/// About the bytes one entry takes.
fn entry_bytes(iss: &str, jti: &str) -> usize {
    2 * (iss.len() + jti.len()) + REPLAY_ENTRY_OVERHEAD
}

impl ReplayCache {
    fn insert(
        &mut self,
        iss: &str,
        jti: &str,
        expires: u64,
        now: u64,
        capacity: usize,
    ) -> Result<(), JwtError> {
        while let Some(first) = self.by_expiry.first().cloned() {
            if first.0 >= now {
                break;
            }
            self.by_expiry.remove(&first);
            self.bytes -= entry_bytes(&first.1, &first.2);
            self.seen.remove(&(first.1, first.2));
        }
        let key = (iss.to_owned(), jti.to_owned());
        if self.seen.contains_key(&key) {
            return Err(JwtError::Replayed);
        }
        if self.seen.len() >= capacity {
            return Err(JwtError::ReplayCacheFull);
        }
        self.by_expiry
            .insert((expires, key.0.clone(), key.1.clone()));
        self.bytes += entry_bytes(iss, jti);
        self.seen.insert(key, expires);
        Ok(())
    }

    /// Removes the entry just inserted (when it did not fit in the byte bound).
    fn forget(&mut self, iss: &str, jti: &str, expires: u64) {
        let key = (iss.to_owned(), jti.to_owned());
        if self.seen.remove(&key).is_some() {
            self.by_expiry.remove(&(expires, key.0, key.1));
            self.bytes -= entry_bytes(iss, jti);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_cache_forgets_expired_entries_and_stays_bounded() {
        let mut cache = ReplayCache::default();
        assert_eq!(cache.insert("i", "a", 100, 10, 2), Ok(()));
        assert_eq!(cache.insert("i", "a", 100, 20, 2), Err(JwtError::Replayed));
        assert_eq!(
            cache.insert("j", "a", 100, 20, 2),
            Ok(()),
            "jti values are per issuer"
        );
        assert_eq!(
            cache.insert("i", "b", 100, 20, 2),
            Err(JwtError::ReplayCacheFull)
        );
        assert_eq!(
            cache.insert("i", "b", 300, 101, 2),
            Ok(()),
            "expired entries make room"
        );
        assert_eq!(cache.seen.len(), 1);
        assert_eq!(cache.bytes, entry_bytes("i", "b"));
        cache.forget("i", "b", 300);
        assert_eq!((cache.seen.len(), cache.bytes), (0, 0));
    }

    #[test]
    fn a_crit_header_is_found() {
        use base64::Engine;
        let encode =
            |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json) + ".e30.sig";
        let critical = encode(r#"{"alg":"ES384","crit":["exp"],"exp":1}"#);
        assert_eq!(has_critical_header(&critical), Ok(true));
        assert_eq!(
            has_critical_header(&encode(r#"{"alg":"ES384"}"#)),
            Ok(false)
        );
        assert_eq!(has_critical_header("%%%.e30.sig"), Err(JwtError::Malformed));
    }

    #[test]
    fn symmetric_keys_are_refused_in_the_trust_file() {
        let trust = r#"{"issuers":[{"iss":"x","jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}}]}"#;
        let error = JwtVerifier::from_trust_json(trust, Limits::default())
            .err()
            .unwrap();
        assert!(error.to_string().contains("symmetric"), "{error}");
    }
}
