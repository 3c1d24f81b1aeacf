//! What reaches the logs, in a test binary of its own because its tests install tracing
//! subscribers: `cds_security_logs` the process-wide one (first thing it does), `log_leak` one for
//! its thread.
//!
//! Together they are sound: tracing caches each callsite's interest, computed from the calling
//! thread's subscriber while only one subscriber is registered and from all of them once there are
//! two. Here the process-wide subscriber enables every level, so once it is installed every callsite
//! is enabled for `log_leak`'s thread too; before that, only `log_leak`'s thread hits callsites, with
//! its own subscriber. A binary of other tests, which hit callsites with no subscriber at all, would
//! leave them disabled for `log_leak`, and their logs would reach the process-wide capture.

mod cds_security_logs;
mod log_leak;
