//! The store's channels and the credentials each one publishes with.

use super::{Store, decode, encode, next_version};
use crate::domain::metrics::{Subject, Tracker};
use crate::domain::{BrandId, Channel, ChannelId, Credentials};
use crate::store::keys::{self, CHANNEL_PREFIX};
use crate::store::{Condition, Item, KeyRange, Query, StoreError, Write};

/// The most channels a brand can have; a listing of channels is one page.
pub const MAX_CHANNELS_PER_BRAND: usize = 500;

impl Store {
    pub async fn get_channel(
        &self,
        brand: &BrandId,
        id: &ChannelId,
    ) -> Result<Option<Channel>, StoreError> {
        let item = self
            .items
            .get(&keys::brand_pk(brand), &keys::channel_sk(id))
            .await?;
        item.map(decode_channel).transpose()
    }

    pub async fn list_channels(&self, brand: &BrandId) -> Result<Vec<Channel>, StoreError> {
        let page = self
            .items
            .query(&Query {
                index: None,
                pk: keys::brand_pk(brand),
                range: KeyRange::Prefix(CHANNEL_PREFIX.into()),
                after: None,
                limit: MAX_CHANNELS_PER_BRAND,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode_channel).collect()
    }

    /// Creates the channel (`expected: None`), starting to follow its account's metrics in the
    /// same write, or replaces the version the caller read.
    pub async fn put_channel(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: Option<u64>,
    ) -> Result<Channel, StoreError> {
        match expected {
            Some(version) => self.put_channel_with(brand, channel, version, vec![]).await,
            None => self.create_channel(brand, channel, vec![]).await,
        }
    }

    /// Creates the channel, starting to follow its account's metrics and writing `also` (its
    /// audit entry) in the same write.
    pub async fn create_channel(
        &self,
        brand: &BrandId,
        channel: &Channel,
        also: Vec<Write>,
    ) -> Result<Channel, StoreError> {
        let expected: Option<u64> = None;
        let item = encode(
            keys::brand_pk(brand),
            keys::channel_sk(&channel.id),
            next_version(expected),
            vec![],
            channel,
        )?;
        let tracker = Tracker::for_account(
            Subject::Channel {
                channel_id: channel.id,
            },
            channel.network,
            channel.created_at,
        );
        let version = item.version;
        self.items
            .write(
                [
                    Write::Put {
                        item,
                        condition: Condition::Absent,
                    },
                    self.tracker_write(brand, &tracker)?,
                ]
                .into_iter()
                .chain(also)
                .collect(),
            )
            .await?;
        let mut saved = channel.clone();
        saved.version = version;
        Ok(saved)
    }

    /// Replaces the version of the channel the caller read and, in the same atomic write, `also`
    /// (its event, its audit entry).
    pub async fn put_channel_with(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<Channel, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            keys::channel_sk(&channel.id),
            expected + 1,
            vec![],
            channel,
        )?;
        self.put_with(channel, item, Some(expected), also).await
    }

    /// Saves the channel and deletes its credentials in one write (the channel moved to another
    /// server, and its credentials were given for the old one).
    pub async fn put_channel_without_credentials(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<Channel, StoreError> {
        let forget = Write::Delete {
            pk: keys::credentials_pk(brand),
            sk: keys::channel_sk(&channel.id),
            condition: Condition::Any,
        };
        let also = std::iter::once(forget).chain(also).collect();
        self.put_channel_with(brand, channel, expected, also).await
    }

    /// Deletes the channel and its credentials together.
    pub async fn delete_channel(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.delete_channel_with(brand, id, expected, vec![]).await
    }

    /// [`Store::delete_channel`] with `also` (its audit entry) in the same write.
    pub async fn delete_channel_with(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<(), StoreError> {
        self.items
            .write(
                [
                    Write::Delete {
                        pk: keys::brand_pk(brand),
                        sk: keys::channel_sk(id),
                        condition: Condition::Version(expected),
                    },
                    Write::Delete {
                        pk: keys::credentials_pk(brand),
                        sk: keys::channel_sk(id),
                        condition: Condition::Any,
                    },
                    self.untrack_write(brand, &Subject::Channel { channel_id: *id }),
                ]
                .into_iter()
                .chain(also)
                .collect(),
            )
            .await
    }

    /// Stores credentials and the channel's record of when they changed, atomically.
    pub async fn put_credentials(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
        credentials: &Credentials,
    ) -> Result<Channel, StoreError> {
        self.put_credentials_with(brand, channel, expected, credentials, vec![])
            .await
    }

    /// [`Store::put_credentials`] with `also` (its audit entry) in the same write.
    pub async fn put_credentials_with(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
        credentials: &Credentials,
        also: Vec<Write>,
    ) -> Result<Channel, StoreError> {
        let channel_item = encode(
            keys::brand_pk(brand),
            keys::channel_sk(&channel.id),
            expected + 1,
            vec![],
            channel,
        )?;
        // The API may write credentials but not read them (IAM), so it cannot know the stored
        // version: a reconnect starts a fresh random one. A token refresh conditions on the
        // version it read, so a refresh racing a reconnect fails instead of overwriting it.
        let secret_item = self
            .sealed_credentials_item(
                brand,
                &channel.id,
                rand::random::<u64>() >> 1,
                &credentials.expose_all(),
            )
            .await?;
        self.items
            .write(
                vec![
                    Write::Put {
                        item: channel_item,
                        condition: Condition::Version(expected),
                    },
                    Write::Put {
                        item: secret_item,
                        condition: Condition::Any,
                    },
                ]
                .into_iter()
                .chain(also)
                .collect(),
            )
            .await?;
        let mut saved = channel.clone();
        saved.version = expected + 1;
        Ok(saved)
    }

    pub async fn get_credentials(
        &self,
        brand: &BrandId,
        id: &ChannelId,
    ) -> Result<Option<Credentials>, StoreError> {
        Ok(self
            .credentials_with_version(brand, id)
            .await?
            .map(|(credentials, _)| credentials))
    }
}

fn decode_channel(item: Item) -> Result<Channel, StoreError> {
    decode(item, |c: &mut Channel, v| c.version = v)
}
