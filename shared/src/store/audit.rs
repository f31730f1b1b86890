//! The audit log: `B#{brand}#AUDIT` / `{at}#{id}`, newest first, kept
//! [`AUDIT_RETENTION_DAYS`] (TTL). Its own partition, so a listing reads nothing else.

use super::repository::{ListError, MAX_EXAMINED_PER_LISTING};
use super::{Condition, Cursor, Item, KeyRange, Query, Store, StoreError, Write, keys};
use crate::domain::BrandId;
use crate::domain::audit::{AUDIT_RETENTION_DAYS, AuditEntry, AuditFilter};

pub(crate) fn audit_pk(brand: &BrandId) -> String {
    format!("B#{brand}#AUDIT")
}

/// The write that records `entry`, for the same atomic write as the change it records.
pub fn audit_write(brand: &BrandId, entry: &AuditEntry) -> Result<Write, StoreError> {
    let body = serde_json::to_value(entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(Write::Put {
        item: Item {
            pk: audit_pk(brand),
            sk: format!("{}#{}", keys::time_key(entry.at), entry.id),
            version: 1,
            indexes: vec![],
            expires_at: Some(
                entry
                    .at
                    .as_second()
                    .saturating_add(AUDIT_RETENTION_DAYS * 86_400),
            ),
            body,
        },
        condition: Condition::Absent,
    })
}

/// A page of the audit log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<Cursor>,
}

impl Store {
    /// Newest first, within `filter`'s time range; its other filters are applied while reading,
    /// within the usual examination bound (a page may then be short, with a cursor to go on).
    pub async fn list_audit(
        &self,
        brand: &BrandId,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, ListError> {
        let after = cursor
            .map(|c| Cursor::decode(c, ""))
            .transpose()
            .map_err(ListError::BadCursor)?;
        let range = match (filter.from, filter.to) {
            (None, None) => KeyRange::Prefix(String::new()),
            (from, to) => KeyRange::Between(
                from.map(keys::time_key).unwrap_or_default(),
                // `to` is exclusive: every key of an earlier instant sorts below `{to}#`.
                to.map(|t| format!("{}#", keys::time_key(t)))
                    .unwrap_or_else(|| "~".into()),
            ),
        };
        let query = Query {
            pk: audit_pk(brand),
            index: None,
            range,
            after,
            limit: 0,
            descending: true,
        };
        let (entries, next) = self
            .collect(
                query,
                limit,
                MAX_EXAMINED_PER_LISTING,
                |item| {
                    serde_json::from_value::<AuditEntry>(item.body)
                        .map_err(|e| StoreError::Corrupt(format!("audit entry {}: {e}", item.sk)))
                },
                |e| filter.matches(e),
            )
            .await?;
        Ok(AuditPage {
            entries,
            next: next.map(|a| Cursor::encode(&a)),
        })
    }
}
