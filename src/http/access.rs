//! Optional bearer-token auth for `/v1/*`. Tokens come from a file (one per line, `#` comments) and
//! from `FACET_TRIAGE_API_TOKENS` (comma-separated). Only their SHA-256 digests are kept; a presented
//! token is hashed and compared with every known digest without an early exit, so the time taken
//! does not depend on where a guess differs. Tokens are never logged or echoed.
//!
//! `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/docs` stay open; CDS Hooks routes have
//! their own JWT security.

use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Shortest accepted token, so a token cannot be guessed by trying.
pub const MIN_TOKEN_LEN: usize = 16;
/// The environment variable holding comma-separated tokens.
pub const TOKENS_ENV: &str = "FACET_TRIAGE_API_TOKENS";

/// The accepted tokens, as digests.
pub struct ApiTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiTokens({} tokens)", self.digests.len())
    }
}

impl ApiTokens {
    /// Tokens from a tokens file's text (`source` names it in errors) and from the environment
    /// variable's value; `None` when both are absent or hold no token. An error names the line or
    /// position of a bad token, never the token.
    pub fn parse(
        file: Option<(&str, &str)>,
        env: Option<&str>,
    ) -> Result<Option<ApiTokens>, String> {
        let mut digests = Vec::new();
        if let Some((source, text)) = file {
            for (number, line) in text.lines().enumerate() {
                let token = line.trim();
                if token.is_empty() || token.starts_with('#') {
                    continue;
                }
                check(token).map_err(|rule| format!("{source}:{}: {rule}", number + 1))?;
                digests.push(digest(token.as_bytes()));
            }
        }
        if let Some(list) = env {
            for (number, token) in list.split(',').map(str::trim).enumerate() {
                if token.is_empty() {
                    continue;
                }
                check(token)
                    .map_err(|rule| format!("{TOKENS_ENV}, token {}: {rule}", number + 1))?;
                digests.push(digest(token.as_bytes()));
            }
        }
        Ok((!digests.is_empty()).then_some(ApiTokens { digests }))
    }

    /// Whether `presented` is one of the tokens. Every digest is compared in full.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let presented = digest(presented);
        let mut matched = 0u8;
        for known in &self.digests {
            let mut difference = 0u8;
            for (a, b) in known.iter().zip(presented.iter()) {
                difference |= a ^ b;
            }
            matched |= u8::from(difference == 0);
        }
        matched == 1
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// RFC 6750 `b64token` characters, at least [`MIN_TOKEN_LEN`] of them.
fn check(token: &str) -> Result<(), String> {
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !valid {
        return Err("a token may hold only A-Z a-z 0-9 - . _ ~ + / (and trailing =)".to_owned());
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "a token must be at least {MIN_TOKEN_LEN} characters long"
        ));
    }
    Ok(())
}

/// Whether `path` is under `/v1`.
fn is_protected(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// Middleware: `/v1/*` needs `Authorization: Bearer <token>` with a known token; `401` with
/// `WWW-Authenticate: Bearer` otherwise. Other paths pass.
pub async fn require_bearer(
    State(tokens): State<Arc<ApiTokens>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_protected(request.uri().path()) {
        return next.run(request).await;
    }
    let refusal = {
        let authorization = request.headers().get(header::AUTHORIZATION);
        match authorization.map(|value| bearer_token(value.as_bytes())) {
            None => Some(("missing", false)),
            Some(None) => Some(("scheme", true)),
            Some(Some(token)) if tokens.accepts(token) => None,
            Some(Some(_)) => Some(("unknown_token", true)),
        }
    };
    let Some((reason, presented)) = refusal else {
        return next.run(request).await;
    };
    tracing::warn!(
        request_id = super::request_id(request.headers()),
        reason,
        "API request refused: no valid bearer token"
    );
    metrics::counter!("api_auth_refusals_total", "reason" => reason).increment(1);
    ApiError::Unauthorized { presented }.into_response()
}

/// The token of an `Authorization: Bearer <token>` value (the scheme in any case).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    match value.split_at_checked(7) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            Some(token.trim_ascii())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "token-aaaaaaaaaaaaaaaa";
    const B: &str = "token-bbbbbbbbbbbbbbbb";

    #[test]
    fn tokens_come_from_a_file_with_comments_and_from_the_environment() {
        let file = format!("# api tokens\n\n  {A}  \n");
        let tokens = ApiTokens::parse(Some(("tokens.txt", &file)), Some(&format!(" {B} ,")))
            .unwrap()
            .unwrap();
        assert_eq!(tokens.len(), 2);
        assert!(tokens.accepts(A.as_bytes()));
        assert!(tokens.accepts(B.as_bytes()));
        assert!(!tokens.accepts(b"token-aaaaaaaaaaaaaaab"));
        assert!(!tokens.accepts(b""));
        assert!(!tokens.accepts(format!("{A} ").as_bytes()));
    }

    #[test]
    fn no_token_means_no_auth() {
        assert!(ApiTokens::parse(None, None).unwrap().is_none());
        assert!(
            ApiTokens::parse(Some(("t", "# none yet\n")), Some(""))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_bad_token_is_named_by_position_never_by_value() {
        let error = ApiTokens::parse(Some(("tokens.txt", "# c\nshort\n")), None).unwrap_err();
        assert_eq!(
            error,
            "tokens.txt:2: a token must be at least 16 characters long"
        );
        let error =
            ApiTokens::parse(None, Some(&format!("{A},secret value with spaces"))).unwrap_err();
        assert!(
            error.starts_with("FACET_TRIAGE_API_TOKENS, token 2: "),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
    }

    #[test]
    fn only_v1_is_protected() {
        assert!(is_protected("/v1/triage"));
        assert!(is_protected("/v1"));
        assert!(!is_protected("/v1x"));
        assert!(!is_protected("/healthz"));
        assert!(!is_protected("/openapi.json"));
    }
}
