//! The `order-agent` binary end to end: every subcommand run as a shell user would, checking exit
//! codes, messages and output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_order-agent"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden() -> PathBuf {
    workspace().join("order-agent-core/tests/golden")
}

fn sample_policy() -> PathBuf {
    workspace().join("examples/policies/swiss-shop.toml")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const BROKEN_POLICY: &str = r#"version = "2026-11-01"
currency = "CHF"
timezone = "Europe/Zurich"

[returns]
default_window_days = 30

[[returns.rules]]
id = "swimwear"
match.categories = ["swimwear"]
window_days = 0

[limits]
max_auto_refund = "150.00"
"#;

#[test]
fn help_is_available_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["policy", "--help"],
        vec!["policy", "validate", "--help"],
        vec!["policy", "decide", "--help"],
        vec!["policy", "test", "--help"],
        vec!["policy", "diff", "--help"],
        vec!["simulate", "--help"],
    ] {
        let output = run(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(stdout(&output).contains("Usage:"), "{args:?}");
    }
    let output = run(&["policy", "frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn validate_accepts_the_sample_policy() {
    let output = run(&["policy", "validate", path(&sample_policy())]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("valid: 0 error(s)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn validate_locates_errors_in_toml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("broken.toml");
    std::fs::write(&toml, BROKEN_POLICY).unwrap();
    let output = run(&["policy", "validate", path(&toml)]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("broken.toml:11:1: returns.rules[0].window_days")
            && text.contains("[non_positive_window]"),
        "{text}"
    );

    let json = dir.path().join("broken.json");
    std::fs::write(
        &json,
        "{\n  \"version\": \"1\",\n  \"currency\": \"CHF\",\n  \"timezone\": \"Europe/Zurich\",\n  \"returns\": {\n    \"default_window_days\": -3\n  }\n}\n",
    )
    .unwrap();
    let output = run(&["policy", "validate", path(&json), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(findings["errors"][0]["path"], "returns.default_window_days");
    assert_eq!(findings["errors"][0]["location"]["line"], 6);

    // A typo is refused where it is.
    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        BROKEN_POLICY.replace("max_auto_refund", "max_auto_refnud"),
    )
    .unwrap();
    let output = run(&["policy", "validate", path(&typo)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("typo.toml:14:1:"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("max_auto_refnud"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn validate_reports_an_unreadable_file_as_a_usage_error() {
    let output = run(&["policy", "validate", "/nonexistent/policy.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read `/nonexistent/policy.toml`"),
        "{}",
        stderr(&output)
    );
}

const RETURN_REQUEST: &str = r#"{"kind": "return", "order_id": "gid-1001", "resolution": "refund",
    "lines": [{"line_id": "L1", "quantity": 1, "reason": "does_not_fit"}]}"#;

#[test]
fn decide_prints_the_decision_with_reasons_and_amounts() {
    let facts = golden().join("facts/delivered.json");
    let policy = golden().join("policies/shop.toml");
    let output = run(&[
        "policy",
        "decide",
        "--policy",
        path(&policy),
        "--request",
        RETURN_REQUEST,
        "--facts",
        path(&facts),
        "--now",
        "2026-11-10T12:00:00Z",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let decision: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(decision["outcome"], "approve");
    assert_eq!(decision["refund"]["total"]["amount"], "81.10");
    assert_eq!(decision["refund"]["total"]["currency"], "CHF");
    assert_eq!(decision["reasons"][0]["code"], "within_window");
    assert_eq!(decision["reasons"][0]["rule"], "apparel");

    // The request from standard input gives the same decision.
    let mut child = bin()
        .args([
            "policy",
            "decide",
            "--policy",
            path(&policy),
            "--request",
            "-",
            "--facts",
            path(&facts),
            "--now",
            "2026-11-10T12:00:00Z",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(RETURN_REQUEST.as_bytes())
        .unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    assert_eq!(piped.stdout, output.stdout);
}

#[test]
fn decide_explains_bad_input() {
    let policy = golden().join("policies/shop.toml");
    let output = run(&[
        "policy",
        "decide",
        "--policy",
        path(&policy),
        "--request",
        "{\"kind\": \"refund\"}",
        "--facts",
        "{}",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--request: the inline JSON is not valid here"),
        "{}",
        stderr(&output)
    );
    let output = run(&[
        "policy",
        "decide",
        "--policy",
        path(&policy),
        "--request",
        RETURN_REQUEST,
        "--facts",
        path(&golden().join("facts/delivered.json")),
        "--now",
        "yesterday",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--now `yesterday` is not an RFC 3339 time"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn test_runs_the_golden_cases() {
    let output = run(&[
        "policy",
        "test",
        path(&golden().join("policies/shop.toml")),
        path(&golden()),
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS 001_apparel_refund_within_window.json"),
        "{text}"
    );
    assert!(text.contains(" 0 failed"), "{text}");
    // Cases written for the folder's other policies are skipped, and said to be.
    assert!(
        text.contains("SKIP 069_jpy_zero_decimal_currency.json"),
        "{text}"
    );
}

#[test]
fn test_fails_on_a_wrong_case_and_says_what_differed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cases")).unwrap();
    std::fs::create_dir_all(dir.path().join("facts")).unwrap();
    std::fs::copy(
        golden().join("facts/delivered.json"),
        dir.path().join("facts/delivered.json"),
    )
    .unwrap();
    let good =
        std::fs::read_to_string(golden().join("cases/001_apparel_refund_within_window.json"))
            .unwrap();
    std::fs::write(dir.path().join("cases/001_good.json"), &good).unwrap();
    let wrong = good.replace("\"refund_total\": \"81.10\"", "\"refund_total\": \"89.00\"");
    assert_ne!(wrong, good);
    std::fs::write(dir.path().join("cases/002_wrong.json"), wrong).unwrap();
    let output = run(&[
        "policy",
        "test",
        path(&golden().join("policies/shop.toml")),
        path(dir.path()),
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("PASS 001_good.json"), "{text}");
    assert!(text.contains("FAIL 002_wrong.json"), "{text}");
    assert!(
        text.contains("refund_total: expected Some(\"89.00\"), got Some(\"81.10\")"),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}

#[test]
fn diff_shows_decisions_that_change_and_the_money() {
    let dir = tempfile::tempdir().unwrap();
    let facts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(golden().join("facts/delivered.json")).unwrap(),
    )
    .unwrap();
    let request: serde_json::Value = serde_json::from_str(RETURN_REQUEST).unwrap();
    let receipt = serde_json::json!({
        "kind": "receipt",
        "authorised": {"order_id": "gid-1001", "resolution": "refund",
                       "lines": [{"line_id": "L1", "quantity": 1, "reason": "does_not_fit"}]},
        "receipt": {"return_id": "r-1", "lines": [{"line_id": "L1", "quantity": 1}],
                    "received_at": "2026-11-12T10:00:00Z", "location": "zrh-1"}
    });
    let history = dir.path().join("history.jsonl");
    let lines: Vec<String> = [request, receipt]
        .into_iter()
        .map(|r| {
            serde_json::json!({"request": r, "facts": facts, "now": "2026-11-12T12:00:00Z"})
                .to_string()
        })
        .collect();
    std::fs::write(&history, lines.join("\n")).unwrap();
    let old = golden().join("policies/shop.toml");
    let new = dir.path().join("strict.toml");
    let text = std::fs::read_to_string(&old).unwrap();
    assert!(text.contains("max_auto_refund"));
    let strict: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("max_auto_refund") {
                "max_auto_refund = \"50.00\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&new, strict).unwrap();

    let output = run(&[
        "policy",
        "diff",
        path(&old),
        path(&new),
        "--history",
        path(&history),
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["decisions"], 2);
    assert_eq!(summary["changed"], 2);
    assert_eq!(summary["changes"][0]["before"], "approve CHF 81.10");
    assert_eq!(summary["changes"][0]["after"], "needs_human CHF 81.10");
    // Only the receipt moves money; the return's approval only authorises it.
    assert!(
        summary["auto_approved_before"]["CHF"].is_string(),
        "{summary}"
    );
    assert_eq!(summary["auto_approved_after"], serde_json::json!({}));

    let output = run(&[
        "policy",
        "diff",
        path(&old),
        path(&new),
        "--history",
        path(&history),
    ]);
    assert!(
        stdout(&output).contains("2 of 2 decision(s) change"),
        "{}",
        stdout(&output)
    );

    std::fs::write(&history, "not json\n").unwrap();
    let output = run(&[
        "policy",
        "diff",
        path(&old),
        path(&new),
        "--history",
        path(&history),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("history.jsonl:1: not a history entry"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn simulate_a_short_run_has_no_violations_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("simulation.html");
    let history = dir.path().join("history.jsonl");
    let args = [
        "simulate",
        "--days",
        "4",
        "--orders-per-day",
        "60",
        "--contact-rate",
        "0.1",
        "--seed",
        "7",
        "--json",
    ];
    let mut with_files: Vec<&str> = args.to_vec();
    with_files.extend(["--report", path(&report), "--history-out", path(&history)]);
    let output = run(&with_files);
    assert!(output.status.success(), "{}", stderr(&output));
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(figures["policy_violations"], 0, "{figures}");
    assert!(figures["orders"].as_u64().unwrap() > 200, "{figures}");
    assert!(
        figures["contacts"]["total"].as_u64().unwrap() > 5,
        "{figures}"
    );
    assert!(
        figures["events"]["total"].as_u64().unwrap() > 200,
        "{figures}"
    );
    let rate = figures["automation_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate));
    assert_eq!(figures["daily"].as_array().unwrap().len(), 4);

    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg") && !html.contains("<script") && !html.contains("http://"));
    for line in std::fs::read_to_string(&history).unwrap().lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(entry["request"]["kind"].is_string() && entry["facts"]["order"].is_object());
    }
    // The history feeds a backtest.
    let diff = run(&[
        "policy",
        "diff",
        path(&sample_policy()),
        path(&sample_policy()),
        "--history",
        path(&history),
        "--json",
    ]);
    assert!(diff.status.success(), "{}", stderr(&diff));
    let summary: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(summary["changed"], 0);

    let again = run(&args);
    assert_eq!(
        again.stdout, output.stdout,
        "the same seed gives the same month"
    );
}

#[test]
fn simulate_refuses_bad_arguments() {
    let output = run(&["simulate", "--contact-rate", "4"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--contact-rate `4` must be between 0 and 1"),
        "{}",
        stderr(&output)
    );
    let output = run(&["simulate", "--days", "1", "--cost-per-ticket", "ten"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--cost-per-ticket `ten`"),
        "{}",
        stderr(&output)
    );
}
