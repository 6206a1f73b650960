//! Language detection: function words of each language, word endings, and letters only one
//! language uses.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::Locale;

use super::normalize::Word;

/// Function words and frequent shop words, folded. Swiss spellings are included (`isch`, `grüezi`,
/// `natel`, `septante`).
const MARKERS: &[(Locale, &[&str])] = &[
    (
        Locale::En,
        &[
            "the", "my", "is", "i", "where", "order", "please", "thanks", "thank", "hello", "hi",
            "you", "can", "want", "would", "like", "to", "and", "it", "not", "was", "with", "for",
            "have", "how", "what", "when", "of", "me", "your", "do", "a", "an", "help", "still",
            "this", "that", "need", "purchase", "refund", "yet", "been", "don", "didn", "hasn",
            "isn", "wrong", "back", "from", "are", "do", "does", "will", "get", "got", "any", "on",
            "at", "there", "could", "should", "just", "ve", "ll", "haven", "hey", "stuff",
            "instead", "which", "about", "sent", "received", "arrived",
        ],
    ),
    (
        Locale::De,
        &[
            "ich",
            "meine",
            "mein",
            "meiner",
            "meinen",
            "bestellung",
            "und",
            "nicht",
            "ist",
            "wo",
            "bitte",
            "danke",
            "der",
            "die",
            "das",
            "den",
            "dem",
            "ein",
            "eine",
            "einen",
            "mit",
            "sie",
            "wie",
            "wann",
            "noch",
            "habe",
            "hab",
            "zu",
            "fur",
            "auf",
            "ihr",
            "ihnen",
            "kann",
            "mochte",
            "moechte",
            "wurde",
            "paket",
            "sendung",
            "gruezi",
            "hallo",
            "isch",
            "mini",
            "nod",
            "ned",
            "han",
            "oder",
            "mis",
            "nonig",
            "aacho",
            "chan",
            "es",
            "auch",
            "schon",
            "immer",
            "bis",
            "vielen",
            "zuruck",
            "kein",
            "keine",
            "grosse",
            "guten",
            "tag",
            "sollte",
            "warum",
            "artikel",
            "sind",
            "wir",
            "euch",
            "uns",
            "habt",
            "mich",
            "mir",
            "gibt",
            "seit",
            "nur",
            "leider",
            "rucksendung",
            "ruckerstattung",
            "grosse",
            "zame",
            "hoi",
            "chunnt",
            "nid",
            "scho",
            "gern",
            "hatt",
            "chond",
            "bruuch",
            "bstellig",
            "packli",
            "zrugg",
            "gald",
            "mer",
            "ihr",
            "konnen",
            "konnten",
            "ware",
        ],
    ),
    (
        Locale::Fr,
        &[
            "je",
            "ma",
            "mon",
            "mes",
            "commande",
            "est",
            "ou",
            "pas",
            "le",
            "la",
            "les",
            "merci",
            "bonjour",
            "un",
            "une",
            "des",
            "du",
            "de",
            "et",
            "vous",
            "pour",
            "avec",
            "que",
            "qui",
            "mais",
            "ne",
            "n",
            "j",
            "l",
            "d",
            "qu",
            "ai",
            "suis",
            "toujours",
            "encore",
            "colis",
            "voudrais",
            "veux",
            "votre",
            "quand",
            "comment",
            "septante",
            "nonante",
            "salut",
            "svp",
            "il",
            "trop",
            "etait",
            "recu",
            "rien",
            "ce",
            "cette",
            "sont",
            "elle",
            "au",
            "aux",
            "moi",
            "peux",
            "pouvez",
            "puis",
            "ca",
            "depuis",
            "deja",
            "plait",
            "sur",
            "dans",
            "par",
            "avez",
            "etes",
            "faire",
            "quelle",
            "quel",
            "combien",
            "vos",
            "nos",
            "notre",
            "taille",
            "remboursement",
            "livraison",
            "bonsoir",
            "aujourd",
            "hui",
            "souhaite",
            "voulais",
            "pourriez",
        ],
    ),
    (
        Locale::It,
        &[
            "il",
            "mio",
            "mia",
            "miei",
            "ordine",
            "dove",
            "dov",
            "non",
            "ho",
            "grazie",
            "buongiorno",
            "buonasera",
            "ciao",
            "e",
            "di",
            "del",
            "della",
            "per",
            "che",
            "con",
            "sono",
            "un",
            "una",
            "lo",
            "gli",
            "vorrei",
            "voglio",
            "ancora",
            "quando",
            "come",
            "pacco",
            "perche",
            "ma",
            "mi",
            "si",
            "al",
            "alla",
            "stato",
            "troppo",
            "piu",
            "questo",
            "salve",
            "potete",
            "posso",
            "ricevuto",
            "la",
            "le",
            "avete",
            "siete",
            "vostro",
            "vostra",
            "negozio",
            "anche",
            "spedite",
            "nel",
            "nella",
            "dei",
            "degli",
            "delle",
            "gia",
            "niente",
            "nulla",
            "favore",
            "quale",
            "qual",
            "quanto",
            "cosa",
            "sul",
            "sulla",
            "questa",
            "taglia",
            "reso",
            "rimborso",
            "indirizzo",
            "spedizione",
            "consegna",
            "vorrei",
            "potreste",
            "dell",
            "all",
            "dall",
        ],
    ),
];

