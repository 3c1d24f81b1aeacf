//! What the CDS Hooks test modules share: the embedded pathway set, loaded once, and the issuer of
//! the test keys in `tests/fixtures/jwt/`.

use facet_triage::pathway::PathwaySet;
use std::sync::{Arc, LazyLock};

/// The `iss` that `tests/fixtures/jwt/trusted-issuers.json` trusts for the test keys.
pub const TEST_ISSUER: &str = "https://ehr.test.invalid";

pub fn pathways() -> Arc<PathwaySet> {
    static SET: LazyLock<Arc<PathwaySet>> =
        LazyLock::new(|| Arc::new(PathwaySet::embedded().expect("embedded pathway loads")));
    Arc::clone(&SET)
}
