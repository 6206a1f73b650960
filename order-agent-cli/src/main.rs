//! `order-agent`: the command line of order-agent.
//!
//! - `order-agent policy validate|decide|test|diff`: make a policy file testable without writing
//!   Rust.
//! - `order-agent simulate`: a seeded month of a shop through the real agent and the testkit
//!   fakes, with a report.
//! - `order-agent serve`: the agent as an HTTP service: a JSON message API, a web chat page,
//!   the staff's escalation queue, signed webhooks, health and metrics.
//!
//! Exit codes: 0 success, 1 the policy or the cases failed (errors found, a case failed, a
//! simulated refund broke the policy), 2 the command could not run (bad arguments, unreadable
//! or malformed input).

/// `println!` that does not panic when standard output is closed (`order-agent … | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod error;
mod input;
mod logs;
mod policy;
mod serve;
mod simulate;
mod totals;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Runs a shop's post-purchase operations as an agent: policies, decisions, simulations.
#[derive(Debug, Parser)]
#[command(name = "order-agent", version)]
struct Cli {
    /// How the agent's logs (tracing spans and events, on standard error) are written: `text`
    /// for people, `json` (one object per line) for log collectors. Which ones: `RUST_LOG`
    /// (e.g. `order_agent_core=debug`); by default warnings and errors, and the agent's
    /// decisions, tickets and refunds at `info`. Logs never carry customers' personal data.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the current span's fields.
    Json,
}

/// Installs the log subscriber; `RUST_LOG` chooses what is logged. Every line is redacted
/// (emails, phones, cards, IBANs, street addresses) before it is written.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,order_agent_core=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(logs::RedactingWriter::new(std::io::stderr));
    // A subscriber installed earlier (by an embedding host) wins; nothing to do then.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// One module per command; `serve` joins them as one more variant and module.
#[derive(Debug, Subcommand)]
enum Command {
    /// Check, apply, test and backtest a policy file.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Simulate a month of a shop through the real agent with in-memory fakes.
    ///
    /// Orders, parcels with carrier incidents (delays, losses, customs holds, returns to sender),
    /// customer messages in English, German, French and Italian, returns and graded warehouse
    /// receipts are generated from the seed and handled by the real agent over the testkit's
    /// fakes, day by day on a fake clock. Prints the automation rate, escalations by reason,
    /// refunds made and held, policy violations (every refund is re-checked against the policy;
    /// exit code 1 if any) and the support cost saved. The same seed gives the same month.
    Simulate(simulate::SimulateArgs),
    /// Run the agent as an HTTP service: chat page, message API, escalation queue, webhooks.
    ///
    /// With no config file it runs the built-in demo shop (every vendor an in-memory fake) with
    /// its state in `order-agent.sqlite` in the working directory, on 127.0.0.1:8080.
    Serve(serve::ServeArgs),
    /// Work the durable event queue on PostgreSQL, one of any number of worker processes.
    ///
    /// Every vendor is the demo shop's in-memory fakes; the queue, refund intents and decisions
    /// are in the shared PostgreSQL schema. With `--nats` it also pulls events from a NATS
    /// JetStream durable consumer into the queue, acknowledging them once accepted.
    Worker(worker::WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The simulation drives tens of thousands of agent calls: its figures are its output.
    if !matches!(cli.command, Command::Simulate(_)) {
        init_logs(cli.log_format);
    }
    let result = match cli.command {
        Command::Policy(command) => policy::run(command),
        Command::Simulate(args) => simulate::run(&args),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

// Keep the type name in one place for the modules.
#[allow(dead_code)]
type Result<T> = std::result::Result<T, CliError>;
