//! The `facet-triage` binary: parses the command line and hands over to the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    facet_triage::cli::run(facet_triage::cli::Cli::parse())
}
