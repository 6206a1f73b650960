//! What the simulated shop sells, where its customers live, and what they are called.

use order_agent_core::domain::{Locale, Tender};

/// One product of the catalogue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    /// Short code, the SKU stem.
    pub(crate) code: &'static str,
    /// Title as the shop lists it (English, as the shop's catalogue is).
    pub(crate) title: &'static str,
    /// Merchandising category (matched by the policy's rules).
    pub(crate) category: &'static str,
    /// A tag the policy matches (`hygiene`, `engraved`), if any.
    pub(crate) tag: Option<&'static str>,
    /// Price in Rappen.
    pub(crate) price_minor: i64,
    /// Whether it comes in sizes S, M, L (exchanges are for another size).
    pub(crate) sized: bool,
    /// How often it is bought, relative to the others.
    pub(crate) popularity: f64,
    /// The word a customer uses for it, per language (en, de, fr, it).
    pub(crate) words: [&'static str; 4],
}

// A table row: positional arguments keep the catalogue below one readable line per product.
#[allow(clippy::too_many_arguments)]
const fn p(
    code: &'static str,
    title: &'static str,
    category: &'static str,
    tag: Option<&'static str>,
    price_minor: i64,
    sized: bool,
    popularity: f64,
    words: [&'static str; 4],
) -> Product {
    Product {
        code,
        title,
        category,
        tag,
        price_minor,
        sized,
        popularity,
        words,
    }
}

/// The catalogue: apparel, footwear, accessories, electronics, a few hygiene and engraved items.
pub(crate) const CATALOG: &[Product] = &[
    p(
        "SWT",
        "Merino sweater",
        "apparel",
        None,
        8900,
        true,
        9.0,
        ["sweater", "Pullover", "pull", "maglione"],
    ),
    p(
        "SHR",
        "Linen shirt",
        "apparel",
        None,
        6900,
        true,
        8.0,
        ["shirt", "Hemd", "chemise", "camicia"],
    ),
    p(
        "TSH",
        "Organic cotton T-shirt",
        "apparel",
        None,
        2900,
        true,
        10.0,
        ["T-shirt", "T-Shirt", "t-shirt", "maglietta"],
    ),
    p(
        "CHN",
        "Chino trousers",
        "apparel",
        None,
        7900,
        true,
        6.0,
        ["trousers", "Hose", "pantalon", "pantaloni"],
    ),
    p(
        "JNS",
        "Denim jeans",
        "apparel",
        None,
        9900,
        true,
        6.0,
        ["jeans", "Jeans", "jean", "jeans"],
    ),
    p(
        "DRS",
        "Summer dress",
        "apparel",
        None,
        11900,
        true,
        4.0,
        ["dress", "Kleid", "robe", "vestito"],
    ),
    p(
        "RJK",
        "Rain jacket",
        "apparel",
        None,
        14900,
        true,
        4.0,
        ["jacket", "Jacke", "veste", "giacca"],
    ),
    p(
        "DJK",
        "Down jacket",
        "apparel",
        None,
        32900,
        true,
        2.0,
        ["jacket", "Jacke", "doudoune", "piumino"],
    ),
    p(
        "SCF",
        "Wool scarf",
        "accessories",
        None,
        3900,
        false,
        4.0,
        ["scarf", "Schal", "écharpe", "sciarpa"],
    ),
    p(
        "BLT",
        "Leather belt",
        "accessories",
        None,
        4900,
        false,
        3.0,
        ["belt", "Gürtel", "ceinture", "cintura"],
    ),
    p(
        "BPK",
        "Canvas backpack",
        "accessories",
        None,
        7900,
        false,
        3.0,
        ["backpack", "Rucksack", "sac à dos", "zaino"],
    ),
    p(
        "SNK",
        "Leather sneakers",
        "footwear",
        None,
        13900,
        true,
        5.0,
        ["sneakers", "Schuhe", "baskets", "scarpe"],
    ),
    p(
        "HBT",
        "Hiking boots",
        "footwear",
        None,
        18900,
        true,
        2.0,
        ["boots", "Wanderschuhe", "chaussures", "scarponi"],
    ),
    p(
        "BRF",
        "Merino briefs",
        "apparel",
        Some("hygiene"),
        3500,
        true,
        3.0,
        ["briefs", "Unterhosen", "slips", "slip"],
    ),
    p(
        "SPK",
        "Bluetooth speaker",
        "electronics",
        None,
        12900,
        false,
        4.0,
        ["speaker", "Lautsprecher", "enceinte", "cassa"],
    ),
    p(
        "HPH",
        "Wireless headphones",
        "electronics",
        None,
        19900,
        false,
        3.0,
        ["headphones", "Kopfhörer", "casque", "cuffie"],
    ),
    p(
        "EAR",
        "In-ear earbuds",
        "electronics",
        Some("hygiene"),
        14900,
        false,
        2.0,
        ["earbuds", "Ohrhörer", "écouteurs", "auricolari"],
    ),
    p(
        "EBR",
        "E-reader",
        "electronics",
        None,
        15900,
        false,
        2.0,
        ["e-reader", "E-Reader", "liseuse", "e-reader"],
    ),
    p(
        "PWB",
        "Power bank",
        "electronics",
        None,
        4900,
        false,
        3.0,
        ["power bank", "Powerbank", "batterie", "powerbank"],
    ),
    p(
        "SWA",
        "Smartwatch",
        "electronics",
        None,
        34900,
        false,
        1.0,
        ["smartwatch", "Smartwatch", "montre", "smartwatch"],
    ),
    p(
        "LTP",
        "Ultrabook laptop 14",
        "electronics",
        None,
        189900,
        false,
        0.3,
        ["laptop", "Laptop", "ordinateur", "portatile"],
    ),
    p(
        "WLT",
        "Engraved leather wallet",
        "accessories",
        Some("engraved"),
        6900,
        false,
        1.0,
        ["wallet", "Portemonnaie", "portefeuille", "portafoglio"],
    ),
];

/// The sizes of sized products.
pub(crate) const SIZES: [&str; 3] = ["s", "m", "l"];

/// A place customers live in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub(crate) country: &'static str,
    pub(crate) postcode: &'static str,
    pub(crate) city: &'static str,
    pub(crate) street: &'static str,
}

