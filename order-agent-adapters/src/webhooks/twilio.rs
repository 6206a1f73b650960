//! Twilio webhooks (incoming messages, status callbacks): `X-Twilio-Signature` is the base64
//! HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio called followed by
//! every form parameter of the body as name and value, sorted by name.
//!
//! For a JSON body Twilio puts `bodySHA256` (the hex SHA-256 of the body) into the URL's query
//! and signs the URL alone; the verifier then checks that digest too. Like Twilio's own
//! libraries, it accepts the URL with and without the scheme's default port, because proxies
//! differ on whether Twilio's URL had one. Twilio signs no timestamp; the dedup id is the
//! `I-Twilio-Idempotency-Token` header (the same on every retry) when sent, else the digest of
//! URL and body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::keys::{ct_eq, KeyRing};
use super::{
    body_digest, checked_id, SigningSecrets, Vendor, VerifiedWebhook, WebhookError,
    WebhookErrorKind, WebhookRequest, WebhookVerifier,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// The delivery id header, the same on every retry.
pub const IDEMPOTENCY_TOKEN_HEADER: &str = "I-Twilio-Idempotency-Token";

const VENDOR: Vendor = Vendor::Twilio;

/// Verifies Twilio webhooks.
#[derive(Debug, Clone)]
pub struct TwilioVerifier {
    keys: KeyRing,
}

impl TwilioVerifier {
    /// A verifier accepting the auth token (and the previous one while rotating).
    pub fn new(secrets: SigningSecrets) -> Self {
        Self {
            keys: KeyRing::utf8(&secrets),
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` bytes into name/value pairs, in order: `+` is a
/// space, `%XX` a byte, and an invalid escape stays as it is. Never fails, never panics.
pub fn parse_form(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(i) => (
                percent_decode(pair.get(..i).unwrap_or_default()),
                percent_decode(pair.get(i + 1..).unwrap_or_default()),
            ),
            None => (percent_decode(pair), Vec::new()),
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = input.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    // Two hex digits are at most 255.
                    out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// The text Twilio signs for form parameters: URL, then each name and value, sorted.
pub(crate) fn signing_bytes(url: &str, params: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut sorted: Vec<&(Vec<u8>, Vec<u8>)> = params.iter().collect();
    sorted.sort();
    let mut data = url.as_bytes().to_vec();
    for (name, value) in sorted {
        data.extend_from_slice(name);
        data.extend_from_slice(value);
    }
    data
}

/// The value of query parameter `name` in `url`, percent-decoded.
fn query_param(url: &str, name: &str) -> Option<Vec<u8>> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    parse_form(query.as_bytes())
        .into_iter()
        .find(|(k, _)| k == name.as_bytes())
        .map(|(_, v)| v)
}

/// `url` with the scheme's default port removed when it has it, or added when it has none;
/// `None` for other schemes or ports.
fn alternate_port_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let tail = rest.get(end..)?;
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let userinfo = authority.get(..host_start)?;
    let host_port = authority.get(host_start..)?;
    let port_at = host_port
        .rfind(':')
        .filter(|&i| !host_port.get(i..).unwrap_or_default().contains(']'));
    match port_at {
        Some(i) if host_port.get(i + 1..)? == default_port => Some(format!(
            "{scheme}://{userinfo}{}{tail}",
            host_port.get(..i)?
        )),
        Some(_) => None,
        None if host_port.is_empty() => None,
        None => Some(format!("{scheme}://{authority}:{default_port}{tail}")),
    }
}

impl WebhookVerifier for TwilioVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        if request.url.is_empty() {
            return Err(WebhookError::invalid_config(
                VENDOR,
                "twilio signs the request url: pass the public url the request was sent to",
            ));
        }
        let signature = request.required_header(VENDOR, SIGNATURE_HEADER)?;
        let signature = BASE64
            .decode(signature)
            .ok()
            .filter(|s| s.len() == 20)
            .ok_or_else(|| {
                WebhookError::malformed_header(
                    VENDOR,
                    SIGNATURE_HEADER,
                    "is not a base64 hmac-sha1",
                )
            })?;
        let body_sha256 = query_param(request.url, "bodySHA256");
        let params = if body_sha256.is_some() {
            Vec::new()
        } else {
            parse_form(request.body)
        };
        let mut urls = vec![request.url.to_owned()];
        urls.extend(alternate_port_url(request.url));
        let key = urls
            .iter()
            .find_map(|url| {
                self.keys
                    .match_sha1(&[&signing_bytes(url, &params)], &[&signature])
            })
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        if let Some(expected) = body_sha256 {
            let actual = hex::encode(Sha256::digest(request.body));
            if !ct_eq(actual.as_bytes(), &expected.to_ascii_lowercase()) {
                return Err(WebhookError::bad_signature(VENDOR));
            }
        }
        let dedup_id = match request.header_str(VENDOR, IDEMPOTENCY_TOKEN_HEADER)? {
            Some(token) if !token.is_empty() => checked_id(
                VENDOR,
                WebhookErrorKind::MalformedHeader,
                IDEMPOTENCY_TOKEN_HEADER,
                token,
            )?,
            _ => body_digest(&[request.url.as_bytes(), b"\n", request.body]),
        };
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id,
            timestamp: None,
            key,
            body: request.body.to_vec(),
        })
    }
}

/// A message webhook from Twilio: an incoming SMS or WhatsApp message, or a status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioMessageCallback {
    /// `MessageSid` (or the older `SmsSid`).
    pub message_sid: String,
    /// `MessageStatus` (or `SmsStatus`), e.g. `delivered`, `failed`, `received`.
    pub status: Option<String>,
    /// `From`, e.g. `+41790000000` or `whatsapp:+41790000000`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `Body`, for incoming messages.
    pub body: Option<String>,
    /// `ErrorCode`, for failed deliveries.
    pub error_code: Option<String>,
}

/// Reads a verified form body as a message webhook; never panics. Errors when it has no
/// `MessageSid` or a field is not UTF-8.
pub fn parse_message_callback(body: &[u8]) -> Result<TwilioMessageCallback, WebhookError> {
    let params = parse_form(body);
    let get = |name: &str| -> Result<Option<String>, WebhookError> {
        match params.iter().find(|(k, _)| k == name.as_bytes()) {
            None => Ok(None),
            Some((_, v)) => String::from_utf8(v.clone()).map(Some).map_err(|_| {
                WebhookError::malformed_body(VENDOR, format!("`{name}` is not utf-8"))
            }),
        }
    };
    let message_sid = match get("MessageSid")? {
        Some(sid) => Some(sid),
        None => get("SmsSid")?,
    }
    .filter(|sid| !sid.is_empty())
    .ok_or_else(|| WebhookError::malformed_body(VENDOR, "body has no `MessageSid`"))?;
    let status = match get("MessageStatus")? {
        Some(status) => Some(status),
        None => get("SmsStatus")?,
    };
    Ok(TwilioMessageCallback {
        message_sid,
        status,
        from: get("From")?,
        to: get("To")?,
        body: get("Body")?,
        error_code: get("ErrorCode")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_port_is_added_or_removed() {
        assert_eq!(
            alternate_port_url("https://example.com/sms?x=1").as_deref(),
            Some("https://example.com:443/sms?x=1")
        );
        assert_eq!(
            alternate_port_url("https://example.com:443/sms").as_deref(),
            Some("https://example.com/sms")
        );
        assert_eq!(
            alternate_port_url("http://u:p@[::1]:80/a").as_deref(),
            Some("http://u:p@[::1]/a")
        );
        assert_eq!(alternate_port_url("https://example.com:8443/sms"), None);
        assert_eq!(alternate_port_url("ftp://example.com/"), None);
    }

    #[test]
    fn forms_decode_like_browsers_encode() {
        assert_eq!(
            parse_form(b"Body=Hello+w%C3%B6rld&To=%2B41&bad=%zz&flag"),
            vec![
                (b"Body".to_vec(), "Hello wörld".as_bytes().to_vec()),
                (b"To".to_vec(), b"+41".to_vec()),
                (b"bad".to_vec(), b"%zz".to_vec()),
                (b"flag".to_vec(), Vec::new()),
            ]
        );
    }
}
