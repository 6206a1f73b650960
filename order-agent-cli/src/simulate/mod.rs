//! `order-agent simulate`: a seeded month of a shop through the real agent.
//!
//! Orders, parcels with carrier incidents, customer contacts in four languages, returns and
//! warehouse receipts are generated from the seed and fed to a real [`Agent`] wired over the
//! testkit's in-memory fakes, day by day on a fake clock. Every refund is checked independently
//! against the policy ([`audit`]). The same seed always gives the same figures.
//!
//! [`Agent`]: order_agent_core::agent::Agent

mod audit;
mod catalog;
mod figures;
mod phrases;
mod report;
mod rng;
mod shop;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use order_agent_core::money::{Currency, Money};
use order_agent_core::policy::Policy;
use order_agent_testkit::world::DEMO_POLICY;
use serde_json::json;

use crate::error::CliError;
use crate::input::load_policy;
use crate::totals::MoneyTotals;

/// Arguments of `simulate`.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Orders placed per day.
    #[arg(long, default_value_t = 300)]
    pub(crate) orders_per_day: u32,
    /// Customer contacts per order.
    #[arg(long, default_value_t = 0.04)]
    pub(crate) contact_rate: f64,
    /// Days to simulate.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// Seed of the random choices: the same seed gives the same month.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// The policy file (default: the sample Swiss-shop policy).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// What a support ticket costs, in CHF.
    #[arg(long, default_value = "10")]
    pub(crate) cost_per_ticket: String,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Write every policy decision's (request, facts, now) here, one JSON object per line, for
    /// `order-agent policy diff`.
    #[arg(long, value_name = "FILE")]
    pub(crate) history_out: Option<PathBuf>,
    /// Print the figures as JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write every simulated conversation (messages, replies, the agent's reasons) here.
    #[arg(long, value_name = "FILE")]
    pub(crate) transcripts: Option<PathBuf>,
}

/// Runs the simulation.
pub(crate) fn run(args: &SimulateArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    if !(0.0..=1.0).contains(&args.contact_rate) {
        return Err(CliError::usage(format!(
            "--contact-rate `{}` must be between 0 and 1 (contacts per order)",
            args.contact_rate
        )));
    }
    if args.days == 0 || args.days > 366 {
        return Err(CliError::usage(format!(
            "--days `{}` must be between 1 and 366",
            args.days
        )));
    }
    if args.orders_per_day > 100_000 {
        return Err(CliError::usage(format!(
            "--orders-per-day `{}` is more than this simulation handles (at most 100000)",
            args.orders_per_day
        )));
    }
    let cost = Money::parse(args.cost_per_ticket.trim(), Currency::CHF).map_err(|e| {
        CliError::usage(format!(
            "--cost-per-ticket `{}` is not an amount in CHF such as `10` or `12.50`: {e}",
            args.cost_per_ticket
        ))
    })?;
    let policy = match &args.policy {
        Some(path) => load_policy(path)?,
        None => Policy::from_toml_str(DEMO_POLICY).map_err(|e| {
            CliError::usage(format!("the built-in sample policy does not parse: {e}"))
        })?,
    };
    let settings = shop::Settings {
        orders_per_day: args.orders_per_day,
        contact_rate: args.contact_rate,
        days: args.days,
        seed: args.seed,
        record_history: args.history_out.is_some(),
        record_transcripts: args.transcripts.is_some(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the async runtime: {e}")))?;
    let mut shop = shop::Shop::new(settings, policy.clone()).map_err(CliError::failed)?;
    runtime.block_on(shop.run());
    let figures = figures_json(args, &policy, &shop, cost);

    if let Some(path) = &args.history_out {
        let mut file = std::fs::File::create(path).map_err(|e| CliError::io(path, "create", &e))?;
        for entry in &shop.history {
            let line = serde_json::to_string(entry)
                .map_err(|e| CliError::usage(format!("cannot write the history: {e}")))?;
            writeln!(file, "{line}").map_err(|e| CliError::io(path, "write", &e))?;
        }
    }
    if let Some(path) = &args.transcripts {
        std::fs::write(path, shop.transcripts.join("\n"))
            .map_err(|e| CliError::io(path, "write", &e))?;
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report::html(&figures))
            .map_err(|e| CliError::io(path, "write", &e))?;
    }
    if args.json {
        outln!("{}", crate::policy::pretty(&figures)?);
    } else {
        print_text(&figures);
        if let Some(path) = &args.report {
            outln!("report: {}", path.display());
        }
        if let Some(path) = &args.history_out {
            outln!(
                "history: {} ({} decisions)",
                path.display(),
                shop.history.len()
            );
        }
        outln!("runtime: {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(if shop.audit.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {} policy violation(s): the agent refunded money the policy does not allow",
            shop.audit.violations.len()
        );
        ExitCode::from(1)
    })
}

