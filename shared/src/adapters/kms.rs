//! The AWS keyring: a customer managed KMS key wraps one data key per sealed item. Sealing asks
//! KMS for a data key (`GenerateDataKey`, AES-256) under the item's encryption context and
//! encrypts locally (`crate::sealing`); opening asks KMS to unwrap it (`Decrypt`, same context).
//! The IAM split lives in template.yaml: the API's role may only generate data keys, the roles of
//! the functions that talk to networks (and the relay, for webhook secrets) may decrypt, each
//! only for its purpose (`kms:EncryptionContext:purpose`).

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::sealing::{Keyring, SealContext, SealError, Sealed, base64_field, decrypt, encrypt};

/// KMS error codes that say the caller may not use the key this way, or the key cannot be used.
const REFUSALS: &[&str] = &[
    "AccessDeniedException",
    "DisabledException",
    "KMSInvalidStateException",
    "NotFoundException",
];

pub struct KmsKeyring {
    client: Client,
    key_id: String,
}

impl KmsKeyring {
    /// `client` is built once per process; `key_id` is the key's ARN, id or alias.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn kms_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    e: aws_sdk_kms::error::SdkError<E>,
) -> SealError {
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default();
    let message = format!("{what}: {}", DisplayErrorContext(&e));
    if REFUSALS.contains(&code) {
        SealError::Refused(message)
    } else if code == "InvalidCiphertextException" || code == "IncorrectKeyException" {
        SealError::Invalid(message)
    } else {
        SealError::Unavailable(message)
    }
}

#[async_trait]
impl Keyring for KmsKeyring {
    async fn seal(&self, context: &SealContext, plaintext: &[u8]) -> Result<Sealed, SealError> {
        let mut request = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256);
        for (name, value) in context.pairs() {
            request = request.encryption_context(name, value);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| kms_error("GenerateDataKey", e))?;
        let data_key = answer
            .plaintext()
            .ok_or_else(|| SealError::Unavailable("KMS returned no data key".into()))?;
        let wrapped = answer
            .ciphertext_blob()
            .ok_or_else(|| SealError::Unavailable("KMS returned no wrapped key".into()))?;
        let (nonce, ciphertext) = encrypt(data_key.as_ref(), context, plaintext)?;
        Ok(Sealed {
            v: 1,
            key: STANDARD.encode(wrapped.as_ref()),
            nonce,
            ciphertext,
            key_ref: answer.key_id().unwrap_or(&self.key_id).to_owned(),
        })
    }

    async fn open(&self, context: &SealContext, sealed: &Sealed) -> Result<Vec<u8>, SealError> {
        let wrapped = base64_field(&sealed.key, "wrapped key")?;
        let mut request = self
            .client
            .decrypt()
            .key_id(&sealed.key_ref)
            .ciphertext_blob(Blob::new(wrapped));
        for (name, value) in context.pairs() {
            request = request.encryption_context(name, value);
        }
        let answer = request.send().await.map_err(|e| kms_error("Decrypt", e))?;
        let data_key = answer
            .plaintext()
            .ok_or_else(|| SealError::Unavailable("KMS returned no data key".into()))?;
        decrypt(data_key.as_ref(), context, sealed)
    }
}
