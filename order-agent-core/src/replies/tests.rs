//! Rendering tests across every locale and channel. The complete messages of each language are
//! asserted in that language's template file.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::fixtures::*;
use super::format::one_line;
use super::*;
use crate::domain::{
    Address, Channel, Locale, OrderNumber, ResolutionKind, ReturnId, TrackingNumber, TrackingStatus,
};
use crate::flows::shipping::{LastScan, ParcelStatus, Punctuality};
use crate::money::{Currency, Money};
use crate::policy::ReasonCode;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Zurich;
const LOCALES: [Locale; 4] = [Locale::En, Locale::De, Locale::Fr, Locale::It];
const CHANNELS: [Channel; 4] = [
    Channel::Email,
    Channel::Sms,
    Channel::Whatsapp,
    Channel::WebChat,
];

fn everywhere(reply: &Reply) -> Vec<(Locale, Channel, RenderedReply)> {
    let mut out = Vec::new();
    for locale in LOCALES {
        for channel in CHANNELS {
            out.push((locale, channel, render(reply, locale, channel, TZ)));
        }
    }
    out
}

/// Subject and body, for assertions that concern everything the customer reads.
fn full_text(r: &RenderedReply) -> String {
    format!("{}\n{}", r.subject.clone().unwrap_or_default(), r.body)
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The review sentence a refusal falls back to when no reason may be told.
fn team_reviews(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "A member of our team will review your request",
        Locale::De => "Unser Team prüft Ihre Anfrage persönlich",
        Locale::Fr => "Un membre de notre équipe examinera votre demande",
        Locale::It => "Un membro del nostro team esaminerà la sua richiesta",
    }
}

#[test]
fn every_reply_renders_in_every_locale_and_channel() {
    let replies = all_replies();
    let variants: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            serde_json::to_value(r).unwrap()["reply"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        variants.len(),
        20,
        "a fixture for every variant: {variants:?}"
    );
    for reply in &replies {
        for (locale, channel, r) in everywhere(reply) {
            let ctx = format!("{locale:?} {channel:?} {reply:?}");
            assert!(!r.body.trim().is_empty(), "{ctx}");
            assert!(!r.body.contains("\n\n\n"), "{ctx}: {}", r.body);
            assert!(!r.body.starts_with(char::is_whitespace), "{ctx}");
            assert!(!r.body.ends_with(char::is_whitespace), "{ctx}");
            assert!(!r.body.contains("  "), "{ctx}: double space in {}", r.body);
            if locale == Locale::De {
                assert!(
                    !full_text(&r).contains('ß'),
                    "{ctx}: Swiss German writes ss"
                );
            }
        }
    }
}

#[test]
fn email_has_subject_greeting_and_sign_off_other_channels_do_not() {
    let greetings = [
        (Locale::En, "Hello,", "Kind regards"),
        (Locale::De, "Guten Tag", "Freundliche Grüsse"),
        (Locale::Fr, "Bonjour,", "Meilleures salutations"),
        (Locale::It, "Buongiorno,", "Cordiali saluti"),
    ];
    for reply in all_replies() {
        for (locale, channel, r) in everywhere(&reply) {
            let (hello, regards) = greetings
                .iter()
                .find(|g| g.0 == locale)
                .map(|g| (g.1, g.2))
                .unwrap();
            if channel == Channel::Email {
                let subject = r.subject.as_deref().unwrap();
                assert!(!subject.is_empty());
                assert!(!subject.contains('\n'));
                assert!(r.body.starts_with(&format!("{hello}\n\n")), "{}", r.body);
                assert!(r.body.contains(&format!("\n\n{regards}\n")), "{}", r.body);
            } else {
                assert_eq!(r.subject, None, "{locale:?} {channel:?}");
                assert!(!r.body.starts_with(hello));
                assert!(!r.body.contains(regards));
            }
        }
    }
}

