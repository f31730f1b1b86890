//! The local runner's keyring: a 32-byte master key in the data folder (`keyring.key`, created
//! on first use, readable by its owner only), wrapping a fresh data key per sealed item with
//! AES-256-GCM, the same format and context as KMS in AWS. Losing the file loses every sealed
//! secret (channels must be reconnected, webhooks made again); it is never written anywhere else.

use std::io::Write;
use std::path::Path;

use async_trait::async_trait;

use crate::sealing::{DATA_KEY_LEN, Keyring, SealContext, SealError, Sealed, decrypt, encrypt};

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "keyring.key";
const KEY_REF: &str = "local";

pub struct LocalKeyring {
    master: [u8; DATA_KEY_LEN],
}

impl LocalKeyring {
    /// The data folder's key, created on first use.
    pub fn open(data: &Path) -> Result<Self, SealError> {
        let path = data.join(KEY_FILE);
        let unreadable = |e: std::io::Error| {
            SealError::Unavailable(format!(
                "the key file {} cannot be read: {e}",
                path.display()
            ))
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let master: [u8; DATA_KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
                    SealError::Invalid(format!(
                        "the key file {} holds {} bytes, not {DATA_KEY_LEN}: it is not a Palinsesto key",
                        path.display(),
                        b.len()
                    ))
                })?;
                Ok(Self { master })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let master: [u8; DATA_KEY_LEN] = rand::random();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(unreadable)?;
                file.write_all(&master).map_err(unreadable)?;
                file.sync_all().map_err(unreadable)?;
                Ok(Self { master })
            }
            Err(e) => Err(unreadable(e)),
        }
    }

    /// A keyring whose master key lives only in memory (tests, benchmarks): it really encrypts.
    pub fn ephemeral() -> Self {
        Self {
            master: rand::random(),
        }
    }
}

#[async_trait]
impl Keyring for LocalKeyring {
    async fn seal(&self, context: &SealContext, plaintext: &[u8]) -> Result<Sealed, SealError> {
        let data_key: [u8; DATA_KEY_LEN] = rand::random();
        // The data key is wrapped under the master key with the same context, as KMS binds it.
        let (key_nonce, wrapped) = encrypt(&self.master, context, &data_key)?;
        let (nonce, ciphertext) = encrypt(&data_key, context, plaintext)?;
        Ok(Sealed {
            v: 1,
            key: format!("{key_nonce}.{wrapped}"),
            nonce,
            ciphertext,
            key_ref: KEY_REF.to_owned(),
        })
    }

    async fn open(&self, context: &SealContext, sealed: &Sealed) -> Result<Vec<u8>, SealError> {
        if sealed.key_ref != KEY_REF {
            return Err(SealError::Invalid(format!(
                "it was sealed by {}, not by this data folder's key",
                sealed.key_ref
            )));
        }
        let (key_nonce, wrapped) = sealed
            .key
            .split_once('.')
            .ok_or_else(|| SealError::Invalid("its wrapped key is malformed".into()))?;
        let wrapped_key = Sealed {
            v: 1,
            key: String::new(),
            nonce: key_nonce.to_owned(),
            ciphertext: wrapped.to_owned(),
            key_ref: KEY_REF.to_owned(),
        };
        let data_key = decrypt(&self.master, context, &wrapped_key)?;
        decrypt(&data_key, context, sealed)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::domain::{BrandId, ChannelId};

    fn context(brand: &str, channel: &ChannelId) -> SealContext {
        SealContext::credentials(&BrandId::parse(brand).unwrap(), channel)
    }

    #[tokio::test]
    async fn a_sealed_secret_opens_only_under_its_own_context() {
        let keyring = LocalKeyring::ephemeral();
        let channel = ChannelId::new();
        let sealed = keyring
            .seal(&context("acme", &channel), b"token-123")
            .await
            .unwrap();
        assert!(!sealed.ciphertext.contains("token"));
        assert_eq!(
            keyring
                .open(&context("acme", &channel), &sealed)
                .await
                .unwrap(),
            b"token-123"
        );
        // Another brand, another channel, another purpose: refused.
        assert!(
            keyring
                .open(&context("other", &channel), &sealed)
                .await
                .is_err()
        );
        assert!(
            keyring
                .open(&context("acme", &ChannelId::new()), &sealed)
                .await
                .is_err()
        );
        let webhook = SealContext {
            purpose: crate::sealing::WEBHOOK,
            ..context("acme", &channel)
        };
        assert!(keyring.open(&webhook, &sealed).await.is_err());
        // Tampered with: refused.
        let mut tampered = sealed.clone();
        let mut bytes = STANDARD.decode(&tampered.ciphertext).unwrap();
        bytes[0] ^= 1;
        tampered.ciphertext = STANDARD.encode(&bytes);
        assert!(
            keyring
                .open(&context("acme", &channel), &tampered)
                .await
                .is_err()
        );
        // Another master key: refused.
        assert!(
            LocalKeyring::ephemeral()
                .open(&context("acme", &channel), &sealed)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_key_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let channel = ChannelId::new();
        let sealed = LocalKeyring::open(dir.path())
            .unwrap()
            .seal(&context("acme", &channel), b"s")
            .await
            .unwrap();
        let again = LocalKeyring::open(dir.path()).unwrap();
        assert_eq!(
            again
                .open(&context("acme", &channel), &sealed)
                .await
                .unwrap(),
            b"s"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        assert!(matches!(
            LocalKeyring::open(dir.path()),
            Err(SealError::Invalid(_))
        ));
    }
}
