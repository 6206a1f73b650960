//! Intent classification: a linear model over words, word pairs and hand-written phrases, read
//! through a softmax into a confidence.
//!
//! Score of an intent = learned English weights of the message's words and word pairs
//! (`learned_en.tsv`, produced by `scripts/train_nlu_weights.py`) + the weights of the hand-written
//! phrases it contains ([`super::lexicon`]) + a constant floor for [`Intent::OutOfScope`], so that
//! a message without evidence reads as out of scope with a low confidence. Unknown words within
//! one edit (two for long words) of a known word are read as that word.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::ports::Intent;

use super::lexicon::{INTENT_PHRASES, REASON_PHRASES, STATUS_WORDS};
use super::normalize::{edit_distance, fold_phrase};

const INTENTS: usize = Intent::ALL.len();
const OUT_OF_SCOPE_FLOOR: f32 = 1.0;
const REFUND_STATUS_BOOST: f32 = 7.0;
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

/// A phrase compiled into its words; a word with `prefix` matches any word starting with it.
#[derive(Debug)]
pub(crate) struct Pattern {
    words: Vec<(String, bool)>,
}

impl Pattern {
    fn compile(phrase: &str) -> Pattern {
        let words = phrase
            .split_whitespace()
            .map(|w| match w.strip_suffix('*') {
                Some(stem) => (fold_phrase(stem), true),
                None => (fold_phrase(w), false),
            })
            .collect();
        Pattern { words }
    }

    fn matches_at(&self, tokens: &[&str], at: usize) -> bool {
        self.words.len() + at <= tokens.len()
            && self
                .words
                .iter()
                .zip(&tokens[at..])
                .all(|((word, prefix), token)| {
                    if *prefix {
                        token.starts_with(word.as_str())
                    } else {
                        word == token
                    }
                })
    }

    /// Whether the phrase occurs in `tokens`.
    pub(crate) fn occurs_in(&self, tokens: &[&str]) -> bool {
        (0..tokens.len()).any(|at| self.matches_at(tokens, at))
    }
}

/// Everything compiled once: learned weights, phrases, the vocabulary for typo tolerance.
#[derive(Debug)]
pub(crate) struct Model {
    learned: HashMap<String, [f32; INTENTS]>,
    phrases: Vec<(usize, f32, Pattern)>,
    /// Phrase indices by exact first word; phrases starting with a prefix word are in `by_prefix`.
    by_first_word: HashMap<String, Vec<usize>>,
    by_prefix: Vec<usize>,
    pub(crate) reasons: Vec<(crate::domain::ReturnReason, Vec<Pattern>)>,
    known: HashSet<String>,
    stems: Vec<String>,
    vocabulary: Vec<String>,
    deletions: HashMap<String, Vec<u32>>,
}

fn parse_learned(text: &str) -> HashMap<String, [f32; INTENTS]> {
    let mut learned = HashMap::new();
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

fn deletions_of(word: &str) -> impl Iterator<Item = String> + '_ {
    (0..word.len()).map(move |i| {
        let mut shorter = String::with_capacity(word.len());
        shorter.push_str(&word[..i]);
        shorter.push_str(&word[i + 1..]);
        shorter
    })
}

