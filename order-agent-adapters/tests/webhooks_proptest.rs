//! No webhook verifier or parser panics, whatever the headers and body: property tests over the
//! same inputs the cargo-fuzz targets in `fuzz/` take (through
//! `order_agent_adapters::webhooks::fuzzing`), so CI exercises them without a fuzzer, plus
//! random header maps and a replay of any local fuzz corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use order_agent_adapters::webhooks::fuzzing::{self, FuzzInput};
use order_agent_adapters::webhooks::{
    easypost, sendgrid, shopify, stripe, twilio, zendesk, Vendor, WebhookErrorKind, WebhookRequest,
};
use proptest::prelude::*;

fn vendor() -> impl Strategy<Value = Vendor> {
    proptest::sample::select(Vendor::ALL.to_vec())
}

/// Every rejection is a 4xx, except a Twilio request verified without its URL: that is the
/// caller's configuration fault, a 500.
fn assert_rejection_is_4xx(
    vendor: Vendor,
    url: &[u8],
    result: &Result<impl Sized, order_agent_adapters::webhooks::WebhookError>,
) {
    if let Err(error) = result {
        if vendor == Vendor::Twilio && url.is_empty() {
            assert_eq!(error.kind(), WebhookErrorKind::InvalidConfig, "{error}");
            return;
        }
        assert!(
            (400..500).contains(&error.status()),
            "{vendor}: {error} has status {}",
            error.status()
        );
    }
}

/// Bytes that look like webhook parts more often than uniform random bytes do.
fn webhook_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        "(t=[0-9]{0,12},)?(v1=[0-9a-f]{0,64},?){0,3}".prop_map(String::into_bytes),
        "hmac-sha256-hex=[0-9a-fA-F]{0,66}".prop_map(String::into_bytes),
        "[A-Za-z0-9+/]{0,60}={0,2}".prop_map(String::into_bytes),
        "(https?://[a-z.]{1,12}(:[0-9]{1,5})?/[a-z]{0,8}(\\?[a-zA-Z0-9=&%]{0,30})?)"
            .prop_map(String::into_bytes),
        "([A-Za-z]{1,8}=[A-Za-z0-9%+]{0,10}&?){0,5}".prop_map(String::into_bytes),
        "[0-9]{0,20}".prop_map(String::into_bytes),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](Z|[+-][0-9]{2}:[0-9]{2})"
            .prop_map(String::into_bytes),
    ]
}

