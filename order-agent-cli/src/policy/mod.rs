//! `order-agent policy …`: validate a policy file, decide one request with it, run golden cases
//! against it, and backtest a change against past decisions.

mod diff;
mod golden;

pub(crate) use diff::HistoryEntry;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use order_agent_core::policy::{decide, Diagnostic, Facts, Request};

use crate::error::CliError;
use crate::input::{json_argument, load_policy, parse_policy, read_text};

/// The `policy` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Check a policy file (TOML, or JSON by the `.json` extension) and print every error and
    /// warning with its field path and line:column. Exit code 0 when valid (warnings allowed),
    /// 1 when the file has errors, 2 when it cannot be read.
    Validate(ValidateArgs),
    /// Decide one request with a policy and print the decision as JSON: outcome, reasons (code,
    /// rule, plain words) and amounts per line and per tender.
    Decide(DecideArgs),
    /// Run a folder of golden cases (request + facts + expected outcome, reasons and amounts)
    /// against a policy file. Prints PASS or FAIL per case with what differed; exit code 1 if
    /// any case fails.
    Test(TestArgs),
    /// Backtest a policy change: re-decide past requests under the old and the new policy and
    /// print which decisions change and the money approved automatically before and after.
    Diff(DiffArgs),
}

/// Arguments of `policy validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The policy file.
    pub(crate) file: PathBuf,
    /// Print the findings as JSON (`{"errors": [...], "warnings": [...]}`) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `policy decide`.
#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// The policy file (TOML or JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: PathBuf,
    /// The request: a file path, inline JSON, or `-` for standard input. E.g.
    /// `{"kind": "return", "order_id": "o-1", "resolution": "refund", "lines": [{"line_id":
    /// "L1", "quantity": 1, "reason": "does_not_fit"}]}`.
    #[arg(long, value_name = "JSON")]
    pub(crate) request: String,
    /// The facts (order with payments and shipments, customer, returned quantities): a file
    /// path, inline JSON, or `-` for standard input.
    #[arg(long, value_name = "JSON")]
    pub(crate) facts: String,
    /// The time of the decision (RFC 3339, e.g. `2026-11-20T10:00:00Z`); defaults to now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) now: Option<String>,
}

/// Arguments of `policy test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The policy file the cases are run against.
    pub(crate) file: PathBuf,
    /// The folder of cases: `*.json` case files, directly or in `cases/`, with the facts they
    /// name in `facts/` (or beside the case).
    pub(crate) dir: PathBuf,
    /// Also print the full decision of every failing case.
    #[arg(long)]
    pub(crate) verbose: bool,
}

/// Arguments of `policy diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The policy in force.
    pub(crate) old: PathBuf,
    /// The candidate policy.
    pub(crate) new: PathBuf,
    /// Past requests, one JSON object per line: `{"request": …, "facts": …, "now": "RFC3339"}`
    /// (as written by `order-agent simulate --history-out`).
    #[arg(long, value_name = "FILE")]
    pub(crate) history: PathBuf,
    /// Print every changed decision (by default the first 50).
    #[arg(long)]
    pub(crate) all: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs one `policy` subcommand.
pub(crate) fn run(command: PolicyCommand) -> Result<ExitCode, CliError> {
    match command {
        PolicyCommand::Validate(args) => validate(&args),
        PolicyCommand::Decide(args) => decide_one(&args),
        PolicyCommand::Test(args) => golden::run(&args),
        PolicyCommand::Diff(args) => diff::run(&args),
    }
}

fn located(path: &Path, diagnostic: &Diagnostic) -> String {
    let location = diagnostic
        .location
        .map(|l| format!(":{}:{}", l.line, l.column))
        .unwrap_or_default();
    format!(
        "{}{location}: {}: {} [{}]",
        path.display(),
        diagnostic.path,
        diagnostic.message,
        diagnostic.code
    )
}

fn validate(args: &ValidateArgs) -> Result<ExitCode, CliError> {
    let text = read_text(&args.file)?;
    let (_, validation) = match parse_policy(&args.file, &text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let location = e
                .location
                .map(|l| format!(":{}:{}", l.line, l.column))
                .unwrap_or_default();
            if args.json {
                let value = serde_json::json!({
                    "errors": [{
                        "code": "parse_error",
                        "path": "",
                        "message": e.message,
                        "location": e.location,
                    }],
                    "warnings": [],
                });
                outln!("{}", pretty(&value)?);
            } else {
                outln!(
                    "{}{location}: error: the file does not parse: {}",
                    args.file.display(),
                    e.message.trim()
                );
                outln!("{}: invalid (cannot be used)", args.file.display());
            }
            return Ok(ExitCode::from(1));
        }
    };
    if args.json {
        outln!("{}", pretty(&validation)?);
    } else {
        for error in &validation.errors {
            outln!("error: {}", located(&args.file, error));
        }
        for warning in &validation.warnings {
            outln!("warning: {}", located(&args.file, warning));
        }
        let verdict = if validation.errors.is_empty() {
            "valid"
        } else {
            "invalid (the agent refuses to run with it)"
        };
        outln!(
            "{}: {verdict}: {} error(s), {} warning(s)",
            args.file.display(),
            validation.errors.len(),
            validation.warnings.len()
        );
    }
    Ok(if validation.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Parses an RFC 3339 time given on the command line.
pub(crate) fn parse_now(flag: &str, value: &str) -> Result<DateTime<Utc>, CliError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            CliError::usage(format!(
                "{flag} `{value}` is not an RFC 3339 time such as `2026-11-20T10:00:00Z`: {e}"
            ))
        })
}

fn decide_one(args: &DecideArgs) -> Result<ExitCode, CliError> {
    if args.request == "-" && args.facts == "-" {
        return Err(CliError::usage(
            "only one of --request and --facts can be read from standard input (`-`)",
        ));
    }
    let policy = load_policy(&args.policy)?;
    let request: Request = json_argument("--request", &args.request)?;
    let facts: Facts = json_argument("--facts", &args.facts)?;
    let now = match &args.now {
        Some(value) => parse_now("--now", value)?,
        None => Utc::now(),
    };
    let decision = decide(&request, &facts, &policy, now);
    outln!("{}", pretty(&decision)?);
    Ok(ExitCode::SUCCESS)
}

/// Pretty JSON, or an error that says what could not be printed.
pub(crate) fn pretty<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::usage(format!("cannot print the result as JSON: {e}")))
}
