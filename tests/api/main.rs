//! Integration tests of the HTTP API, one module per concern, in one test binary.

mod compare;
mod errors;
mod helpers;
mod openapi;
mod routes;
mod socket;
mod stack;
