//! Envelope encryption of secrets at rest (channel credentials, webhook signing secrets): each
//! item gets its own data key, the data key is wrapped by a master key the application never
//! holds in AWS (KMS) and holds in a key file locally, and the item is AES-256-GCM encrypted
//! under the data key with the encryption context as additional data. Opening needs the very
//! same context (purpose, brand, subject), so an item copied under another brand or channel does
//! not open.
//!
//! The port is [`Keyring`]; the adapters are `adapters::kms` (AWS) and
//! `adapters::local_keyring` (the local runner, the tests).

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::domain::{BrandId, ChannelId, WebhookId};

/// The purpose of channel credentials.
pub const CREDENTIALS: &str = "credentials";
/// The purpose of outgoing webhooks' signing secrets.
pub const WEBHOOK: &str = "webhook";
/// A data key's length (AES-256).
pub const DATA_KEY_LEN: usize = 32;

/// What a sealed secret is bound to. In KMS it is the encryption context (IAM conditions may
/// name its `purpose`); in every adapter it is the AES-GCM additional data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext {
    pub purpose: &'static str,
    pub brand: BrandId,
    /// The channel or webhook id.
    pub subject: String,
}

impl SealContext {
    pub fn credentials(brand: &BrandId, channel: &ChannelId) -> Self {
        Self {
            purpose: CREDENTIALS,
            brand: brand.clone(),
            subject: channel.to_string(),
        }
    }

    pub fn webhook(brand: &BrandId, webhook: &WebhookId) -> Self {
        Self {
            purpose: WEBHOOK,
            brand: brand.clone(),
            subject: webhook.to_string(),
        }
    }

    /// The context as KMS takes it.
    pub fn pairs(&self) -> [(&'static str, String); 3] {
        [
            ("purpose", self.purpose.to_owned()),
            ("brand", self.brand.to_string()),
            ("subject", self.subject.clone()),
        ]
    }

    /// The additional data: the pairs in a fixed order, each length-prefixed so no two contexts
    /// encode alike.
    pub fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::new();
        for (name, value) in self.pairs() {
            for part in [name.as_bytes(), value.as_bytes()] {
                aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
                aad.extend_from_slice(part);
            }
        }
        aad
    }
}

/// A sealed secret as stored: nothing in it opens without the master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The format (1: AES-256-GCM under a wrapped data key).
    pub v: u8,
    /// The data key, wrapped by the master key (base64).
    pub key: String,
    /// The nonce (base64).
    pub nonce: String,
    /// The ciphertext with its tag (base64).
    pub ciphertext: String,
    /// Which master key wrapped the data key (a KMS key ARN, or `local`).
    pub key_ref: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The master key could not be reached (KMS down, throttled, the key file unreadable).
    #[error("the key service is unavailable: {0}")]
    Unavailable(String),
    /// The caller may not use the key this way (an IAM denial, a disabled key).
    #[error("the key refused this use: {0}")]
    Refused(String),
    /// The sealed value does not open under this context: tampered with, copied from elsewhere,
    /// or sealed under another master key.
    #[error("the sealed secret does not open: {0}")]
    Invalid(String),
}

/// Seals and opens secrets.
#[async_trait]
pub trait Keyring: Send + Sync {
    async fn seal(&self, context: &SealContext, plaintext: &[u8]) -> Result<Sealed, SealError>;
    async fn open(&self, context: &SealContext, sealed: &Sealed) -> Result<Vec<u8>, SealError>;
}

/// AES-256-GCM of `plaintext` under `data_key` with the context as additional data: the part of
/// sealing every adapter shares. Returns (nonce, ciphertext) in base64.
pub fn encrypt(
    data_key: &[u8],
    context: &SealContext,
    plaintext: &[u8],
) -> Result<(String, String), SealError> {
    let key = aead_key(data_key)?;
    let nonce_bytes: [u8; NONCE_LEN] = rand::random();
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(context.aad()),
        &mut in_out,
    )
    .map_err(|_| SealError::Invalid("the secret could not be encrypted".into()))?;
    Ok((STANDARD.encode(nonce_bytes), STANDARD.encode(in_out)))
}

