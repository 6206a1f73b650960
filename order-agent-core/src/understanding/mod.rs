//! Built-in understanding of customer messages: offline, deterministic, in English, German,
//! French and Italian (Swiss usage included).
//!
//! [`interpret`] is a pure function; [`BuiltinInterpreter`] serves it through the
//! [`Interpreter`] port. It reads a message in four steps:
//!
//! 1. **Normalisation**: lower case, accents folded (`Rückgabe` → `ruckgabe`, `ß` → `ss`, so Swiss
//!    spelling without `ß` reads the same), words split on punctuation.
//! 2. **Language**: function words of each language and letters only one of them uses; ties go
//!    to the caller's hint.
//! 3. **Intent**: a linear score per intent from learned English word and word-pair weights
//!    (`learned_en.tsv`, produced by `scripts/train_nlu_weights.py` from the Bitext
//!    customer-support sample, aggregated weights only) plus hand-written phrases in the four
//!    languages (`lexicon.rs`; a phrase may hold stems, `retour*`, and gaps, `send .. back`), with
//!    unknown words read as the known word one edit away. A few rules read the situation: a
//!    status word turns a refund into a refund-status question, "before it ships" turns an
//!    exchange into an order change, a question about a rule is not the action it names. A
//!    softmax turns the scores into a confidence; a message asking for two actions that exclude
//!    each other ("cancel or exchange?") is capped below [`LOW_CONFIDENCE`]; below it the agent
//!    asks or hands over rather than act on a guess.
//! 4. **Entities**: order numbers, emails, phones, postcodes, tracking numbers by shape and the
//!    words around them, a return reason from phrases, and the items named after an article in a
//!    return or exchange message. Every reference is a slice of the message.
//!
//! ```
//! use order_agent_core::domain::Locale;
//! use order_agent_core::ports::Intent;
//! use order_agent_core::understanding::interpret;
//!
//! let reading = interpret("Grüezi, wo isch mini Bestellung 1042?", None);
//! assert_eq!(reading.intent, Intent::Wismo);
//! assert_eq!(reading.language, Locale::De);
//! assert_eq!(reading.entities.order_numbers[0].as_str(), "1042");
//! ```

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::Locale;
use crate::ports::{Entities, Intent, Interpretation, Interpreter, PortResult};

mod entities;
mod intent;
mod language;
mod lexicon;
mod normalize;

/// Below this confidence a reading is a guess: the agent asks a clarifying question or hands over
/// to a human instead of acting on it.
pub const LOW_CONFIDENCE: f32 = 0.6;

/// The confidence of a message that asks for two actions excluding each other ("cancel it or
/// exchange it?"), at most: below [`LOW_CONFIDENCE`], so the agent asks which one is meant.
const CONFLICTING_CONFIDENCE: f32 = 0.45;

/// The built-in interpreter: [`interpret`] behind the [`Interpreter`] port.
///
/// [`BuiltinInterpreter::new`] uses the shipped weights, compiled once per process on first use;
/// [`BuiltinInterpreter::with_learned_weights`] reads other weights in the same format, e.g. ones
/// trained by `scripts/train_nlu_weights.py --holdout` to measure on messages it has not seen.
#[derive(Clone, Default)]
pub struct BuiltinInterpreter {
    custom: Option<Arc<intent::Model>>,
}

impl fmt::Debug for BuiltinInterpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinInterpreter")
            .field("custom_weights", &self.custom.is_some())
            .finish()
    }
}

impl BuiltinInterpreter {
    /// The built-in interpreter with the shipped weights.
    pub fn new() -> BuiltinInterpreter {
        BuiltinInterpreter::default()
    }

    /// The built-in interpreter with the learned English weights in `learned_tsv` (the format
    /// `scripts/train_nlu_weights.py` writes) instead of the shipped ones; lines it cannot read
    /// are skipped.
    pub fn with_learned_weights(learned_tsv: &str) -> BuiltinInterpreter {
        BuiltinInterpreter {
            custom: Some(Arc::new(intent::Model::build(learned_tsv))),
        }
    }

    /// Reads `text` like [`interpret`], with this interpreter's weights.
    pub fn read(&self, text: &str, hint: Option<Locale>) -> Interpretation {
        match &self.custom {
            Some(model) => read_with(model, text, hint),
            None => interpret(text, hint),
        }
    }
}

#[async_trait]
impl Interpreter for BuiltinInterpreter {
    async fn interpret(&self, text: &str, hint: Option<Locale>) -> PortResult<Interpretation> {
        Ok(self.read(text, hint))
    }
}

/// Reads `text`; `hint` is the language expected from the customer's profile, if known.
///
/// Deterministic and free of I/O. Blank text is [`Intent::OutOfScope`] with confidence 0.
pub fn interpret(text: &str, hint: Option<Locale>) -> Interpretation {
    read_with(intent::Model::get(), text, hint)
}

fn read_with(model: &intent::Model, text: &str, hint: Option<Locale>) -> Interpretation {
    if text.trim().is_empty() {
        return Interpretation {
            intent: Intent::OutOfScope,
            confidence: 0.0,
            language: hint.unwrap_or_default(),
            entities: Entities::default(),
        };
    }
    let words = normalize::words(text);
    let language = language::detect(text, &words, hint);
    let tokens: Vec<&str> = words
        .iter()
        .filter(|w| !w.has_digit())
        .map(|w| model.correct(&w.folded))
        .collect();
    let reading = model.read(&tokens, language == Locale::En);
    let (intent, mut confidence) = intent::decide(&reading.scores);
    if reading.conflicting {
        confidence = confidence.min(CONFLICTING_CONFIDENCE);
    }
    Interpretation {
        intent,
        confidence,
        language,
        entities: entities::extract(text, &tokens, reading.reason),
    }
}

/// Whether a reading is confident enough to act on (see [`LOW_CONFIDENCE`]).
pub fn is_confident(reading: &Interpretation) -> bool {
    reading.intent != Intent::OutOfScope && reading.confidence >= LOW_CONFIDENCE
}
