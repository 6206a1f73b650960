//! Webhook signatures: `X-Order-Agent-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header a delivery's signature comes in.
pub(crate) const SIGNATURE_HEADER: &str = "x-order-agent-signature";

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// No secret is configured, so nothing can be verified.
    NoSecret,
    /// The header is absent.
    Missing,
    /// The header is not `sha256=<64 hex digits>`.
    Malformed,
    /// No configured secret produces this signature.
    Mismatch,
}

impl SignatureError {
    /// Plain words for the caller.
    pub(crate) fn message(self) -> &'static str {
        match self {
            SignatureError::NoSecret => {
                "webhooks are disabled: no secret is configured (set [webhooks] secret in the config file)"
            }
            SignatureError::Missing => "missing `X-Order-Agent-Signature` header",
            SignatureError::Malformed => {
                "malformed `X-Order-Agent-Signature` header; expected `sha256=<hex>`"
            }
            SignatureError::Mismatch => "signature does not match the body",
        }
    }
}

/// Checks `header` against the HMAC-SHA256 of `body` under each of `secrets` (the current one and
/// the one being rotated out), comparing in constant time.
pub(crate) fn verify(
    secrets: &[SecretString],
    header: Option<&[u8]>,
    body: &[u8],
) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest.trim_ascii()).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    // Every secret is tried, so the time taken does not tell which one matched.
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(body);
        matched |= mac.verify_slice(&expected).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value for `body` under `secret` (for senders and tests).
#[cfg(test)]
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn secrets() -> Vec<SecretString> {
        vec![SecretString::from("new"), SecretString::from("old")]
    }

    #[test]
    fn either_secret_verifies_and_anything_else_is_refused() {
        let body = br#"{"id":"1"}"#;
        for secret in ["new", "old"] {
            let header = sign(secret, body);
            assert_eq!(verify(&secrets(), Some(header.as_bytes()), body), Ok(()));
        }
        let wrong = sign("other", body);
        assert_eq!(
            verify(&secrets(), Some(wrong.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
        let tampered = sign("new", b"{\"id\":\"2\"}");
        assert_eq!(
            verify(&secrets(), Some(tampered.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&secrets(), None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify(&secrets(), Some(b"md5=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&secrets(), Some(b"sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&[], Some(sign("new", body).as_bytes()), body),
            Err(SignatureError::NoSecret)
        );
    }
}
