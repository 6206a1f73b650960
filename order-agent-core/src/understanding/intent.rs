//! Intent classification: a linear model over words, word pairs and hand-written phrases, read
//! through a softmax into a confidence.
//!
//! Score of an intent = learned English weights of the message's words and word pairs
//! (`learned_en.tsv`, produced by `scripts/train_nlu_weights.py`) + the weights of the hand-written
//! phrases it contains ([`super::lexicon`]) + a constant floor for [`Intent::OutOfScope`], so that
//! a message without evidence reads as out of scope with a low confidence, then a few rules on
//! what the phrases found (a refund with a status word, a rule question, "before it ships", two
//! actions that exclude each other). Unknown words within one edit (two for long words) of a
//! known word are read as that word, preferring one with the same first two letters.
//!
//! Speed: phrases are indexed by their first word, or by the first two letters of a leading
//! stem, and one pass over the words finds both the intent phrases and the return reasons.

use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::domain::ReturnReason;
use crate::ports::Intent;

use super::lexicon::{
    BEFORE_SHIPPING_PHRASES, INTENT_PHRASES, NOT_TYPOS, REASON_PHRASES, SPELLINGS, STATUS_WORDS,
};
use super::normalize::{edit_distance, fold_phrase, WordHasher, WordMap};

const INTENTS: usize = Intent::ALL.len();
const OUT_OF_SCOPE_FLOOR: f32 = 1.0;
/// Added to the larger of the refund-status and refund-request scores when a refund word meets a
/// status word ("where", "still", "wann").
const REFUND_STATUS_BOOST: f32 = 4.0;
/// After a status word, these make a question of how to do something, not of where it stands.
const HOW_TO_VERBS: &[&str] = &[
    "can", "do", "should", "kann", "muss", "soll", "puis", "dois", "peut", "posso", "devo", "si",
];
/// "I returned it, where is my money" asks about the refund, not for a return.
const REFUND_RETURN_PENALTY: f32 = 3.0;
/// "Before it ships" turns a change of size or colour into a change of the order.
const BEFORE_SHIPPING_WEIGHT: f32 = 2.0;
const BEFORE_SHIPPING_PENALTY: f32 = 4.0;
/// A refund question is not a parcel question, whatever words it shares with one.
const REFUND_WISMO_PENALTY: f32 = 6.0;
/// A decisive question about a rule ("how long do I have to return") is not the action it names.
const RULE_QUESTION_WEIGHT: f32 = 7.0;
const RULE_QUESTION_PENALTY: [(Intent, f32); 4] = [
    (Intent::Return, 6.0),
    (Intent::Exchange, 6.0),
    (Intent::RefundRequest, 3.0),
    (Intent::CancelOrder, 3.0),
];
/// Phrase weights are written on a scale where 4 is decisive; this brings them to the scale of the
/// learned weights, so that one decisive phrase alone reads with a confidence above 0.8.
const PHRASE_SCALE: f32 = 1.3;
const LEARNED_EN: &str = include_str!("learned_en.tsv");

pub(crate) fn slot(intent: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|i| *i == intent)
        .unwrap_or(INTENTS - 1)
}

fn intent_named(name: &str) -> Option<Intent> {
    Intent::ALL.into_iter().find(|i| {
        serde_json::to_value(i)
            .ok()
            .as_ref()
            .and_then(|v| v.as_str())
            == Some(name)
    })
}

/// One part of a compiled phrase.
#[derive(Debug)]
enum Part {
    /// A whole word.
    Word(String),
    /// Any word starting with this stem (`stem*`).
    Prefix(String),
    /// Up to this many words of anything (`..`).
    Gap(usize),
}

/// Most words a `..` in a phrase skips.
const GAP: usize = 4;

/// A phrase compiled into its parts: words, stems (`retour*`) and gaps (`send .. back`).
#[derive(Debug)]
pub(crate) struct Pattern {
    parts: Vec<Part>,
}

