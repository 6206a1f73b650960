//! Signing test webhooks the way each vendor does, shared by the verifier tests
//! (`tests/webhooks.rs`) and the ingestion tests (`tests/webhook_ingress.rs`).
#![allow(dead_code, clippy::unwrap_used)]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Adyen keys are hex: the test secrets become the hex of their SHA-256.
pub(crate) fn adyen_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// SendGrid keys are P-256 key pairs: the test secrets become scalars.
pub(crate) fn sendgrid_key(secret: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(secret.as_bytes())).unwrap()
}

/// The public key SendGrid shows for `secret`'s key pair, base64 DER.
pub(crate) fn sendgrid_public(secret: &str) -> String {
    // SubjectPublicKeyInfo for an uncompressed P-256 point: a fixed prefix (id-ecPublicKey,
    // prime256v1, the bit string header), then the 65-byte point.
    let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    der.extend_from_slice(
        sendgrid_key(secret)
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes(),
    );
    BASE64.encode(der)
}
