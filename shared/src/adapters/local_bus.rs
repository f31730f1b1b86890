//! The local event bus: every domain event is written to the log and broadcast in-process, so
//! tests (and anything embedding the local runtime) can subscribe.

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::domain_events::{DomainEvent, EventBus, EventError};

#[derive(Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl LocalBus {
    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn emit(&self, events: Vec<DomainEvent>) -> Result<(), EventError> {
        for event in events {
            // One short line per event; its whole detail only at debug (a demo relays a month's
            // events at start).
            tracing::info!(
                event = %event.kind,
                brand = %event.brand,
                id = %event.id,
                path = event.data.get("path").and_then(|p| p.as_str()).unwrap_or(""),
                "domain event"
            );
            tracing::debug!(
                id = %event.id,
                detail = %serde_json::to_string(&event.data).unwrap_or_default(),
                "domain event detail"
            );
            // No subscriber is fine: the log line is the record.
            let _ = self.sender.send(event);
        }
        Ok(())
    }
}
