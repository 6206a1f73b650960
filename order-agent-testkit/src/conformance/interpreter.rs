//! The [`Interpreter`] conformance suite.

use order_agent_core::domain::Locale;
use order_agent_core::ports::language::normalize_reference;
use order_agent_core::ports::{Intent, Interpretation, Interpreter};

use super::{ensure, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// Messages to read.
#[derive(Debug, Clone)]
pub struct InterpreterFixture {
    /// Messages with the intent any adequate interpreter reads in them. Used for the intent check
    /// and, with [`PROBES`], for the range and extractive checks.
    pub labelled: Vec<(String, Intent)>,
}

/// Messages full of references, in the four languages, for the extractive check.
pub const PROBES: &[&str] = &[
    "Where is my order #1042? My email is Anna.Muster@example.ch and my phone +41 79 123 45 67.",
    "Wo ist mein Paket 99.60.123456.12345678? Bestellung #2001, PLZ 8004.",
    "Je voudrais retourner la commande #1001, le pull est trop petit.",
    "Il mio ordine #1003 non è ancora arrivato, CAP 6900.",
    "I want to speak to a human about 1Z999AA10123456784 now.",
    "asdf qwerty 12",
];

/// A fixture with one plain example per common intent.
pub fn sample() -> InterpreterFixture {
    let labelled = [
        ("Where is my order #1042?", Intent::Wismo),
        (
            "I would like to return the sweater from order #1001",
            Intent::Return,
        ),
        ("Please cancel my order #1002", Intent::CancelOrder),
        ("Where is my refund for order #1001?", Intent::RefundStatus),
        ("I want to speak to a human", Intent::HumanEscalation),
        (
            "Bitte stornieren Sie meine Bestellung #1002",
            Intent::CancelOrder,
        ),
    ];
    InterpreterFixture {
        labelled: labelled
            .into_iter()
            .map(|(text, intent)| (text.to_owned(), intent))
            .collect(),
    }
}

/// Runs every interpreter check.
pub async fn run_all(
    interpreter: &dyn Interpreter,
    fixture: &InterpreterFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("interpreter");
    runner
        .check(confidence_is_between_zero_and_one(interpreter, fixture))
        .await;
    runner
        .check(entities_occur_in_the_text(interpreter, fixture))
        .await;
    runner.check(blank_text_is_out_of_scope(interpreter)).await;
    runner
        .check(labelled_intents_are_read(interpreter, fixture))
        .await;
    runner.finish()
}

fn texts(f: &InterpreterFixture) -> impl Iterator<Item = &str> {
    PROBES
        .iter()
        .copied()
        .chain(f.labelled.iter().map(|(t, _)| t.as_str()))
}

async fn read(
    check: &'static str,
    interpreter: &dyn Interpreter,
    text: &str,
) -> Result<Interpretation, ConformanceFailure> {
    ok(
        check,
        "interpret",
        interpreter.interpret(text, Some(Locale::En)).await,
    )
}

/// Confidence is a number from 0 to 1.
pub async fn confidence_is_between_zero_and_one(
    interpreter: &dyn Interpreter,
    f: &InterpreterFixture,
) -> CheckResult {
    const CHECK: &str = "interpreter.confidence_is_between_zero_and_one";
    for text in texts(f) {
        let reading = read(CHECK, interpreter, text).await?;
        ensure!(
            CHECK,
            (0.0..=1.0).contains(&reading.confidence),
            "confidence {} for `{text}`",
            reading.confidence
        );
    }
    Ok(())
}

/// Every reference returned occurs in the text: nothing is invented.
pub async fn entities_occur_in_the_text(
    interpreter: &dyn Interpreter,
    f: &InterpreterFixture,
) -> CheckResult {
    const CHECK: &str = "interpreter.entities_occur_in_the_text";
    for text in texts(f) {
        let reading = read(CHECK, interpreter, text).await?;
        let haystack = normalize_reference(text);
        let e = &reading.entities;
        let references = e
            .order_numbers
            .iter()
            .map(|n| n.as_str())
            .chain(e.emails.iter().map(String::as_str))
            .chain(e.phones.iter().map(String::as_str))
            .chain(e.postcodes.iter().map(String::as_str))
            .chain(e.tracking_numbers.iter().map(|t| t.as_str()));
        for reference in references {
            let needle = normalize_reference(reference);
            ensure!(
                CHECK,
                !needle.is_empty() && haystack.contains(&needle),
                "`{reference}` does not occur in `{text}`"
            );
        }
    }
    Ok(())
}

/// Empty or blank text is out of scope with confidence 0, not an error.
pub async fn blank_text_is_out_of_scope(interpreter: &dyn Interpreter) -> CheckResult {
    const CHECK: &str = "interpreter.blank_text_is_out_of_scope";
    for text in ["", "   \n\t"] {
        let reading = read(CHECK, interpreter, text).await?;
        ensure!(
            CHECK,
            reading.intent == Intent::OutOfScope && reading.confidence == 0.0,
            "blank text read as {:?} with confidence {}",
            reading.intent,
            reading.confidence
        );
    }
    Ok(())
}

/// The fixture's labelled messages are read with their intent.
pub async fn labelled_intents_are_read(
    interpreter: &dyn Interpreter,
    f: &InterpreterFixture,
) -> CheckResult {
    const CHECK: &str = "interpreter.labelled_intents_are_read";
    for (text, intent) in &f.labelled {
        let reading = read(CHECK, interpreter, text).await?;
        ensure!(
            CHECK,
            reading.intent == *intent,
            "`{text}` read as {:?}, expected {intent:?}",
            reading.intent
        );
    }
    Ok(())
}
