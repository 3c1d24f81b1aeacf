//! CDS Hooks JWT verification: the specification's own ES384 example as the positive control, tokens
//! signed with test keys for each accepted algorithm, and every kind of refusal.

use crate::shared::TEST_ISSUER;
use base64::Engine;
use facet_triage::auth::jwt::{JwtError, JwtVerifier, Limits};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");
const SERVICE_URL: &str = "https://cds.test.invalid/cds-services/facet-pain-next-step";
const NOW: u64 = 1_800_000_000;

/// The CDS Hooks 2.0 specification's example token, signed with its example ES384 key.
const SPEC_TOKEN: &str = "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsInN1YiI6ImNsaWVudF9pZCIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.CUFPkplnWd6YGIvzoHolWCQBDsCL8QtTWKGg_QFpS169WrqDGzktRi-_we6-6rVzbjerU27ZKww_SW0-b9RTz-dPJNcqsueMio8r6EqXUXhbLm_ch3XFSbDlGHDl_tqo";
const SPEC_AUDIENCE: &str = "https://cds.example.org/cds-services/some-service";
/// A moment inside the example token's validity (it expired in 2015).
const SPEC_NOW: u64 = 1_422_568_800;

fn verifier() -> JwtVerifier {
    let trust = std::fs::read_to_string(format!("{FIXTURES}/trusted-issuers.json")).unwrap();
    JwtVerifier::from_trust_json(&trust, Limits::default()).unwrap()
}

fn sign(alg: Algorithm, kid: &str, claims: serde_json::Value) -> String {
    let pem = |name: &str| std::fs::read(format!("{FIXTURES}/{name}-private.pem")).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem("es256")).unwrap(),
        Algorithm::ES384 => EncodingKey::from_ec_pem(&pem("es384")).unwrap(),
        Algorithm::RS384 => EncodingKey::from_rsa_pem(&pem("rs384")).unwrap(),
        _ => unreachable!("test keys exist for ES256, ES384 and RS384"),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, &claims, &key).unwrap()
}