#[test]
fn no_english_leaks_into_other_locales() {
    // Distinctive words: English ones must not appear elsewhere, and each language must show
    // at least one of its own.
    let english: BTreeSet<&str> = [
        "the", "your", "you", "we", "our", "order", "please", "parcel", "has", "been", "will",
        "refund", "return", "delivery", "items", "sorry", "with", "and", "of", "status",
    ]
    .into_iter()
    .collect();
    let own: [(Locale, &[&str]); 4] = [
        (Locale::En, &["you", "your", "we", "our", "order"]),
        (
            Locale::De,
            &["sie", "ihre", "ihr", "wir", "bestellung", "unser", "bitte"],
        ),
        (Locale::Fr, &["vous", "votre", "nous", "commande", "notre"]),
        (
            Locale::It,
            &[
                "suo", "sua", "ordine", "nostro", "abbiamo", "lei", "articoli", "di",
            ],
        ),
    ];
    for reply in all_replies() {
        for (locale, channel, r) in everywhere(&reply) {
            let text = full_text(&r);
            let found = words(&text);
            let mine = own.iter().find(|o| o.0 == locale).map(|o| o.1).unwrap();
            assert!(
                mine.iter().any(|w| found.contains(*w)),
                "{locale:?} {channel:?}: no {locale:?} word in {text}"
            );
            if locale != Locale::En {
                // "status" is also German and French ("Statut" is not), so only in Italian.
                let leaked: Vec<&String> = found
                    .iter()
                    .filter(|w| english.contains(w.as_str()))
                    .filter(|w| !(w.as_str() == "status" && locale == Locale::De))
                    .collect();
                assert!(
                    leaked.is_empty(),
                    "{locale:?} {channel:?}: English {leaked:?} in {text}"
                );
            }
        }
    }
}

#[test]
fn internal_reason_codes_never_reach_the_customer() {
    // Customer-facing codes may share a word with their sentence ("hygiene"); internal ones never.
    let code_names: Vec<String> = INTERNAL_REASONS
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(code_names.contains(&"fraud_flagged".to_owned()));
    let forbidden = [
        "fraud",
        "betrug",
        "fraude",
        "frode",
        "blocklist",
        "blacklist",
        "sperrliste",
        "dispute",
        "chargeback",
        "litige",
        "contestazione",
        "rückbuchung",
        "return rate",
        "limit",
        "risk",
        "risiko",
        "risque",
        "rischio",
        "suspicious",
        "verdächtig",
        "suspect",
        "sospett",
    ];
    let mut replies = Vec::new();
    for code in ALL_REASONS {
        replies.push(Reply::ReturnDenied {
            order_number: order(),
            reasons: vec![code],
            items: vec!["Lampe Lumo".to_owned()],
        });
        for change in [ChangeKind::Cancel, ChangeKind::Address, ChangeKind::Items] {
            replies.push(Reply::ChangeDenied {
                order_number: order(),
                change,
                reasons: vec![code],
            });
        }
    }
    replies.push(Reply::ReturnDenied {
        order_number: order(),
        reasons: ALL_REASONS.to_vec(),
        items: vec![],
    });
    for topic in ALL_TOPICS {
        replies.push(Reply::HandedToHuman {
            topic,
            ticket_reference: None,
        });
    }
    replies.extend(all_replies());
    for reply in &replies {
        for (locale, channel, r) in everywhere(reply) {
            let text = full_text(&r);
            let lower = text.to_lowercase();
            for name in &code_names {
                assert!(
                    !lower.contains(name.as_str()),
                    "{locale:?} {channel:?}: `{name}` in {text}"
                );
            }
            assert!(
                !text.as_bytes().windows(3).any(|w| w[0].is_ascii_lowercase()
                    && w[1] == b'_'
                    && w[2].is_ascii_lowercase()),
                "{locale:?} {channel:?}: snake_case in {text}"
            );
            for word in forbidden {
                assert!(
                    !lower.contains(word),
                    "{locale:?} {channel:?}: `{word}` in {text}"
                );
            }
        }
    }
}