/// Opens what [`encrypt`] sealed.
pub fn decrypt(
    data_key: &[u8],
    context: &SealContext,
    sealed: &Sealed,
) -> Result<Vec<u8>, SealError> {
    if sealed.v != 1 {
        return Err(SealError::Invalid(format!("unknown format {}", sealed.v)));
    }
    let key = aead_key(data_key)?;
    let nonce: [u8; NONCE_LEN] = base64_field(&sealed.nonce, "nonce")?
        .try_into()
        .map_err(|_| SealError::Invalid("the nonce has the wrong length".into()))?;
    let mut in_out = base64_field(&sealed.ciphertext, "ciphertext")?;
    let plaintext = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.aad()),
            &mut in_out,
        )
        .map_err(|_| {
            SealError::Invalid(
                "it was changed, or sealed for another brand, channel or purpose".into(),
            )
        })?;
    Ok(plaintext.to_vec())
}

/// Decodes one base64 field of a sealed value.
pub fn base64_field(value: &str, name: &str) -> Result<Vec<u8>, SealError> {
    STANDARD
        .decode(value)
        .map_err(|_| SealError::Invalid(format!("its {name} is not base64")))
}

fn aead_key(data_key: &[u8]) -> Result<LessSafeKey, SealError> {
    let key = UnboundKey::new(&AES_256_GCM, data_key)
        .map_err(|_| SealError::Invalid("the data key has the wrong length".into()))?;
    Ok(LessSafeKey::new(key))
}

/// A deployment without a key: every use is refused, in words that say what to set.
pub struct Unconfigured;

#[async_trait]
impl Keyring for Unconfigured {
    async fn seal(&self, _: &SealContext, _: &[u8]) -> Result<Sealed, SealError> {
        Err(SealError::Refused(
            "no master key is configured for this deployment".into(),
        ))
    }

    async fn open(&self, _: &SealContext, _: &Sealed) -> Result<Vec<u8>, SealError> {
        Err(SealError::Refused(
            "no master key is configured for this deployment".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(brand: &str, subject: &str) -> SealContext {
        SealContext {
            purpose: CREDENTIALS,
            brand: BrandId::parse(brand).unwrap(),
            subject: subject.to_owned(),
        }
    }

    #[test]
    fn no_two_contexts_make_the_same_additional_data() {
        // Moving a character from the brand to the subject must not give the same bytes.
        assert_ne!(context("acme", "b1").aad(), context("acmeb", "1").aad());
        assert_ne!(
            context("acme", "ch").aad(),
            SealContext {
                purpose: WEBHOOK,
                ..context("acme", "ch")
            }
            .aad()
        );
        assert_eq!(context("acme", "ch").aad(), context("acme", "ch").aad());
        let names: Vec<_> = context("acme", "ch")
            .pairs()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["purpose", "brand", "subject"]);
    }

    #[test]
    fn a_data_key_opens_only_its_own_ciphertext_under_its_own_context() {
        let key: [u8; DATA_KEY_LEN] = rand::random();
        let (nonce, ciphertext) = encrypt(&key, &context("acme", "ch"), b"secret").unwrap();
        let sealed = Sealed {
            v: 1,
            key: String::new(),
            nonce,
            ciphertext,
            key_ref: "test".into(),
        };
        assert_eq!(
            decrypt(&key, &context("acme", "ch"), &sealed).unwrap(),
            b"secret"
        );
        assert!(matches!(
            decrypt(&key, &context("acme", "other"), &sealed),
            Err(SealError::Invalid(_))
        ));
        let future = Sealed {
            v: 2,
            ..sealed.clone()
        };
        let e = decrypt(&key, &context("acme", "ch"), &future).unwrap_err();
        assert!(e.to_string().contains("unknown format 2"), "{e}");
        // Messages name what went wrong, never the key or the secret.
        let e = decrypt(&[0; 16], &context("acme", "ch"), &sealed).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the sealed secret does not open: the data key has the wrong length"
        );
    }

    #[tokio::test]
    async fn without_a_master_key_nothing_is_sealed_or_opened() {
        let e = Unconfigured
            .seal(&context("acme", "ch"), b"secret")
            .await
            .unwrap_err();
        assert!(matches!(e, SealError::Refused(_)));
        assert!(e.to_string().contains("no master key"), "{e}");
    }
}