impl Pattern {
    fn compile(phrase: &str) -> Pattern {
        let parts = phrase
            .split_whitespace()
            .map(|w| {
                if w == ".." {
                    Part::Gap(GAP)
                } else if let Some(stem) = w.strip_suffix('*') {
                    Part::Prefix(fold_phrase(stem))
                } else {
                    Part::Word(fold_phrase(w))
                }
            })
            .collect();
        Pattern { parts }
    }

    fn first(&self) -> Option<&Part> {
        self.parts.first()
    }

    fn matches_at(&self, tokens: &[&str], at: usize) -> bool {
        parts_match(&self.parts, tokens.get(at..).unwrap_or_default())
    }
}

fn parts_match(parts: &[Part], tokens: &[&str]) -> bool {
    let Some((part, rest)) = parts.split_first() else {
        return true;
    };
    match part {
        Part::Gap(most) => {
            (0..=(*most).min(tokens.len())).any(|skip| parts_match(rest, &tokens[skip..]))
        }
        Part::Word(word) => tokens
            .split_first()
            .is_some_and(|(t, more)| word == t && parts_match(rest, more)),
        Part::Prefix(stem) => tokens
            .split_first()
            .is_some_and(|(t, more)| t.starts_with(stem.as_str()) && parts_match(rest, more)),
    }
}

/// What a matched phrase is evidence of.
#[derive(Debug, Clone, Copy)]
enum Evidence {
    Intent {
        slot: usize,
        weight: f32,
    },
    /// The order has not shipped yet: a change of item is an order change, not an exchange.
    BeforeShipping,
    /// A return reason, by its rank in [`REASON_PHRASES`] (lower is more specific).
    Reason(usize),
}

#[derive(Debug)]
struct Phrase {
    evidence: Evidence,
    pattern: Pattern,
}

/// What the phrases and learned weights say about a message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// One score per intent, in the order of [`Intent::ALL`].
    pub(crate) scores: [f32; INTENTS],
    /// The most specific return reason a phrase names.
    pub(crate) reason: Option<ReturnReason>,
    /// Decisive phrases ask for two actions that exclude each other ("cancel or exchange?"):
    /// whatever the scores say, the reading is a guess.
    pub(crate) conflicting: bool,
}

/// A phrase weight from which a phrase alone decides (on the scale of [`super::lexicon`]).
const DECISIVE: f32 = 4.0;
/// Actions one message cannot sensibly ask for together.
const EXCLUSIVE_ACTIONS: [(Intent, Intent); 7] = [
    (Intent::CancelOrder, Intent::Exchange),
    (Intent::CancelOrder, Intent::Return),
    (Intent::CancelOrder, Intent::ChangeShippingAddress),
    (Intent::CancelOrder, Intent::ModifyOrderItems),
    (Intent::Exchange, Intent::RefundRequest),
    (Intent::Exchange, Intent::ChangeShippingAddress),
    (Intent::Return, Intent::ChangeShippingAddress),
];

/// Lists of ids keyed by the first two letters of a stem: a word can only start with the stems
/// filed under its own first two letters.
#[derive(Debug)]
struct StemIndex {
    heads: Vec<Vec<u32>>,
    /// Stems shorter than two letters or not starting with letters: tried for every word.
    others: Vec<u32>,
}

fn head_of(word: &str) -> Option<usize> {
    match word.as_bytes() {
        [a @ b'a'..=b'z', b @ b'a'..=b'z', ..] => {
            Some(usize::from(a - b'a') * 26 + usize::from(b - b'a'))
        }
        _ => None,
    }
}

impl StemIndex {
    fn new() -> StemIndex {
        StemIndex {
            heads: vec![Vec::new(); 26 * 26],
            others: Vec::new(),
        }
    }

    fn insert(&mut self, stem: &str, id: u32) {
        match head_of(stem).and_then(|h| self.heads.get_mut(h)) {
            Some(list) => list.push(id),
            None => self.others.push(id),
        }
    }

    /// The ids of the stems `word` may start with (a superset: callers still check).
    fn candidates<'a>(&'a self, word: &str) -> impl Iterator<Item = u32> + 'a {
        let head: &[u32] = head_of(word)
            .and_then(|h| self.heads.get(h))
            .map_or(&[], Vec::as_slice);
        head.iter().chain(&self.others).copied()
    }
}

