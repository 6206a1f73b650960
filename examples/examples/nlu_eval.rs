// Run with: cargo run --release -p order-agent-examples --example nlu_eval -- [FILE | --own-sets]
//! Evaluates the built-in understanding on a labelled JSONL file.
//!
//! One JSON object a line: `text`, `mapped_intent` (an intent name such as `wismo`,
//! `refund_status` or `out_of_scope`), optionally `entities` (`[{"type": "order_id", "text":
//! "1042"}]`, a `span_matches_value: false` entry leaves the line out of entity scoring) and
//! `language` (`en`, `de`, `fr`, `it`). The default file is the Bitext dev set,
//! `../shared/data/intents/bitext/bitext_4514_eval.jsonl` from the workspace root, whose
//! `mapped_intent` values are our intent names already: Bitext `track_order` and
//! `delivery_period` → `wismo`, `get_refund` → `refund_request`, `track_refund` →
//! `refund_status`, `cancel_order`, `change_order` → `modify_order_items`,
//! `change_shipping_address`, `check_refund_policy`, `check_cancellation_fee` and
//! `delivery_options` → `policy_question`, `contact_customer_service` and `contact_human_agent`
//! → `human_escalation`, `complaint`, and every account, invoice, payment, newsletter, review,
//! `place_order` and `set_up_shipping_address` message → `out_of_scope`.
//!
//! A reading counts as out of scope when its intent is `out_of_scope` or its confidence is below
//! `LOW_CONFIDENCE` (the agent asks or hands over instead of acting). Prints in-scope macro-F1,
//! the out-of-scope rejection rate, order-id F1, language accuracy when labelled, and a confusion
//! matrix. `--errors` also lists the misread lines. `--weights PATH` reads other learned weights
//! (see `scripts/train_nlu_weights.py --holdout`) and `--fold N:K` scores only the lines whose
//! 0-based index modulo `N` is `K`, which together measure the dev set on lines the weights have
//! not seen. `--own-sets [DIR]` reports every `.jsonl` file of `examples/data/nlu` (or `DIR`) in
//! turn and ends with a summary table of all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use order_agent_core::domain::Locale;
use order_agent_core::ports::Intent;
use order_agent_core::understanding::{is_confident, BuiltinInterpreter};
use serde_json::Value;

struct Line {
    text: String,
    gold: Intent,
    order_ids: Option<BTreeSet<String>>,
    language: Option<Locale>,
}

fn parse_line(number: usize, line: &str) -> Result<Line, String> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| format!("line {number}: invalid json: {e}"))?;
    let text = value
        .get("text")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("line {number}: no `text`"))?
        .to_owned();
    let label = value
        .get("mapped_intent")
        .cloned()
        .ok_or_else(|| format!("line {number}: no `mapped_intent`"))?;
    let gold: Intent = serde_json::from_value(label.clone())
        .map_err(|_| format!("line {number}: unknown intent `{label}`"))?;
    let entities = value
        .get("entities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let trusted = entities
        .iter()
        .all(|e| e.get("span_matches_value").and_then(Value::as_bool) != Some(false));
    let order_ids = trusted.then(|| {
        entities
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("order_id"))
            .filter_map(|e| e.get("text").and_then(Value::as_str))
            .map(|t| t.trim_start_matches('#').to_owned())
            .collect()
    });
    let language = value
        .get("language")
        .cloned()
        .and_then(|l| serde_json::from_value(l).ok());
    Ok(Line {
        text,
        gold,
        order_ids,
        language,
    })
}

fn name(intent: Intent) -> String {
    serde_json::to_value(intent)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp == 0 {
        return 0.0;
    }
    2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
}

/// The headline figures of one file, for the summary of `--own-sets`.
struct Summary {
    lines: usize,
    macro_f1: f64,
    oos_rejection: Option<f64>,
    order_id_f1: Option<f64>,
    language_accuracy: Option<f64>,
}