/// Word endings, by slot: Italian words end in vowels, French and German have their own.
const ENDINGS: &[(usize, &[&str])] = &[
    (3, &["o", "i", "are", "ere", "ire", "zione", "ato", "ata"]),
    (2, &["eux", "ez", "ais", "ait", "oir", "eau", "ee", "ment"]),
    (1, &["ung", "sch", "lich", "keit", "chen", "ig"]),
    (0, &["ing", "ed", "ly"]),
];

fn markers() -> &'static HashMap<&'static str, Vec<Locale>> {
    static MARKER_INDEX: OnceLock<HashMap<&'static str, Vec<Locale>>> = OnceLock::new();
    MARKER_INDEX.get_or_init(|| {
        let mut index: HashMap<&'static str, Vec<Locale>> = HashMap::new();
        for (locale, words) in MARKERS {
            for word in *words {
                index.entry(word).or_default().push(*locale);
            }
        }
        index
    })
}

fn slot(locale: Locale) -> usize {
    match locale {
        Locale::En => 0,
        Locale::De => 1,
        Locale::Fr => 2,
        Locale::It => 3,
    }
}

const LOCALES: [Locale; 4] = [Locale::En, Locale::De, Locale::Fr, Locale::It];

/// The language of a message: the one whose markers occur most, letters only German, French or
/// Italian use counting double; ties go to `hint`, then to English.
pub(crate) fn detect(text: &str, words: &[Word], hint: Option<Locale>) -> Locale {
    let mut scores = [0.0f32; 4];
    let index = markers();
    for word in words {
        if let Some(locales) = index.get(word.folded.as_str()) {
            // A word shared by several languages counts less for each.
            let share = 1.0 / locales.len() as f32;
            for locale in locales {
                scores[slot(*locale)] += share;
            }
        }
    }
    for word in words {
        let w = word.folded.as_str();
        if w.len() < 4 || word.has_digit() {
            continue;
        }
        for (i, endings) in ENDINGS {
            if endings.iter().any(|e| w.ends_with(e)) {
                scores[*i] += 0.3;
            }
        }
    }
    for c in text.chars() {
        match c {
            'ä' | 'ö' | 'ü' | 'ß' | 'Ä' | 'Ö' | 'Ü' => scores[1] += 1.0,
            'ç' | 'ê' | 'â' | 'î' | 'ô' | 'û' | 'œ' | 'ë' | 'É' => scores[2] += 1.0,
            'é' => scores[2] += 0.5,
            'ì' | 'ò' | 'ù' => scores[3] += 1.0,
            _ => {}
        }
    }
    if let Some(hint) = hint {
        scores[slot(hint)] += 0.25;
    }
    let mut best = hint.unwrap_or_default();
    let mut best_score = 0.0f32;
    for locale in LOCALES {
        let score = scores[slot(locale)];
        if score > best_score {
            best = locale;
            best_score = score;
        }
    }
    if best_score <= 0.25 {
        return hint.unwrap_or_default();
    }
    best
}

/// The marker words of every language, for the typo corrector (a marker is never a typo).
pub(crate) fn marker_words() -> &'static [(Locale, &'static [&'static str])] {
    MARKERS
}