#[test]
fn internal_codes_alone_fall_back_to_a_neutral_review() {
    for code in INTERNAL_REASONS {
        let denied = Reply::ReturnDenied {
            order_number: order(),
            reasons: vec![code, ReasonCode::WithinWindow],
            items: vec!["Lampe Lumo".to_owned()],
        };
        let change = Reply::ChangeDenied {
            order_number: order(),
            change: ChangeKind::Cancel,
            reasons: vec![code],
        };
        for reply in [denied, change] {
            for (locale, channel, r) in everywhere(&reply) {
                assert!(
                    r.body.contains(team_reviews(locale)),
                    "{locale:?} {channel:?} {code:?}: {}",
                    r.body
                );
            }
        }
    }
    // A customer-facing reason is told, and internal codes next to it add nothing.
    let mixed = Reply::ReturnDenied {
        order_number: order(),
        reasons: vec![ReasonCode::FraudFlagged, ReasonCode::WindowExpired],
        items: vec!["Lampe Lumo".to_owned()],
    };
    let alone = Reply::ReturnDenied {
        order_number: order(),
        reasons: vec![ReasonCode::WindowExpired],
        items: vec!["Lampe Lumo".to_owned()],
    };
    for (locale, channel, r) in everywhere(&mixed) {
        assert_eq!(r, render(&alone, locale, channel, TZ));
        assert!(!r.body.contains(team_reviews(locale)));
    }
}

#[test]
fn every_customer_facing_reason_has_its_own_sentence() {
    for locale in LOCALES {
        let mut bodies = BTreeSet::new();
        let mut told = 0;
        for code in ALL_REASONS {
            let reply = Reply::ReturnDenied {
                order_number: order(),
                reasons: vec![code],
                items: vec![],
            };
            let body = render(&reply, locale, Channel::Sms, TZ).body;
            if !body.contains(team_reviews(locale)) {
                told += 1;
                assert!(
                    bodies.insert(body.clone()),
                    "{locale:?} {code:?}: same words as another reason: {body}"
                );
            }
        }
        assert_eq!(told, 21, "{locale:?}");
    }
    // Repeated codes are told once.
    let twice = Reply::ReturnDenied {
        order_number: order(),
        reasons: vec![ReasonCode::FinalSale, ReasonCode::FinalSale],
        items: vec![],
    };
    let once = Reply::ReturnDenied {
        order_number: order(),
        reasons: vec![ReasonCode::FinalSale],
        items: vec![],
    };
    assert_eq!(
        render(&twice, Locale::De, Channel::Email, TZ),
        render(&once, Locale::De, Channel::Email, TZ)
    );
}

fn hostile(text: &str) -> String {
    format!(
        "{text}\r\nBcc: evil@example.com\n\n\u{7}\u{0}\u{1b}[2J\u{202e}\u{2028}Fake: line\u{85}end"
    )
}

