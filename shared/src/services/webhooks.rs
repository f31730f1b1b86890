//! Outgoing webhooks, as the brand manages them (managers and owners): create one (its signing
//! secret is shown once), list, read, change, delete, read its delivery log, and ask for a test
//! delivery. Deliveries themselves are the relay's (`services::relay`). Every change is in the
//! audit log, written with it.

use serde_json::json;

use super::{Ports, ServiceError, check_version};
use crate::domain::audit::{AuditEntry, action};
use crate::domain::webhook::{self, MAX_WEBHOOKS_PER_BRAND, Webhook};
use crate::domain::{Actor, Permission, Validation, WebhookId};
use crate::domain_events::DomainEvent;
use crate::sealing::SealContext;
use crate::store::audit::audit_write;
use crate::store::outbox::outbox_write;
use crate::store::webhooks::DeliveryPage;
use crate::store::{ListError, StoreError};
use crate::webhook_signature::new_secret;

#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// A webhook just created, with its secret: the only time the secret is shown.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    pub secret: String,
}

#[derive(Clone)]
pub struct WebhookService {
    ports: Ports,
}

impl WebhookService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn create(
        &self,
        actor: &Actor,
        new: NewWebhook,
    ) -> Result<CreatedWebhook, ServiceError> {
        actor.require(Permission::ManageWebhooks)?;
        let description = new.description.unwrap_or_default();
        let mut validation = Validation::new();
        webhook::validate(
            &mut validation,
            self.ports.outbound,
            &new.url,
            &new.events,
            &description,
        );
        validation.finish()?;
        let store = &self.ports.store;
        if store.list_webhooks(&actor.brand).await?.len() >= MAX_WEBHOOKS_PER_BRAND {
            return Err(ServiceError::BadRequest(format!(
                "a brand may have at most {MAX_WEBHOOKS_PER_BRAND} webhooks: delete one first"
            )));
        }
        let id = WebhookId::new();
        let secret = new_secret();
        let sealed = self
            .ports
            .keyring
            .seal(&SealContext::webhook(&actor.brand, &id), secret.as_bytes())
            .await?;
        let now = self.ports.clock.now();
        let webhook = Webhook {
            id,
            url: new.url.trim().to_owned(),
            events: dedup(new.events),
            description,
            active: true,
            secret: sealed,
            created_by: actor.subject.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let audit = self.audit(actor, action::WEBHOOK_CREATED, &webhook, now)?;
        let saved = store
            .put_webhook(&actor.brand, &webhook, None, vec![audit])
            .await?;
        Ok(CreatedWebhook {
            webhook: saved,
            secret,
        })
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<Webhook>, ServiceError> {
        actor.require(Permission::ManageWebhooks)?;
        Ok(self.ports.store.list_webhooks(&actor.brand).await?)
    }

    pub async fn get(&self, actor: &Actor, id: &WebhookId) -> Result<Webhook, ServiceError> {
        actor.require(Permission::ManageWebhooks)?;
        self.ports
            .store
            .get_webhook(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    pub async fn update(
        &self,
        actor: &Actor,
        id: &WebhookId,
        changes: WebhookChanges,
        expected: Option<u64>,
    ) -> Result<Webhook, ServiceError> {
        let mut webhook = self.get(actor, id).await?;
        check_version(expected, webhook.version, "webhook")?;
        let version = webhook.version;
        if let Some(url) = changes.url {
            webhook.url = url.trim().to_owned();
        }
        if let Some(events) = changes.events {
            webhook.events = dedup(events);
        }
        if let Some(description) = changes.description {
            webhook.description = description;
        }
        if let Some(active) = changes.active {
            webhook.active = active;
        }
        let mut validation = Validation::new();
        webhook::validate(
            &mut validation,
            self.ports.outbound,
            &webhook.url,
            &webhook.events,
            &webhook.description,
        );
        validation.finish()?;
        let now = self.ports.clock.now();
        webhook.updated_at = now;
        let audit = self.audit(actor, action::WEBHOOK_UPDATED, &webhook, now)?;
        match self
            .ports
            .store
            .put_webhook(&actor.brand, &webhook, Some(version), vec![audit])
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("webhook")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        id: &WebhookId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        let webhook = self.get(actor, id).await?;
        check_version(expected, webhook.version, "webhook")?;
        let now = self.ports.clock.now();
        let audit = self.audit(actor, action::WEBHOOK_DELETED, &webhook, now)?;
        match self
            .ports
            .store
            .delete_webhook(&actor.brand, id, webhook.version, vec![audit])
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("webhook")),
            Err(e) => Err(e.into()),
        }
    }

    /// Queues a test delivery (`webhook.ping`) to this webhook alone, even when it is paused; it
    /// appears in the delivery log like any other. Returns the event.
    pub async fn ping(&self, actor: &Actor, id: &WebhookId) -> Result<DomainEvent, ServiceError> {
        let webhook = self.get(actor, id).await?;
        let now = self.ports.clock.now();
        let event = DomainEvent::webhook_ping(&actor.brand, &id.to_string(), now);
        let audit = self.audit(actor, action::WEBHOOK_PINGED, &webhook, now)?;
        self.ports
            .store
            .items()
            .write(vec![outbox_write(&event)?, audit])
            .await?;
        Ok(event)
    }

    /// The webhook's deliveries, newest first.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        id: &WebhookId,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<DeliveryPage, ServiceError> {
        let mut v = Validation::new();
        let limit = super::page_limit(&mut v, limit);
        v.finish()?;
        self.get(actor, id).await?;
        self.ports
            .store
            .list_deliveries(&actor.brand, id, cursor, limit)
            .await
            .map_err(|e| match e {
                ListError::BadCursor(m) => crate::domain::DomainError::invalid("cursor", m).into(),
                ListError::Store(e) => e.into(),
            })
    }

    fn audit(
        &self,
        actor: &Actor,
        what: &str,
        webhook: &Webhook,
        now: jiff::Timestamp,
    ) -> Result<crate::store::Write, ServiceError> {
        let entry = AuditEntry::new(
            actor,
            what,
            format!("webhook/{}", webhook.id),
            now,
            json!({ "url": webhook.url, "events": webhook.events, "active": webhook.active }),
        );
        Ok(audit_write(&actor.brand, &entry)?)
    }
}

fn dedup(events: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim().to_owned();
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}