impl Model {
    /// Compiles the phrases with the learned weights in `learned_tsv` (the format of
    /// `learned_en.tsv`; lines it cannot read are skipped).
    pub(crate) fn build(learned_tsv: &str) -> Model {
        let learned = parse_learned(learned_tsv);
        let mut phrases = Vec::new();
        for (intent, weight, list) in INTENT_PHRASES {
            for phrase in *list {
                phrases.push((
                    slot(*intent),
                    *weight * PHRASE_SCALE,
                    Pattern::compile(phrase),
                ));
            }
        }
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_prefix = Vec::new();
        let mut known: HashSet<String> = HashSet::new();
        let mut stems = Vec::new();
        for (i, (_, _, pattern)) in phrases.iter().enumerate() {
            if let Some((first, prefix)) = pattern.words.first() {
                if *prefix {
                    by_prefix.push(i);
                } else {
                    by_first_word.entry(first.clone()).or_default().push(i);
                }
            }
        }
        let reasons: Vec<_> = REASON_PHRASES
            .iter()
            .map(|(reason, list)| (*reason, list.iter().map(|p| Pattern::compile(p)).collect()))
            .collect();
        let all_patterns = phrases.iter().map(|(_, _, p)| p).chain(
            reasons
                .iter()
                .flat_map(|(_, ps): &(_, Vec<Pattern>)| ps.iter()),
        );
        for pattern in all_patterns {
            for (word, prefix) in &pattern.words {
                if *prefix {
                    stems.push(word.clone());
                } else {
                    known.insert(word.clone());
                }
            }
        }
        for feature in learned.keys() {
            if !feature.contains(' ') {
                known.insert(feature.clone());
            }
        }
        for word in STATUS_WORDS {
            known.insert((*word).to_owned());
        }
        let mut vocabulary: Vec<String> = known.iter().filter(|w| w.len() >= 3).cloned().collect();
        vocabulary.sort();
        for (_, words) in super::language::marker_words() {
            for word in words.iter() {
                known.insert((*word).to_owned());
            }
        }
        let mut deletions: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, word) in vocabulary.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            deletions.entry(word.clone()).or_default().push(i);
            for shorter in deletions_of(word) {
                deletions.entry(shorter).or_default().push(i);
            }
        }
        stems.sort();
        stems.dedup();
        Model {
            learned,
            phrases,
            by_first_word,
            by_prefix,
            reasons,
            known,
            stems,
            vocabulary,
            deletions,
        }
    }

    /// The model, compiled on first use.
    pub(crate) fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::build(LEARNED_EN))
    }

    /// `word`, or the known word it is a typo of.
    pub(crate) fn correct<'a>(&'a self, word: &'a str) -> &'a str {
        if word.len() < 4
            || self.known.contains(word)
            || self.stems.iter().any(|s| word.starts_with(s.as_str()))
        {
            return word;
        }
        let limit = if word.len() >= 8 { 2 } else { 1 };
        let mut best: Option<(usize, u32)> = None;
        let mut consider = |candidates: Option<&Vec<u32>>| {
            for &i in candidates.into_iter().flatten() {
                let Some(candidate) = self.vocabulary.get(i as usize) else {
                    continue;
                };
                let distance = edit_distance(word, candidate, limit);
                if distance <= limit && best.is_none_or(|(d, j)| (distance, i) < (d, j)) {
                    best = Some((distance, i));
                }
            }
        };
        consider(self.deletions.get(word));
        for shorter in deletions_of(word) {
            consider(self.deletions.get(&shorter));
        }
        match best.and_then(|(_, i)| self.vocabulary.get(i as usize)) {
            Some(candidate) => candidate,
            None => word,
        }
    }

    /// The intent scores of a message given as corrected words (digits removed).
    ///
    /// The learned weights are English: they only apply when `english` is true.
    pub(crate) fn scores(&self, tokens: &[&str], english: bool) -> [f32; INTENTS] {
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
        let mut matched = vec![false; self.phrases.len()];
        for at in 0..tokens.len() {
            let candidates = self
                .by_first_word
                .get(tokens[at])
                .into_iter()
                .flatten()
                .chain(self.by_prefix.iter());
            for &p in candidates {
                if matched[p] {
                    continue;
                }
                if let Some((intent, weight, pattern)) = self.phrases.get(p) {
                    if pattern.matches_at(tokens, at) {
                        matched[p] = true;
                        scores[*intent] += weight;
                    }
                }
            }
        }
        let policy_slot = slot(Intent::PolicyQuestion);
        let rule_question = matched
            .iter()
            .zip(&self.phrases)
            .any(|(m, (intent, weight, _))| {
                *m && *intent == policy_slot && *weight >= RULE_QUESTION_WEIGHT * PHRASE_SCALE
            });
        if rule_question {
            for (intent, penalty) in RULE_QUESTION_PENALTY {
                scores[slot(intent)] -= penalty;
            }
        }
        let refund_slot = slot(Intent::RefundRequest);
        let refund = matched
            .iter()
            .zip(&self.phrases)
            .any(|(m, (intent, _, _))| *m && *intent == refund_slot);
        let status = tokens.iter().any(|t| STATUS_WORDS.contains(t));
        if refund && status {
            scores[slot(Intent::RefundStatus)] += REFUND_STATUS_BOOST;
            scores[slot(Intent::Wismo)] -= REFUND_WISMO_PENALTY;
        }
        scores
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
