//! Golden decision fixtures: every file in `tests/golden/cases/` names a policy, facts, a request
//! and a time, and states the expected outcome, the reason codes in order, and the amounts.
//!
//! A case file:
//! ```json
//! {
//!   "name": "…", "policy": "shop.toml", "policy_patch": {…}, "facts": "delivered.json",
//!   "facts_patch": {…}, "now": "2026-11-20T10:00:00Z", "request": {"kind": "return", …},
//!   "expect": {"outcome": "approve", "reasons": ["within_window"], "rules": ["apparel"],
//!              "refund_total": "89.10", "line_nets": {"L1": "89.10"},
//!              "tenders": [["card", "89.10"]], "restock": {"L1": "sellable"}}
//! }
//! ```
//! Patches are JSON merge patches (RFC 7386) applied to the base files. Every `expect` key but
//! `outcome` and `reasons` is optional; a present key is compared exactly.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use order_agent_core::policy::{decide, Decision, Facts, Policy, Request};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: String,
    #[serde(default)]
    policy_patch: Option<Value>,
    facts: String,
    #[serde(default)]
    facts_patch: Option<Value>,
    now: DateTime<Utc>,
    request: Value,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: String,
    reasons: Vec<String>,
    #[serde(default)]
    rules: Option<Vec<String>>,
    #[serde(default)]
    refund_total: Option<Option<String>>,
    #[serde(default)]
    line_nets: Option<BTreeMap<String, String>>,
    #[serde(default)]
    line_outcomes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    tenders: Option<Vec<(String, String)>>,
    #[serde(default)]
    restock: Option<BTreeMap<String, String>>,
    #[serde(default)]
    return_shipping_fee: Option<String>,
    #[serde(default)]
    store_credit_bonus: Option<String>,
    #[serde(default)]
    exchange_difference: Option<String>,
}

fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(patch) = patch {
        if !target.is_object() {
            *target = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(map) = target {
            for (key, value) in patch {
                if value.is_null() {
                    map.remove(key);
                } else {
                    merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
    } else {
        *target = patch.clone();
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load_case(path: &Path) -> (Case, Policy, Facts, Request) {
    let text = std::fs::read_to_string(path).unwrap();
    let case: Case = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: bad case file: {e}", path.display()));
    let policy_text = std::fs::read_to_string(golden_dir().join("policies").join(&case.policy))
        .unwrap_or_else(|e| panic!("{}: policy `{}`: {e}", path.display(), case.policy));
    let mut policy_value: Value = toml::from_str(&policy_text).unwrap();
    if let Some(patch) = &case.policy_patch {
        merge_patch(&mut policy_value, patch);
    }
    let policy: Policy = serde_json::from_value(policy_value)
        .unwrap_or_else(|e| panic!("{}: policy does not parse: {e}", path.display()));
    let validation = policy.validate();
    assert!(
        validation.errors.is_empty(),
        "{}: policy has errors: {:?}",
        path.display(),
        validation.errors
    );
    let facts_text = std::fs::read_to_string(golden_dir().join("facts").join(&case.facts))
        .unwrap_or_else(|e| panic!("{}: facts `{}`: {e}", path.display(), case.facts));
    let mut facts_value: Value = serde_json::from_str(&facts_text).unwrap();
    if let Some(patch) = &case.facts_patch {
        merge_patch(&mut facts_value, patch);
    }
    let facts: Facts = serde_json::from_value(facts_value)
        .unwrap_or_else(|e| panic!("{}: facts do not parse: {e}", path.display()));
    let request: Request = serde_json::from_value(case.request.clone())
        .unwrap_or_else(|e| panic!("{}: request does not parse: {e}", path.display()));
    (case, policy, facts, request)
}

fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value).unwrap() {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn check(case: &Case, decision: &Decision) -> Vec<String> {
    let mut problems = Vec::new();
    let e = &case.expect;
    let outcome = snake(&decision.outcome);
    if outcome != e.outcome {
        problems.push(format!("outcome: expected {}, got {outcome}", e.outcome));
    }
    let reasons: Vec<String> = decision.reasons.iter().map(|r| snake(&r.code)).collect();
    if reasons != e.reasons {
        problems.push(format!(
            "reasons: expected {:?}, got {reasons:?}",
            e.reasons
        ));
    }
    if let Some(rules) = &e.rules {
        let got: Vec<String> = decision
            .reasons
            .iter()
            .map(|r| r.rule.to_string())
            .collect();
        if &got != rules {
            problems.push(format!("rules: expected {rules:?}, got {got:?}"));
        }
    }
    let refund = decision.refund.as_ref();
    if let Some(total) = &e.refund_total {
        let got = refund.map(|r| r.total.amount().to_string());
        if &got != total {
            problems.push(format!("refund_total: expected {total:?}, got {got:?}"));
        }
    }
    if let Some(nets) = &e.line_nets {
        let got: BTreeMap<String, String> = refund
            .map(|r| {
                r.lines
                    .iter()
                    .map(|l| (l.line_id.to_string(), l.net.amount().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if &got != nets {
            problems.push(format!("line_nets: expected {nets:?}, got {got:?}"));
        }
    }
    if let Some(outcomes) = &e.line_outcomes {
        let got: BTreeMap<String, String> = decision
            .lines
            .iter()
            .map(|l| (l.line_id.to_string(), snake(&l.outcome)))
            .collect();
        if &got != outcomes {
            problems.push(format!("line_outcomes: expected {outcomes:?}, got {got:?}"));
        }
    }
    if let Some(tenders) = &e.tenders {
        let got: Vec<(String, String)> = refund
            .map(|r| {
                r.tenders
                    .iter()
                    .map(|t| (snake(&t.tender), t.amount.amount().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if &got != tenders {
            problems.push(format!("tenders: expected {tenders:?}, got {got:?}"));
        }
    }
    if let Some(restock) = &e.restock {
        let got: BTreeMap<String, String> = decision
            .lines
            .iter()
            .filter_map(|l| l.restock.map(|r| (l.line_id.to_string(), snake(&r))))
            .collect();
        if &got != restock {
            problems.push(format!("restock: expected {restock:?}, got {got:?}"));
        }
    }
    let money_field = |name: &str, expected: &Option<String>, got: Option<String>| {
        expected
            .as_ref()
            .filter(|x| Some(*x) != got.as_ref())
            .map(|x| format!("{name}: expected {x}, got {got:?}"))
    };
    problems.extend(money_field(
        "return_shipping_fee",
        &e.return_shipping_fee,
        refund.map(|r| r.return_shipping_fee.amount().to_string()),
    ));
    problems.extend(money_field(
        "store_credit_bonus",
        &e.store_credit_bonus,
        refund.map(|r| r.store_credit_bonus.amount().to_string()),
    ));
    problems.extend(money_field(
        "exchange_difference",
        &e.exchange_difference,
        refund.and_then(|r| r.exchange_difference.map(|d| d.amount().to_string())),
    ));
    problems
}

#[test]
fn golden_decisions() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(golden_dir().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let (case, policy, facts, request) = load_case(path);
        let decision = decide(&request, &facts, &policy, case.now);
        // Determinism: the same input gives the same decision, also after a JSON round trip.
        let again = decide(&request, &facts, &policy, case.now);
        assert_eq!(decision, again, "{}: not deterministic", case.name);
        let json = serde_json::to_string(&decision).unwrap();
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(
            decision, back,
            "{}: decision JSON does not round-trip",
            case.name
        );
        let problems = check(&case, &decision);
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}):\n  {}\n  decision: {}",
                path.file_name().unwrap().to_string_lossy(),
                case.name,
                problems.join("\n  "),
                serde_json::to_string_pretty(&decision).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        paths.len() >= 40,
        "expected at least 40 golden cases, found {}",
        paths.len()
    );
}