const fn place(
    country: &'static str,
    postcode: &'static str,
    city: &'static str,
    street: &'static str,
) -> Place {
    Place {
        country,
        postcode,
        city,
        street,
    }
}

/// Swiss places, by language region.
pub(crate) const CH_DE: &[Place] = &[
    place("CH", "8004", "Zürich", "Langstrasse 21"),
    place("CH", "8032", "Zürich", "Klosbachstrasse 7"),
    place("CH", "3011", "Bern", "Kramgasse 12"),
    place("CH", "4051", "Basel", "Steinenvorstadt 33"),
    place("CH", "6003", "Luzern", "Pilatusstrasse 18"),
    place("CH", "9000", "St. Gallen", "Multergasse 4"),
    place("CH", "8400", "Winterthur", "Marktgasse 55"),
];
/// French-speaking Switzerland.
pub(crate) const CH_FR: &[Place] = &[
    place("CH", "1003", "Lausanne", "Rue de Bourg 8"),
    place("CH", "1201", "Genève", "Rue de Lausanne 40"),
    place("CH", "2000", "Neuchâtel", "Rue du Seyon 10"),
    place("CH", "1700", "Fribourg", "Rue de Romont 5"),
];
/// Italian-speaking Switzerland.
pub(crate) const CH_IT: &[Place] = &[
    place("CH", "6900", "Lugano", "Via Nassa 22"),
    place("CH", "6500", "Bellinzona", "Viale Stazione 9"),
];
/// Germany.
pub(crate) const DE: &[Place] = &[
    place("DE", "10115", "Berlin", "Invalidenstrasse 44"),
    place("DE", "80331", "München", "Sendlinger Strasse 8"),
    place("DE", "79098", "Freiburg", "Kaiser-Joseph-Strasse 170"),
    place("DE", "70173", "Stuttgart", "Königstrasse 26"),
];
/// France.
pub(crate) const FR: &[Place] = &[
    place("FR", "75011", "Paris", "Rue Oberkampf 61"),
    place("FR", "69002", "Lyon", "Rue de la République 14"),
    place("FR", "68100", "Mulhouse", "Rue du Sauvage 3"),
];
/// Italy.
pub(crate) const IT: &[Place] = &[
    place("IT", "20121", "Milano", "Via Brera 16"),
    place("IT", "22100", "Como", "Via Vittorio Emanuele 30"),
    place("IT", "00184", "Roma", "Via Nazionale 51"),
];

/// First names per language.
pub(crate) fn first_names(locale: Locale) -> &'static [&'static str] {
    match locale {
        Locale::De => &[
            "Anna", "Lukas", "Sarah", "Jonas", "Laura", "Reto", "Nina", "Marco", "Julia", "Stefan",
        ],
        Locale::Fr => &[
            "Camille", "Julien", "Léa", "Nicolas", "Chloé", "Mathieu", "Manon", "Thomas",
        ],
        Locale::It => &[
            "Giulia",
            "Luca",
            "Francesca",
            "Matteo",
            "Chiara",
            "Davide",
            "Sara",
            "Paolo",
        ],
        Locale::En => &[
            "Emma", "James", "Olivia", "Daniel", "Sophie", "Michael", "Grace", "Ben",
        ],
    }
}

/// Last names per language.
pub(crate) fn last_names(locale: Locale) -> &'static [&'static str] {
    match locale {
        Locale::De => &[
            "Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Fischer", "Brunner",
            "Baumann", "Frei",
        ],
        Locale::Fr => &[
            "Dubois", "Favre", "Rochat", "Perret", "Bonvin", "Girard", "Moret", "Blanc",
        ],
        Locale::It => &[
            "Rossi",
            "Bernasconi",
            "Ferrari",
            "Colombo",
            "Galli",
            "Bianchi",
            "Fontana",
            "Pedrazzini",
        ],
        Locale::En => &[
            "Smith", "Miller", "Brown", "Taylor", "Wilson", "Clarke", "Evans", "Walker",
        ],
    }
}

/// How customers pay, with weights.
pub(crate) const TENDERS: &[(Tender, f64)] = &[
    (Tender::Card, 0.52),
    (Tender::Twint, 0.18),
    (Tender::Paypal, 0.17),
    (Tender::BankTransfer, 0.05),
    // Paid partly with a gift card, the rest by card.
    (Tender::GiftCard, 0.08),
];

/// Carrier slug for a destination country.
pub(crate) fn carrier_for(country: &str, pick_ups: bool) -> &'static str {
    match country {
        "CH" => "swiss-post",
        "DE" => "dhl",
        _ if pick_ups => "ups",
        _ => "dhl",
    }
}
