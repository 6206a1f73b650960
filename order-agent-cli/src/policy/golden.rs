//! `policy test FILE DIR`: golden decision cases, in the format of
//! `order-agent-core/tests/golden/cases/`:
//!
//! ```json
//! {
//!   "name": "…", "policy": "shop.toml", "policy_patch": {…}, "facts": "delivered.json",
//!   "facts_patch": {…}, "now": "2026-11-20T10:00:00Z", "request": {"kind": "return", …},
//!   "expect": {"outcome": "approve", "reasons": ["within_window"], "rules": ["apparel"],
//!              "refund_total": "89.10", "line_nets": {"L1": "89.10"},
//!              "tenders": [["card", "89.10"]], "restock": {"L1": "sellable"}}
//! }
//! ```
//!
//! Every case runs against the policy FILE given on the command line, with the case's
//! `policy_patch` (a JSON merge patch, RFC 7386) applied. When FILE is one of the folder's own
//! policies (`DIR/policies/`), a case written for another of them (its `policy` names another
//! file there) is skipped and counted as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use order_agent_core::policy::{decide, Decision, Facts, Policy, Request};
use serde::Deserialize;
use serde_json::Value;

use super::{pretty, TestArgs};
use crate::error::CliError;
use crate::input::{read_text, wire_name, PolicyFormat};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    policy_patch: Option<Value>,
    facts: String,
    #[serde(default)]
    facts_patch: Option<Value>,
    now: DateTime<Utc>,
    request: Value,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
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

/// A JSON merge patch (RFC 7386) applied in place.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
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

/// What happened to one case.
enum Verdict {
    Pass,
    Fail {
        problems: Vec<String>,
        decision: Box<Decision>,
    },
    Skip(String),
    /// The case itself is broken (unreadable, facts missing, request malformed).
    Broken(String),
}

pub(super) fn run(args: &TestArgs) -> Result<ExitCode, CliError> {
    let policy_text = read_text(&args.file)?;
    let policy_value: Value = match PolicyFormat::of(&args.file) {
        PolicyFormat::Toml => toml::from_str(&policy_text).map_err(|e| {
            CliError::failed(format!(
                "`{}` is not valid TOML: {}",
                args.file.display(),
                e.message()
            ))
        })?,
        PolicyFormat::Json => serde_json::from_str(&policy_text).map_err(|e| {
            CliError::failed(format!("`{}` is not valid JSON: {e}", args.file.display()))
        })?,
    };
    // The unpatched policy must be usable on its own.
    crate::input::load_policy(&args.file)?;

    let cases_dir = if args.dir.join("cases").is_dir() {
        args.dir.join("cases")
    } else {
        args.dir.clone()
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .map_err(|e| CliError::io(&cases_dir, "list the cases in", &e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CliError::usage(format!(
            "no case files (`*.json`) in `{}` or `{}/cases`",
            args.dir.display(),
            args.dir.display()
        )));
    }
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    // Only a policy of the folder's own set makes the cases for its siblings irrelevant.
    let own_policies = args.dir.join("policies");
    let of_the_folder = match (
        args.file
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok()),
        std::fs::canonicalize(&own_policies).ok(),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    let file_name = file_name.filter(|_| of_the_folder);
    let (mut passed, mut failed, mut skipped, mut broken) = (0, 0, 0, 0);
    for path in &paths {
        let label = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run_case(path, &args.dir, &policy_value, file_name.as_deref()) {
            (name, Verdict::Pass) => {
                passed += 1;
                outln!("PASS {label} ({name})");
            }
            (name, Verdict::Skip(why)) => {
                skipped += 1;
                outln!("SKIP {label} ({name}): {why}");
            }
            (name, Verdict::Broken(why)) => {
                broken += 1;
                outln!("FAIL {label} ({name}): the case cannot run: {why}");
            }
            (name, Verdict::Fail { problems, decision }) => {
                failed += 1;
                outln!("FAIL {label} ({name})");
                for problem in &problems {
                    outln!("     {problem}");
                }
                if args.verbose {
                    for line in pretty(&decision)?.lines() {
                        outln!("     | {line}");
                    }
                }
            }
        }
    }
    outln!(
        "\n{} case(s): {passed} passed, {} failed, {skipped} skipped",
        paths.len(),
        failed + broken
    );
    Ok(if failed + broken > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Finds a facts file named by a case: in `DIR/facts/`, beside the case, or in `../facts/`.
fn find_facts(name: &str, dir: &Path, case_path: &Path) -> Option<PathBuf> {
    let beside = case_path.parent().unwrap_or(dir);
    [
        dir.join("facts").join(name),
        beside.join(name),
        beside.join("..").join("facts").join(name),
        dir.join(name),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn run_case(
    path: &Path,
    dir: &Path,
    policy_value: &Value,
    file_name: Option<&str>,
) -> (String, Verdict) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return (
                String::new(),
                Verdict::Broken(format!("cannot read it: {e}")),
            )
        }
    };
    let case: Case = match serde_json::from_str(&text) {
        Ok(case) => case,
        Err(e) => {
            return (
                String::new(),
                Verdict::Broken(format!("not a case file: {e}")),
            )
        }
    };
    let name = case.name.clone();
    if let (Some(named), Some(own)) = (&case.policy, file_name) {
        let other = dir.join("policies").join(named);
        if named != own && other.is_file() {
            return (name, Verdict::Skip(format!("written for policy `{named}`")));
        }
    }
    (name, decide_case(&case, path, dir, policy_value))
}

fn decide_case(case: &Case, path: &Path, dir: &Path, policy_value: &Value) -> Verdict {
    let mut policy_value = policy_value.clone();
    if let Some(patch) = &case.policy_patch {
        merge_patch(&mut policy_value, patch);
    }
    let policy: Policy = match serde_json::from_value(policy_value) {
        Ok(p) => p,
        Err(e) => return Verdict::Broken(format!("the patched policy does not parse: {e}")),
    };
    let validation = policy.validate();
    if !validation.errors.is_empty() {
        let errors: Vec<String> = validation.errors.iter().map(ToString::to_string).collect();
        return Verdict::Broken(format!(
            "the patched policy has errors: {}",
            errors.join("; ")
        ));
    }
    let Some(facts_path) = find_facts(&case.facts, dir, path) else {
        return Verdict::Broken(format!(
            "facts file `{}` not found in `{}`",
            case.facts,
            dir.join("facts").display()
        ));
    };
    let mut facts_value: Value = match std::fs::read_to_string(&facts_path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Broken(format!("facts `{}`: {e}", facts_path.display()));
        }
    };
    if let Some(patch) = &case.facts_patch {
        merge_patch(&mut facts_value, patch);
    }
    let facts: Facts = match serde_json::from_value(facts_value) {
        Ok(f) => f,
        Err(e) => return Verdict::Broken(format!("the facts do not parse: {e}")),
    };
    let request: Request = match serde_json::from_value(case.request.clone()) {
        Ok(r) => r,
        Err(e) => return Verdict::Broken(format!("the request does not parse: {e}")),
    };
    let decision = decide(&request, &facts, &policy, case.now);
    let problems = check(&case.expect, &decision);
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail {
            problems,
            decision: Box::new(decision),
        }
    }
}

