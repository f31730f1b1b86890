//! Outgoing webhooks: a brand names an https URL and the event types it wants, and every such
//! event is delivered there, signed, retried with backoff until it is accepted or given up, and
//! logged. Pure rules; the delivery itself is `services::webhooks`.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{OutboundPolicy, Validation, WebhookId};
use crate::domain_events::{DomainEvent, EVENT_TYPES, WEBHOOK_PING};

/// The most webhooks a brand may have.
pub const MAX_WEBHOOKS_PER_BRAND: usize = 10;
/// The waits before the second, third, ... attempt of a delivery: after the last one fails the
/// delivery is given up (about 21 hours after the event).
pub const RETRY_DELAYS: [SignedDuration; 6] = [
    SignedDuration::from_mins(1),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
    SignedDuration::from_hours(6),
    SignedDuration::from_hours(12),
];
/// How long a delivery and its log are kept.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;
/// The longest description kept.
const MAX_DESCRIPTION_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    /// The event types delivered (a ping always reaches the webhook it names).
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// A paused webhook receives nothing new; what is already queued for it is still tried.
    pub active: bool,
    /// The signing secret, sealed under the brand's key (purpose `webhook`, subject the id): the
    /// API writes it and shows it once; only the relay opens it, to sign.
    pub secret: crate::sealing::Sealed,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

impl Webhook {
    /// Whether `event` goes to this webhook.
    pub fn wants(&self, event: &DomainEvent) -> bool {
        match event.ping_target() {
            Some(target) => target == self.id.to_string(),
            None => self.active && self.events.contains(&event.kind),
        }
    }
}

/// Checks a webhook's URL (https, not a private address unless the deployment allows it) and
/// event types, recording each problem under its field.
pub fn validate(
    validation: &mut Validation,
    policy: OutboundPolicy,
    url: &str,
    events: &[String],
    description: &str,
) {
    validation.check("url", policy.check_url(url).map(|_| ()));
    if events.is_empty() {
        validation.add(
            "events",
            format!(
                "name at least one event type: {}",
                subscribable().join(", ")
            ),
        );
    }
    for (i, event) in events.iter().enumerate() {
        if !subscribable().contains(&event.as_str()) {
            validation.add(
                format!("events[{i}]"),
                format!(
                    "{event:?} is not an event type; expected one of {}",
                    subscribable().join(", ")
                ),
            );
        }
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        validation.add(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
}

/// The event types a webhook may ask for (a ping is not asked for: it is sent on request).
pub fn subscribable() -> Vec<&'static str> {
    EVENT_TYPES
        .into_iter()
        .filter(|t| *t != WEBHOOK_PING)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed, or the webhook was deleted: no more attempts.
    Failed,
}

/// One try at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What went wrong, in plain words (`None` when it was accepted).
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: WebhookId,
    pub event: DomainEvent,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

impl Delivery {
    pub fn new(webhook_id: WebhookId, event: DomainEvent, now: Timestamp) -> Self {
        Self {
            webhook_id,
            event,
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            created_at: now,
            version: 0,
        }
    }

    /// Records an attempt: delivered on 2xx, otherwise the next try after the backoff, or given
    /// up after the last.
    pub fn record(&mut self, attempt: Attempt) {
        let accepted = attempt.error.is_none();
        let at = attempt.at;
        self.attempts.push(attempt);
        if accepted {
            self.state = DeliveryState::Delivered;
            self.next_attempt_at = None;
            return;
        }
        match RETRY_DELAYS.get(self.attempts.len() - 1) {
            Some(wait) => {
                self.next_attempt_at = at.checked_add(*wait).ok();
                self.state = DeliveryState::Pending;
            }
            None => self.give_up(),
        }
    }

    pub fn give_up(&mut self) {
        self.state = DeliveryState::Failed;
        self.next_attempt_at = None;
    }

    /// Whether it is waiting and its time has come.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.state == DeliveryState::Pending && self.next_attempt_at.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BrandId;

    fn attempt(at: Timestamp, ok: bool) -> Attempt {
        Attempt {
            at,
            status: Some(if ok { 200 } else { 503 }),
            error: (!ok).then(|| "the receiver answered 503".to_owned()),
            duration_ms: 5,
        }
    }

    #[test]
    fn a_failing_delivery_backs_off_then_gives_up() {
        let brand = BrandId::parse("acme").unwrap();
        let t0: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        let event = DomainEvent::webhook_ping(&brand, "x", t0);
        let mut delivery = Delivery::new(WebhookId::new(), event, t0);
        assert!(delivery.is_due(t0));
        let mut now = t0;
        for wait in RETRY_DELAYS {
            delivery.record(attempt(now, false));
            assert_eq!(delivery.state, DeliveryState::Pending);
            assert_eq!(delivery.next_attempt_at, Some(now + wait));
            assert!(!delivery.is_due(now));
            now += wait;
            assert!(delivery.is_due(now));
        }
        delivery.record(attempt(now, false));
        assert_eq!(delivery.state, DeliveryState::Failed);
        assert_eq!(delivery.attempts.len(), RETRY_DELAYS.len() + 1);
        assert!(!delivery.is_due(now + SignedDuration::from_hours(48)));
    }

    #[test]
    fn an_accepted_attempt_ends_the_delivery() {
        let brand = BrandId::parse("acme").unwrap();
        let t0: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        let mut delivery = Delivery::new(
            WebhookId::new(),
            DomainEvent::webhook_ping(&brand, "x", t0),
            t0,
        );
        delivery.record(attempt(t0, false));
        delivery.record(attempt(t0 + SignedDuration::from_mins(1), true));
        assert_eq!(delivery.state, DeliveryState::Delivered);
        assert_eq!(delivery.next_attempt_at, None);
    }

    #[test]
    fn validation_names_each_bad_field() {
        let mut v = Validation::new();
        validate(
            &mut v,
            OutboundPolicy::PUBLIC_ONLY,
            "http://hooks.example.com/x",
            &["post.published".into(), "post.exploded".into()],
            "",
        );
        let Err(crate::domain::DomainError::Invalid(errors)) = v.finish() else {
            panic!("invalid");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["url", "events[1]"]);
        let mut v = Validation::new();
        validate(
            &mut v,
            OutboundPolicy::PUBLIC_ONLY,
            "https://hooks.example.com/x",
            &["report.ready".into()],
            "Slack",
        );
        assert!(v.finish().is_ok());
        assert!(!subscribable().contains(&WEBHOOK_PING));
    }
}
