//! A rule-based interpreter: keywords in English, German, French and Italian.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::{Locale, OrderNumber, ReturnReason, TrackingNumber};
use order_agent_core::ports::language::ops;
use order_agent_core::ports::{Entities, Intent, Interpretation, Interpreter, PortResult};
use serde_json::json;

use super::faults::{instrumented, lock, Instrumentation};

/// An interpreter that reads messages with keyword rules, or answers what the test scripted for
/// an exact text.
///
/// Entities are extracted by shape: `#1042` is an order number, a word with `@` an email, `+41 79
/// …` a phone, a 4–5 digit number a postcode, and `99.00.123456` or a long letter-digit code a
/// tracking number.
#[derive(Debug, Default)]
pub struct FakeInterpreter {
    scripted: Mutex<BTreeMap<String, Interpretation>>,
    instrumentation: Instrumentation,
}

instrumented!(FakeInterpreter);

impl FakeInterpreter {
    /// An interpreter using only its rules.
    pub fn new() -> FakeInterpreter {
        FakeInterpreter::default()
    }

    /// Answers `interpretation` for exactly `text`.
    #[must_use]
    pub fn with_reply(self, text: &str, interpretation: Interpretation) -> FakeInterpreter {
        lock(&self.scripted).insert(text.to_owned(), interpretation);
        self
    }
}

#[async_trait]
impl Interpreter for FakeInterpreter {
    async fn interpret(&self, text: &str, hint: Option<Locale>) -> PortResult<Interpretation> {
        self.instrumentation
            .call(
                ops::INTERPRET,
                json!({ "text": text, "hint": hint }),
                |_| {
                    if let Some(scripted) = lock(&self.scripted).get(text) {
                        return Ok(scripted.clone());
                    }
                    Ok(interpret_by_rules(text, hint))
                },
            )
            .await
    }
}

/// The rules behind [`FakeInterpreter`], usable on their own.
pub fn interpret_by_rules(text: &str, hint: Option<Locale>) -> Interpretation {
    if text.trim().is_empty() {
        return Interpretation {
            intent: Intent::OutOfScope,
            confidence: 0.0,
            language: hint.unwrap_or_default(),
            entities: Entities::default(),
        };
    }
    let lower = text.to_lowercase();
    let intent = classify(&lower);
    Interpretation {
        intent,
        confidence: if intent == Intent::OutOfScope {
            0.3
        } else {
            0.9
        },
        language: detect_language(&lower, hint),
        entities: extract_entities(text, &lower),
    }
}

const RULES: &[(Intent, &[&str])] = &[
    (
        Intent::HumanEscalation,
        &[
            "human",
            "real person",
            "speak to someone",
            "mitarbeiter",
            "mensch",
            "un humain",
            "conseiller",
            "operatore",
            "una persona",
        ],
    ),
    (Intent::CancelOrder, &["cancel", "storn", "annul", "annull"]),
    (
        Intent::ChangeShippingAddress,
        &["address", "adresse", "indirizzo"],
    ),
    (
        Intent::ModifyOrderItems,
        &[
            "change the size",
            "change size",
            "different size",
            "remove the",
            "remove one",
            "andere grösse",
            "andere größe",
            "autre taille",
            "altra taglia",
        ],
    ),
    (
        Intent::Exchange,
        &[
            "exchange",
            "swap",
            "umtausch",
            "tauschen",
            "échange",
            "echanger",
            "échanger",
            "cambio",
            "cambiare",
        ],
    ),
    (
        Intent::Return,
        &[
            "return",
            "send back",
            "send it back",
            "zurücksenden",
            "rücksendung",
            "retourn",
            "retour",
            "renvoyer",
            "reso",
            "restituire",
        ],
    ),
    (
        Intent::Wismo,
        &[
            "where is",
            "where's",
            "tracking",
            "track my",
            "not arrived",
            "hasn't arrived",
            "wo ist",
            "wo bleibt",
            "sendung",
            "lieferung",
            "où est",
            "colis",
            "suivi",
            "dov'è",
            "dove è",
            "spedizione",
            "pacco",
        ],
    ),
    (
        Intent::Complaint,
        &[
            "complain",
            "terrible",
            "unacceptable",
            "beschwerde",
            "unverschämt",
            "plainte",
            "inadmissible",
            "reclamo",
            "vergognoso",
        ],
    ),
    (
        Intent::PolicyQuestion,
        &[
            "policy",
            "how long do i have",
            "how many days",
            "shipping cost",
            "wie lange",
            "wie viele tage",
            "combien de jours",
            "politique",
            "quanti giorni",
            "politica",
        ],
    ),
];

const REFUND_WORDS: &[&str] = &[
    "refund",
    "money back",
    "rückerstattung",
    "geld zurück",
    "rembourse",
    "rimbors",
];
const STATUS_WORDS: &[&str] = &[
    "where", "when", "status", "still", "wo ", "wann", "noch", "où", "quand", "toujours", "dove",
    "quando", "ancora",
];

fn contains_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

fn classify(lower: &str) -> Intent {
    let refund = contains_any(lower, REFUND_WORDS);
    for (intent, words) in RULES {
        // A refund question outranks the wismo words ("where is my refund").
        if refund && *intent == Intent::Wismo {
            break;
        }
        if contains_any(lower, words) {
            return *intent;
        }
    }
    if refund {
        if contains_any(lower, STATUS_WORDS) {
            return Intent::RefundStatus;
        }
        return Intent::RefundRequest;
    }
    Intent::OutOfScope
}

