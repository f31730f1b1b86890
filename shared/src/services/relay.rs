//! The relay: what the outbox holds goes out. Each new outbox event (read from DynamoDB's stream
//! by the relay function, from the embedded store's stream by the local runner) is put on the
//! bus and becomes one delivery per webhook of its brand that wants it; deliveries are tried at
//! once, then again with backoff by the relay's tick until the receiver accepts one or they are
//! given up. Every attempt is logged on its delivery.
//!
//! Events are relayed at least once: a batch that fails is relayed again whole, with the same
//! event ids (the relay never changes an event), and a delivery is created on condition of
//! absence, so a replayed event makes no second delivery. A receiver may still see an event twice
//! (a crash after it answered, before the answer was recorded) and de-duplicates on its `id`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinSet;

use super::{Ports, ServiceError};
use crate::domain::BrandId;
use crate::domain::webhook::{Attempt, Delivery, Webhook};
use crate::domain_events::{DomainEvent, EventBus};
use crate::outbound::OutboundClient;
use crate::sealing::SealContext;
use crate::store::StoreError;
use crate::store::webhooks::DELIVERY_SHARDS;
use crate::webhook_signature::{SIGNATURE_HEADER, sign};

/// How long a receiver may take to answer one delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is left to its sender before another may try it (a sender that
/// died mid-attempt).
const CLAIM: SignedDuration = SignedDuration::from_mins(2);
/// Deliveries tried at once.
const CONCURRENCY: usize = 8;
/// Due deliveries taken per shard per tick.
pub const DELIVERIES_PER_TICK: usize = 100;
/// What is read of a receiver's answer for the log.
const ANSWER_NOTE_CHARS: usize = 200;

/// What one relay call or tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub events: usize,
    pub delivered: usize,
    /// Attempts that failed (each will be tried again, or was the last).
    pub failed_attempts: usize,
    /// Deliveries given up for good in this call.
    pub given_up: usize,
}

impl RelayReport {
    fn add(&mut self, other: RelayReport) {
        self.events += other.events;
        self.delivered += other.delivered;
        self.failed_attempts += other.failed_attempts;
        self.given_up += other.given_up;
    }
}

#[derive(Clone)]
pub struct RelayService {
    ports: Ports,
    bus: Arc<dyn EventBus>,
    http: OutboundClient,
}

impl RelayService {
    pub fn new(ports: Ports, bus: Arc<dyn EventBus>, http: OutboundClient) -> Self {
        Self { ports, bus, http }
    }

