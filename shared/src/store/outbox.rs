//! The outbox: each domain event is written as an item in the same atomic write as the state
//! change that causes it, so an event exists exactly when its change does. A relay reads new
//! outbox items (DynamoDB's stream in AWS, the embedded store's stream locally) and hands them
//! to the bus and to the brand's webhooks. Nothing is lost if a process dies after the write: the
//! item is there, and the stream delivers it.

use jiff::Timestamp;

use super::{Condition, Item, StoreError, Write, keys};
use crate::domain_events::DomainEvent;

/// How long an outbox item is kept after its event: long enough to look at what was relayed,
/// short enough that the table does not grow with it (the stream itself keeps 24 hours).
pub const OUTBOX_RETENTION_DAYS: i64 = 3;

/// The write that puts `event` in the outbox; it goes in the same `ItemStore::write` call as the
/// change that caused the event. Written on condition of absence: the event id is unique, so a
/// clash is a replay of the same write.
pub fn outbox_write(event: &DomainEvent) -> Result<Write, StoreError> {
    let body = serde_json::to_value(event)
        .map_err(|e| StoreError::Invalid(format!("the event {}: {e}", event.id)))?;
    let expires_at = event
        .time
        .as_second()
        .saturating_add(OUTBOX_RETENTION_DAYS * 86_400);
    Ok(Write::Put {
        item: Item {
            pk: keys::outbox_pk(&event.brand),
            sk: event.id.clone(),
            version: 1,
            indexes: vec![],
            expires_at: Some(expires_at),
            body,
        },
        condition: Condition::Absent,
    })
}

/// The outbox writes for `events`.
pub fn outbox_writes(events: &[DomainEvent]) -> Result<Vec<Write>, StoreError> {
    events.iter().map(outbox_write).collect()
}

/// Whether a stored item is an outbox item (what the relay's stream filter lets through).
pub fn is_outbox_key(pk: &str) -> bool {
    pk.starts_with(keys::OUTBOX_PREFIX)
}

/// The event an outbox item holds, exactly as it was written: the relay never changes its id.
pub fn outbox_event(item: &Item) -> Result<DomainEvent, StoreError> {
    serde_json::from_value(item.body.clone())
        .map_err(|e| StoreError::Corrupt(format!("outbox item {} {}: {e}", item.pk, item.sk)))
}

/// When an event written now stops being kept.
pub fn outbox_expiry(now: Timestamp) -> i64 {
    now.as_second()
        .saturating_add(OUTBOX_RETENTION_DAYS * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BrandId;

    #[test]
    fn an_outbox_item_keeps_the_event_whole_and_is_conditioned_on_absence() {
        let brand = BrandId::parse("acme").unwrap();
        let time: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        let event = DomainEvent::webhook_ping(&brand, "01JD8Y3K7Q6C9X2P4M5N8R1T0V", time);
        let Write::Put { item, condition } = outbox_write(&event).unwrap() else {
            panic!("a put");
        };
        assert_eq!(condition, Condition::Absent);
        assert_eq!(item.pk, "OUT#acme");
        assert_eq!(item.sk, event.id);
        assert!(is_outbox_key(&item.pk));
        assert!(!is_outbox_key("B#acme"));
        assert_eq!(item.expires_at, Some(outbox_expiry(time)));
        assert_eq!(outbox_event(&item).unwrap(), event);
    }
}
