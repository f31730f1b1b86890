//! Outgoing webhooks and their deliveries:
//!
//! | item      | pk          | sk                          | due index                                   |
//! |-----------|-------------|-----------------------------|---------------------------------------------|
//! | webhook   | `B#{brand}` | `WH#{id}`                   |                                             |
//! | delivery  | `B#{brand}` | `WD#{webhook}#{event id}`   | `WDUE#{shard}` / `{next}#{brand}#{webhook}#{event}` while pending |
//!
//! A delivery is created by the relay on condition of absence (a relayed event seen twice makes
//! one delivery) and leaves the due index once delivered or given up. Its log is the delivery
//! itself, newest first under its webhook (event ids are ULIDs); it expires after
//! [`DELIVERY_RETENTION_DAYS`].

use jiff::Timestamp;

use super::repository::{ListError, MAX_EXAMINED_PER_LISTING, decode, encode, next_version};
use super::{
    Condition, Cursor, Index, IndexKey, Item, KeyRange, Query, Store, StoreError, Write, keys,
};
use crate::domain::webhook::{DELIVERY_RETENTION_DAYS, Delivery, Webhook};
use crate::domain::{BrandId, WebhookId};

pub const WEBHOOK_PREFIX: &str = "WH#";
pub const DELIVERY_PREFIX: &str = "WD#";
/// Partitions of the deliveries' due index.
pub const DELIVERY_SHARDS: u32 = 2;
/// The most webhooks read when a brand's event is fanned out (the brand's limit, with room).
const WEBHOOKS_READ: usize = 50;

fn webhook_sk(id: &WebhookId) -> String {
    format!("{WEBHOOK_PREFIX}{id}")
}

fn delivery_sk(webhook: &WebhookId, event: &str) -> String {
    format!("{DELIVERY_PREFIX}{webhook}#{event}")
}

fn deliveries_due_pk(shard: u32) -> String {
    format!("WDUE#{shard}")
}

/// A page of a webhook's delivery log.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub next: Option<Cursor>,
}

impl Store {
    pub async fn list_webhooks(&self, brand: &BrandId) -> Result<Vec<Webhook>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(WEBHOOK_PREFIX.into()),
                after: None,
                limit: WEBHOOKS_READ,
                descending: false,
            })
            .await?;
        page.items.into_iter().map(decode_webhook).collect()
    }

    pub async fn get_webhook(
        &self,
        brand: &BrandId,
        id: &WebhookId,
    ) -> Result<Option<Webhook>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &webhook_sk(id))
            .await?;
        item.map(decode_webhook).transpose()
    }

    /// Creates the webhook (`expected: None`) or replaces the version the caller read, with
    /// `also` (its audit entry) in the same write.
    pub async fn put_webhook(
        &self,
        brand: &BrandId,
        webhook: &Webhook,
        expected: Option<u64>,
        also: Vec<Write>,
    ) -> Result<Webhook, StoreError> {
        let item = encode(
            keys::brand_pk(brand),
            webhook_sk(&webhook.id),
            next_version(expected),
            vec![],
            webhook,
        )?;
        self.put_with(webhook, item, expected, also).await
    }

    /// Deletes the webhook the caller read, with `also` in the same write. Its pending deliveries
    /// find it gone and are given up.
    pub async fn delete_webhook(
        &self,
        brand: &BrandId,
        id: &WebhookId,
        expected: u64,
        also: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut writes = vec![Write::Delete {
            pk: keys::brand_pk(brand),
            sk: webhook_sk(id),
            condition: Condition::Version(expected),
        }];
        writes.extend(also);
        self.items().write(writes).await
    }

    /// The write that creates `delivery` (version 1), unless it exists already.
    pub fn new_delivery_write(
        &self,
        brand: &BrandId,
        delivery: &Delivery,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: delivery_item(brand, delivery, 1)?,
            condition: Condition::Absent,
        })
    }

    /// Saves the version of the delivery the caller read (its attempt recorded, or its claim).
    pub async fn put_delivery(
        &self,
        brand: &BrandId,
        delivery: &Delivery,
        expected: u64,
    ) -> Result<Delivery, StoreError> {
        let item = delivery_item(brand, delivery, expected + 1)?;
        self.put(delivery, item, Some(expected)).await
    }

    pub async fn get_delivery(
        &self,
        brand: &BrandId,
        webhook: &WebhookId,
        event: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let item = self
            .items()
            .get(&keys::brand_pk(brand), &delivery_sk(webhook, event))
            .await?;
        item.map(decode_delivery).transpose()
    }

    /// The webhook's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        brand: &BrandId,
        webhook: &WebhookId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<DeliveryPage, ListError> {
        let prefix = format!("{DELIVERY_PREFIX}{webhook}#");
        let after = cursor
            .map(|c| Cursor::decode(c, &prefix))
            .transpose()
            .map_err(ListError::BadCursor)?;
        let query = Query {
            pk: keys::brand_pk(brand),
            index: None,
            range: KeyRange::Prefix(prefix),
            after,
            limit: 0,
            descending: true,
        };
        let (deliveries, next) = self
            .collect(
                query,
                limit,
                MAX_EXAMINED_PER_LISTING,
                decode_delivery,
                |_| true,
            )
            .await?;
        Ok(DeliveryPage {
            deliveries,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }

    /// Up to `limit` deliveries of any brand due at or before `now`, from one shard.
    pub async fn due_deliveries(
        &self,
        shard: u32,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Delivery)>, StoreError> {
        self.due_entries(deliveries_due_pk(shard), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode_delivery(item)?)))
            .collect()
    }
}

fn delivery_item(brand: &BrandId, delivery: &Delivery, version: u64) -> Result<Item, StoreError> {
    let event = &delivery.event.id;
    let indexes = match delivery.next_attempt_at {
        Some(next) => vec![(
            Index::Due,
            IndexKey {
                pk: deliveries_due_pk(keys::shard_of(event) % DELIVERY_SHARDS),
                sk: format!(
                    "{}#{brand}#{}#{event}",
                    keys::time_key(next),
                    delivery.webhook_id
                ),
            },
        )],
        None => vec![],
    };
    let mut item = encode(
        keys::brand_pk(brand),
        delivery_sk(&delivery.webhook_id, event),
        version,
        indexes,
        delivery,
    )?;
    item.expires_at = Some(
        delivery
            .created_at
            .as_second()
            .saturating_add(DELIVERY_RETENTION_DAYS * 86_400),
    );
    Ok(item)
}

fn decode_webhook(item: Item) -> Result<Webhook, StoreError> {
    decode(item, |w: &mut Webhook, v| w.version = v)
}

fn decode_delivery(item: Item) -> Result<Delivery, StoreError> {
    decode(item, |d: &mut Delivery, v| d.version = v)
}