fn claims(jti: &str) -> serde_json::Value {
    json!({ "iss": TEST_ISSUER, "aud": SERVICE_URL, "iat": NOW - 10, "exp": NOW + 290, "jti": jti })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn check(verifier: &JwtVerifier, token: &str) -> Result<(), JwtError> {
    verifier
        .verify(Some(&bearer(token)), SERVICE_URL, NOW)
        .map(|_| ())
}

#[test]
fn the_specification_example_verifies_once() {
    let verifier = verifier();
    let verified = verifier
        .verify(Some(&bearer(SPEC_TOKEN)), SPEC_AUDIENCE, SPEC_NOW)
        .unwrap();
    assert_eq!(verified.iss, "https://fhir-ehr.example.com/");
    assert_eq!(verified.jti, "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e");
    assert_eq!(
        verifier.verify(Some(&bearer(SPEC_TOKEN)), SPEC_AUDIENCE, SPEC_NOW),
        Err(JwtError::Replayed)
    );
}

#[test]
fn the_specification_example_is_refused_once_expired_or_elsewhere() {
    let verifier = verifier();
    assert_eq!(
        verifier.verify(Some(&bearer(SPEC_TOKEN)), SPEC_AUDIENCE, NOW),
        Err(JwtError::Expired)
    );
    assert_eq!(
        verifier.verify(Some(&bearer(SPEC_TOKEN)), SERVICE_URL, SPEC_NOW),
        Err(JwtError::Audience)
    );
}

#[test]
fn every_accepted_algorithm_verifies() {
    let verifier = verifier();
    assert_eq!(
        check(
            &verifier,
            &sign(Algorithm::ES256, "test-es256", claims("a"))
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &verifier,
            &sign(Algorithm::ES384, "test-es384", claims("b"))
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &verifier,
            &sign(Algorithm::RS384, "test-rs384", claims("c"))
        ),
        Ok(())
    );
}

#[test]
fn a_forged_signature_is_refused() {
    let token = sign(Algorithm::ES384, "test-es384", claims("forged"));
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    bytes[10] ^= 0x01;
    let forged = format!(
        "{signed}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    assert_eq!(check(&verifier(), &forged), Err(JwtError::Signature));
    // The same claims signed with another trusted key under the wrong key id do not verify either.
    let wrong_key = sign(Algorithm::ES256, "test-es384", claims("wrong-key"));
    assert_eq!(check(&verifier(), &wrong_key), Err(JwtError::UnknownKey));
}

#[test]
fn time_claims_are_checked_with_a_small_skew() {
    let verifier = verifier();
    let expired = json!({ "iss": TEST_ISSUER, "aud": SERVICE_URL, "iat": NOW - 400, "exp": NOW - 61, "jti": "e" });
    assert_eq!(
        check(&verifier, &sign(Algorithm::ES384, "test-es384", expired)),
        Err(JwtError::Expired)
    );
    let within_skew = json!({ "iss": TEST_ISSUER, "aud": SERVICE_URL, "iat": NOW - 400, "exp": NOW - 30, "jti": "s" });
    assert_eq!(
        check(
            &verifier,
            &sign(Algorithm::ES384, "test-es384", within_skew)
        ),
        Ok(())
    );
    let future = json!({ "iss": TEST_ISSUER, "aud": SERVICE_URL, "iat": NOW + 120, "exp": NOW + 400, "jti": "f" });
    assert_eq!(
        check(&verifier, &sign(Algorithm::ES384, "test-es384", future)),
        Err(JwtError::NotYetValid)
    );
    let long_lived = json!({ "iss": TEST_ISSUER, "aud": SERVICE_URL, "iat": NOW, "exp": NOW + 86_400, "jti": "l" });
    assert_eq!(
        check(&verifier, &sign(Algorithm::ES384, "test-es384", long_lived)),
        Err(JwtError::TooLongLived)
    );
}

#[test]
fn required_claims_must_be_present() {
    let verifier = verifier();
    for missing in ["aud", "exp", "iat", "jti", "iss"] {
        let mut claims = claims(&format!("missing-{missing}"));
        claims.as_object_mut().unwrap().remove(missing);
        let expected = if missing == "iss" {
            JwtError::MissingClaim("iss")
        } else {
            JwtError::MissingClaim(missing)
        };
        assert_eq!(
            check(&verifier, &sign(Algorithm::ES384, "test-es384", claims)),
            Err(expected),
            "{missing}"
        );
    }
}

#[test]
fn a_replayed_jti_is_refused() {
    let verifier = verifier();
    let token = sign(Algorithm::ES384, "test-es384", claims("once"));
    assert_eq!(check(&verifier, &token), Ok(()));
    assert_eq!(check(&verifier, &token), Err(JwtError::Replayed));
}

#[test]
fn a_token_for_one_service_is_refused_at_another() {
    let verifier = verifier();
    let token = sign(Algorithm::ES384, "test-es384", claims("other-service"));
    let discovery = "https://cds.test.invalid/cds-services";
    assert_eq!(
        verifier.verify(Some(&bearer(&token)), discovery, NOW),
        Err(JwtError::Audience)
    );
    let array_audience = json!({ "iss": TEST_ISSUER, "aud": [discovery, SERVICE_URL], "iat": NOW, "exp": NOW + 60, "jti": "arr" });
    assert_eq!(
        check(
            &verifier,
            &sign(Algorithm::ES384, "test-es384", array_audience)
        ),
        Ok(())
    );
}

#[test]
fn unknown_issuers_hmac_and_unsigned_tokens_are_refused() {
    let verifier = verifier();
    let mut stranger = claims("stranger");
    stranger["iss"] = json!("https://stranger.test.invalid");
    assert_eq!(
        check(&verifier, &sign(Algorithm::ES384, "test-es384", stranger)),
        Err(JwtError::UnknownIssuer)
    );

    let hmac = encode(
        &Header::new(Algorithm::HS256),
        &claims("hmac"),
        &EncodingKey::from_secret(b"shared secret"),
    )
    .unwrap();
    assert_eq!(check(&verifier, &hmac), Err(JwtError::Algorithm));

    let b64 = |value: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims("none"))
    );
    assert_eq!(check(&verifier, &unsigned), Err(JwtError::Algorithm));

    assert_eq!(
        verifier.verify(None, SERVICE_URL, NOW),
        Err(JwtError::Missing)
    );
    assert_eq!(
        verifier.verify(Some("Basic abc"), SERVICE_URL, NOW),
        Err(JwtError::Missing)
    );
    assert_eq!(check(&verifier, "not.a.jwt"), Err(JwtError::Algorithm));
}

/// A token with exactly this protected header, validly signed with the ES384 test key.
fn sign_with_header(header: serde_json::Value, claims: serde_json::Value) -> String {
    let encode = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    };
    let signed = format!("{}.{}", encode(&header), encode(&claims));
    let pem = std::fs::read(format!("{FIXTURES}/es384-private.pem")).unwrap();
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    let signature = jsonwebtoken::crypto::sign(signed.as_bytes(), &key, Algorithm::ES384).unwrap();
    format!("{signed}.{signature}")
}

