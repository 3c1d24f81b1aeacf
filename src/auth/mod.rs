//! Who may call the service: verification of the signed JWTs CDS clients send (CDS Hooks 2.0), and
//! minting such a token for testing (`cds-token`).
//! No HTTP types here; the HTTP layer passes the `Authorization` header value and the URL called.

pub mod jwt;
pub mod mint;