/// Bodies shaped like each vendor's, with random values, so the parsers behind a good signature
/// are reached.
fn webhook_body() -> impl Strategy<Value = Vec<u8>> {
    let scalar = prop_oneof![
        "\"[ -~]{0,12}\"".boxed(),
        any::<i64>().prop_map(|n| n.to_string()).boxed(),
        Just("null".to_owned()).boxed(),
        Just("true".to_owned()).boxed(),
        Just("1e400".to_owned()).boxed(),
        Just("[]".to_owned()).boxed(),
    ];
    prop_oneof![
        webhook_bytes(),
        (scalar.clone(), scalar.clone(), scalar.clone()).prop_map(|(a, b, c)| format!(
            r#"{{"id":{a},"type":{b},"description":{b},"created":{c},"data":{{"object":{{"id":{c}}}}},"result":{{"object":"Tracker","id":{a},"status":{b}}},"detail":{{"id":{c}}},"subject":{a}}}"#
        )
        .into_bytes()),
        (scalar.clone(), scalar.clone(), scalar.clone(), 0usize..3).prop_map(|(a, b, c, n)| {
            let item = format!(
                r#"{{"NotificationRequestItem":{{"additionalData":{{"hmacSignature":{a}}},"amount":{{"currency":{b},"value":{c}}},"eventCode":{b},"merchantAccountCode":{a},"merchantReference":{c},"originalReference":{a},"pspReference":{b},"success":{c}}}}}"#
            );
            format!(r#"{{"live":"false","notificationItems":[{}]}}"#, vec![item; n].join(","))
                .into_bytes()
        }),
        (scalar.clone(), scalar, 0usize..3).prop_map(|(a, b, n)| {
            let event = format!(r#"{{"event":{a},"sg_event_id":{b},"sg_message_id":{a},"timestamp":{b}}}"#);
            format!("[{}]", vec![event; n].join(",")).into_bytes()
        }),
    ]
}

fn fuzz_input() -> impl Strategy<Value = FuzzInput> {
    (
        any::<(bool, bool, bool)>(),
        webhook_bytes(),
        webhook_bytes(),
        webhook_bytes(),
        webhook_body(),
    )
        .prop_map(
            |((sign, previous, fresh), signature, timestamp, id, body)| FuzzInput {
                sign,
                previous,
                fresh,
                signature,
                timestamp,
                id,
                body,
            },
        )
}

const HEADER_NAMES: &[&str] = &[
    shopify::SIGNATURE_HEADER,
    shopify::WEBHOOK_ID_HEADER,
    shopify::TOPIC_HEADER,
    stripe::SIGNATURE_HEADER,
    easypost::SIGNATURE_HEADER,
    twilio::SIGNATURE_HEADER,
    twilio::IDEMPOTENCY_TOKEN_HEADER,
    sendgrid::SIGNATURE_HEADER,
    sendgrid::TIMESTAMP_HEADER,
    zendesk::SIGNATURE_HEADER,
    zendesk::TIMESTAMP_HEADER,
    zendesk::INVOCATION_ID_HEADER,
    "content-type",
];

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::vec(
        (
            prop_oneof![
                proptest::sample::select(HEADER_NAMES).prop_map(str::to_owned),
                proptest::sample::select(HEADER_NAMES).prop_map(|h| h.to_ascii_lowercase()),
                "[A-Za-z-]{1,20}",
            ],
            webhook_bytes(),
        ),
        0..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The fuzz targets `verify_*` and `parse_*`, on raw bytes as libFuzzer would send them.
    #[test]
    fn fuzz_targets_never_panic_on_raw_bytes(
        vendor in vendor(),
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let result = fuzzing::verify(vendor, &data).expect("the harness builds every verifier");
        assert_rejection_is_4xx(vendor, &FuzzInput::decode(&data).id, &result);
        fuzzing::parse_body(vendor, &data);
        fuzzing::parse_headers(&data);
    }

    /// The same targets on structured inputs, signed or not, so the checks behind the
    /// signature run too.
    #[test]
    fn fuzz_targets_never_panic_on_structured_inputs(vendor in vendor(), input in fuzz_input()) {
        let data = input.encode();
        let result = fuzzing::verify(vendor, &data).expect("the harness builds every verifier");
        // Fields holding NUL do not round-trip: what the harness saw is what `decode` gives.
        assert_rejection_is_4xx(vendor, &FuzzInput::decode(&data).id, &result);
        // Without a correct signature nothing verifies.
        if !input.sign {
            prop_assert!(result.is_err(), "{vendor}: an unsigned input verified");
        }
        if let Ok(verified) = &result {
            prop_assert_eq!(verified.vendor, vendor);
            prop_assert!(!verified.dedup_id.is_empty());
        }
        fuzzing::parse_body(vendor, &input.body);
        fuzzing::parse_headers(&input.signature);
    }

    /// Every verifier, on random header maps (real header names with random values).
    #[test]
    fn verifiers_never_panic_on_random_headers(
        headers in headers(),
        body in webhook_body(),
        url in webhook_bytes(),
        now in 0i64..4_000_000_000,
    ) {
        let url = String::from_utf8_lossy(&url).into_owned();
        let request = WebhookRequest::new(&headers, &body).with_url(&url);
        let now = chrono::DateTime::from_timestamp(now, 0).unwrap();
        for vendor in Vendor::ALL {
            let verifier = fuzzing::verifier(vendor).unwrap();
            let result = verifier.verify(&request, now);
            assert_rejection_is_4xx(vendor, url.as_bytes(), &result);
            prop_assert!(result.is_err(), "{vendor}: random headers verified");
        }
    }
}

#[test]
fn a_correctly_signed_fresh_input_verifies_through_the_harness() {
    // Guards the harness itself: if it stopped signing correctly, the fuzzers would only ever
    // see the rejection path.
    let bodies: [(Vendor, &[u8]); 7] = [
        (Vendor::Shopify, br#"{"id":1}"#),
        (Vendor::Stripe, br#"{"id":"evt_1","type":"refund.updated"}"#),
        (
            Vendor::Adyen,
            br#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"CHF","value":1},"eventCode":"REFUND","pspReference":"P","success":"true"}}]}"#,
        ),
        (Vendor::EasyPost, br#"{"id":"evt_1","description":"tracker.updated"}"#),
        (Vendor::Twilio, b"MessageSid=SM1&MessageStatus=sent"),
        (Vendor::SendGrid, br#"[{"event":"delivered"}]"#),
        (Vendor::Zendesk, br#"{"id":"e1"}"#),
    ];
    for (vendor, body) in bodies {
        for previous in [false, true] {
            let input = FuzzInput {
                sign: true,
                previous,
                fresh: true,
                id: if vendor == Vendor::Twilio {
                    b"https://shop.example/twilio".to_vec()
                } else {
                    b"delivery-1".to_vec()
                },
                body: body.to_vec(),
                ..FuzzInput::default()
            };
            let verified = fuzzing::verify(vendor, &input.encode())
                .unwrap()
                .unwrap_or_else(|e| panic!("{vendor}: {e}"));
            assert_eq!(verified.vendor, vendor);
            assert!(fuzzing::parse_body(vendor, &verified.body), "{vendor}");
        }
    }
}

/// Replays a local fuzz corpus and any crash artifacts (`fuzz/corpus`, `fuzz/artifacts`, both
/// git-ignored) when `scripts/fuzz.sh` left some; CI has none and says so.
#[test]
fn local_fuzz_corpus_replays_without_panics() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0usize;
    for dir in ["corpus", "artifacts"] {
        let Ok(targets) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for target in targets.flatten() {
            let name = target.file_name().to_string_lossy().into_owned();
            let Ok(files) = std::fs::read_dir(target.path()) else {
                continue;
            };
            for file in files.flatten().take(2_000) {
                let Ok(data) = std::fs::read(file.path()) else {
                    continue;
                };
                replay(&name, &data);
                replayed += 1;
            }
        }
    }
    if replayed == 0 {
        println!(
            "skipping: no local fuzz corpus under {} (run scripts/fuzz.sh)",
            root.display()
        );
    } else {
        println!("replayed {replayed} fuzz inputs");
    }
}

fn replay(target: &str, data: &[u8]) {
    if target == "parse_headers" {
        fuzzing::parse_headers(data);
        return;
    }
    for vendor in Vendor::ALL {
        if target == format!("verify_{vendor}") {
            let result = fuzzing::verify(vendor, data).unwrap();
            assert_rejection_is_4xx(vendor, &FuzzInput::decode(data).id, &result);
        } else if target == format!("parse_{vendor}") {
            fuzzing::parse_body(vendor, data);
        }
    }
}
