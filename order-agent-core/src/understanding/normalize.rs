//! Normalisation: lower case, accents folded (`ä` → `a`, `ß` → `ss`), words split on anything
//! that is not a letter or a digit. `scripts/train_nlu_weights.py` normalises the same way.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, deterministic hasher for the short ASCII words the model looks up (FxHash's mixing).
/// The maps are built once from the shipped vocabulary and message words are only looked up,
/// never inserted, so a crafted message cannot grow a bucket; SipHash took a tenth of the time
/// of reading a message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by words, hashed with [`WordHasher`].
pub(crate) type WordMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// One word of a message, folded, with its byte range in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Lower-cased, accents folded, ASCII letters and digits only.
    pub(crate) folded: String,
    /// Byte offset of the first character in the original text.
    pub(crate) start: usize,
    /// Byte offset after the last character in the original text.
    pub(crate) end: usize,
}

impl Word {
    /// Whether the word holds a digit (such words are references, not vocabulary).
    pub(crate) fn has_digit(&self) -> bool {
        self.folded.bytes().any(|b| b.is_ascii_digit())
    }
}

/// The folded form of one character: up to two ASCII bytes (`ß` → `ss`), or `None` for a
/// character that is neither a letter nor a digit and so separates words.
pub(crate) fn fold_char(c: char) -> Option<(u8, Option<u8>)> {
    if c.is_ascii() {
        return c
            .is_ascii_alphanumeric()
            .then(|| (c.to_ascii_lowercase() as u8, None));
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    let single = match lower {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => b'a',
        'ç' | 'ć' | 'č' => b'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => b'e',
        'ì' | 'í' | 'î' | 'ï' => b'i',
        'ñ' | 'ń' => b'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => b'o',
        'ù' | 'ú' | 'û' | 'ü' => b'u',
        'ý' | 'ÿ' => b'y',
        'ß' => return Some((b's', Some(b's'))),
        'œ' => return Some((b'o', Some(b'e'))),
        'æ' => return Some((b'a', Some(b'e'))),
        _ => return None,
    };
    Some((single, None))
}

fn push_folded(out: &mut String, (first, second): (u8, Option<u8>)) {
    out.push(char::from(first));
    if let Some(second) = second {
        out.push(char::from(second));
    }
}

/// Splits `text` into folded words.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let mut words = Vec::with_capacity(text.len() / 5 + 1);
    let mut current = String::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match fold_char(c) {
            Some(folded) => {
                if current.is_empty() {
                    start = i;
                    current.reserve(12);
                }
                push_folded(&mut current, folded);
            }
            None => {
                if !current.is_empty() {
                    words.push(Word {
                        folded: std::mem::take(&mut current),
                        start,
                        end: i,
                    });
                }
            }
        }
    }
    if !current.is_empty() {
        words.push(Word {
            folded: current,
            start,
            end: text.len(),
        });
    }
    words
}

/// The folded form of a whole phrase, words joined by single spaces.
pub(crate) fn fold_phrase(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    fold_phrase_into(text, &mut folded);
    folded
}

/// Appends the folded form of `text` (see [`fold_phrase`]) to `out`.
pub(crate) fn fold_phrase_into(text: &str, out: &mut String) {
    let start = out.len();
    let mut pending_space = false;
    for c in text.chars() {
        match fold_char(c) {
            Some(folded) => {
                if pending_space && out.len() > start {
                    out.push(' ');
                }
                pending_space = false;
                push_folded(out, folded);
            }
            None => pending_space = true,
        }
    }
}

/// Damerau–Levenshtein distance (optimal string alignment) between two ASCII words, stopping
/// early above `limit`. Words longer than 31 bytes are only compared for equality.
pub(crate) fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    const MAX: usize = 32;
    let a = a.as_bytes();
    let b = b.as_bytes();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    if a.len() >= MAX || b.len() >= MAX {
        return if a == b { 0 } else { limit + 1 };
    }
    let width = b.len() + 1;
    // Three rolling rows: the one before the previous (for transpositions), the previous, this.
    let mut before = [0usize; MAX];
    let mut previous = [0usize; MAX];
    let mut current = [0usize; MAX];
    for (j, cell) in previous.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return limit + 1;
        }
        before = previous;
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_splits_words() {
        let w = words("Grüß Gott, où est ma COMMANDE #1042?");
        let folded: Vec<&str> = w.iter().map(|w| w.folded.as_str()).collect();
        assert_eq!(
            folded,
            ["gruss", "gott", "ou", "est", "ma", "commande", "1042"]
        );
        assert_eq!(&"Grüß Gott"[w[0].start..w[0].end], "Grüß");
        assert_eq!(fold_phrase("Dov'è il mio ordine?"), "dov e il mio ordine");
    }

    #[test]
    fn measures_edit_distance_with_transpositions() {
        assert_eq!(edit_distance("order", "roder", 2), 1);
        assert_eq!(edit_distance("purchase", "purchaes", 2), 1);
        assert_eq!(edit_distance("track", "teack", 2), 1);
        assert_eq!(edit_distance("cancel", "cancel", 2), 0);
        assert!(edit_distance("refund", "address", 2) > 2);
    }
}