/// Everything compiled once: learned weights, phrases, the vocabulary for typo tolerance.
#[derive(Debug)]
pub(crate) struct Model {
    learned: WordMap<String, [f32; INTENTS]>,
    phrases: Vec<Phrase>,
    /// Phrase ids by exact first word; phrases starting with a prefix word by its first letters.
    by_first_word: WordMap<String, Vec<u32>>,
    by_prefix: StemIndex,
    known: WordSet,
    stems: Vec<String>,
    stem_index: StemIndex,
    status_words: WordSet,
    vocabulary: Vec<String>,
    deletions: WordMap<String, Vec<u32>>,
}

type WordSet = std::collections::HashSet<String, BuildHasherDefault<WordHasher>>;

fn parse_learned(text: &str) -> WordMap<String, [f32; INTENTS]> {
    let mut learned = WordMap::default();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((feature, weights)) = line.split_once('\t') else {
            continue;
        };
        let mut row = [0.0f32; INTENTS];
        for pair in weights.split(',') {
            let Some((name, weight)) = pair.split_once(':') else {
                continue;
            };
            if let (Some(intent), Ok(weight)) = (intent_named(name), weight.parse::<f32>()) {
                row[slot(intent)] = weight;
            }
        }
        learned.insert(feature.to_owned(), row);
    }
    learned
}

/// `word` without its byte at `i`, written into `out`.
fn deletion_into(word: &str, i: usize, out: &mut String) {
    out.clear();
    out.push_str(word.get(..i).unwrap_or_default());
    out.push_str(word.get(i + 1..).unwrap_or_default());
}

fn same_head(a: &str, b: &str) -> bool {
    a.as_bytes().get(..2) == b.as_bytes().get(..2)
}