fn hostile_replies() -> Vec<Reply> {
    let mut parcel = parcel_late();
    parcel.carrier = hostile("dhl");
    parcel.tracking_number = Some(TrackingNumber::new(hostile("JD01")));
    parcel.items = vec![hostile("Daunenjacke")];
    if let Some(scan) = parcel.last_scan.as_mut() {
        scan.description = hostile("Ankunft");
        scan.location = Some(hostile("Basel"));
    }
    let number = OrderNumber::new(hostile("#1042"));
    vec![
        Reply::OrderStatus {
            order_number: number.clone(),
            parcels: vec![parcel.clone(), parcel.clone()],
            unshipped_items: vec![hostile("Mütze")],
        },
        Reply::ExceptionNotice {
            order_number: number.clone(),
            kind: crate::flows::shipping::ExceptionKind::Lost,
            parcel: Some(parcel),
        },
        Reply::ReturnAuthorised {
            order_number: number.clone(),
            return_id: ReturnId::new(hostile("R-1")),
            label_url: Some(hostile("https://labels.example.ch/l")),
            items: vec![hostile("Lampe")],
            resolution: ResolutionKind::Refund,
            refund_estimate: None,
            return_shipping_fee: None,
            inspection_required: false,
        },
        Reply::AddressChanged {
            order_number: number.clone(),
            address: Address {
                name: hostile("Anna"),
                line1: hostile("Bahnhofstrasse 1"),
                line2: Some(hostile("c/o")),
                postcode: hostile("8001"),
                city: hostile("Zürich"),
                region: Some(hostile("ZH")),
                country: hostile("CH"),
            },
        },
        Reply::HandedToHuman {
            topic: HandoverTopic::Complaint,
            ticket_reference: Some(hostile("T-1")),
        },
        Reply::AskWhichOrder {
            candidates: vec![OrderSummary {
                number,
                placed_at: at(20, 9, 0),
                items: vec![hostile("Pullover")],
            }],
        },
    ]
}

#[test]
fn outside_text_cannot_add_lines_or_control_characters() {
    for reply in hostile_replies() {
        for (locale, channel, r) in everywhere(&reply) {
            let text = full_text(&r);
            let ctx = format!("{locale:?} {channel:?}");
            assert!(
                !text
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || c == '\u{2028}' || c == '\u{202e}'),
                "{ctx}: control character in {text:?}"
            );
            for line in text.lines() {
                let line = line.trim_start_matches(|c: char| c == '-' || c.is_whitespace());
                assert!(!line.starts_with("Bcc:"), "{ctx}: injected line in {text}");
                assert!(!line.starts_with("Fake"), "{ctx}: injected line in {text}");
            }
            assert!(
                text.contains("Bcc: evil@example.com"),
                "{ctx}: kept as plain text"
            );
            if let Some(subject) = &r.subject {
                assert!(!subject.contains('\n'));
            }
        }
    }
}

#[test]
fn label_links_must_be_web_links() {
    let with_url = |url: &str| Reply::ReturnAuthorised {
        order_number: order(),
        return_id: ReturnId::new("R-1"),
        label_url: Some(url.to_owned()),
        items: vec![],
        resolution: ResolutionKind::Refund,
        refund_estimate: None,
        return_shipping_fee: None,
        inspection_required: false,
    };
    for url in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://x.example/l",
        "https://",
        "",
    ] {
        for (locale, channel, r) in everywhere(&with_url(url)) {
            assert!(
                !r.body.contains("alert") && !r.body.contains("data:") && !r.body.contains("ftp:")
            );
            let separately = match locale {
                Locale::En => "separately",
                Locale::De => "separat",
                Locale::Fr => "séparément",
                Locale::It => "separatamente",
            };
            assert!(
                r.body.contains(separately),
                "{locale:?} {channel:?}: {}",
                r.body
            );
        }
    }
    let r = render(
        &with_url("HTTPS://labels.example.ch/a b"),
        Locale::En,
        Channel::Sms,
        TZ,
    );
    assert!(
        r.body.contains("HTTPS://labels.example.ch/ab"),
        "{}",
        r.body
    );
}

#[test]
fn sms_stays_short_for_common_replies() {
    let single_parcel = Reply::OrderStatus {
        order_number: order(),
        parcels: vec![parcel_late()],
        unshipped_items: vec![],
    };
    let common = [
        Reply::AskVerification { order_number: None },
        Reply::NotVerified,
        single_parcel,
        wismo_two_parcels(),
        return_authorised(),
        return_denied(),
        Reply::RefundIssued {
            order_number: order(),
            amount: chf(12_340),
            tenders: vec![crate::domain::Tender::Card],
        },
        Reply::HandedToHuman {
            topic: HandoverTopic::CustomerRequest,
            ticket_reference: Some("T-5581".to_owned()),
        },
        Reply::OrderCancelled {
            order_number: order(),
            refund: Some(chf(18_990)),
        },
        Reply::ExceptionNotice {
            order_number: order(),
            kind: crate::flows::shipping::ExceptionKind::Delayed,
            parcel: Some(parcel_late()),
        },
        Reply::Clarify,
    ];
    for reply in &common {
        for locale in LOCALES {
            let sms = render(reply, locale, Channel::Sms, TZ);
            let email = render(reply, locale, Channel::Email, TZ);
            let len = sms.body.chars().count();
            assert!(len <= 320, "{locale:?} {len} chars: {}", sms.body);
            assert!(len < email.body.chars().count());
        }
    }
}

