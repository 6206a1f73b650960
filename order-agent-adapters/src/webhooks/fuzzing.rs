//! Feeding arbitrary bytes to the verifiers and body parsers, for the cargo-fuzz targets in
//! `fuzz/` and the property tests that run the same inputs where no fuzzer does.
//!
//! An input is `flags`, then up to three NUL-separated fields and the body:
//! `[flags] signature \0 timestamp \0 id-or-url \0 body`. With flag bit 0 set, the harness
//! replaces the signature by a correct one (made with a fixed test secret, or the previous one
//! with bit 1), so the code behind the signature check (timestamp, dedup id, body) is reached
//! too; with bit 2 it also replaces the timestamp by the fixed `now`.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use secrecy::SecretString;
use sha2::Sha256;

use super::{
    adyen, easypost, sendgrid, shopify, stripe, twilio, zendesk, KeySlot, SigningSecrets, Vendor,
    VerifiedWebhook, WebhookError, WebhookRequest, WebhookVerifier,
};

const CURRENT: &str = "fuzz-current-secret";
const PREVIOUS: &str = "fuzz-previous-secret";
const ADYEN_CURRENT: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
const ADYEN_PREVIOUS: &str = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00";
const NOW_SECS: i64 = 1_764_000_000;

/// The fixed `now` the harness verifies at.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW_SECS, 0).unwrap_or_default()
}

fn secrets(current: &str, previous: &str) -> SigningSecrets {
    SigningSecrets::new(SecretString::from(current)).with_previous(SecretString::from(previous))
}

fn signing_key(slot: KeySlot) -> Option<&'static SigningKey> {
    // Deriving a P-256 key costs a scalar multiplication: once per process, not per input.
    static KEYS: OnceLock<Option<[SigningKey; 2]>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let current = SigningKey::from_bytes(&[7u8; 32].into()).ok()?;
        let previous = SigningKey::from_bytes(&[9u8; 32].into()).ok()?;
        Some([current, previous])
    });
    let [current, previous] = keys.as_ref()?;
    Some(match slot {
        KeySlot::Current => current,
        KeySlot::Previous => previous,
    })
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The verifier the harness uses for `vendor`, with its fixed test secrets (built once).
pub fn verifier(vendor: Vendor) -> Result<&'static dyn WebhookVerifier, WebhookError> {
    static VERIFIERS: OnceLock<Vec<Result<Box<dyn WebhookVerifier>, WebhookError>>> =
        OnceLock::new();
    let all = VERIFIERS.get_or_init(|| Vendor::ALL.into_iter().map(build_verifier).collect());
    match Vendor::ALL
        .iter()
        .position(|v| *v == vendor)
        .and_then(|i| all.get(i))
    {
        Some(Ok(verifier)) => Ok(verifier.as_ref()),
        Some(Err(error)) => Err(error.clone()),
        None => Err(WebhookError::invalid_config(vendor, "no fuzzing verifier")),
    }
}

fn build_verifier(vendor: Vendor) -> Result<Box<dyn WebhookVerifier>, WebhookError> {
    Ok(match vendor {
        Vendor::Shopify => Box::new(shopify::ShopifyVerifier::new(secrets(CURRENT, PREVIOUS))),
        Vendor::Stripe => Box::new(stripe::StripeVerifier::new(secrets(CURRENT, PREVIOUS))),
        Vendor::Adyen => Box::new(adyen::AdyenVerifier::new(secrets(
            ADYEN_CURRENT,
            ADYEN_PREVIOUS,
        ))?),
        Vendor::EasyPost => Box::new(easypost::EasyPostVerifier::new(secrets(CURRENT, PREVIOUS))),
        Vendor::Twilio => Box::new(twilio::TwilioVerifier::new(secrets(CURRENT, PREVIOUS))),
        Vendor::SendGrid => {
            let keys = [KeySlot::Current, KeySlot::Previous]
                .into_iter()
                .filter_map(|slot| signing_key(slot).map(|k| (slot, *k.verifying_key())))
                .collect();
            Box::new(sendgrid::SendGridVerifier::from_keys(keys))
        }
        Vendor::Zendesk => Box::new(zendesk::ZendeskVerifier::new(secrets(CURRENT, PREVIOUS))),
    })
}