fn detect_language(lower: &str, hint: Option<Locale>) -> Locale {
    const MARKERS: &[(Locale, &[&str])] = &[
        (
            Locale::De,
            &[
                "ich",
                "meine",
                "mein",
                "bestellung",
                "und",
                "nicht",
                "ist",
                "wo",
                "bitte",
                "danke",
            ],
        ),
        (
            Locale::Fr,
            &[
                "je", "ma", "mon", "commande", "est", "où", "pas", "le", "la", "merci", "bonjour",
            ],
        ),
        (
            Locale::It,
            &[
                "il",
                "mio",
                "mia",
                "ordine",
                "dove",
                "è",
                "non",
                "ho",
                "grazie",
                "buongiorno",
            ],
        ),
        (
            Locale::En,
            &[
                "my", "the", "is", "where", "order", "i", "please", "thanks", "hello",
            ],
        ),
    ];
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let mut best: Option<(Locale, usize)> = None;
    for (locale, markers) in MARKERS {
        let hits = words.iter().filter(|w| markers.contains(w)).count();
        if hits > 0 && best.is_none_or(|(_, b)| hits > b) {
            best = Some((*locale, hits));
        }
    }
    best.map(|(l, _)| l).or(hint).unwrap_or_default()
}

fn trim_punctuation(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '#' && c != '+')
}

fn extract_entities(text: &str, lower: &str) -> Entities {
    let mut entities = Entities::default();
    for raw in text.split_whitespace() {
        let word = trim_punctuation(raw);
        if let Some(digits) = word.strip_prefix('#') {
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                entities.order_numbers.push(OrderNumber::new(digits));
            }
        } else if word.contains('@') && word.contains('.') {
            entities.emails.push(word.to_lowercase());
        } else if is_tracking_number(word) {
            entities.tracking_numbers.push(TrackingNumber::new(word));
        } else if (4..=5).contains(&word.len()) && word.chars().all(|c| c.is_ascii_digit()) {
            entities.postcodes.push(word.to_owned());
        }
    }
    entities.phones = extract_phones(text);
    entities.return_reason = return_reason(lower);
    entities
}

fn is_tracking_number(word: &str) -> bool {
    let digits = word.chars().filter(|c| c.is_ascii_digit()).count();
    let dotted =
        word.contains('.') && word.chars().all(|c| c.is_ascii_digit() || c == '.') && digits >= 10;
    let code = word.len() >= 10
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && digits >= 8
        && word.chars().any(|c| c.is_ascii_alphabetic());
    dotted || code
}

fn extract_phones(text: &str) -> Vec<String> {
    let mut phones = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '+' {
            continue;
        }
        let mut end = start + 1;
        let mut digits = 0;
        while let Some(&(i, next)) = chars.peek() {
            if next.is_ascii_digit() {
                digits += 1;
                end = i + 1;
                chars.next();
            } else if next == ' ' || next == '-' {
                chars.next();
            } else {
                break;
            }
        }
        if digits >= 8 {
            phones.push(text[start..end].to_owned());
        }
    }
    phones
}

fn return_reason(lower: &str) -> Option<ReturnReason> {
    const REASONS: &[(ReturnReason, &[&str])] = &[
        (
            ReturnReason::Damaged,
            &[
                "damaged",
                "broken",
                "kaputt",
                "beschädigt",
                "endommagé",
                "danneggiato",
            ],
        ),
        (
            ReturnReason::Defective,
            &[
                "defective",
                "doesn't work",
                "does not work",
                "defekt",
                "funktioniert nicht",
                "ne fonctionne pas",
                "non funziona",
            ],
        ),
        (
            ReturnReason::WrongItem,
            &[
                "wrong item",
                "falscher artikel",
                "mauvais article",
                "articolo sbagliato",
            ],
        ),
        (
            ReturnReason::DoesNotFit,
            &[
                "too small",
                "too big",
                "doesn't fit",
                "does not fit",
                "zu klein",
                "zu gross",
                "zu groß",
                "passt nicht",
                "trop petit",
                "trop grand",
                "troppo piccol",
                "troppo grand",
            ],
        ),
        (
            ReturnReason::ChangedMind,
            &[
                "changed my mind",
                "no longer want",
                "don't want",
                "nicht mehr",
            ],
        ),
    ];
    REASONS
        .iter()
        .find(|(_, words)| contains_any(lower, words))
        .map(|(reason, _)| *reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_intents_and_entities() {
        let i = interpret_by_rules("Where is my order #1042? My email is Anna@Example.ch", None);
        assert_eq!(i.intent, Intent::Wismo);
        assert_eq!(i.language, Locale::En);
        assert_eq!(i.entities.order_numbers, vec![OrderNumber::new("1042")]);
        assert_eq!(i.entities.emails, vec!["anna@example.ch".to_owned()]);

        let i = interpret_by_rules("Wo ist meine Rückerstattung für Bestellung #7?", None);
        assert_eq!(i.intent, Intent::RefundStatus);
        assert_eq!(i.language, Locale::De);

        let i = interpret_by_rules("Le pull est trop petit, je voudrais le retourner", None);
        assert_eq!(i.intent, Intent::Return);
        assert_eq!(i.entities.return_reason, Some(ReturnReason::DoesNotFit));
        assert_eq!(i.language, Locale::Fr);

        let i = interpret_by_rules("call me on +41 79 123 45 67, postcode 8004", None);
        assert_eq!(i.entities.phones, vec!["+41 79 123 45 67".to_owned()]);
        assert_eq!(i.entities.postcodes, vec!["8004".to_owned()]);
    }
}
