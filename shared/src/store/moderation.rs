//! Moderation requests (`domain::moderation`):
//!
//! | item       | pk          | sk                        | notes |
//! |------------|-------------|---------------------------|-------|
//! | moderation | `B#{brand}` | `MOD#{interaction}#{id}`  | due: `MODDUE#0` / `{next}#{brand}#{interaction}#{id}` while pending; TTL: the brand's retention |
//!
//! Erasing an interaction erases its requests with it (`store::inbox`).

use jiff::SignedDuration;

use super::repository::{decode, encode};
use super::{Condition, Index, IndexKey, Item, KeyRange, Query, Store, StoreError, Write, keys};
use crate::domain::moderation::{Moderation, ModerationState};
use crate::domain::{BrandId, InteractionId};

// Not `MDUE#`: the metrics trackers' due partitions are `MDUE#0..3`.
const DUE_PK: &str = "MODDUE#0";

fn moderation_sk(m: &Moderation) -> String {
    format!("MOD#{}#{}", m.interaction, m.id)
}

fn item(
    brand: &BrandId,
    m: &Moderation,
    version: u64,
    retention: SignedDuration,
) -> Result<Item, StoreError> {
    let due = match (&m.state, m.next_attempt_at) {
        (ModerationState::Pending, Some(at)) => Some((
            Index::Due,
            IndexKey {
                pk: DUE_PK.into(),
                sk: format!("{}#{brand}#{}#{}", keys::time_key(at), m.interaction, m.id),
            },
        )),
        _ => None,
    };
    let mut item = encode(
        keys::brand_pk(brand),
        moderation_sk(m),
        version,
        due.into_iter().collect(),
        m,
    )?;
    item.expires_at = Some((m.created_at + retention).as_second());
    Ok(item)
}

impl Store {
    /// The write that saves `m`: new when its version is 0, else over the version read.
    pub fn moderation_write(
        brand: &BrandId,
        m: &Moderation,
        retention: SignedDuration,
    ) -> Result<Write, StoreError> {
        Ok(Write::Put {
            item: item(brand, m, m.version + 1, retention)?,
            condition: match m.version {
                0 => Condition::Absent,
                v => Condition::Version(v),
            },
        })
    }

    /// Saves `m` with `also` in the same write; returns it with its new version.
    pub async fn save_moderation(
        &self,
        brand: &BrandId,
        m: &Moderation,
        retention: SignedDuration,
        also: Vec<Write>,
    ) -> Result<Moderation, StoreError> {
        let mut writes = vec![Self::moderation_write(brand, m, retention)?];
        writes.extend(also);
        self.items().write(writes).await?;
        let mut saved = m.clone();
        saved.version += 1;
        Ok(saved)
    }

    /// The requests made on `interaction`, oldest first.
    pub async fn moderations_of(
        &self,
        brand: &BrandId,
        interaction: &InteractionId,
    ) -> Result<Vec<Moderation>, StoreError> {
        let page = self
            .items()
            .query(&Query {
                pk: keys::brand_pk(brand),
                index: None,
                range: KeyRange::Prefix(format!("MOD#{interaction}#")),
                after: None,
                limit: 200,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|i| decode(i, |m: &mut Moderation, v| m.version = v))
            .collect()
    }

    /// Up to `limit` pending requests of any brand due at or before `now`.
    pub async fn due_moderations(
        &self,
        now: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Moderation)>, StoreError> {
        self.due_entries(DUE_PK.into(), now, limit)
            .await?
            .into_iter()
            .map(|(brand, item)| Ok((brand, decode(item, |m: &mut Moderation, v| m.version = v)?)))
            .collect()
    }
}
