//! The store port the services use, written once over any [`ItemStore`].

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{self, ASSET_PREFIX, BRAND_SK, CHANNEL_PREFIX, POST_PREFIX};
use super::{
    Condition, Cursor, Index, IndexKey, Item, ItemStore, KeyRange, Query, StartAfter, StoreError,
    Write,
};
use crate::domain::metrics::{Subject, Tracker};
use crate::domain::rate_limit::{RateLimits, UploadAllowance, WriteBucket};
use crate::domain::report_build::PublishedTarget;
use crate::domain::{
    Asset, AssetId, AssetStatus, Brand, BrandId, Channel, ChannelId, Credentials, IntakeTicket,
    MediaKind, Post, PostId, PostStatus,
};

/// How many items one listing request may examine before it returns a (possibly short) page with
/// a cursor, so a selective filter cannot turn one request into a read of the whole partition.
const MAX_EXAMINED_PER_LISTING: usize = 1_000;
/// The most channels a brand can have; a listing of channels is one page.
pub const MAX_CHANNELS_PER_BRAND: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub status: Option<PostStatus>,
    pub channel: Option<ChannelId>,
    pub label: Option<String>,
    /// Publish time range `[from, to)`; when either is set, only posts with a publish time are listed,
    /// in publish-time order. Otherwise posts are listed newest first.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl PostFilter {
    fn matches(&self, post: &Post) -> bool {
        self.status.is_none_or(|s| post.status() == s)
            && self
                .channel
                .is_none_or(|c| post.targets.iter().any(|t| t.channel_id == c.to_string()))
            && self.label.as_ref().is_none_or(|l| post.labels.contains(l))
    }
}

#[derive(Debug, Clone)]
pub struct PostPage {
    pub posts: Vec<Post>,
    pub next: Option<Cursor>,
}

#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub kind: Option<MediaKind>,
    pub status: Option<AssetStatus>,
    pub tag: Option<String>,
    /// Upload time range `[from, to)`.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AssetFilter {
    fn matches(&self, asset: &Asset) -> bool {
        self.kind.is_none_or(|k| asset.kind == k)
            && self.status.is_none_or(|s| asset.status == s)
            && self
                .tag
                .as_ref()
                .is_none_or(|t| asset.details.tags.contains(t))
            && self.from.is_none_or(|f| asset.created_at >= f)
            && self.to.is_none_or(|t| asset.created_at < t)
    }
}

#[derive(Debug, Clone)]
pub struct AssetPage {
    pub assets: Vec<Asset>,
    pub next: Option<Cursor>,
}

