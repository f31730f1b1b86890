//! Inbound webhooks (`http::hooks`, `services::hooks`): what the hook function may read and
//! write, and what the workers finish.
//!
//! | item                 | pk                                | sk                    | due index |
//! |----------------------|-----------------------------------|-----------------------|-----------|
//! | account lookup       | `ACCT#{network}#{account id}`     | `{brand}#{channel}`   |           |
//! | Telegram hook        | `HOOK#{sha256(hook id)}`          | `HOOK`                |           |
//! | queued delivery      | `HQ#{id}`                         | `HQ`                  | `HQDUE#{shard}` / `{next}#{id}` (TTL) |
//! | channel subscription | `B#{brand}`                       | `HSUB#{channel}`      | `HSDUE#0` / `{due}#{brand}#{channel}` while it is to be made |
//!
//! A delivery names an account, never a brand: the lookup partition of that account holds one
//! item per (brand, channel) using it (an agency and its client may both connect one page). The
//! hook function reads only `ACCT#` and `HOOK#` and writes only `HQ#` (IAM `LeadingKeys`); it
//! never reads a brand's items or credentials. A queued delivery is what the route verified and
//! parsed, for one account; the inbox worker takes it in for every channel the account resolves
//! to when it runs, then deletes it. A delivery queued twice is taken in twice: the inbox's own
//! dedupe (network + external id, on condition of absence) keeps one record per item.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Condition, Index, IndexKey, Item, KeyRange, Query, Store, StoreError, Write, keys};
use crate::domain::inbox::{Author, Incoming, InteractionKind, NativeReply, ReplyTarget};
use crate::domain::{BrandId, ChannelId, Network};
use crate::networks::{Pushed, Subscription};

const HOOK_SK: &str = "HOOK";
const QUEUED_SK: &str = "HQ";
const SUBSCRIPTION_PREFIX: &str = "HSUB#";
/// Partitions of the queue's due index.
pub const QUEUE_SHARDS: u32 = 2;
const SUBSCRIPTIONS_DUE_PK: &str = "HSDUE#0";
/// How long a queued delivery is kept if no worker takes it (Telegram keeps its own undelivered
/// updates 24 hours; Meta retries for a day and a half).
pub const QUEUE_RETENTION: SignedDuration = SignedDuration::from_hours(72);
/// The most (brand, channel) pairs one account resolves to.
const PAIRS_READ: usize = 100;
/// A queued item stays well under DynamoDB's 400 KB per item.
pub const MAX_QUEUED_BYTES: usize = 300 * 1024;

/// The hex SHA-256 of a secret: how hook ids and secret tokens are stored.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn account_pk(network: Network, account: &str) -> String {
    format!("ACCT#{}#{account}", network.as_str())
}

fn hook_pk(hook_hash: &str) -> String {
    format!("HOOK#{hook_hash}")
}

fn queued_pk(id: &str) -> String {
    format!("HQ#{id}")
}

fn queue_due_pk(shard: u32) -> String {
    format!("HQDUE#{shard}")
}

fn subscription_sk(channel: &ChannelId) -> String {
    format!("{SUBSCRIPTION_PREFIX}{channel}")
}

/// One (brand, channel) an account of a network is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChannel {
    pub brand: BrandId,
    pub channel: ChannelId,
}

/// A Telegram channel's own hook: found by the hash of the random id in its URL, checked by the
/// hash of the random `secret_token` Telegram sends back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramHook {
    pub brand: BrandId,
    pub channel: ChannelId,
    pub secret_hash: String,
}

/// What a verified delivery said about one account, waiting for the inbox worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub id: String,
    pub network: Network,
    /// The account the delivery names (resolved through the lookup when it is taken in).
    pub account: String,
    /// The channel, when the hook named it rather than the account (Telegram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<AccountChannel>,
    #[serde(default)]
    pub found: Vec<QueuedIncoming>,
    #[serde(default)]
    pub native: Vec<QueuedNative>,
    #[serde(default)]
    pub to_fetch: Vec<String>,
    pub received_at: Timestamp,
    pub next_attempt_at: Timestamp,
    #[serde(default)]
    pub attempts: u32,
}

