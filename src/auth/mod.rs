//! Who may call the service: verification of the signed JWTs CDS clients send (CDS Hooks 2.0).
//! No HTTP types here; the HTTP layer passes the `Authorization` header value and the URL called.

pub mod jwt;
