//! Entity extraction by shape and context: every reference returned is a slice of the message.

use crate::domain::{OrderNumber, ReturnReason, TrackingNumber};
use crate::ports::Entities;

use super::normalize::{edit_distance, fold_phrase, fold_phrase_into};

/// Words that introduce an order number, folded.
const ORDER_WORDS: &[&str] = &[
    "order",
    "orders",
    "purchase",
    "ordernr",
    "bestellung",
    "bestellnummer",
    "bestellnr",
    "bstellig",
    "bestellig",
    "bschtellig",
    "ordernummer",
    "auftrag",
    "auftragsnummer",
    "commande",
    "ordre",
    "ordine",
    "acquisto",
];
/// Words allowed between an order word and its number (`order number 1042`, `Bestellung Nr. 7`).
const FILLERS: &[&str] = &[
    "number",
    "no",
    "nr",
    "nummer",
    "numero",
    "num",
    "n",
    "id",
    "is",
    "ist",
    "est",
    "e",
    "ref",
    "reference",
    "#",
    "",
];
/// Words that make a `#` number something other than an order.
const NOT_ORDER_WORDS: &[&str] = &[
    "invoice",
    "bill",
    "receipt",
    "rechnung",
    "quittung",
    "facture",
    "recu",
    "fattura",
    "ricevuta",
    "ticket",
    "customer",
    "kunde",
    "kundennummer",
    "client",
    "cliente",
];
const TRACKING_WORDS: &[&str] = &[
    "tracking",
    "trackingnummer",
    "sendungsnummer",
    "paketnummer",
    "suivi",
    "tracciamento",
    "tracking number",
];
const POSTCODE_WORDS: &[&str] = &[
    "plz",
    "postleitzahl",
    "cap",
    "npa",
    "postcode",
    "zip",
    "zipcode",
    "postal",
    "code postal",
    "codice postale",
];
const CURRENCY_WORDS: &[&str] = &[
    "chf", "fr", "sfr", "franken", "francs", "franchi", "eur", "euro", "euros", "usd", "dollar",
    "dollars", "bucks",
];
const PHONE_WORDS: &[&str] = &[
    "phone",
    "tel",
    "telefon",
    "telephone",
    "telefono",
    "natel",
    "handy",
    "mobile",
    "cell",
    "portable",
    "cellulare",
    "call",
    "anrufen",
    "appelez",
    "chiamate",
];
/// Articles after which a return or exchange message names an item.
const ITEM_ARTICLES: &[&str] = &[
    "the", "this", "these", "den", "die", "das", "dem", "diesen", "diese", "le", "la", "les", "ce",
    "cette", "il", "lo", "gli",
];
/// Words that end an item reference.
const ITEM_STOPS: &[&str] = &[
    "from", "of", "in", "because", "since", "is", "was", "that", "which", "and", "but", "to",
    "for", "with", "it", "as", "back", "please", "i", "aus", "von", "vom", "weil", "ist", "war",
    "und", "aber", "zu", "fur", "mit", "ich", "es", "zuruck", "bitte", "de", "du", "des", "car",
    "parce", "est", "et", "mais", "pour", "avec", "je", "qui", "que", "svp", "del", "della",
    "dello", "di", "da", "perche", "e", "ed", "ma", "per", "con", "che", "non", "ne", "pas",
    "nicht", "not", "sono", "ho", "habe", "ai", "have", "a", "an", "en", "im", "ein", "eine", "un",
    "une", "una", "uno", "too", "zu", "trop", "troppo", "doesn", "does", "isn", "is",
];
const RETURN_STEMS: &[&str] = &[
    "return", "exchang", "swap", "send", "zuruck", "retour", "umtausch", "tausch", "rucksend",
    "renvo", "rendre", "echang", "remplac", "restitu", "reso", "cambi", "sostitu", "rispedi",
    "rimand",
];

/// A whitespace-separated word of the original text, punctuation trimmed (a leading `#` or `+`
/// kept), with its folded form.
#[derive(Debug)]
struct RawWord<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    folded: String,
    ends_clause: bool,
}

fn raw_words(text: &str) -> Vec<RawWord<'_>> {
    let mut out = Vec::new();
    let mut piece_start = None;
    let ends = text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')));
    for (i, c) in ends {
        if !c.is_whitespace() {
            piece_start.get_or_insert(i);
            continue;
        }
        let Some(start) = piece_start.take() else {
            continue;
        };
        let piece = &text[start..i];
        let trimmed_start = piece.trim_start_matches(|c: char| {
            !c.is_alphanumeric() && c != '#' && c != '+' && c != '$' && c != '€'
        });
        let trimmed = trimmed_start.trim_end_matches(|c: char| !c.is_alphanumeric());
        if trimmed.is_empty() {
            continue;
        }
        let lead = piece.len() - trimmed_start.len();
        let mut folded = String::with_capacity(trimmed.len());
        fold_phrase_into(trimmed, &mut folded);
        out.push(RawWord {
            text: trimmed,
            start: start + lead,
            end: start + lead + trimmed.len(),
            folded,
            ends_clause: trimmed.len() < trimmed_start.len(),
        });
    }
    out
}