fn read_lines(path: &Path, fold: Option<(usize, usize)>) -> Result<Vec<Line>, String> {
    let content = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read `{}`: {e}\nthe Bitext dev set lives in ../shared next to the workspace; pass another file as the first argument",
            path.display()
        )
    })?;
    let mut lines = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        if fold.is_some_and(|(n, k)| i % n != k) {
            continue;
        }
        lines.push(parse_line(i + 1, raw).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(lines)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_errors = args.iter().any(|a| a == "--errors");
    let own_sets = args.iter().any(|a| a == "--own-sets");
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let interpreter = match option("--weights") {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(tsv) => BuiltinInterpreter::with_learned_weights(&tsv),
            Err(e) => {
                eprintln!("cannot read weights `{path}`: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => BuiltinInterpreter::new(),
    };
    let fold = match option("--fold") {
        Some(spec) => match spec
            .split_once(':')
            .and_then(|(n, k)| Some((n.parse::<usize>().ok()?, k.parse::<usize>().ok()?)))
        {
            Some((n, k)) if n > 0 && k < n => Some((n, k)),
            _ => {
                eprintln!("invalid `--fold {spec}`: expected N:K with K < N");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let values: BTreeSet<&String> = ["--weights", "--fold"]
        .iter()
        .filter_map(|name| option(name))
        .collect();
    let named = args
        .iter()
        .find(|a| !a.starts_with("--") && !values.contains(a))
        .map(PathBuf::from);
    let paths = if own_sets {
        let dir =
            named.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/nlu"));
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect(),
            Err(e) => {
                eprintln!("cannot list `{}`: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        paths.sort();
        paths
    } else {
        vec![named.unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/intents/bitext/bitext_4514_eval.jsonl")
        })]
    };
    let mut summaries = Vec::new();
    for path in &paths {
        let lines = match read_lines(path, fold) {
            Ok(lines) => lines,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        if own_sets {
            println!("\n==================================================================");
        }
        let summary = report(&interpreter, path, &lines, show_errors, !own_sets);
        summaries.push((path, summary));
    }
    if own_sets {
        let figure = |f: Option<f64>| f.map_or_else(|| "n/a".to_owned(), |f| format!("{f:.3}"));
        println!("\nsummary (readings below the confidence threshold count as out of scope)");
        println!(
            "{:<30} {:>6} {:>9} {:>13} {:>12} {:>9}",
            "file", "lines", "macro-f1", "oos-rejection", "order-id-f1", "language"
        );
        for (path, s) in &summaries {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default();
            println!(
                "{:<30} {:>6} {:>9.3} {:>13} {:>12} {:>9}",
                file,
                s.lines,
                s.macro_f1,
                figure(s.oos_rejection),
                figure(s.order_id_f1),
                figure(s.language_accuracy)
            );
        }
    }
    ExitCode::SUCCESS
}

/// Reads every line, prints the figures and the confusion matrix, and returns the headline
/// figures; `throughput` also times the interpreter on these lines.
fn report(
    interpreter: &BuiltinInterpreter,
    path: &Path,
    lines: &[Line],
    show_errors: bool,
    throughput: bool,
) -> Summary {
    let mut confusion: BTreeMap<(Intent, Intent), usize> = BTreeMap::new();
    let (mut oid_tp, mut oid_fp, mut oid_fn) = (0, 0, 0);
    let (mut lang_right, mut lang_total) = (0, 0);
    let mut low_confidence = 0;
    for line in lines {
        let reading = interpreter.read(&line.text, None);
        let predicted = if is_confident(&reading) {
            reading.intent
        } else {
            if reading.intent != Intent::OutOfScope {
                low_confidence += 1;
            }
            Intent::OutOfScope
        };
        *confusion.entry((line.gold, predicted)).or_default() += 1;
        if show_errors && predicted != line.gold {
            println!(
                "miss: {} -> {} ({:?} {:.2}): {}",
                name(line.gold),
                name(predicted),
                reading.intent,
                reading.confidence,
                line.text
            );
        }
        if let Some(gold) = &line.order_ids {
            let found: BTreeSet<String> = reading
                .entities
                .order_numbers
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect();
            oid_tp += gold.intersection(&found).count();
            oid_fp += found.difference(gold).count();
            oid_fn += gold.difference(&found).count();
            if show_errors && &found != gold {
                println!(
                    "order ids: expected {gold:?}, found {found:?}: {}",
                    line.text
                );
            }
        }
        if let Some(language) = line.language {
            lang_total += 1;
            if reading.language == language {
                lang_right += 1;
            } else if show_errors {
                println!(
                    "language: expected {language:?}, read {:?}: {}",
                    reading.language, line.text
                );
            }
        }
    }

    let labels: BTreeSet<Intent> = confusion.keys().flat_map(|(g, p)| [*g, *p]).collect();
    let gold_in_scope: BTreeSet<Intent> = lines
        .iter()
        .map(|l| l.gold)
        .filter(|g| *g != Intent::OutOfScope)
        .collect();
    let count = |g: Option<Intent>, p: Option<Intent>| -> usize {
        confusion
            .iter()
            .filter(|((gi, pi), _)| g.is_none_or(|g| g == *gi) && p.is_none_or(|p| p == *pi))
            .map(|(_, n)| n)
            .sum()
    };
    println!("file: {} ({} lines)", path.display(), lines.len());
    println!("\nintent                    precision  recall     f1  support");
    let mut f1_sum = 0.0;
    for intent in &gold_in_scope {
        let tp = count(Some(*intent), Some(*intent));
        let predicted = count(None, Some(*intent));
        let support = count(Some(*intent), None);
        let score = f1(tp, predicted - tp, support - tp);
        f1_sum += score;
        println!(
            "{:<25} {:>9.3} {:>7.3} {:>6.3} {:>8}",
            name(*intent),
            if predicted == 0 {
                0.0
            } else {
                tp as f64 / predicted as f64
            },
            if support == 0 {
                0.0
            } else {
                tp as f64 / support as f64
            },
            score,
            support
        );
    }
    let macro_f1 = if gold_in_scope.is_empty() {
        0.0
    } else {
        f1_sum / gold_in_scope.len() as f64
    };
    println!(
        "\nin-scope macro-f1:        {macro_f1:.3} over {} intents",
        gold_in_scope.len()
    );
    let oos = count(Some(Intent::OutOfScope), None);
    let mut oos_rejection = None;
    if oos > 0 {
        let rejected = count(Some(Intent::OutOfScope), Some(Intent::OutOfScope));
        let rate = rejected as f64 / oos as f64;
        oos_rejection = Some(rate);
        println!("out-of-scope rejection:   {rate:.3} ({rejected}/{oos})");
    } else {
        println!("out-of-scope rejection:   n/a (no out-of-scope lines)");
    }
    let in_scope_lines = lines.len() - oos;
    if in_scope_lines > 0 {
        let rejected = count(None, Some(Intent::OutOfScope))
            - count(Some(Intent::OutOfScope), Some(Intent::OutOfScope));
        println!(
            "in-scope rejected:        {:.3} ({rejected}/{in_scope_lines}; {low_confidence} of all lines below the confidence threshold)",
            rejected as f64 / in_scope_lines as f64
        );
    }
    let mut order_id_f1 = None;
    if oid_tp + oid_fp + oid_fn > 0 {
        let score = f1(oid_tp, oid_fp, oid_fn);
        order_id_f1 = Some(score);
        println!("order-id f1:              {score:.3} (tp {oid_tp}, fp {oid_fp}, fn {oid_fn})");
    } else {
        println!("order-id f1:              n/a (no order ids)");
    }
    let mut language_accuracy = None;
    if lang_total > 0 {
        let accuracy = lang_right as f64 / lang_total as f64;
        language_accuracy = Some(accuracy);
        println!("language accuracy:        {accuracy:.3} ({lang_right}/{lang_total})");
    }

    if throughput && !lines.is_empty() {
        let started = std::time::Instant::now();
        let mut rounds = 0usize;
        while started.elapsed() < std::time::Duration::from_millis(500) {
            for line in lines {
                std::hint::black_box(interpreter.read(std::hint::black_box(&line.text), None));
            }
            rounds += 1;
        }
        let per_second = (rounds * lines.len()) as f64 / started.elapsed().as_secs_f64();
        println!(
            "throughput:               {per_second:.0} messages/s on one thread (indicative; \
             `cargo bench -p order-agent-core --bench understand` measures it)"
        );
    }

    let labels: Vec<Intent> = labels.into_iter().collect();
    println!("\nconfusion matrix (rows: expected, columns: read)");
    print!("{:<30}", "");
    for (i, _) in labels.iter().enumerate() {
        print!("{:>6}", format!("[{i}]"));
    }
    println!();
    for (i, gold) in labels.iter().enumerate() {
        print!("{:<30}", format!("[{i}] {}", name(*gold)));
        for predicted in &labels {
            print!("{:>6}", count(Some(*gold), Some(*predicted)));
        }
        println!();
    }
    Summary {
        lines: lines.len(),
        macro_f1,
        oos_rejection,
        order_id_f1,
        language_accuracy,
    }
}