/// [`Incoming`] as it is kept in the queue (the domain's reading has no stored form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedIncoming {
    pub external_id: String,
    pub kind: InteractionKind,
    pub permalink: Option<String>,
    pub parent: Option<String>,
    pub root: Option<String>,
    pub author: Author,
    pub text: String,
    pub raw: Value,
    pub target: ReplyTarget,
    pub created_at: Timestamp,
}

impl From<Incoming> for QueuedIncoming {
    fn from(i: Incoming) -> Self {
        // Every field named: a field added to `Incoming` does not compile until it is kept here.
        let Incoming {
            external_id,
            kind,
            permalink,
            parent,
            root,
            author,
            text,
            raw,
            target,
            created_at,
        } = i;
        Self {
            external_id,
            kind,
            permalink,
            parent,
            root,
            author,
            text,
            raw,
            target,
            created_at,
        }
    }
}

impl From<QueuedIncoming> for Incoming {
    fn from(q: QueuedIncoming) -> Self {
        Self {
            external_id: q.external_id,
            kind: q.kind,
            permalink: q.permalink,
            parent: q.parent,
            root: q.root,
            author: q.author,
            text: q.text,
            raw: q.raw,
            target: q.target,
            created_at: q.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedNative {
    pub external_id: String,
    pub parent: String,
    pub created_at: Timestamp,
}

impl From<NativeReply> for QueuedNative {
    fn from(n: NativeReply) -> Self {
        let NativeReply {
            external_id,
            parent,
            created_at,
        } = n;
        Self {
            external_id,
            parent,
            created_at,
        }
    }
}

impl From<QueuedNative> for NativeReply {
    fn from(q: QueuedNative) -> Self {
        Self {
            external_id: q.external_id,
            parent: q.parent,
            created_at: q.created_at,
        }
    }
}

impl QueuedDelivery {
    /// What `pushed` says, queued now as one or more deliveries, each small enough to be one
    /// item (a large batch is split; every part is taken in on its own).
    pub fn split(
        network: Network,
        pushed: Pushed,
        channel: Option<AccountChannel>,
        now: Timestamp,
    ) -> Vec<Self> {
        let new = |found: Vec<QueuedIncoming>, native, to_fetch| Self {
            id: ulid::Ulid::new().to_string(),
            network,
            account: pushed.account.clone(),
            channel: channel.clone(),
            found,
            native,
            to_fetch,
            received_at: now,
            next_attempt_at: now,
            attempts: 0,
        };
        let mut parts = Vec::new();
        let mut found = Vec::new();
        let mut size = 0;
        for incoming in pushed.found {
            let incoming = QueuedIncoming::from(incoming);
            let bytes = serde_json::to_vec(&incoming).map_or(0, |b| b.len());
            if size + bytes > MAX_QUEUED_BYTES && !found.is_empty() {
                parts.push(new(std::mem::take(&mut found), Vec::new(), Vec::new()));
                size = 0;
            }
            size += bytes;
            found.push(incoming);
        }
        let native = pushed.native.into_iter().map(QueuedNative::from).collect();
        parts.push(new(found, native, pushed.to_fetch));
        parts
            .into_iter()
            .filter(|p| !p.found.is_empty() || !p.native.is_empty() || !p.to_fetch.is_empty())
            .collect()
    }
}

/// Where a channel's subscription to its network's webhook is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SubscriptionState {
    /// The connection worker is to make it (the channel was connected).
    Wanted,
    /// Made: deliveries for the account are taken in.
    Subscribed,
    /// The network refused or could not be reached, several times: the channel is polled.
    Failed { why: String },
}

/// A channel's subscription to its network's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSubscription {
    pub channel: ChannelId,
    pub network: Network,
    #[serde(flatten)]
    pub state: SubscriptionState,
    /// What the network was asked for, once made: the lookup key and the network's ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<Subscription>,
    /// The hash of the channel's Telegram hook id (its `HOOK#` item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// A subscription of an earlier connection, to undo before the new one is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<ChannelSubscription>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub version: u64,
}

impl ChannelSubscription {
    /// A subscription to make now, for a channel that was just connected; `before` is what an
    /// earlier connection made, undone first.
    pub fn wanted(
        channel: ChannelId,
        network: Network,
        before: Option<ChannelSubscription>,
        now: Timestamp,
    ) -> Self {
        // Only what was made needs undoing; an earlier wish that never happened is replaced.
        let previous = before.and_then(|b| {
            if b.made.is_some() || b.hook.is_some() {
                Some(Box::new(ChannelSubscription {
                    previous: None,
                    ..b
                }))
            } else {
                b.previous
            }
        });
        Self {
            channel,
            network,
            state: SubscriptionState::Wanted,
            made: None,
            hook: None,
            previous,
            due: Some(now),
            attempts: 0,
            version: 0,
        }
    }
}

fn json_item<T: Serialize>(
    pk: String,
    sk: String,
    version: u64,
    indexes: Vec<(Index, IndexKey)>,
    value: &T,
) -> Result<Item, StoreError> {
    let mut body = serde_json::to_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
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

fn decode<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let mut body = item.body;
    if let Some(map) = body.as_object_mut() {
        map.insert("version".into(), item.version.into());
    }
    serde_json::from_value(body)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", item.pk, item.sk)))
}

fn queued_item(delivery: &QueuedDelivery) -> Result<Item, StoreError> {
    let shard = keys::shard_of(&delivery.id) % QUEUE_SHARDS;
    let mut item = json_item(
        queued_pk(&delivery.id),
        QUEUED_SK.to_owned(),
        u64::from(delivery.attempts) + 1,
        vec![(
            Index::Due,
            IndexKey {
                pk: queue_due_pk(shard),
                sk: format!(
                    "{}#{}",
                    keys::time_key(delivery.next_attempt_at),
                    delivery.id
                ),
            },
        )],
        delivery,
    )?;
    item.expires_at = Some(
        (delivery.received_at + QUEUE_RETENTION)
            .as_second()
            .max(delivery.next_attempt_at.as_second() + 3600),
    );
    Ok(item)
}

fn subscription_item(
    brand: &BrandId,
    subscription: &ChannelSubscription,
    version: u64,
) -> Result<Item, StoreError> {
    let indexes = match subscription.due {
        Some(due) => vec![(
            Index::Due,
            IndexKey {
                pk: SUBSCRIPTIONS_DUE_PK.to_owned(),
                sk: format!("{}#{brand}#{}", keys::time_key(due), subscription.channel),
            },
        )],
        None => vec![],
    };
    json_item(
        keys::brand_pk(brand),
        subscription_sk(&subscription.channel),
        version,
        indexes,
        subscription,
    )
}

impl Store {
    /// The (brand, channel) pairs `account` of `network` is connected to.
    pub async fn account_channels(
        &self,
        network: Network,
        account: &str,
    ) -> Result<Vec<AccountChannel>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: account_pk(network, account),
                index: None,
                range: KeyRange::Prefix(String::new()),
                after: None,
                limit: PAIRS_READ,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode).collect()
    }

    /// The write that says `account` of `network` is used by the brand's channel.
    pub fn account_channel_write(
        network: Network,
        account: &str,
        pair: &AccountChannel,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: json_item(
                account_pk(network, account),
                format!("{}#{}", pair.brand, pair.channel),
                1,
                vec![],
                pair,
            )?,
            condition: Condition::Any,
        })
    }

    /// The write that forgets that pair.
    pub fn account_channel_done(network: Network, account: &str, pair: &AccountChannel) -> Write {
        Write::Delete {
            pk: account_pk(network, account),
            sk: format!("{}#{}", pair.brand, pair.channel),
            condition: Condition::Any,
        }
    }

    /// The channel whose Telegram hook id hashes to `hook_hash`.
    pub async fn telegram_hook(&self, hook_hash: &str) -> Result<Option<TelegramHook>, StoreError> {
        let item = self.items().get(&hook_pk(hook_hash), HOOK_SK).await?;
        item.map(decode).transpose()
    }

    pub fn telegram_hook_write(hook_hash: &str, hook: &TelegramHook) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: json_item(hook_pk(hook_hash), HOOK_SK.to_owned(), 1, vec![], hook)?,
            condition: Condition::Any,
        })
    }

    pub fn telegram_hook_done(hook_hash: &str) -> Write {
        Write::Delete {
            pk: hook_pk(hook_hash),
            sk: HOOK_SK.to_owned(),
            condition: Condition::Any,
        }
    }

    /// Queues verified deliveries, all or none.
    pub async fn queue_deliveries(&self, deliveries: &[QueuedDelivery]) -> Result<(), StoreError> {
        for chunk in deliveries.chunks(super::MAX_WRITES_PER_CALL) {
            let writes = chunk
                .iter()
                .map(|d| {
                    Ok(Write::Put {
                        item: queued_item(d)?,
                        condition: Condition::Absent,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.items().write(writes).await?;
        }
        Ok(())
    }

    /// Up to `limit` queued deliveries due at or before `now`, from one shard.
    pub async fn due_deliveries_in(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<QueuedDelivery>, StoreError> {
        let (lo, hi) = keys::due_until(now);
        let page = self
            .items()
            .query(&Query {
                pk: String::new(),
                index: Some((Index::Due, queue_due_pk(shard))),
                range: KeyRange::Between(lo, hi),
                after: None,
                limit,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode).collect()
    }

    /// A delivery taken in (or given up): removed from the queue.
    pub async fn delivery_done(&self, delivery: &QueuedDelivery) -> Result<(), StoreError> {
        self.items()
            .write(vec![Write::Delete {
                pk: queued_pk(&delivery.id),
                sk: QUEUED_SK.to_owned(),
                condition: Condition::Any,
            }])
            .await
    }

    /// A delivery tried again at its `next_attempt_at`: written over the version read, so two
    /// workers cannot both put it off.
    pub async fn delivery_later(&self, delivery: &QueuedDelivery) -> Result<(), StoreError> {
        // Written with version `attempts + 1` (see `queued_item`).
        let read = u64::from(delivery.attempts) + 1;
        let mut later = delivery.clone();
        later.attempts += 1;
        self.items()
            .write(vec![Write::Put {
                item: queued_item(&later)?,
                condition: Condition::Version(read),
            }])
            .await
    }

    pub async fn get_subscription(
        &self,
        brand: &BrandId,
        channel: &ChannelId,
    ) -> Result<Option<ChannelSubscription>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &subscription_sk(channel))
            .await?;
        item.map(decode).transpose()
    }

    /// The write that keeps `subscription` over whatever is there (a new connection's wish).
    pub fn subscription_write(
        brand: &BrandId,
        subscription: &ChannelSubscription,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: subscription_item(brand, subscription, subscription.version + 1)?,
            condition: Condition::Any,
        })
    }

    /// The write that saves the version of `subscription` the caller read.
    pub fn subscription_update(
        brand: &BrandId,
        subscription: &ChannelSubscription,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: subscription_item(brand, subscription, subscription.version + 1)?,
            condition: Condition::Version(subscription.version),
        })
    }

    pub fn subscription_done(brand: &BrandId, channel: &ChannelId) -> Write {
        Write::Delete {
            pk: keys::brand_pk(brand),
            sk: subscription_sk(channel),
            condition: Condition::Any,
        }
    }

    /// Up to `limit` subscriptions to make, due at or before `now`.
    pub async fn due_subscriptions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, ChannelSubscription)>, StoreError> {
        self.due_entries(SUBSCRIPTIONS_DUE_PK.to_owned(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode(item)?)))
            .collect()
    }

    /// The writes that stop taking in deliveries for the channel of `subscription` at once: its
    /// lookup item and its Telegram hook. The network side is undone by the connection worker.
    pub fn subscription_lookups_done(
        brand: &BrandId,
        subscription: &ChannelSubscription,
    ) -> Vec<Write> {
        let mut writes = Vec::new();
        let pair = AccountChannel {
            brand: brand.clone(),
            channel: subscription.channel,
        };
        let mut each = Some(subscription);
        while let Some(s) = each {
            if let Some(made) = &s.made
                && !made.account.is_empty()
            {
                writes.push(Self::account_channel_done(s.network, &made.account, &pair));
            }
            if let Some(hook) = &s.hook {
                writes.push(Self::telegram_hook_done(hook));
            }
            each = s.previous.as_deref();
        }
        writes
    }
}