/// A decoded fuzz input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuzzInput {
    /// Replace the signature by a correct one.
    pub sign: bool,
    /// Sign with the previous secret rather than the current one.
    pub previous: bool,
    /// Replace the timestamp by the fixed `now`.
    pub fresh: bool,
    /// The signature header's value (or extra text around the correct one).
    pub signature: Vec<u8>,
    /// The timestamp header's value.
    pub timestamp: Vec<u8>,
    /// The id header's value; for Twilio, the URL.
    pub id: Vec<u8>,
    /// The body.
    pub body: Vec<u8>,
}

impl FuzzInput {
    /// Splits `data` as the module documentation describes; never fails.
    pub fn decode(data: &[u8]) -> Self {
        let (flags, rest) = match data.split_first() {
            Some((flags, rest)) => (*flags, rest),
            None => (0, &[][..]),
        };
        let mut fields = rest.splitn(4, |&b| b == 0);
        let mut next = || fields.next().unwrap_or_default().to_vec();
        Self {
            sign: flags & 1 != 0,
            previous: flags & 2 != 0,
            fresh: flags & 4 != 0,
            signature: next(),
            timestamp: next(),
            id: next(),
            body: next(),
        }
    }

    /// The bytes that decode to this input (fields containing NUL do not round-trip).
    pub fn encode(&self) -> Vec<u8> {
        let flags =
            u8::from(self.sign) | (u8::from(self.previous) << 1) | (u8::from(self.fresh) << 2);
        let mut data = vec![flags];
        for field in [&self.signature, &self.timestamp, &self.id] {
            data.extend_from_slice(field);
            data.push(0);
        }
        data.extend_from_slice(&self.body);
        data
    }
}

/// The request the harness sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuzzRequest {
    /// The headers.
    pub headers: Vec<(&'static str, Vec<u8>)>,
    /// The URL (Twilio only).
    pub url: String,
    /// The body.
    pub body: Vec<u8>,
}

