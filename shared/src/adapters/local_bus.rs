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
            tracing::info!(
                event = %event.kind,
                brand = %event.brand,
                detail = %serde_json::to_string(&event.data).unwrap_or_default(),
                "domain event"
            );
            // No subscriber is fine: the log line is the record.
            let _ = self.sender.send(event);
        }
        Ok(())
    }
}