#[test]
fn wismo_tells_every_parcel_with_status_scan_eta_tracking_and_items() {
    let expectations = [
        (
            Locale::En,
            [
                "In transit",
                "(on time)",
                "2 days later than promised",
                "22 Oct 2026, 14:05",
            ],
        ),
        (
            Locale::De,
            [
                "Unterwegs",
                "(pünktlich)",
                "2 Tage später als zugesagt",
                "22.10.2026, 14:05",
            ],
        ),
        (
            Locale::Fr,
            [
                "En transit",
                "(dans les délais)",
                "soit 2 jours plus tard qu'annoncé",
                "22 octobre 2026 à 14:05",
            ],
        ),
        (
            Locale::It,
            [
                "In transito",
                "(nei tempi previsti)",
                "2 giorni dopo la data promessa",
                "22/10/2026, ore 14:05",
            ],
        ),
    ];
    for (locale, phrases) in expectations {
        for channel in [Channel::Email, Channel::Whatsapp, Channel::WebChat] {
            let body = render(&wismo_two_parcels(), locale, channel, TZ).body;
            for expected in phrases.iter().chain(&[
                "99.00.123456.78901234",
                "JD014600003828",
                "DHL",
                "Zürich-Mülligen",
                "Basel",
                "09:40",
                "Merino Pullover",
                "Trekking-Socken",
                "Daunenjacke Alpina",
                "Mütze Engadin",
            ]) {
                assert!(
                    body.contains(expected),
                    "{locale:?} {channel:?}: `{expected}` missing in {body}"
                );
            }
        }
        let sms = render(&wismo_two_parcels(), locale, Channel::Sms, TZ).body;
        for expected in [
            "1) ",
            "2) ",
            "99.00.123456.78901234",
            "JD014600003828",
            "Mütze Engadin",
        ] {
            assert!(
                sms.contains(expected),
                "{locale:?}: `{expected}` missing in {sms}"
            );
        }
    }
}