fn tally(t: &figures::Tally) -> serde_json::Value {
    json!({
        "total": t.total,
        "automated": t.automated,
        "escalated": t.escalated,
        "abandoned": t.abandoned,
        "automation_rate": round(t.rate()),
    })
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn figures_json(
    args: &SimulateArgs,
    policy: &Policy,
    shop: &shop::Shop,
    cost: Money,
) -> serde_json::Value {
    let r = &shop.recorder;
    let all = r.contacts.total + r.events.total;
    let automated = r.contacts.automated + r.events.automated;
    let rate = if all == 0 {
        1.0
    } else {
        automated as f64 / all as f64
    };
    let mut saved = MoneyTotals::default();
    saved.add(Money::from_minor(
        cost.to_minor()
            .saturating_mul(i64::try_from(r.contacts.automated).unwrap_or(i64::MAX)),
        cost.currency(),
    ));
    let mut cost_totals = MoneyTotals::default();
    cost_totals.add(cost);
    let map = |m: &std::collections::BTreeMap<String, figures::Tally>| {
        m.iter()
            .map(|(k, v)| (k.clone(), tally(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "seed": args.seed,
        "days": args.days,
        "orders_per_day": args.orders_per_day,
        "contact_rate": args.contact_rate,
        "policy_version": policy.version,
        "orders": r.days.iter().map(|d| d.orders).sum::<u64>(),
        "automation_rate": round(rate),
        "contact_automation_rate": round(r.contacts.rate()),
        "event_automation_rate": round(r.events.rate()),
        "contacts": {
            "total": r.contacts.total,
            "automated": r.contacts.automated,
            "escalated": r.contacts.escalated,
            "abandoned": r.contacts.abandoned,
            "messages": r.turns,
            "not_understood": r.not_understood,
            "by_topic": r.by_topic.iter().map(|(k, v)| (crate::input::wire_name(k), tally(v))).collect::<serde_json::Map<_, _>>(),
            "by_language": map(&r.by_language),
            "by_channel": map(&r.by_channel),
        },
        "events": tally(&r.events),
        "events_by_kind": map(&r.events_by_kind),
        "escalations_by_reason": r.escalations,
        "tickets": r.tickets,
        "returns_authorised": r.returns_authorised,
        "returns_denied": r.returns_denied,
        "cancellations": r.cancellations,
        "refunds_made": { "count": r.refunds_made, "money": r.refunded.to_json() },
        "refunds_held": { "count": r.held, "money": r.held_money.to_json() },
        "store_credit_requested": r.store_credit.to_json(),
        "policy_violations": shop.audit.violations.len(),
        "violations": shop.audit.violations,
        "refunds_checked": shop.audit.refunds_checked,
        "decisions_checked": shop.audit.decisions_checked,
        "cost_per_ticket": cost_totals.to_json(),
        "support_cost_saved": saved.to_json(),
        "agent_errors": r.agent_errors,
        "events_with_port_errors": r.event_errors,
        "daily": r.days,
    })
}

fn print_text(f: &serde_json::Value) {
    let pct = |v: &serde_json::Value| format!("{:.1}%", v.as_f64().unwrap_or(0.0) * 100.0);
    let money = |v: &serde_json::Value| {
        v.as_object()
            .filter(|m| !m.is_empty())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("0")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "nothing".to_owned())
    };
    outln!(
        "simulated {} days, {} orders, seed {}, policy {}",
        f["days"],
        f["orders"],
        f["seed"],
        f["policy_version"].as_str().unwrap_or("")
    );
    outln!(
        "automation rate: {} ({} of {} contacts and events handled without a ticket; routine \
         carrier events dominate, see contacts alone below)",
        pct(&f["automation_rate"]),
        f["contacts"]["automated"].as_u64().unwrap_or(0)
            + f["events"]["automated"].as_u64().unwrap_or(0),
        f["contacts"]["total"].as_u64().unwrap_or(0) + f["events"]["total"].as_u64().unwrap_or(0)
    );
    outln!(
        "  contacts: {} of {} automated ({}), {} escalated, {} abandoned",
        f["contacts"]["automated"],
        f["contacts"]["total"],
        pct(&f["contact_automation_rate"]),
        f["contacts"]["escalated"],
        f["contacts"]["abandoned"]
    );
    outln!(
        "  events:   {} of {} automated ({})",
        f["events"]["automated"],
        f["events"]["total"],
        pct(&f["event_automation_rate"])
    );
    if let Some(kinds) = f["events_by_kind"].as_object() {
        for (kind, t) in kinds {
            outln!(
                "    {kind:<42} {:>6} of {:<6} automated",
                t["automated"],
                t["total"]
            );
        }
    }
    outln!("contacts by topic (automated / total):");
    if let Some(topics) = f["contacts"]["by_topic"].as_object() {
        for (topic, t) in topics {
            outln!("  {topic:<15} {:>4} / {:<4}", t["automated"], t["total"]);
        }
    }
    outln!("escalations by reason ({} tickets):", f["tickets"]);
    if let Some(reasons) = f["escalations_by_reason"].as_object() {
        let mut rows: Vec<(&String, u64)> = reasons
            .iter()
            .map(|(k, v)| (k, v.as_u64().unwrap_or(0)))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (reason, count) in rows {
            outln!("  {count:>5}  {reason}");
        }
    }
    outln!(
        "returns authorised: {}, denied: {}; cancellations: {}",
        f["returns_authorised"],
        f["returns_denied"],
        f["cancellations"]
    );
    outln!(
        "refunds made: {} ({})",
        f["refunds_made"]["count"],
        money(&f["refunds_made"]["money"])
    );
    outln!(
        "refunds held for approval: {} ({})",
        f["refunds_held"]["count"],
        money(&f["refunds_held"]["money"])
    );
    outln!(
        "policy violations: {} ({} refunds and {} decisions checked independently)",
        f["policy_violations"],
        f["refunds_checked"],
        f["decisions_checked"]
    );
    if let Some(list) = f["violations"].as_array() {
        for v in list.iter().take(20) {
            outln!("  - {}", v.as_str().unwrap_or(""));
        }
    }
    outln!(
        "support cost saved: {} ({} automated contacts × {})",
        money(&f["support_cost_saved"]),
        f["contacts"]["automated"],
        money(&f["cost_per_ticket"])
    );
}
