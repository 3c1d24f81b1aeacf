//! The command line (contract section 2): `serve`, `evaluate`, `compare`, `validate`, `graph`,
//! `healthcheck`, and `cds-token` (a test JWT for secured CDS Hooks services).

use crate::config::PathwaysArg;
use crate::pathway::{GraphFormat, PathwaySet};
use crate::wire::Served;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "facet-triage",
    version,
    about = "Next-step decision support after a spinal facet joint intervention"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default command).
    Serve(Box<crate::config::ServeArgs>),
    /// Evaluate one triage request (JSON) and print the response body.
    Evaluate(EvaluateArgs),
    /// Evaluate one triage request (JSON, without `profile`) under every profile; print the comparison.
    Compare(CompareArgs),
    /// Load and validate pathway files; print a summary or every error.
    Validate(ValidateArgs),
    /// Print the decision graph.
    Graph(GraphArgs),
    /// Check a running server's /healthz (exit 0 when healthy, 1 otherwise).
    Healthcheck(crate::config::HealthcheckArgs),
    /// Mint a test JWT for calling secured CDS Hooks services (prints the token).
    CdsToken(crate::auth::mint::MintArgs),
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The request file, or `-` for standard input.
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Add the walk through the graph.
    #[arg(long)]
    pub trace: bool,
    #[command(flatten)]
    pub pathways: PathwaysArg,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The request file, or `-` for standard input.
    #[arg(long, default_value = "-")]
    pub input: String,
    #[command(flatten)]
    pub pathways: PathwaysArg,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Directory of pathway files; the embedded default when left out.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum GraphFormatArg {
    #[default]
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Mermaid)]
    pub format: GraphFormatArg,
    /// Pathway id; the default pathway when left out.
    #[arg(long)]
    pub pathway: Option<String>,
    #[command(flatten)]
    pub pathways: PathwaysArg,
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None => crate::http::serve_blocking(crate::config::ServeArgs::parse_from(["facet-triage"])),
        Some(Command::Serve(args)) => crate::http::serve_blocking(*args),
        Some(Command::Evaluate(args)) => evaluate(args),
        Some(Command::Compare(args)) => compare(args),
        Some(Command::Validate(args)) => validate(args),
        Some(Command::Graph(args)) => graph(args),
        Some(Command::Healthcheck(args)) => crate::http::healthcheck(args),
        Some(Command::CdsToken(args)) => crate::auth::mint::run(&args),
    }
}

fn evaluate(args: EvaluateArgs) -> ExitCode {
    let trace = args.trace;
    answer(&args.pathways, &args.input, |pathways, body| {
        let served = Served::new(Arc::new(pathways));
        crate::triage::triage(&served, body, trace).map(|outcome| outcome.body)
    })
}

fn compare(args: CompareArgs) -> ExitCode {
    answer(&args.pathways, &args.input, |pathways, body| {
        crate::triage::compare(&pathways, body)
    })
}

/// Loads the pathways, reads one request body from `input` and prints what `respond` makes of it:
/// the body on stdout (exit 0), or the problem document on stderr (exit 2).
fn answer(
    pathways: &PathwaysArg,
    input: &str,
    respond: impl FnOnce(PathwaySet, &[u8]) -> Result<Vec<u8>, crate::problem::Problem>,
) -> ExitCode {
    let pathways = match pathways.load() {
        Ok(pathways) => pathways,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(1);
        }
    };
    let mut body = Vec::new();
    let read = if input == "-" {
        std::io::stdin().read_to_end(&mut body).map(|_| ())
    } else {
        std::fs::read(input).map(|bytes| body = bytes)
    };
    if let Err(error) = read {
        eprintln!("cannot read {input}: {error}");
        return ExitCode::from(1);
    }
    match respond(pathways, &body) {
        Ok(answer) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout
                .write_all(&answer)
                .and_then(|_| stdout.write_all(b"\n"));
            ExitCode::SUCCESS
        }
        Err(problem) => {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr
                .write_all(&problem.to_json())
                .and_then(|_| stderr.write_all(b"\n"));
            ExitCode::from(2)
        }
    }
}

fn validate(args: ValidateArgs) -> ExitCode {
    let loaded = match &args.dir {
        Some(dir) => PathwaySet::load_dir(dir),
        None => PathwaySet::embedded(),
    };
    match loaded {
        Ok(pathways) => {
            for pathway in pathways.iter() {
                let flagged = pathway.provenance_flags().len();
                println!(
                    "{} {} ({}): {} nodes, {} options, {} profiles, {} parameters, {} sources; {} entries not fully verified",
                    pathway.id,
                    pathway.version,
                    pathway.digest,
                    pathway.nodes.len(),
                    pathway.options.len(),
                    pathway.profiles.len(),
                    pathway.parameters.len(),
                    pathway.sources.len(),
                    flagged
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(1)
        }
    }
}

fn graph(args: GraphArgs) -> ExitCode {
    let pathways = match args.pathways.load() {
        Ok(pathways) => pathways,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(1);
        }
    };
    let Some(pathway) = pathways.get(args.pathway.as_deref()) else {
        eprintln!("unknown pathway");
        return ExitCode::from(1);
    };
    let format = match args.format {
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
        GraphFormatArg::Dot => GraphFormat::Dot,
    };
    print!("{}", pathway.render_graph(format));
    ExitCode::SUCCESS
}