#[test]
fn a_validly_signed_token_with_critical_extensions_is_refused() {
    let verifier = verifier();
    let plain = json!({"alg": "ES384", "typ": "JWT", "kid": "test-es384"});
    assert_eq!(
        check(&verifier, &sign_with_header(plain, claims("plain"))),
        Ok(()),
        "the hand-built token is valid without `crit`"
    );
    let critical =
        json!({"alg": "ES384", "typ": "JWT", "kid": "test-es384", "crit": ["exp"], "exp": 1});
    assert_eq!(
        check(&verifier, &sign_with_header(critical, claims("critical"))),
        Err(JwtError::Critical)
    );
}

#[test]
fn a_token_without_kid_is_refused() {
    let pem = std::fs::read(format!("{FIXTURES}/es384-private.pem")).unwrap();
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    let without = encode(&Header::new(Algorithm::ES384), &claims("no-kid"), &key).unwrap();
    assert_eq!(
        check(&verifier(), &without),
        Err(JwtError::MissingClaim("kid"))
    );
    assert_eq!(
        check(
            &verifier(),
            &sign(Algorithm::ES384, "test-es384", claims("with-kid"))
        ),
        Ok(())
    );
}

#[test]
fn a_long_jti_and_a_long_token_are_refused() {
    let verifier = verifier();
    let long_jti = "j".repeat(facet_triage::auth::jwt::MAX_JTI_LEN + 1);
    let token = sign(Algorithm::ES384, "test-es384", claims(&long_jti));
    assert_eq!(check(&verifier, &token), Err(JwtError::Malformed));
    let longest = "j".repeat(facet_triage::auth::jwt::MAX_JTI_LEN);
    let token = sign(Algorithm::ES384, "test-es384", claims(&longest));
    assert_eq!(check(&verifier, &token), Ok(()));
    let mut huge = claims("huge");
    huge["pad"] = json!("x".repeat(20_000));
    let token = sign(Algorithm::ES384, "test-es384", huge);
    assert_eq!(check(&verifier, &token), Err(JwtError::Malformed));
}

#[test]
fn refusals_do_not_tell_an_unknown_issuer_from_an_unknown_key_or_a_bad_signature() {
    let messages = [
        JwtError::UnknownIssuer,
        JwtError::UnknownKey,
        JwtError::Signature,
    ]
    .map(|error| error.to_string());
    assert_eq!(messages[0], messages[1]);
    assert_eq!(messages[1], messages[2]);
}

#[test]
fn the_replay_cache_is_bounded_in_bytes() {
    let trust = std::fs::read_to_string(format!("{FIXTURES}/trusted-issuers.json")).unwrap();
    let limits = Limits {
        replay_max_bytes: 2_000,
        ..Limits::default()
    };
    let verifier = JwtVerifier::from_trust_json(&trust, limits).unwrap();
    let jti = |n: usize| format!("{n:0>200}");
    let mut accepted = 0;
    let refused = loop {
        match check(
            &verifier,
            &sign(Algorithm::ES256, "test-es256", claims(&jti(accepted))),
        ) {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
        assert!(accepted < 100, "the byte bound never refused");
    };
    assert_eq!(refused, JwtError::ReplayCacheFull);
    assert!(
        (1..10).contains(&accepted),
        "{accepted} entries in 2,000 bytes"
    );
}

#[test]
fn cds_token_mints_tokens_the_service_accepts_once_each() {
    use facet_triage::auth::mint::{MintArgs, mint};
    let args = MintArgs {
        key: format!("{FIXTURES}/es384-private.pem").into(),
        alg: "ES384".into(),
        kid: "test-es384".into(),
        iss: TEST_ISSUER.into(),
        aud: SERVICE_URL.into(),
        ttl: 300,
    };
    let verifier = verifier();
    let first = mint(&args, NOW).unwrap();
    let second = mint(&args, NOW).unwrap();
    assert_ne!(first, second, "each token has its own jti");
    assert_eq!(check(&verifier, &first), Ok(()));
    assert_eq!(check(&verifier, &second), Ok(()));
    assert_eq!(check(&verifier, &first), Err(JwtError::Replayed));
    let wrong_alg = MintArgs {
        alg: "RS384".into(),
        ..args
    };
    let error = mint(&wrong_alg, NOW).unwrap_err();
    assert!(error.contains("not a PEM private key for RS384"), "{error}");
}
