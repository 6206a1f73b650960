//! Properties of `redact`: personal data embedded in any text never survives, redacting twice
//! changes nothing, and text without personal data comes back borrowed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use order_agent_core::redact::redact;
use proptest::prelude::*;

fn email() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._+-]{0,12}@[a-z0-9][a-z0-9-]{0,10}(\\.[a-z]{2,6}){1,2}"
}

fn phone() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+41 7[5-9] [0-9]{3} [0-9]{2} [0-9]{2}",
        "07[5-9] [0-9]{3} [0-9]{2} [0-9]{2}",
        "0[1-9][0-9] [0-9]{3} [0-9]{2} [0-9]{2}",
        "\\+4[0-9] [1-9][0-9]{1,3} [0-9]{5,8}",
        "\\+[1-9][0-9]{7,12}",
        "0041 [1-9][0-9] [0-9]{3} [0-9]{2} [0-9]{2}",
        "0[1-9]( [0-9]{2}){4}",
    ]
}

/// Appends the Luhn check digit to `body`.
fn with_check_digit(body: &[u8]) -> String {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &d)| {
            let d = u32::from(d);
            if k % 2 == 0 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    body.iter()
        .map(|d| char::from(b'0' + d))
        .chain(std::iter::once(char::from(b'0' + check as u8)))
        .collect()
}

/// A Luhn-valid number of 13–19 digits, unformatted or in groups of four.
fn card() -> impl Strategy<Value = String> {
    (
        (1u8..=9),
        prop::collection::vec(0u8..=9, 11..=17),
        prop_oneof![Just(""), Just(" "), Just("-")],
    )
        .prop_map(|(first, rest, sep)| {
            let mut body = vec![first];
            body.extend(rest);
            let digits = with_check_digit(&body);
            if sep.is_empty() {
                return digits;
            }
            digits
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(sep)
        })
}

fn pii() -> impl Strategy<Value = String> {
    prop_oneof![email(), phone(), card()]
}

/// Text with no personal data: order numbers, ids, amounts, dates, times and words.
fn clean_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "#[1-9][0-9]{2,5}",
        "(ord|pay|cus|ret)_[0-9]{1,8}",
        "(CHF|EUR) [1-9][0-9]{0,3}\\.[0-9]{2}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[0-3][0-9]\\.[01][0-9]\\.20[0-9]{2}",
        "[0-2][0-9]:[0-5][0-9]",
        "[a-zA-ZäöüéèàÄÖÜ]{1,12}",
        "[1-9][0-9]{0,2}",
    ];
    prop::collection::vec(token, 0..12).prop_map(|tokens| tokens.join(", "))
}

proptest! {
    #[test]
    fn personal_data_never_survives(prefix in "\\PC{0,20}", data in pii(), suffix in "\\PC{0,20}") {
        let text = format!("{prefix} {data} {suffix}");
        let redacted = redact(&text);
        prop_assert!(!redacted.contains(&data), "{data:?} survived in {redacted:?}");
    }

    #[test]
    fn redacting_twice_changes_nothing(text in "\\PC{0,60}", data in pii(), at in 0usize..60) {
        let mut text = text;
        let mut at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &format!(" {data} "));
        let once = redact(&text).into_owned();
        let twice = redact(&once);
        prop_assert_eq!(&once, twice.as_ref());
        prop_assert!(matches!(twice, Cow::Borrowed(_)));
    }

    #[test]
    fn arbitrary_text_is_redacted_idempotently(text in "\\PC{0,80}") {
        let once = redact(&text).into_owned();
        let twice = redact(&once);
        prop_assert_eq!(&once, twice.as_ref());
    }

    #[test]
    fn digit_and_symbol_soup_is_redacted_idempotently(text in "[0-9 +()/@.a-zA-Z#_-]{0,80}") {
        let once = redact(&text).into_owned();
        let twice = redact(&once);
        prop_assert_eq!(&once, twice.as_ref());
    }

    #[test]
    fn near_misses_are_redacted_idempotently(tokens in prop::collection::vec(prop::sample::select(vec![
        "rue", "via", "de", "l'", "Roma", "Bahnhofstrasse", "Hauptstr.", "12", "3a", "Main",
        "Street", "St.", "+41", "0041", "079", "123", "45", "67", "4111", "1111", "CH93", "0076",
        "@", "anna", "example.ch", ",", ".", "-", " ", "(0)", "#", "_",
    ]), 0..16)) {
        let text = tokens.concat();
        let once = redact(&text).into_owned();
        let twice = redact(&once);
        prop_assert_eq!(&once, twice.as_ref(), "from {:?}", text);
    }

    #[test]
    fn text_without_personal_data_is_borrowed(text in clean_text()) {
        let redacted = redact(&text);
        prop_assert!(matches!(redacted, Cow::Borrowed(_)), "{text:?} became {redacted:?}");
    }
}
