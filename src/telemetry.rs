//! Logging setup: human-readable lines by default, one JSON object per line with `--log-format json`,
//! the level from `--log-level` or `RUST_LOG` (an `EnvFilter` directive such as `info` or
//! `facet_triage=debug,tower_http=info`).
//!
//! Nothing in the service logs request bodies or query values: the HTTP layer's `debug` span carries
//! the request id, method and matched route, and its answer event adds status and latency; events at
//! `info` and above that a request causes carry its `request_id` field themselves.

use clap::{Args, ValueEnum};
use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Shape of a log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, with the request span's fields.
    Json,
}

/// Logging options of `facet-triage serve`.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, value_enum, env = "FACET_TRIAGE_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log filter, as `RUST_LOG` directives (`info`, `debug`, `facet_triage=debug,tower_http=info`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_level: String,
}

/// A subscriber writing to `writer`; the tests pass an in-memory buffer.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.with_ansi(false).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Installs the process-wide subscriber writing to standard error.
pub fn init(args: &LogArgs) -> Result<(), String> {
    let filter = EnvFilter::try_new(&args.log_level)
        .map_err(|error| format!("invalid --log-level / RUST_LOG: {error}"))?;
    tracing::subscriber::set_global_default(subscriber(args.log_format, filter, std::io::stderr))
        .map_err(|error| format!("cannot install the logger: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(format, EnvFilter::new("info"), move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "abc-123");
            let _entered = span.enter();
            tracing::info!(status = 200, "finished");
            tracing::debug!("filtered out");
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn text_lines_carry_the_span_fields() {
        let text = capture(LogFormat::Text);
        assert!(text.contains("request_id=\"abc-123\""), "{text}");
        assert!(text.contains("finished"), "{text}");
        assert!(!text.contains("filtered out"), "{text}");
    }

    #[test]
    fn json_lines_are_json_objects_with_the_span() {
        let text = capture(LogFormat::Json);
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["span"]["request_id"], "abc-123");
        assert_eq!(line["fields"]["message"], "finished");
        assert_eq!(line["level"], "INFO");
    }
}
