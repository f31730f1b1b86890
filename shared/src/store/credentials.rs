//! The credentials partition: credentials sealed on the way in and opened on the way out
//! (envelope encryption, `crate::sealing`: one data key per item, bound to the brand and the
//! channel), the per-channel renewal lease (X refresh tokens are single use, Bluesky's rotate:
//! two workers renewing at once would lock the channel out), and renewed values saved on
//! condition of the version read under it.
//!
//! Who can open them is decided by the keyring: in AWS only the functions whose role may call
//! `kms:Decrypt` (the publisher and metrics); the API can seal (`kms:GenerateDataKey`) but not
//! open. An item from before sealing (a plain map) is still read, and sealed on its next write.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::repository::encode;
use super::{Condition, Item, Store, StoreError, Write, keys};
use crate::domain::{BrandId, ChannelId, Credentials};
use crate::sealing::{SealContext, SealError, Sealed};

#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    holder: String,
    until: Timestamp,
}

impl Store {
    /// The channel's credentials as stored, with their version.
    pub async fn credentials_with_version(
        &self,
        brand: &BrandId,
        id: &ChannelId,
    ) -> Result<Option<(Credentials, u64)>, StoreError> {
        let item = self
            .items()
            .get(&keys::credentials_pk(brand), &keys::channel_sk(id))
            .await?;
        let Some(item) = item else {
            return Ok(None);
        };
        let version = item.version;
        let context = SealContext::credentials(brand, id);
        let values: BTreeMap<String, String> = match serde_json::from_value::<Sealed>(
            item.body.clone(),
        ) {
            Ok(sealed) => {
                let plaintext = self
                    .keyring()
                    .open(&context, &sealed)
                    .await
                    .map_err(|e| sealing_error(id, e))?;
                serde_json::from_slice(&plaintext)
                    .map_err(|e| StoreError::Corrupt(format!("credentials of channel {id}: {e}")))?
            }
            // Stored before credentials were sealed: read as they are, sealed on the next write.
            Err(_) => {
                tracing::warn!(channel = %id, "credentials stored before sealing; they are sealed when next saved");
                serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("credentials of channel {id}: {e}")))?
            }
        };
        Ok(Some((Credentials::from_stored(values), version)))
    }

    /// The credentials item for `values`, sealed under the brand and channel.
    pub(super) async fn sealed_credentials_item(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        version: u64,
        values: &BTreeMap<String, String>,
    ) -> Result<Item, StoreError> {
        let plaintext =
            serde_json::to_vec(values).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let sealed = self
            .keyring()
            .seal(&SealContext::credentials(brand, id), &plaintext)
            .await
            .map_err(|e| sealing_error(id, e))?;
        encode(
            keys::credentials_pk(brand),
            keys::channel_sk(id),
            version,
            vec![],
            &sealed,
        )
    }

    /// Takes the channel's renewal lease for `holder` until `until`: `false` while another
    /// holder's lease runs. One conditional write, so two workers never both get it.
    pub async fn take_renewal_lease(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (keys::credentials_pk(brand), keys::renewal_lease_sk(id));
        let condition = match self.items().get(&pk, &sk).await? {
            None => Condition::Absent,
            Some(item) => {
                let lease: Lease = serde_json::from_value(item.body)
                    .map_err(|e| StoreError::Corrupt(format!("renewal lease of {id}: {e}")))?;
                if lease.until > now && lease.holder != holder {
                    return Ok(false);
                }
                Condition::Version(item.version)
            }
        };
        let version = match condition {
            Condition::Version(v) => v + 1,
            _ => 1,
        };
        let lease = Lease {
            holder: holder.to_owned(),
            until,
        };
        let mut item = encode(pk, sk, version, vec![], &lease)?;
        // Forgotten by DynamoDB a while after it ran out, even if its holder died.
        item.expires_at = Some(until.as_second().saturating_add(3600));
        match self
            .items()
            .write(vec![Write::Put { item, condition }])
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases the lease if `holder` still has it.
    pub async fn release_renewal_lease(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        holder: &str,
    ) -> Result<(), StoreError> {
        let (pk, sk) = (keys::credentials_pk(brand), keys::renewal_lease_sk(id));
        let Some(item) = self.items().get(&pk, &sk).await? else {
            return Ok(());
        };
        let lease: Lease = serde_json::from_value(item.body)
            .map_err(|e| StoreError::Corrupt(format!("renewal lease of {id}: {e}")))?;
        if lease.holder != holder {
            return Ok(());
        }
        match self
            .items()
            .write(vec![Write::Delete {
                pk,
                sk,
                condition: Condition::Version(item.version),
            }])
            .await
        {
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Merges renewed values into the credentials `read` at `read_version` (empty values never
    /// overwrite), on condition that they are still at that version: a reconnect or another
    /// renewal since then wins (`Conflict`). No read: what was read is what is merged.
    pub async fn save_renewed_credentials(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        read: &Credentials,
        read_version: u64,
        changes: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut values = read.expose_all();
        for (key, value) in changes.iter().filter(|(_, v)| !v.is_empty()) {
            values.insert(key.clone(), value.clone());
        }
        let item = self
            .sealed_credentials_item(brand, id, read_version + 1, &values)
            .await?;
        self.items()
            .write(vec![Write::Put {
                item,
                condition: Condition::Version(read_version),
            }])
            .await
    }

    /// Merges refreshed values into the credentials as stored now (outside a renewal: a first
    /// session saved after a login). Fails with `Conflict` when they were replaced meanwhile.
    pub async fn refresh_credentials(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        changes: &[(String, String)],
    ) -> Result<(), StoreError> {
        let Some((read, version)) = self.credentials_with_version(brand, id).await? else {
            return Err(StoreError::Conflict { index: 0 });
        };
        self.save_renewed_credentials(brand, id, &read, version, changes)
            .await
    }
}

fn sealing_error(id: &ChannelId, e: SealError) -> StoreError {
    match e {
        SealError::Invalid(why) => StoreError::Corrupt(format!(
            "the credentials of channel {id} do not open: {why}"
        )),
        SealError::Unavailable(why) | SealError::Refused(why) => StoreError::Unavailable(format!(
            "the credentials of channel {id} could not be sealed or opened: {why}"
        )),
    }
}