#[test]
fn parcel_timing_covers_every_case() {
    let base = parcel_on_time();
    let late_without_eta = ParcelStatus {
        eta: None,
        punctuality: Punctuality::Late { days: 1 },
        ..base.clone()
    };
    let late_without_days = ParcelStatus {
        punctuality: Punctuality::Late { days: 0 },
        promised_by: None,
        ..base.clone()
    };
    let no_promise = ParcelStatus {
        punctuality: Punctuality::NoPromise,
        promised_by: None,
        tracking_number: None,
        last_scan: None,
        ..base.clone()
    };
    let cases = [
        (
            late_without_eta,
            [
                "This parcel is 1 day later than promised (24 Oct 2026).",
                "Dieses Paket hat 1 Tag Verspätung (zugesagt bis 24.10.2026).",
                "Ce colis a 1 jour de retard (livraison annoncée le 24 octobre 2026).",
                "Questo pacco ha 1 giorno di ritardo (consegna promessa entro il 24/10/2026).",
            ],
        ),
        (
            late_without_days,
            [
                "Expected delivery: 24 Oct 2026, later than promised.",
                "Voraussichtliche Zustellung: 24.10.2026, später als zugesagt.",
                "Livraison prévue\u{a0}: 24 octobre 2026, plus tard qu'annoncé.",
                "Consegna prevista: 24/10/2026, dopo la data promessa.",
            ],
        ),
        (
            no_promise,
            [
                "Expected delivery: 24 Oct 2026\n",
                "Voraussichtliche Zustellung: 24.10.2026\n",
                "Livraison prévue\u{a0}: 24 octobre 2026\n",
                "Consegna prevista: 24/10/2026\n",
            ],
        ),
    ];
    for (parcel, expected) in cases {
        let reply = Reply::OrderStatus {
            order_number: order(),
            parcels: vec![parcel],
            unshipped_items: vec![],
        };
        for (locale, text) in LOCALES.into_iter().zip(expected) {
            let body = render(&reply, locale, Channel::Email, TZ).body;
            assert!(
                body.contains(text),
                "{locale:?}: `{text}` missing in {body}"
            );
        }
    }
    // No tracking number yet; no date for a parcel that is delivered, lost or waiting for pickup.
    let reply = Reply::OrderStatus {
        order_number: order(),
        parcels: vec![ParcelStatus {
            tracking_number: None,
            status: TrackingStatus::AvailableForPickup,
            punctuality: Punctuality::Late { days: 3 },
            ..base
        }],
        unshipped_items: vec![],
    };
    let body = render(&reply, Locale::En, Channel::Email, TZ).body;
    assert!(
        body.contains("Swiss Post (no tracking number yet)"),
        "{body}"
    );
    assert!(body.contains("Status: Ready for pickup"), "{body}");
    assert!(
        !body.contains("late") && !body.contains("Expected"),
        "{body}"
    );
}

#[test]
fn every_exception_topic_and_status_has_words() {
    for locale in LOCALES {
        let mut seen = BTreeSet::new();
        for kind in ALL_EXCEPTIONS {
            let reply = Reply::ExceptionNotice {
                order_number: order(),
                kind,
                parcel: None,
            };
            let body = render(&reply, locale, Channel::Whatsapp, TZ).body;
            assert!(
                seen.insert(body),
                "{locale:?} {kind:?}: same words as another kind"
            );
        }
        let mut seen = BTreeSet::new();
        for topic in ALL_TOPICS {
            let reply = Reply::HandedToHuman {
                topic,
                ticket_reference: None,
            };
            assert!(seen.insert(render(&reply, locale, Channel::Sms, TZ).body));
        }
        let labels: BTreeSet<&str> = ALL_STATUSES
            .iter()
            .map(|s| format::tracking_status_label(*s, locale))
            .collect();
        assert_eq!(
            labels.len(),
            ALL_STATUSES.len(),
            "{locale:?}: distinct status words"
        );
    }
}

#[test]
fn sms_lists_name_three_items_and_count_the_rest() {
    let reply = Reply::AskReturnDetails {
        order_number: order(),
        items: ["A1", "B2", "C3", "D4", "E5"].map(str::to_owned).to_vec(),
    };
    let expected = [
        (Locale::En, "A1, B2, C3 and 2 more"),
        (Locale::De, "A1, B2, C3 und 2 weitere"),
        (Locale::Fr, "A1, B2, C3 et 2 autres"),
        (Locale::It, "A1, B2, C3 e altri 2"),
    ];
    for (locale, list) in expected {
        assert!(render(&reply, locale, Channel::Sms, TZ).body.contains(list));
        let email = render(&reply, locale, Channel::Email, TZ).body;
        assert!(email.contains("D4") && email.contains("E5"));
    }
}