fn is_order_word(folded: &str) -> bool {
    ORDER_WORDS
        .iter()
        .any(|w| folded == *w || (folded.len() > w.len() + 1 && folded.ends_with(w)))
        || (folded.len() >= 4
            && folded.bytes().all(|b| b.is_ascii_lowercase())
            && ORDER_WORDS.iter().any(|w| edit_distance(folded, w, 1) <= 1))
}

/// `invoice`, `bill` and their typos (`invoce`, `bil`).
fn is_not_order_word(folded: &str) -> bool {
    NOT_ORDER_WORDS.iter().any(|w| {
        folded == *w
            || (folded.len() >= 3
                && w.len() >= 4
                && folded.bytes().all(|b| b.is_ascii_lowercase())
                && edit_distance(folded, w, 1) <= 1)
    })
}

/// Whether one of the `reach` words before `k` (skipping fillers) satisfies `test`.
fn preceded_by(words: &[RawWord<'_>], k: usize, reach: usize, test: impl Fn(&str) -> bool) -> bool {
    for back in 1..=reach.min(k) {
        let word = &words[k - back].folded;
        if test(word) {
            return true;
        }
        if !FILLERS.contains(&word.as_str()) {
            return false;
        }
    }
    false
}

fn near_before(words: &[RawWord<'_>], k: usize, reach: usize, list: &[&str]) -> bool {
    (1..=reach.min(k)).any(|back| {
        let word = &words[k - back].folded;
        list.iter().any(|w| {
            word == w
                || (word.len() > w.len()
                    && word.ends_with(w)
                    && word.as_bytes().get(word.len() - w.len() - 1) == Some(&b' '))
        })
    })
}

fn is_tracking_shape(body: &str) -> bool {
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    let dotted =
        body.contains('.') && body.bytes().all(|b| b.is_ascii_digit() || b == b'.') && digits >= 10;
    let code = (10..=35).contains(&body.len())
        && body.bytes().all(|b| b.is_ascii_alphanumeric())
        && digits >= 8
        && body.bytes().any(|b| b.is_ascii_alphabetic());
    dotted || code
}

/// Phone numbers: `+41 79 123 45 67`, `0041 79 …`, `079 123 45 67`, `0791234567`.
fn phones(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'#');
        if !(boundary && (b == b'+' || b == b'0')) {
            i += 1;
            continue;
        }
        let mut j = if b == b'+' { i + 1 } else { i };
        let mut digits = String::new();
        let mut groups = 0;
        let mut end = j;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                if end != j || digits.is_empty() {
                    groups += 1;
                }
                digits.push(char::from(bytes[j]));
                j += 1;
                end = j;
            } else if bytes.get(j..j + 3) == Some(b"(0)") && !digits.is_empty() {
                j += 3;
            } else if matches!(bytes[j], b' ' | b'-' | b'/' | b'.')
                && bytes.get(j + 1).is_some_and(u8::is_ascii_digit)
                && !digits.is_empty()
            {
                j += 1;
            } else {
                break;
            }
        }
        let n = digits.len();
        let second = digits.as_bytes().get(1).copied().unwrap_or(b'0');
        let third = digits.as_bytes().get(2).copied().unwrap_or(b'0');
        let is_phone = if b == b'+' {
            (8..=15).contains(&n) && !digits.starts_with('0')
        } else if digits.starts_with("00") {
            (11..=15).contains(&n) && third != b'0' && groups >= 2
        } else {
            n == 10 && second != b'0' && (groups >= 2 || digits.starts_with("07"))
        };
        let followed_by_word = bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
        if is_phone && !followed_by_word {
            found.push((i, end));
            i = end;
        } else {
            i = j.max(i + 1);
        }
    }
    found
}