/// Why a listing could not run.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}")]
    BadCursor(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Store {
    items: Arc<dyn ItemStore>,
}

impl Store {
    pub fn new(items: Arc<dyn ItemStore>) -> Self {
        Self { items }
    }

    pub fn items(&self) -> &Arc<dyn ItemStore> {
        &self.items
    }

    // ---- brands ----

    pub async fn get_brand(&self, brand: &BrandId) -> Result<Option<Brand>, StoreError> {
        let item = self.items.get(&keys::brand_pk(brand), BRAND_SK).await?;
        item.map(|i| decode(i, |b: &mut Brand, v| b.version = v))
            .transpose()
    }

    /// Creates the brand (`expected: None`) or replaces the version the caller read.
    pub async fn put_brand(
        &self,
        brand: &Brand,
        expected: Option<u64>,
    ) -> Result<Brand, StoreError> {
        let item = encode(
            keys::brand_pk(&brand.id),
            BRAND_SK.into(),
            next_version(expected),
            vec![],
            brand,
        )?;
        self.put(brand, item, expected).await
    }

    // ---- channels ----

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
        let item = encode(
            keys::brand_pk(brand),
            keys::channel_sk(&channel.id),
            next_version(expected),
            vec![],
            channel,
        )?;
        if expected.is_some() {
            return self.put(channel, item, expected).await;
        }
        let tracker = Tracker::for_account(
            Subject::Channel {
                channel_id: channel.id,
            },
            channel.network,
            channel.created_at,
        );
        let version = item.version;
        self.items
            .write(vec![
                Write::Put {
                    item,
                    condition: Condition::Absent,
                },
                self.tracker_write(brand, &tracker)?,
            ])
            .await?;
        let mut saved = channel.clone();
        saved.version = version;
        Ok(saved)
    }

    /// Saves the channel and deletes its credentials in one write (the channel moved to another
    /// server, and its credentials were given for the old one).
    pub async fn put_channel_without_credentials(
        &self,
        brand: &BrandId,
        channel: &Channel,
        expected: u64,
    ) -> Result<Channel, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            keys::channel_sk(&channel.id),
            expected + 1,
            vec![],
            channel,
        )?;
        self.items
            .write(vec![
                Write::Put {
                    item,
                    condition: Condition::Version(expected),
                },
                Write::Delete {
                    pk: keys::credentials_pk(brand),
                    sk: keys::channel_sk(&channel.id),
                    condition: Condition::Any,
                },
            ])
            .await?;
        let mut saved = channel.clone();
        saved.version = expected + 1;
        Ok(saved)
    }

    /// Deletes the channel and its credentials together.
    pub async fn delete_channel(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![
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
            ])
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
        let secret_item = encode(
            keys::credentials_pk(brand),
            keys::channel_sk(&channel.id),
            rand::random::<u64>() >> 1,
            vec![],
            &credentials.expose_all(),
        )?;
        self.items
            .write(vec![
                Write::Put {
                    item: channel_item,
                    condition: Condition::Version(expected),
                },
                Write::Put {
                    item: secret_item,
                    condition: Condition::Any,
                },
            ])
            .await?;
        let mut saved = channel.clone();
        saved.version = expected + 1;
        Ok(saved)
    }

    // ---- assets ----

    pub async fn get_asset(
        &self,
        brand: &BrandId,
        id: &AssetId,
    ) -> Result<Option<Asset>, StoreError> {
        let item = self
            .items
            .get(&keys::brand_pk(brand), &keys::asset_sk(id))
            .await?;
        item.map(decode_asset).transpose()
    }

    pub async fn put_asset(
        &self,
        brand: &BrandId,
        asset: &Asset,
        expected: Option<u64>,
    ) -> Result<Asset, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            keys::asset_sk(&asset.id),
            next_version(expected),
            vec![],
            asset,
        )?;
        self.put(asset, item, expected).await
    }

    /// Records a new asset and, when it has one, its checksum, in one atomic write that fails
    /// (`Conflict`, index 0 for the asset, 1 for the checksum) if either already exists: so two
    /// uploads of the same file can never both become assets of the brand.
    pub async fn create_asset(&self, brand: &BrandId, asset: &Asset) -> Result<Asset, StoreError> {
        let pk = keys::brand_pk(brand);
        let mut writes = vec![Write::Put {
            item: encode(pk.clone(), keys::asset_sk(&asset.id), 1, vec![], asset)?,
            condition: Condition::Absent,
        }];
        if let Some(sha256) = &asset.details.sha256 {
            writes.push(Write::Put {
                item: encode(
                    pk,
                    keys::checksum_sk(sha256),
                    1,
                    vec![],
                    &ChecksumEntry { asset_id: asset.id },
                )?,
                condition: Condition::Absent,
            });
        }
        self.items.write(writes).await?;
        let mut saved = asset.clone();
        saved.version = 1;
        Ok(saved)
    }

    /// The asset of the brand whose bytes have this SHA-256, if any.
    pub async fn asset_with_checksum(
        &self,
        brand: &BrandId,
        sha256: &str,
    ) -> Result<Option<AssetId>, StoreError> {
        let item = self
            .items
            .get(&keys::brand_pk(brand), &keys::checksum_sk(sha256))
            .await?;
        item.map(|i| {
            serde_json::from_value::<ChecksumEntry>(i.body)
                .map(|c| c.asset_id)
                .map_err(|e| StoreError::Corrupt(format!("checksum {sha256}: {e}")))
        })
        .transpose()
    }

    /// Deletes the asset, its checksum and the ticket of the dropped file it came from together,
    /// so the same file can be added again later, as a new asset.
    pub async fn delete_asset(
        &self,
        brand: &BrandId,
        asset: &Asset,
        expected: u64,
    ) -> Result<(), StoreError> {
        let pk = keys::brand_pk(brand);
        let mut writes = vec![
            Write::Delete {
                pk: pk.clone(),
                sk: keys::asset_sk(&asset.id),
                condition: Condition::Version(expected),
            },
            Write::Delete {
                pk: pk.clone(),
                sk: keys::drop_sk(&asset.details.source_key),
                condition: Condition::Any,
            },
        ];
        if let Some(sha256) = &asset.details.sha256 {
            writes.push(Write::Delete {
                pk,
                sk: keys::checksum_sk(sha256),
                condition: Condition::Any,
            });
        }
        self.items.write(writes).await
    }

    /// Newest first; filters are applied while reading, within the usual examination bound.
    pub async fn list_assets(
        &self,
        brand: &BrandId,
        filter: &AssetFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AssetPage, ListError> {
        let after = cursor
            .map(|c| Cursor::decode(c, ASSET_PREFIX))
            .transpose()
            .map_err(ListError::BadCursor)?;
        if after.as_ref().is_some_and(|a| a.index_sk.is_some()) {
            return Err(ListError::BadCursor(
                "the cursor belongs to another listing: start again without it".into(),
            ));
        }
        let query = Query {
            pk: keys::brand_pk(brand),
            index: None,
            range: KeyRange::Prefix(ASSET_PREFIX.into()),
            after,
            limit: 0,
            descending: true,
        };
        let (assets, next) = self
            .collect(query, limit, MAX_EXAMINED_PER_LISTING, decode_asset, |a| {
                filter.matches(a)
            })
            .await?;
        Ok(AssetPage {
            assets,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// Hands out an upload slot. Fails with `Conflict` if the id is taken.
    pub async fn reserve_upload(
        &self,
        brand: &BrandId,
        ticket: &IntakeTicket,
    ) -> Result<(), StoreError> {
        let item = ticket_item(brand, keys::upload_sk(&ticket.asset_id), ticket)?;
        self.items
            .write(vec![Write::Put {
                item,
                condition: Condition::Absent,
            }])
            .await
    }

    pub async fn get_upload(
        &self,
        brand: &BrandId,
        id: &AssetId,
    ) -> Result<Option<IntakeTicket>, StoreError> {
        self.get_ticket(brand, &keys::upload_sk(id)).await
    }

    /// Notes on an upload slot that its file was a copy of `of`.
    pub async fn note_duplicate_upload(
        &self,
        brand: &BrandId,
        ticket: &IntakeTicket,
        of: AssetId,
    ) -> Result<(), StoreError> {
        let noted = IntakeTicket {
            duplicate_of: Some(of),
            ..ticket.clone()
        };
        let mut item = ticket_item(brand, keys::upload_sk(&ticket.asset_id), &noted)?;
        item.version = 2;
        self.items
            .write(vec![Write::Put {
                item,
                condition: Condition::Any,
            }])
            .await
    }

    /// The ticket of a file dropped into the bucket: `proposed` on first sight, else the one
    /// recorded by an earlier attempt (whichever of two racing attempts wrote first).
    pub async fn claim_dropped_file(
        &self,
        brand: &BrandId,
        proposed: &IntakeTicket,
    ) -> Result<IntakeTicket, StoreError> {
        let sk = keys::drop_sk(&proposed.key);
        let write = Write::Put {
            item: ticket_item(brand, sk.clone(), proposed)?,
            condition: Condition::Absent,
        };
        match self.items.write(vec![write]).await {
            Ok(()) => Ok(proposed.clone()),
            Err(StoreError::Conflict { .. }) => {
                self.get_ticket(brand, &sk).await?.ok_or_else(|| {
                    StoreError::Unavailable(format!(
                        "the intake ticket of {} vanished while being read",
                        proposed.key
                    ))
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Forgets a dropped file's ticket, so a later file under the same key is a new asset.
    pub async fn release_dropped_file(
        &self,
        brand: &BrandId,
        object_key: &str,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: keys::drop_sk(object_key),
                condition: Condition::Any,
            }])
            .await
    }

    async fn get_ticket(
        &self,
        brand: &BrandId,
        sk: &str,
    ) -> Result<Option<IntakeTicket>, StoreError> {
        let item = self.items.get(&keys::brand_pk(brand), sk).await?;
        item.map(|i| {
            serde_json::from_value(i.body)
                .map_err(|e| StoreError::Corrupt(format!("intake ticket {sk}: {e}")))
        })
        .transpose()
    }

    // ---- rate limits ----

    /// The brand's write bucket and its version; `None` is a full bucket.
    pub async fn write_bucket(
        &self,
        brand: &BrandId,
    ) -> Result<Option<(WriteBucket, u64)>, StoreError> {
        self.rate_limit_item(brand, keys::WRITE_BUCKET_SK).await
    }

    /// Saves the bucket if it is still at `expected` (`None`: if there is none), with the TTL at
    /// which it would be full again. Fails with `Conflict` when another request wrote it first.
    pub async fn put_write_bucket(
        &self,
        brand: &BrandId,
        bucket: &WriteBucket,
        limits: &RateLimits,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let expires_at = bucket.forgettable_at(limits);
        self.put_rate_limit_item(brand, keys::WRITE_BUCKET_SK, bucket, expected, expires_at)
            .await
    }

    /// The brand's upload allowance and its version; `None` is nothing used.
    pub async fn upload_allowance(
        &self,
        brand: &BrandId,
    ) -> Result<Option<(UploadAllowance, u64)>, StoreError> {
        self.rate_limit_item(brand, keys::UPLOAD_ALLOWANCE_SK).await
    }

    /// Saves the allowance if it is still at `expected` (`None`: if there is none), with the TTL
    /// at which its day and its last slot are over.
    pub async fn put_upload_allowance(
        &self,
        brand: &BrandId,
        allowance: &UploadAllowance,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let expires_at = allowance.forgettable_at();
        self.put_rate_limit_item(
            brand,
            keys::UPLOAD_ALLOWANCE_SK,
            allowance,
            expected,
            expires_at,
        )
        .await
    }

    async fn rate_limit_item<T: DeserializeOwned>(
        &self,
        brand: &BrandId,
        sk: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        let Some(item) = self.items.get(&keys::brand_pk(brand), sk).await? else {
            return Ok(None);
        };
        let state = serde_json::from_value(item.body)
            .map_err(|e| StoreError::Corrupt(format!("{} {sk}: {e}", item.pk)))?;
        Ok(Some((state, item.version)))
    }

    async fn put_rate_limit_item<T: Serialize>(
        &self,
        brand: &BrandId,
        sk: &str,
        state: &T,
        expected: Option<u64>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = encode(
            keys::brand_pk(brand),
            sk.to_owned(),
            next_version(expected),
            vec![],
            state,
        )?;
        // Two requests that read the same version at the same instant compute the same state;
        // without a mark of its own, the second write would look like a replay of the first
        // (`ItemStore::write`) and succeed, and both would take the last token.
        if let Some(body) = item.body.as_object_mut() {
            body.insert("writer".into(), rand::random::<u64>().into());
        }
        item.expires_at = Some(expires_at);
        let condition = match expected {
            None => Condition::Absent,
            Some(v) => Condition::Version(v),
        };
        self.items.write(vec![Write::Put { item, condition }]).await
    }

    // ---- publishing ----

    /// Up to `limit` scheduled posts of any brand whose next due time is at or before `now`, in
    /// due order, from one shard of the due index.
    pub async fn due_posts(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Post)>, StoreError> {
        self.due_entries(keys::due_pk(shard), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode_post(item)?)))
            .collect()
    }

    /// Up to `limit` entries of one partition of the `due` index whose time is at or before
    /// `now`, in time order, each with the brand it belongs to.
    pub(super) async fn due_entries(
        &self,
        index_pk: String,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Item)>, StoreError> {
        let (lo, hi) = keys::due_until(now);
        let page = self
            .items
            .query(&Query {
                pk: String::new(),
                index: Some((Index::Due, index_pk)),
                range: KeyRange::Between(lo, hi),
                after: None,
                limit,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| {
                let brand = keys::brand_of(&item.pk).ok_or_else(|| {
                    StoreError::Corrupt(format!("a due entry has the partition {:?}", item.pk))
                })?;
                Ok((brand, item))
            })
            .collect()
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

    // ---- posts ----

    pub async fn get_post(&self, brand: &BrandId, id: &PostId) -> Result<Option<Post>, StoreError> {
        let item = self
            .items
            .get(&keys::brand_pk(brand), &keys::post_sk(id))
            .await?;
        item.map(decode_post).transpose()
    }

    /// Creates the post (`expected: None`) or replaces the version the caller read.
    pub async fn put_post(
        &self,
        brand: &BrandId,
        post: &Post,
        expected: Option<u64>,
    ) -> Result<Post, StoreError> {
        self.put(
            post,
            post_item(brand, post, next_version(expected))?,
            expected,
        )
        .await
    }

    /// Replaces the version of the post the caller read and, in the same atomic write, `also`
    /// (for example: start following a target that was just published).
    pub async fn put_post_with(
        &self,
        brand: &BrandId,
        post: &Post,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<Post, StoreError> {
        let version = expected + 1;
        let mut writes = vec![Write::Put {
            item: post_item(brand, post, version)?,
            condition: Condition::Version(expected),
        }];
        writes.extend(also);
        self.items.write(writes).await?;
        let mut saved = post.clone();
        saved.version = version;
        Ok(saved)
    }

    pub async fn delete_post(
        &self,
        brand: &BrandId,
        id: &PostId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.items
            .write(vec![Write::Delete {
                pk: keys::brand_pk(brand),
                sk: keys::post_sk(id),
                condition: Condition::Version(expected),
            }])
            .await
    }

    pub async fn list_posts(
        &self,
        brand: &BrandId,
        filter: &PostFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<PostPage, ListError> {
        let by_time = filter.from.is_some() || filter.to.is_some();
        let after = cursor
            .map(|c| Cursor::decode(c, POST_PREFIX))
            .transpose()
            .map_err(ListError::BadCursor)?;
        if after
            .as_ref()
            .is_some_and(|a| a.index_sk.is_some() != by_time)
        {
            return Err(ListError::BadCursor(
                "the cursor belongs to a listing with different filters: start again without it"
                    .into(),
            ));
        }
        let query = if by_time {
            let from = filter.from.unwrap_or(Timestamp::MIN);
            let to = filter.to.unwrap_or(Timestamp::MAX);
            let (lo, hi) = keys::posts_by_time_range(from, to);
            Query {
                pk: keys::brand_pk(brand),
                index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
                range: KeyRange::Between(lo, hi),
                after,
                limit: 0,
                descending: false,
            }
        } else {
            Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(POST_PREFIX.into()),
                after,
                limit: 0,
                descending: true,
            }
        };
        let (posts, next) = self
            .collect(query, limit, MAX_EXAMINED_PER_LISTING, decode_post, |p| {
                filter.matches(p)
            })
            .await?;
        Ok(PostPage {
            posts,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// Every post with a publish time in `[from, to)`, in time order, up to `max` posts.
    /// Returns whether there were more than `max`.
    pub async fn posts_between(
        &self,
        brand: &BrandId,
        from: Timestamp,
        to: Timestamp,
        max: usize,
    ) -> Result<(Vec<Post>, bool), StoreError> {
        let (lo, hi) = keys::posts_by_time_range(from, to);
        let query = Query {
            pk: keys::brand_pk(brand),
            index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
            range: KeyRange::Between(lo, hi),
            after: None,
            limit: 0,
            descending: false,
        };
        let (posts, next) = self
            .collect(query, max, usize::MAX, decode_post, |_| true)
            .await?;
        Ok((posts, next.is_some()))
    }

    /// The targets that went out in `published` among the posts planned in `planned` (a report's
    /// read). Posts are read a page at a time and only a few words of each published target are
    /// kept, so memory stays bounded by what went out, however many posts and drafts the brand
    /// has; there is no cap that would cut the counts short.
    pub async fn published_targets(
        &self,
        brand: &BrandId,
        planned: (Timestamp, Timestamp),
        published: (Timestamp, Timestamp),
    ) -> Result<Vec<PublishedTarget>, StoreError> {
        const PAGE: usize = 100;
        let (lo, hi) = keys::posts_by_time_range(planned.0, planned.1);
        let mut query = Query {
            pk: keys::brand_pk(brand),
            index: Some((Index::PostsByTime, keys::posts_by_time_pk(brand))),
            range: KeyRange::Between(lo, hi),
            after: None,
            limit: PAGE,
            descending: false,
        };
        let mut targets = Vec::new();
        loop {
            let page = self.items.query(&query).await?;
            for item in page.items {
                let post = decode_post(item)?;
                targets.extend(PublishedTarget::of(&post, published.0, published.1));
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(targets),
            }
        }
    }

    /// Reads pages until `limit` items matched, the range ended, or `max_examined` items were read.
    /// The returned cursor points just after the last item examined, so none is skipped or repeated.
    async fn collect<T>(
        &self,
        mut query: Query,
        limit: usize,
        max_examined: usize,
        decode: impl Fn(Item) -> Result<T, StoreError>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Option<StartAfter>), StoreError> {
        let mut kept = Vec::new();
        let mut examined = 0;
        loop {
            query.limit = (limit - kept.len())
                .clamp(25, 200)
                .min(max_examined - examined);
            let page = self.items.query(&query).await?;
            let page_len = page.items.len();
            for (i, item) in page.items.into_iter().enumerate() {
                let after = start_after(&item, query.index.as_ref().map(|(i, _)| *i));
                examined += 1;
                let value = decode(item)?;
                if keep(&value) {
                    kept.push(value);
                }
                let more_in_page = i + 1 < page_len;
                if kept.len() == limit || examined == max_examined {
                    let more = more_in_page || page.next.is_some();
                    return Ok((kept, more.then_some(after)));
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok((kept, None)),
            }
        }
    }

    /// Writes `value` as `item` and returns it with the version it now has.
    pub(super) async fn put<T: Clone + Versioned>(
        &self,
        value: &T,
        item: Item,
        expected: Option<u64>,
    ) -> Result<T, StoreError> {
        let condition = match expected {
            None => Condition::Absent,
            Some(v) => Condition::Version(v),
        };
        let version = item.version;
        self.items
            .write(vec![Write::Put { item, condition }])
            .await?;
        let mut saved = value.clone();
        saved.set_version(version);
        Ok(saved)
    }
}

pub(super) trait Versioned {
    fn set_version(&mut self, version: u64);
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    )*};
}
versioned!(Asset, Brand, Channel, Post, crate::domain::Kpi);

pub(super) fn next_version(expected: Option<u64>) -> u64 {
    expected.map_or(1, |v| v + 1)
}

fn post_item(brand: &BrandId, post: &Post, version: u64) -> Result<Item, StoreError> {
    let by_time = post.publish_at.map(|at| {
        (
            Index::PostsByTime,
            IndexKey {
                pk: keys::posts_by_time_pk(brand),
                sk: keys::posts_by_time_sk(at, &post.id),
            },
        )
    });
    let due = post.next_due().map(|at| {
        (
            Index::Due,
            IndexKey {
                pk: keys::due_pk(keys::due_shard(&post.id)),
                sk: keys::due_sk(at, brand, &post.id),
            },
        )
    });
    let indexes = by_time.into_iter().chain(due).collect();
    encode(
        keys::brand_pk(brand),
        keys::post_sk(&post.id),
        version,
        indexes,
        post,
    )
}

fn start_after(item: &Item, index: Option<Index>) -> StartAfter {
    StartAfter {
        sk: item.sk.clone(),
        index_sk: index.and_then(|i| item.index_key(i)).map(|k| k.sk.clone()),
    }
}

pub(super) fn encode<T: Serialize>(
    pk: String,
    sk: String,
    version: u64,
    indexes: Vec<(Index, IndexKey)>,
    value: &T,
) -> Result<Item, StoreError> {
    let mut body = serde_json::to_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
    // The version lives in the item's own attribute; the body never carries a stale copy.
    if let Some(map) = body.as_object_mut() {
        map.remove("version");
    }
    Ok(Item {
        pk,
        sk,
        version,
        indexes,
        expires_at: None,
        body,
    })
}

pub(super) fn decode<T: DeserializeOwned>(
    item: Item,
    set_version: impl Fn(&mut T, u64),
) -> Result<T, StoreError> {
    let mut body = item.body;
    if let Some(map) = body.as_object_mut() {
        map.insert("version".into(), item.version.into());
    }
    let mut value: T = serde_json::from_value(body)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", item.pk, item.sk)))?;
    set_version(&mut value, item.version);
    Ok(value)
}

fn decode_channel(item: Item) -> Result<Channel, StoreError> {
    decode(item, |c: &mut Channel, v| c.version = v)
}

fn decode_post(item: Item) -> Result<Post, StoreError> {
    decode(item, |p: &mut Post, v| p.version = v)
}

fn decode_asset(item: Item) -> Result<Asset, StoreError> {
    decode(item, |a: &mut Asset, v| a.version = v)
}

/// The item that makes a checksum unique within a brand.
#[derive(Serialize, serde::Deserialize)]
struct ChecksumEntry {
    asset_id: AssetId,
}

/// A ticket expires some days after it was made (DynamoDB TTL): long enough for any retry of
/// its intake, and for the uploader to be told where a duplicate went.
fn ticket_item(brand: &BrandId, sk: String, ticket: &IntakeTicket) -> Result<Item, StoreError> {
    let mut item = encode(keys::brand_pk(brand), sk, 1, vec![], ticket)?;
    let lifetime = keys::INTAKE_TICKET_DAYS * 24 * 3600;
    item.expires_at = Some(ticket.created_at.as_second().saturating_add(lifetime));
    Ok(item)
}
