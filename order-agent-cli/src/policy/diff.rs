//! `policy diff OLD NEW --history FILE`: a backtest of a policy change on past requests.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use order_agent_core::policy::{decide, Decision, Facts, Outcome, Request};
use serde::{Deserialize, Serialize};

use super::{pretty, DiffArgs};
use crate::error::CliError;
use crate::input::{load_policy, wire_name};
use crate::totals::MoneyTotals;

/// One past request, as a line of the history file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HistoryEntry {
    /// What was asked.
    pub(crate) request: Request,
    /// What was known then.
    pub(crate) facts: Facts,
    /// When it was decided.
    pub(crate) now: DateTime<Utc>,
    /// Free text saying where the entry came from (ignored by the backtest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
}

/// The part of a decision a backtest compares.
fn summary(decision: &Decision) -> String {
    let total = decision
        .refund
        .as_ref()
        .map(|r| format!(" {}", r.total))
        .unwrap_or_default();
    format!("{}{total}", wire_name(&decision.outcome))
}

fn kind(request: &Request) -> &'static str {
    match request {
        Request::Return(_) => "return",
        Request::Receipt { .. } => "receipt",
        Request::Cancellation(_) => "cancellation",
        Request::AddressChange(_) => "address_change",
        Request::ItemModification(_) => "item_modification",
    }
}

/// Money the decision lets the agent move on its own. Only receipts, cancellations and item
/// changes move money; a return's approval only authorises it (its money moves on receipt), so
/// counting it too would count the same refund twice.
fn auto_approved(request: &Request, decision: &Decision) -> Option<order_agent_core::Money> {
    if matches!(request, Request::Return(_) | Request::AddressChange(_)) {
        return None;
    }
    decision
        .refund
        .as_ref()
        .filter(|_| decision.outcome == Outcome::Approve)
        .map(|r| r.total)
        .filter(|t| t.is_positive())
}

pub(super) fn run(args: &DiffArgs) -> Result<ExitCode, CliError> {
    let old = load_policy(&args.old)?;
    let new = load_policy(&args.new)?;
    let file =
        std::fs::File::open(&args.history).map_err(|e| CliError::io(&args.history, "open", &e))?;
    let mut total = 0usize;
    let mut changes = Vec::new();
    let mut before = MoneyTotals::default();
    let mut after = MoneyTotals::default();
    let mut outcomes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| CliError::io(&args.history, "read", &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: HistoryEntry = serde_json::from_str(&line).map_err(|e| {
            CliError::usage(format!(
                "{}:{number}: not a history entry (`{{\"request\": …, \"facts\": …, \"now\": …}}`): {e}",
                args.history.display()
            ))
        })?;
        total += 1;
        let a = decide(&entry.request, &entry.facts, &old, entry.now);
        let b = decide(&entry.request, &entry.facts, &new, entry.now);
        if let Some(m) = auto_approved(&entry.request, &a) {
            before.add(m);
        }
        if let Some(m) = auto_approved(&entry.request, &b) {
            after.add(m);
        }
        outcomes.entry(wire_name(&a.outcome)).or_default().0 += 1;
        outcomes.entry(wire_name(&b.outcome)).or_default().1 += 1;
        let total_a = a.refund.as_ref().map(|r| r.total);
        let total_b = b.refund.as_ref().map(|r| r.total);
        if a.outcome != b.outcome || total_a != total_b {
            let codes_b: Vec<String> = b.reason_codes().iter().map(wire_name).collect();
            changes.push(serde_json::json!({
                "line": number,
                "kind": kind(&entry.request),
                "order": entry.facts.order.number.to_string(),
                "source": entry.source,
                "before": summary(&a),
                "after": summary(&b),
                "reasons_after": codes_b,
            }));
        }
    }
    if args.json {
        let value = serde_json::json!({
            "decisions": total,
            "changed": changes.len(),
            "auto_approved_before": before.to_json(),
            "auto_approved_after": after.to_json(),
            "outcomes": outcomes.iter().map(|(k, (a, b))| (k.clone(), serde_json::json!({"before": a, "after": b}))).collect::<serde_json::Map<_, _>>(),
            "changes": changes,
        });
        outln!("{}", pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "backtest of `{}` → `{}` on {total} past decision(s) from `{}`",
        args.old.display(),
        args.new.display(),
        args.history.display()
    );
    let shown = if args.all { changes.len() } else { 50 };
    for change in changes.iter().take(shown) {
        let text = |key: &str| change[key].as_str().unwrap_or_default().to_owned();
        let reasons: Vec<String> = change["reasons_after"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        outln!(
            "  line {:>5}  {:<13} order {:<10} {} → {}  ({})",
            change["line"],
            text("kind"),
            text("order"),
            text("before"),
            text("after"),
            reasons.join(", ")
        );
    }
    if changes.len() > shown {
        outln!(
            "  … and {} more (--all shows every one)",
            changes.len() - shown
        );
    }
    outln!("\n{} of {total} decision(s) change", changes.len());
    for (outcome, (a, b)) in &outcomes {
        outln!("  {outcome:<12} {a:>6} → {b}");
    }
    outln!("money refunded automatically (receipts, cancellations, item changes):");
    outln!("  before: {before}");
    outln!("  after:  {after}");
    Ok(ExitCode::SUCCESS)
}