    /// Relays events read from the outbox: the bus first (an error fails the call, so the batch
    /// is read again), then each brand's webhooks.
    pub async fn relay(&self, events: Vec<DomainEvent>) -> Result<RelayReport, ServiceError> {
        if events.is_empty() {
            return Ok(RelayReport::default());
        }
        self.bus.emit(events.clone()).await?;
        let mut by_brand: BTreeMap<String, Vec<DomainEvent>> = BTreeMap::new();
        for event in events {
            by_brand.entry(event.brand.clone()).or_default().push(event);
        }
        let mut report = RelayReport::default();
        let mut new = Vec::new();
        for (brand, events) in by_brand {
            let brand = BrandId::parse(&brand).map_err(|e| {
                ServiceError::Store(StoreError::Corrupt(format!(
                    "an outbox event names the brand {brand:?}: {e}"
                )))
            })?;
            report.events += events.len();
            let webhooks = self.ports.store.list_webhooks(&brand).await?;
            for event in events {
                for webhook in webhooks.iter().filter(|w| w.wants(&event)) {
                    let delivery = Delivery::new(webhook.id, event.clone(), self.ports.clock.now());
                    let write = self.ports.store.new_delivery_write(&brand, &delivery)?;
                    match self.ports.store.items().write(vec![write]).await {
                        Ok(()) => {
                            let mut saved = delivery;
                            saved.version = 1;
                            new.push((brand.clone(), saved));
                        }
                        // Relayed before: its delivery exists and goes its own way.
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        report.add(self.attempt_all(new).await);
        Ok(report)
    }

    /// The tick: tries every delivery whose next attempt is due.
    pub async fn deliver_due(&self) -> Result<RelayReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut due = Vec::new();
        for shard in 0..DELIVERY_SHARDS {
            due.extend(
                self.ports
                    .store
                    .due_deliveries(shard, now, DELIVERIES_PER_TICK)
                    .await?,
            );
        }
        let report = self.attempt_all(due).await;
        if report.delivered + report.failed_attempts > 0 {
            tracing::info!(
                delivered = report.delivered,
                failed_attempts = report.failed_attempts,
                given_up = report.given_up,
                "webhook deliveries"
            );
        }
        Ok(report)
    }

    async fn attempt_all(&self, deliveries: Vec<(BrandId, Delivery)>) -> RelayReport {
        let mut report = RelayReport::default();
        let mut running = JoinSet::new();
        for (brand, delivery) in deliveries {
            if running.len() >= CONCURRENCY
                && let Some(done) = running.join_next().await
            {
                report.add(done.unwrap_or_default());
            }
            let this = self.clone();
            running.spawn(async move {
                match this.attempt(&brand, delivery).await {
                    Ok(report) => report,
                    // The delivery stays due: the next tick tries it again.
                    Err(e) => {
                        tracing::error!(brand = %brand, error = %e, "a webhook delivery could not be recorded");
                        RelayReport::default()
                    }
                }
            });
        }
        while let Some(done) = running.join_next().await {
            report.add(done.unwrap_or_default());
        }
        report
    }

    /// One attempt at one delivery, under a claim so no two senders try it at once.
    async fn attempt(
        &self,
        brand: &BrandId,
        mut delivery: Delivery,
    ) -> Result<RelayReport, ServiceError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        if !delivery.is_due(now) {
            return Ok(RelayReport::default());
        }
        let Some(webhook) = store.get_webhook(brand, &delivery.webhook_id).await? else {
            delivery.give_up();
            return match store.put_delivery(brand, &delivery, delivery.version).await {
                Ok(_) | Err(StoreError::Conflict { .. }) => Ok(RelayReport {
                    given_up: 1,
                    ..RelayReport::default()
                }),
                Err(e) => Err(e.into()),
            };
        };
        // The claim: its next attempt moves a little later, on condition of the version read.
        let mut claimed = delivery.clone();
        claimed.next_attempt_at = now.checked_add(CLAIM).ok();
        let mut claimed = match store.put_delivery(brand, &claimed, delivery.version).await {
            Ok(saved) => saved,
            Err(StoreError::Conflict { .. }) => return Ok(RelayReport::default()),
            Err(e) => return Err(e.into()),
        };
        let attempt = self.send(brand, &webhook, &claimed.event).await;
        let accepted = attempt.error.is_none();
        claimed.record(attempt);
        let given_up = claimed.state == crate::domain::webhook::DeliveryState::Failed;
        match store.put_delivery(brand, &claimed, claimed.version).await {
            Ok(_) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(RelayReport {
            events: 0,
            delivered: usize::from(accepted),
            failed_attempts: usize::from(!accepted),
            given_up: usize::from(given_up),
        })
    }

    /// Sends the event to the webhook, signed; what happened, in plain words.
    async fn send(&self, brand: &BrandId, webhook: &Webhook, event: &DomainEvent) -> Attempt {
        let at = self.ports.clock.now();
        let started = Instant::now();
        let outcome = self.post(brand, webhook, event, at).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, error) = match outcome {
            Ok((status, _)) if (200..300).contains(&status) => (Some(status), None),
            Ok((status, note)) => (
                Some(status),
                Some(format!(
                    "the receiver answered {status}{}",
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(": {note}")
                    }
                )),
            ),
            Err(why) => (None, Some(why)),
        };
        Attempt {
            at,
            status,
            error,
            duration_ms,
        }
    }

    async fn post(
        &self,
        brand: &BrandId,
        webhook: &Webhook,
        event: &DomainEvent,
        at: Timestamp,
    ) -> Result<(u16, String), String> {
        let context = SealContext::webhook(brand, &webhook.id);
        let secret = self
            .ports
            .keyring
            .open(&context, &webhook.secret)
            .await
            .map_err(|e| format!("the webhook's secret could not be opened: {e}"))?;
        let secret = String::from_utf8(secret.to_vec())
            .map_err(|_| "the webhook's secret is not text".to_owned())?;
        let body = serde_json::to_vec(event)
            .map_err(|e| format!("the event could not be encoded: {e}"))?;
        let request = self
            .http
            .post(&webhook.url)
            .timeout(DELIVERY_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(&secret, at.as_second(), &body))
            .header("Palinsesto-Event-Id", &event.id)
            .header("Palinsesto-Event-Type", &event.kind)
            .header("Palinsesto-Webhook-Id", webhook.id.to_string())
            .body(body);
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| format!("the receiver could not be reached: {}", e.without_url()))?;
        let status = response.status().as_u16();
        let note = if response.status().is_success() {
            String::new()
        } else {
            crate::outbound::read_error_text(response)
                .await
                .chars()
                .take(ANSWER_NOTE_CHARS)
                .collect()
        };
        Ok((status, note))
    }
}
