//! The store's assets, their checksums and the intake tickets of uploads and dropped files.

use jiff::Timestamp;
use serde::Serialize;

use super::{ListError, MAX_EXAMINED_PER_LISTING, Store, decode, encode, next_version};
use crate::domain::{Asset, AssetId, AssetStatus, BrandId, IntakeTicket, MediaKind};
use crate::store::keys::{self, ASSET_PREFIX};
use crate::store::{Condition, Cursor, Item, KeyRange, Query, StoreError, Write};

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

impl Store {
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
    /// `also` goes in the same write (the asset's event).
    pub async fn create_asset(
        &self,
        brand: &BrandId,
        asset: &Asset,
        also: Vec<Write>,
    ) -> Result<Asset, StoreError> {
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
        writes.extend(also);
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