fn differs<T: std::fmt::Debug + PartialEq>(name: &str, expected: &T, got: &T) -> Option<String> {
    (expected != got).then(|| format!("{name}: expected {expected:?}, got {got:?}"))
}

fn check(e: &Expect, decision: &Decision) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(differs(
        "outcome",
        &e.outcome,
        &wire_name(&decision.outcome),
    ));
    let reasons: Vec<String> = decision
        .reasons
        .iter()
        .map(|r| wire_name(&r.code))
        .collect();
    problems.extend(differs("reasons", &e.reasons, &reasons));
    if let Some(rules) = &e.rules {
        let got: Vec<String> = decision
            .reasons
            .iter()
            .map(|r| r.rule.to_string())
            .collect();
        problems.extend(differs("rules", rules, &got));
    }
    let refund = decision.refund.as_ref();
    if let Some(total) = &e.refund_total {
        let got = refund.map(|r| r.total.amount().to_string());
        problems.extend(differs("refund_total", total, &got));
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
        problems.extend(differs("line_nets", nets, &got));
    }
    if let Some(outcomes) = &e.line_outcomes {
        let got: BTreeMap<String, String> = decision
            .lines
            .iter()
            .map(|l| (l.line_id.to_string(), wire_name(&l.outcome)))
            .collect();
        problems.extend(differs("line_outcomes", outcomes, &got));
    }
    if let Some(tenders) = &e.tenders {
        let got: Vec<(String, String)> = refund
            .map(|r| {
                r.tenders
                    .iter()
                    .map(|t| (wire_name(&t.tender), t.amount.amount().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        problems.extend(differs("tenders", tenders, &got));
    }
    if let Some(restock) = &e.restock {
        let got: BTreeMap<String, String> = decision
            .lines
            .iter()
            .filter_map(|l| l.restock.map(|r| (l.line_id.to_string(), wire_name(&r))))
            .collect();
        problems.extend(differs("restock", restock, &got));
    }
    let money = |name: &str, expected: &Option<String>, got: Option<String>| {
        expected
            .as_ref()
            .and_then(|x| differs(name, &Some(x.clone()), &got))
    };
    problems.extend(money(
        "return_shipping_fee",
        &e.return_shipping_fee,
        refund.map(|r| r.return_shipping_fee.amount().to_string()),
    ));
    problems.extend(money(
        "store_credit_bonus",
        &e.store_credit_bonus,
        refund.map(|r| r.store_credit_bonus.amount().to_string()),
    ));
    problems.extend(money(
        "exchange_difference",
        &e.exchange_difference,
        refund.and_then(|r| r.exchange_difference.map(|d| d.amount().to_string())),
    ));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = serde_json::json!({"a": {"b": 1, "c": 2}, "d": 3});
        merge_patch(
            &mut target,
            &serde_json::json!({"a": {"b": null, "e": 4}, "d": [1]}),
        );
        assert_eq!(target, serde_json::json!({"a": {"c": 2, "e": 4}, "d": [1]}));
    }
}
