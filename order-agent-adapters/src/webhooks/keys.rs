//! Signing secrets, their rotation, and the constant-time MAC checks every HMAC vendor shares.

use std::convert::Infallible;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha1::Sha1;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// Which of the configured secrets (or public keys) verified a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySlot {
    /// The current secret.
    Current,
    /// The previous secret, still accepted while the rotation is under way.
    Previous,
}

/// A vendor's webhook signing secret and, during a rotation, the one it replaces.
///
/// Rotate by configuring the new secret as `current` and the old one as `previous`, then
/// switching the secret at the vendor; once no [`VerifiedWebhook`](super::VerifiedWebhook) reports
/// [`KeySlot::Previous`] any more (allow for the vendor's retry window), drop `previous`.
/// The secrets never appear in `Debug` output or in errors.
#[derive(Debug, Clone)]
pub struct SigningSecrets {
    current: SecretString,
    previous: Option<SecretString>,
}

impl SigningSecrets {
    /// Only `current` is accepted.
    pub fn new(current: SecretString) -> Self {
        Self {
            current,
            previous: None,
        }
    }

    /// `previous` is accepted too, until the rotation is over.
    pub fn with_previous(mut self, previous: SecretString) -> Self {
        self.previous = Some(previous);
        self
    }

    /// The secrets with their slots, current first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (KeySlot, &SecretString)> {
        std::iter::once((KeySlot::Current, &self.current))
            .chain(self.previous.iter().map(|p| (KeySlot::Previous, p)))
    }
}

/// MAC keys derived from [`SigningSecrets`] (decoded or normalised once, at construction).
#[derive(Debug, Clone)]
pub(crate) struct KeyRing {
    keys: Vec<(KeySlot, SecretSlice<u8>)>,
}

impl KeyRing {
    /// Each secret's UTF-8 bytes as the key.
    pub(crate) fn utf8(secrets: &SigningSecrets) -> Self {
        let Ok(ring) = Self::derive(secrets, |s| Ok::<_, Infallible>(s.as_bytes().to_vec()));
        ring
    }

    /// Each secret turned into key bytes by `derive`; the first failure is returned.
    pub(crate) fn derive<E>(
        secrets: &SigningSecrets,
        derive: impl Fn(&str) -> Result<Vec<u8>, E>,
    ) -> Result<Self, E> {
        let mut keys = Vec::new();
        for (slot, secret) in secrets.iter() {
            keys.push((slot, SecretSlice::from(derive(secret.expose_secret())?)));
        }
        Ok(Self { keys })
    }

    /// The slot of the first key whose HMAC-SHA256 over `parts` equals one of `candidates`.
    pub(crate) fn match_sha256(&self, parts: &[&[u8]], candidates: &[&[u8]]) -> Option<KeySlot> {
        self.find(candidates, |key| mac::<Hmac<Sha256>>(key, parts))
    }

    /// The slot of the first key whose HMAC-SHA1 over `parts` equals one of `candidates`.
    pub(crate) fn match_sha1(&self, parts: &[&[u8]], candidates: &[&[u8]]) -> Option<KeySlot> {
        self.find(candidates, |key| mac::<Hmac<Sha1>>(key, parts))
    }

    fn find(
        &self,
        candidates: &[&[u8]],
        tag: impl Fn(&[u8]) -> Option<Vec<u8>>,
    ) -> Option<KeySlot> {
        let mut found = None;
        for (slot, key) in &self.keys {
            let Some(expected) = tag(key.expose_secret()) else {
                continue;
            };
            // Every candidate is compared, so the time taken does not tell which one matched.
            let mut matched = Choice::from(0);
            for candidate in candidates {
                matched |= expected.as_slice().ct_eq(candidate);
            }
            if found.is_none() && bool::from(matched) {
                found = Some(*slot);
            }
        }
        found
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
    // HMAC takes keys of any length, so this never fails; `None` is only for the type's sake.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().to_vec())
}

/// Constant-time equality of two byte strings (their lengths are not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