/// The request the harness sends for `input`.
pub fn build_request(vendor: Vendor, input: &FuzzInput) -> FuzzRequest {
    let slot = if input.previous {
        KeySlot::Previous
    } else {
        KeySlot::Current
    };
    let secret = match slot {
        KeySlot::Current => CURRENT,
        KeySlot::Previous => PREVIOUS,
    };
    let timestamp = if input.fresh {
        match vendor {
            Vendor::Zendesk => now().to_rfc3339().into_bytes(),
            _ => NOW_SECS.to_string().into_bytes(),
        }
    } else {
        input.timestamp.clone()
    };
    let mut body = input.body.clone();
    let mut url = String::new();
    let signature = |parts: &[&[u8]]| hmac256(secret.as_bytes(), parts);
    let headers: Vec<(&'static str, Vec<u8>)> = match vendor {
        Vendor::Shopify => {
            let sig = if input.sign {
                BASE64.encode(signature(&[&body])).into_bytes()
            } else {
                input.signature.clone()
            };
            vec![
                (shopify::SIGNATURE_HEADER, sig),
                (shopify::WEBHOOK_ID_HEADER, input.id.clone()),
                (shopify::TOPIC_HEADER, b"orders/updated".to_vec()),
            ]
        }
        Vendor::Stripe => {
            let header = if input.sign {
                let mut h = b"t=".to_vec();
                h.extend_from_slice(&timestamp);
                h.extend_from_slice(b",v1=");
                h.extend_from_slice(hex::encode(signature(&[&timestamp, b".", &body])).as_bytes());
                h.push(b',');
                h.extend_from_slice(&input.signature);
                h
            } else {
                input.signature.clone()
            };
            vec![(stripe::SIGNATURE_HEADER, header)]
        }
        Vendor::Adyen => {
            if input.sign {
                let key = match slot {
                    KeySlot::Current => ADYEN_CURRENT,
                    KeySlot::Previous => ADYEN_PREVIOUS,
                };
                if let (Ok(key), Ok(mut value), Ok(items)) = (
                    hex::decode(key),
                    serde_json::from_slice::<serde_json::Value>(&body),
                    adyen::parse_notification(&body),
                ) {
                    let wrappers = value
                        .get_mut("notificationItems")
                        .and_then(serde_json::Value::as_array_mut);
                    for (wrapper, item) in wrappers.into_iter().flatten().zip(&items) {
                        let sig = BASE64.encode(hmac256(&key, &[item.signing_string().as_bytes()]));
                        if let Some(obj) = wrapper
                            .get_mut("NotificationRequestItem")
                            .and_then(serde_json::Value::as_object_mut)
                        {
                            let mut additional = serde_json::Map::new();
                            additional.insert("hmacSignature".into(), sig.into());
                            obj.insert("additionalData".into(), additional.into());
                        }
                    }
                    body = serde_json::to_vec(&value).unwrap_or(body);
                }
            }
            Vec::new()
        }
        Vendor::EasyPost => {
            let sig = if input.sign {
                let mut s = easypost::SIGNATURE_PREFIX.as_bytes().to_vec();
                s.extend_from_slice(hex::encode(signature(&[&body])).as_bytes());
                s
            } else {
                input.signature.clone()
            };
            vec![(easypost::SIGNATURE_HEADER, sig)]
        }
        Vendor::Twilio => {
            url = String::from_utf8_lossy(&input.id).into_owned();
            let sig = if input.sign {
                let params = twilio::parse_form(&body);
                BASE64
                    .encode(
                        <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes())
                            .map(|mut mac| {
                                mac.update(&twilio::signing_bytes(&url, &params));
                                mac.finalize().into_bytes().to_vec()
                            })
                            .unwrap_or_default(),
                    )
                    .into_bytes()
            } else {
                input.signature.clone()
            };
            vec![(twilio::SIGNATURE_HEADER, sig)]
        }
        Vendor::SendGrid => {
            let sig = match signing_key(slot).filter(|_| input.sign) {
                Some(key) => {
                    let mut message = timestamp.clone();
                    message.extend_from_slice(&body);
                    let signature: Signature = key.sign(&message);
                    BASE64.encode(signature.to_der().as_bytes()).into_bytes()
                }
                None => input.signature.clone(),
            };
            vec![
                (sendgrid::SIGNATURE_HEADER, sig),
                (sendgrid::TIMESTAMP_HEADER, timestamp.clone()),
            ]
        }
        Vendor::Zendesk => {
            let sig = if input.sign {
                BASE64.encode(signature(&[&timestamp, &body])).into_bytes()
            } else {
                input.signature.clone()
            };
            vec![
                (zendesk::SIGNATURE_HEADER, sig),
                (zendesk::TIMESTAMP_HEADER, timestamp.clone()),
                (zendesk::INVOCATION_ID_HEADER, input.id.clone()),
            ]
        }
    };
    FuzzRequest { headers, url, body }
}

/// Verifies the request `data` decodes to, then parses the body of what verified.
pub fn verify(vendor: Vendor, data: &[u8]) -> Option<Result<VerifiedWebhook, WebhookError>> {
    let verifier = verifier(vendor).ok()?;
    let input = FuzzInput::decode(data);
    let built = build_request(vendor, &input);
    let request = WebhookRequest::new(&built.headers, &built.body).with_url(&built.url);
    let verified = verifier.verify(&request, now());
    if let Ok(webhook) = &verified {
        parse_body(vendor, &webhook.body);
    }
    Some(verified)
}

/// Runs `vendor`'s body parsers on `body`; returns whether the main one accepted it.
pub fn parse_body(vendor: Vendor, body: &[u8]) -> bool {
    match vendor {
        Vendor::Shopify => shopify::parse_resource(body).is_ok(),
        Vendor::Stripe => stripe::parse_event(body).is_ok(),
        Vendor::Adyen => adyen::parse_notification(body).is_ok(),
        Vendor::EasyPost => easypost::parse_event(body).is_ok(),
        Vendor::Twilio => twilio::parse_message_callback(body).is_ok(),
        Vendor::SendGrid => sendgrid::parse_events(body).is_ok(),
        Vendor::Zendesk => zendesk::parse_event(body).is_ok(),
    }
}

/// Runs the header parsers that take text (Stripe's signature header, Twilio's form) on `data`.
pub fn parse_headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = stripe::parse_signature_header(&text);
    let _ = twilio::parse_form(data);
    let headers = [(shopify::TOPIC_HEADER, data)];
    let _ = shopify::parse_delivery(&WebhookRequest::new(&headers, b""));
}