#[test]
fn odd_inputs_still_render() {
    let long_title = "x".repeat(500);
    let replies = [
        Reply::OrderStatus {
            order_number: OrderNumber::new(""),
            parcels: vec![ParcelStatus {
                carrier: "  ".to_owned(),
                items: vec![" ".to_owned(), long_title.clone()],
                last_scan: Some(LastScan {
                    at: at(1, 0, 0),
                    description: "\n".to_owned(),
                    location: Some(String::new()),
                }),
                ..parcel_on_time()
            }],
            unshipped_items: vec!["\u{7}".to_owned()],
        },
        Reply::RefundIssued {
            order_number: order(),
            amount: Money::from_minor(-500, Currency::JPY),
            tenders: vec![],
        },
        Reply::PolicySummary {
            window_days: 1,
            return_shipping_fee: Some(Money::zero(Currency::EUR)),
        },
        Reply::AddressChanged {
            order_number: order(),
            address: Address {
                name: String::new(),
                line1: "Via Nassa 5".to_owned(),
                line2: None,
                postcode: "6900".to_owned(),
                city: "Lugano".to_owned(),
                region: Some("TI".to_owned()),
                country: "xx-unknown-country".to_owned(),
            },
        },
    ];
    for reply in &replies {
        for (_, _, r) in everywhere(reply) {
            assert!(!r.body.is_empty());
            assert!(
                !r.body.contains(&long_title),
                "long outside text is clipped"
            );
        }
    }
    let body = render(&replies[0], Locale::En, Channel::Email, TZ).body;
    assert!(body.contains(&format!("{}…", "x".repeat(119))), "{body}");
    assert!(
        body.contains("Your parcel: unknown carrier, tracking number"),
        "{body}"
    );
    let body = render(&replies[2], Locale::De, Channel::Sms, TZ).body;
    assert!(
        body.contains("innerhalb von 1 Tag nach Erhalt") && body.contains("kostenlos"),
        "{body}"
    );
    let body = render(&replies[3], Locale::It, Channel::Sms, TZ).body;
    assert!(
        body.contains("Via Nassa 5, 6900 Lugano TI, XX-UNKN…"),
        "{body}"
    );
}

#[test]
fn rendered_reply_serialises_without_an_absent_subject() {
    let sms = render(&Reply::Clarify, Locale::En, Channel::Sms, TZ);
    let json = serde_json::to_value(&sms).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1);
    assert_eq!(json["body"], sms.body.as_str());
    let email = render(&Reply::Clarify, Locale::En, Channel::Email, TZ);
    let json = serde_json::to_value(&email).unwrap();
    assert_eq!(json["subject"], "Your request");
}

#[test]
fn times_follow_the_time_zone() {
    let reply = Reply::OrderStatus {
        order_number: order(),
        parcels: vec![parcel_on_time()],
        unshipped_items: vec![],
    };
    let zurich = render(&reply, Locale::De, Channel::Sms, TZ).body;
    let utc = render(&reply, Locale::De, Channel::Sms, chrono_tz::UTC).body;
    assert!(zurich.contains("22.10.2026, 14:05"), "{zurich}");
    assert!(utc.contains("22.10.2026, 12:05"), "{utc}");
}

proptest! {
    #[test]
    fn outside_text_never_adds_lines(title in any::<String>(), place in any::<String>(), number in any::<String>()) {
        let reply_with = |title: &str, place: &str, number: &str| {
            let mut parcel = parcel_on_time();
            parcel.items = vec![title.to_owned()];
            parcel.tracking_number = Some(TrackingNumber::new(number));
            if let Some(scan) = parcel.last_scan.as_mut() {
                scan.location = Some(place.to_owned());
                scan.description = title.to_owned();
            }
            Reply::OrderStatus {
                order_number: OrderNumber::new(number),
                parcels: vec![parcel],
                unshipped_items: vec![title.to_owned()],
            }
        };
        let plain = reply_with("x", "y", "z");
        let hostile = reply_with(&title, &place, &number);
        for (locale, channel, r) in everywhere(&hostile) {
            let baseline = render(&plain, locale, channel, TZ);
            prop_assert!(r.body.lines().count() <= baseline.body.lines().count());
            prop_assert!(!r.body.chars().any(|c| c.is_control() && c != '\n'));
        }
        prop_assert!(!one_line(&title).contains('\n'));
    }
}
