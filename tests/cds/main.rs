//! CDS Hooks in one test binary: the services through the router (fixtures, schemas, FHIR dumps),
//! their security (signed calls, CORS, serve options) and JWT verification.

mod cds;
mod cds_security;
mod jwt;
mod shared;
