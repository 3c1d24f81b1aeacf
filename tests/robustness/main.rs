//! The real binary as a process: robustness under load, faults and abuse (hot reload, graceful
//! shutdown, overload shedding, bearer-token auth), two replicas sharing a database, and the web
//! console in a headless browser. Every wait is a bounded readiness poll.

mod abuse;
mod auth;
mod console;
mod harness;
mod overload;
mod reload;
mod replicas;
mod shutdown;