fn currency_near(text: &str, words: &[RawWord<'_>], k: usize) -> bool {
    let before = text[..words[k].start].trim_end();
    before.ends_with('$')
        || before.ends_with('€')
        || words[k].text.starts_with('$')
        || words[k].text.starts_with('€')
        || (k > 0 && CURRENCY_WORDS.contains(&words[k - 1].folded.as_str()))
        || words
            .get(k + 1)
            .is_some_and(|w| CURRENCY_WORDS.contains(&w.folded.as_str()))
}

fn postcode_context(words: &[RawWord<'_>], k: usize) -> bool {
    let after_keyword = near_before(words, k, 2, POSTCODE_WORDS);
    let before_city = words.get(k + 1).is_some_and(|w| {
        w.text.chars().next().is_some_and(char::is_uppercase)
            && w.text.chars().all(char::is_alphabetic)
            && !words[k].ends_clause
    });
    after_keyword || before_city
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Extracts the references of `text`; `tokens` are its corrected folded words without digits,
/// `reason` the return reason its phrases name.
pub(crate) fn extract(text: &str, tokens: &[&str], reason: Option<ReturnReason>) -> Entities {
    let mut entities = Entities {
        return_reason: reason,
        ..Entities::default()
    };
    let about_returns = reason.is_some()
        || tokens
            .iter()
            .any(|t| RETURN_STEMS.iter().any(|s| t.starts_with(s)));
    let has_references = text.bytes().any(|b| b.is_ascii_digit() || b == b'@');
    if !has_references && !about_returns {
        return entities;
    }
    let words = raw_words(text);
    if has_references {
        references(text, &words, &mut entities);
    }
    if about_returns {
        entities.item_references = item_references(text, &words);
    }
    entities
}

/// Emails, phones, order and tracking numbers and postcodes.
fn references(text: &str, words: &[RawWord<'_>], entities: &mut Entities) {
    let phone_spans = phones(text);
    for (start, end) in &phone_spans {
        push_unique(&mut entities.phones, text[*start..*end].to_owned());
    }
    for (k, word) in words.iter().enumerate() {
        if phone_spans
            .iter()
            .any(|(s, e)| word.start < *e && *s < word.end)
        {
            continue;
        }
        let raw = word.text;
        if let Some((local, domain)) = raw.split_once('@') {
            let domain = domain.trim_end_matches(|c: char| !c.is_alphanumeric());
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') {
                push_unique(
                    &mut entities.emails,
                    format!("{local}@{domain}").to_lowercase(),
                );
            }
            continue;
        }
        let hashed = raw.starts_with('#');
        let body = raw.trim_start_matches('#');
        if body.is_empty() {
            continue;
        }
        if let Some(digits) = glued_order_number(body) {
            push_unique(&mut entities.order_numbers, OrderNumber::new(digits));
            continue;
        }
        if is_tracking_shape(body) {
            push_unique(&mut entities.tracking_numbers, TrackingNumber::new(body));
            continue;
        }
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            if let Some(digits) = postcode_with_country(body) {
                push_unique(&mut entities.postcodes, digits.to_owned());
            }
            continue;
        }
        if (1..=2.min(k)).any(|back| is_not_order_word(&words[k - back].folded)) {
            continue;
        }
        let after_order_word = preceded_by(words, k, 3, is_order_word);
        if hashed || (after_order_word && body.len() >= 3) {
            push_unique(&mut entities.order_numbers, OrderNumber::new(body));
        } else if body.len() >= 10 && near_before(words, k, 3, TRACKING_WORDS) {
            push_unique(&mut entities.tracking_numbers, TrackingNumber::new(body));
        } else if body.len() >= 6 && !currency_near(text, words, k) {
            if !near_before(words, k, 2, PHONE_WORDS) {
                push_unique(&mut entities.order_numbers, OrderNumber::new(body));
            }
        } else if (4..=5).contains(&body.len())
            && !currency_near(text, words, k)
            && postcode_context(words, k)
        {
            push_unique(&mut entities.postcodes, body.to_owned());
        }
    }
}

/// `order1042`, `Bestellung#1042`: an order word glued to its number.
fn glued_order_number(body: &str) -> Option<&str> {
    let split = body.find(|c: char| c.is_ascii_digit())?;
    let (head, digits) = body.split_at(split);
    let head = head.trim_end_matches(['#', '-', ':', '.']);
    (!head.is_empty()
        && digits.len() >= 3
        && digits.bytes().all(|b| b.is_ascii_digit())
        && is_order_word(&fold_phrase(head)))
    .then_some(digits)
}

/// `CH-8004`, `D-10115`: a postcode with its country prefix.
fn postcode_with_country(body: &str) -> Option<&str> {
    let (country, digits) = body.split_once('-')?;
    ((1..=2).contains(&country.len())
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && (4..=5).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then_some(digits)
}

fn item_references(text: &str, words: &[RawWord<'_>]) -> Vec<String> {
    let mut references = Vec::new();
    for (k, word) in words.iter().enumerate() {
        let (first, start) = if ITEM_ARTICLES.contains(&word.folded.as_str()) {
            (k + 1, words.get(k).map(|w| w.start))
        } else if let Some(rest) = word.folded.strip_prefix("l ") {
            // `l'article`: the article is glued to the noun.
            if rest.contains(' ') || word.ends_clause {
                continue;
            }
            (k, Some(word.start))
        } else {
            continue;
        };
        let Some(start) = start else { continue };
        let mut end = None;
        let mut nouns = 0;
        let mut at = first;
        if at == k + 1 && word.ends_clause {
            continue;
        }
        while let Some(next) = words.get(at) {
            let folded = next.folded.strip_prefix("l ").unwrap_or(&next.folded);
            let stop = (at != k && ITEM_STOPS.contains(&folded))
                || next.folded.bytes().any(|b| b.is_ascii_digit())
                || !next
                    .text
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '’' || c == '-')
                || (at != k && RETURN_STEMS.iter().any(|s| folded.starts_with(s)));
            if stop || nouns == 3 {
                break;
            }
            if is_order_word(folded)
                || ["package", "paket", "colis", "pacco", "parcel"].contains(&folded)
            {
                end = None;
                break;
            }
            end = Some(next.end);
            nouns += 1;
            at += 1;
            if next.ends_clause {
                break;
            }
        }
        if let Some(end) = end {
            let reference = text[start..end].to_owned();
            if nouns >= 1 && !references.contains(&reference) && references.len() < 3 {
                references.push(reference);
            }
        }
    }
    references
}
