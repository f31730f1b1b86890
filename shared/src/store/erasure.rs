//! Erasing a brand: every item it has, in every partition it writes (its own, its credentials,
//! its audit log, its outbox, its channels' and competitors' snapshots). Index entries go with
//! their items. Used by the local runner's `serve --demo --reset`.

use super::{Condition, KeyRange, Query, Store, StoreError, Write, keys};
use crate::domain::BrandId;

/// Items deleted per write (the store's atomic write limit).
const ERASE_BATCH: usize = 100;

impl Store {
    /// Deletes every item of `brand`; returns how many. Safe to run again after a failure: what
    /// is left is found and deleted the next time.
    pub async fn erase_brand(&self, brand: &BrandId) -> Result<usize, StoreError> {
        let mut partitions = vec![
            keys::credentials_pk(brand),
            super::audit::audit_pk(brand),
            keys::outbox_pk(brand.as_str()),
        ];
        for channel in self.list_channels(brand).await? {
            partitions.push(keys::channel_snapshots_pk(brand, &channel.id));
        }
        for competitor in self.list_competitors(brand).await? {
            partitions.push(keys::competitor_snapshots_pk(brand, &competitor.id));
        }
        // Last, the partition that lists the channels and competitors the others are found by.
        partitions.push(keys::brand_pk(brand));
        let mut erased = 0;
        for pk in partitions {
            loop {
                let page = self
                    .items()
                    .query(&Query {
                        pk: pk.clone(),
                        index: None,
                        range: KeyRange::Prefix(String::new()),
                        after: None,
                        limit: ERASE_BATCH,
                        descending: false,
                    })
                    .await?;
                if page.items.is_empty() {
                    break;
                }
                erased += page.items.len();
                let deletes = page
                    .items
                    .into_iter()
                    .map(|item| Write::Delete {
                        pk: item.pk,
                        sk: item.sk,
                        condition: Condition::Any,
                    })
                    .collect();
                self.items().write(deletes).await?;
            }
        }
        Ok(erased)
    }
}
