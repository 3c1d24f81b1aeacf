//! Robustness of the real binary under load, faults and abuse: hot reload, graceful shutdown,
//! overload shedding, bearer-token auth. Every wait is a bounded readiness poll.

mod abuse;
mod auth;
mod harness;
mod overload;
mod reload;
mod shutdown;
