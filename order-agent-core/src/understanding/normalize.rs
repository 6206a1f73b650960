//! Normalisation: lower case, accents folded (`ä` → `a`, `ß` → `ss`), words split on anything
//! that is not a letter or a digit. `scripts/train_nlu_weights.py` normalises the same way.

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

/// Appends the folded form of `c` to `out`; characters that are neither letters nor digits fold
/// to a space.
pub(crate) fn fold_char(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        let folded = match lower {
            'a'..='z' | '0'..='9' => lower,
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' | 'ń' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            'œ' => {
                out.push_str("oe");
                continue;
            }
            'æ' => {
                out.push_str("ae");
                continue;
            }
            _ => ' ',
        };
        out.push(folded);
    }
}

/// Splits `text` into folded words.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    let mut buffer = String::new();
    for (i, c) in text.char_indices() {
        buffer.clear();
        fold_char(c, &mut buffer);
        for f in buffer.chars() {
            if f == ' ' {
                if !current.is_empty() {
                    words.push(Word {
                        folded: std::mem::take(&mut current),
                        start,
                        end: i,
                    });
                }
            } else {
                if current.is_empty() {
                    start = i;
                }
                current.push(f);
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
    let folded: Vec<String> = words(text).into_iter().map(|w| w.folded).collect();
    folded.join(" ")
}

/// Damerau–Levenshtein distance (optimal string alignment) between two ASCII words, stopping
/// early above `limit`.
pub(crate) fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a = a.as_bytes();
    let b = b.as_bytes();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        let mut row_min = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return limit + 1;
        }
    }
    rows[a.len() * width + b.len()]
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