fn id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Model {
    /// Compiles the phrases with the learned weights in `learned_tsv` (the format of
    /// `learned_en.tsv`; lines it cannot read are skipped).
    pub(crate) fn build(learned_tsv: &str) -> Model {
        let learned = parse_learned(learned_tsv);
        let mut phrases = Vec::new();
        for (intent, weight, list) in INTENT_PHRASES {
            for phrase in *list {
                phrases.push(Phrase {
                    evidence: Evidence::Intent {
                        slot: slot(*intent),
                        weight: *weight * PHRASE_SCALE,
                    },
                    pattern: Pattern::compile(phrase),
                });
            }
        }
        for phrase in BEFORE_SHIPPING_PHRASES {
            phrases.push(Phrase {
                evidence: Evidence::BeforeShipping,
                pattern: Pattern::compile(phrase),
            });
        }
        for (rank, (_, list)) in REASON_PHRASES.iter().enumerate() {
            for phrase in *list {
                phrases.push(Phrase {
                    evidence: Evidence::Reason(rank),
                    pattern: Pattern::compile(phrase),
                });
            }
        }
        let mut by_first_word: WordMap<String, Vec<u32>> = WordMap::default();
        let mut by_prefix = StemIndex::new();
        let mut known = WordSet::default();
        let mut stems = Vec::new();
        for (i, phrase) in phrases.iter().enumerate() {
            match phrase.pattern.first() {
                Some(Part::Word(first)) => {
                    by_first_word.entry(first.clone()).or_default().push(id(i));
                }
                Some(Part::Prefix(stem)) => by_prefix.insert(stem, id(i)),
                // A phrase never starts with a gap: `..` alone would match everywhere.
                Some(Part::Gap(_)) | None => {}
            }
            for part in &phrase.pattern.parts {
                match part {
                    Part::Word(word) => {
                        known.insert(word.clone());
                    }
                    Part::Prefix(stem) => stems.push(stem.clone()),
                    Part::Gap(_) => {}
                }
            }
        }
        for feature in learned.keys() {
            if !feature.contains(' ') {
                known.insert(feature.clone());
            }
        }
        for word in STATUS_WORDS.iter().chain(SPELLINGS) {
            known.insert((*word).to_owned());
        }
        let mut vocabulary: Vec<String> = known.iter().filter(|w| w.len() >= 3).cloned().collect();
        vocabulary.sort();
        for word in NOT_TYPOS {
            known.insert((*word).to_owned());
        }
        for (_, words) in super::language::marker_words() {
            for word in words.iter() {
                known.insert((*word).to_owned());
            }
        }
        let mut deletions: WordMap<String, Vec<u32>> = WordMap::default();
        let mut shorter = String::new();
        for (i, word) in vocabulary.iter().enumerate() {
            deletions.entry(word.clone()).or_default().push(id(i));
            for at in 0..word.len() {
                deletion_into(word, at, &mut shorter);
                deletions.entry(shorter.clone()).or_default().push(id(i));
            }
        }
        stems.sort();
        stems.dedup();
        let mut stem_index = StemIndex::new();
        for (i, stem) in stems.iter().enumerate() {
            stem_index.insert(stem, id(i));
        }
        Model {
            learned,
            phrases,
            by_first_word,
            by_prefix,
            known,
            stems,
            stem_index,
            status_words: STATUS_WORDS.iter().map(|w| (*w).to_owned()).collect(),
            vocabulary,
            deletions,
        }
    }

    /// The model, compiled on first use.
    pub(crate) fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::build(LEARNED_EN))
    }

    fn starts_with_stem(&self, word: &str) -> bool {
        self.stem_index.candidates(word).any(|i| {
            self.stems
                .get(i as usize)
                .is_some_and(|s| word.starts_with(s.as_str()))
        })
    }

    /// `word`, or the known word it is a typo of.
    pub(crate) fn correct<'a>(&'a self, word: &'a str) -> &'a str {
        if word.len() < 4 || self.known.contains(word) || self.starts_with_stem(word) {
            return word;
        }
        let limit = if word.len() >= 8 { 2 } else { 1 };
        let mut best: Option<(usize, bool, u32)> = None;
        let mut consider = |candidates: Option<&Vec<u32>>| {
            for &i in candidates.into_iter().flatten() {
                let Some(candidate) = self.vocabulary.get(i as usize) else {
                    continue;
                };
                let distance = edit_distance(word, candidate, limit);
                // Typos rarely touch the first two letters: among equally near words, prefer
                // one that starts like the typo (`coli` is `colis`, not `chli`).
                let rank = (distance, !same_head(word, candidate), i);
                if distance <= limit && best.is_none_or(|b| rank < b) {
                    best = Some(rank);
                }
            }
        };
        consider(self.deletions.get(word));
        let mut shorter = String::with_capacity(word.len());
        for at in 0..word.len() {
            deletion_into(word, at, &mut shorter);
            consider(self.deletions.get(shorter.as_str()));
        }
        match best.and_then(|(_, _, i)| self.vocabulary.get(i as usize)) {
            Some(candidate) => candidate,
            None => word,
        }
    }

    /// Whether a status word asks where or when something is; "where can I get my money back"
    /// asks how to get it.
    fn asks_status(&self, tokens: &[&str]) -> bool {
        tokens.iter().enumerate().any(|(i, t)| {
            self.status_words.contains(*t)
                && !tokens
                    .get(i + 1)
                    .is_some_and(|next| HOW_TO_VERBS.contains(next))
        })
    }

    /// The intent scores and return reason of a message given as corrected words (digits
    /// removed).
    ///
    /// The learned weights are English: they only apply when `english` is true.
    pub(crate) fn read(&self, tokens: &[&str], english: bool) -> Reading {
        let mut scores = [0.0f32; INTENTS];
        let mut pair = String::new();
        let learned_tokens = if english { tokens } else { &[] };
        for (i, token) in learned_tokens.iter().enumerate() {
            if let Some(row) = self.learned.get(*token) {
                add(&mut scores, row);
            }
            if let Some(next) = learned_tokens.get(i + 1) {
                pair.clear();
                pair.push_str(token);
                pair.push(' ');
                pair.push_str(next);
                if let Some(row) = self.learned.get(pair.as_str()) {
                    add(&mut scores, row);
                }
            }
        }
        // The English data has no return or exchange messages: to the learned model they look
        // like anything else it does not handle, so they start from the out-of-scope score.
        let other = scores[slot(Intent::OutOfScope)];
        scores[slot(Intent::Return)] = other;
        scores[slot(Intent::Exchange)] = other;
        scores[slot(Intent::OutOfScope)] += OUT_OF_SCOPE_FLOOR;
        let policy_slot = slot(Intent::PolicyQuestion);
        let refund_slot = slot(Intent::RefundRequest);
        let mut matched: SmallVec<[u32; 16]> = SmallVec::new();
        let mut rule_question = false;
        let mut refund = false;
        let mut reason_rank: Option<usize> = None;
        let mut before_shipping = false;
        let mut decisive = [false; INTENTS];
        for (at, token) in tokens.iter().enumerate() {
            let exact: &[u32] = self.by_first_word.get(*token).map_or(&[], Vec::as_slice);
            for p in exact
                .iter()
                .copied()
                .chain(self.by_prefix.candidates(token))
            {
                if matched.contains(&p) {
                    continue;
                }
                let Some(phrase) = self.phrases.get(p as usize) else {
                    continue;
                };
                if !phrase.pattern.matches_at(tokens, at) {
                    continue;
                }
                matched.push(p);
                match phrase.evidence {
                    Evidence::Intent { slot, weight } => {
                        scores[slot] += weight;
                        decisive[slot] |= weight >= DECISIVE * PHRASE_SCALE;
                        rule_question |=
                            slot == policy_slot && weight >= RULE_QUESTION_WEIGHT * PHRASE_SCALE;
                        refund |= slot == refund_slot;
                    }
                    Evidence::BeforeShipping => before_shipping = true,
                    Evidence::Reason(rank) => {
                        reason_rank = Some(reason_rank.map_or(rank, |r| r.min(rank)));
                    }
                }
            }
        }
        if rule_question {
            for (intent, penalty) in RULE_QUESTION_PENALTY {
                scores[slot(intent)] -= penalty;
            }
        }
        if refund && self.asks_status(tokens) {
            // However many refund words stack up, asking where it is makes it a status question.
            let status = slot(Intent::RefundStatus);
            scores[status] = scores[status].max(scores[refund_slot]) + REFUND_STATUS_BOOST;
            scores[slot(Intent::Wismo)] -= REFUND_WISMO_PENALTY;
            scores[slot(Intent::Return)] -= REFUND_RETURN_PENALTY;
        }
        if before_shipping {
            // The evidence for an exchange is evidence for changing the order's items.
            let exchange = slot(Intent::Exchange);
            let moved = scores[exchange].max(0.0);
            scores[slot(Intent::ModifyOrderItems)] += moved + BEFORE_SHIPPING_WEIGHT * PHRASE_SCALE;
            scores[exchange] -= moved;
            for intent in [Intent::Exchange, Intent::Return, Intent::Wismo] {
                scores[slot(intent)] -= BEFORE_SHIPPING_PENALTY;
            }
        }
        let conflicting = EXCLUSIVE_ACTIONS
            .iter()
            .any(|(a, b)| decisive[slot(*a)] && decisive[slot(*b)]);
        Reading {
            conflicting,
            scores,
            reason: reason_rank
                .and_then(|rank| REASON_PHRASES.get(rank))
                .map(|(reason, _)| *reason),
        }
    }
}

fn add(scores: &mut [f32; INTENTS], row: &[f32; INTENTS]) {
    for (s, w) in scores.iter_mut().zip(row) {
        *s += w;
    }
}

/// The most likely intent and its softmax probability; ties go to the earlier intent in
/// [`Intent::ALL`].
pub(crate) fn decide(scores: &[f32; INTENTS]) -> (Intent, f32) {
    let mut best = INTENTS - 1;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] || (*s == scores[best] && i < best) {
            best = i;
        }
    }
    let top = scores[best];
    let total: f32 = scores.iter().map(|s| (s - top).exp()).sum();
    let confidence = if total.is_finite() && total > 0.0 {
        (1.0 / total).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (Intent::ALL[best], confidence)
}
