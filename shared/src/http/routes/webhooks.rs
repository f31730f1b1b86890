//! `/v1/webhooks`: where the brand's events are delivered, signed, without touching EventBridge.
//! Managers and owners manage them; the secret is shown once, when a webhook is created.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use crate::domain::WebhookId;
use crate::domain::webhook::{Attempt, Delivery, DeliveryState, Webhook};
use crate::http::extract::{Caller, IfMatch, JsonBody, QueryParams};
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::webhooks::{NewWebhook, WebhookChanges};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An https URL on the public internet (Slack's incoming webhooks, your own endpoint).
    pub url: String,
    /// The event types to deliver (docs/events.md), for example `["post.failed", "channel.needs_reconnect"]`.
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// `false` pauses it: nothing new is delivered (pings still are).
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            active: w.active,
            created_by: w.created_by.clone(),
            created_at: w.created_at,
            updated_at: w.updated_at,
            version: w.version,
        }
    }
}

/// A webhook just created: the only answer that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The signing secret (`whsec_...`): store it now, it is never shown again. Deliveries carry
    /// `Palinsesto-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with it>`.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    /// When it is tried next; `null` once delivered or given up.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            event_id: d.event.id.clone(),
            event_type: d.event.kind.clone(),
            state: d.state,
            attempts: d.attempts.clone(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PingQueued {
    /// The `webhook.ping` event's id: its delivery appears in the log under it.
    pub event_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

fn webhook_id(raw: &str) -> Result<WebhookId, Problem> {
    WebhookId::parse(raw).map_err(|_| ServiceError::NotFound("webhook").into())
}

/// The brand's webhooks (managers and owners).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The brand's webhooks", body = WebhookList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let webhooks = s.webhooks.list(&actor).await?;
    Ok(Json(WebhookList {
        items: webhooks.iter().map(WebhookView::from).collect(),
    })
    .into_response())
}

/// Creates a webhook; the answer carries its signing secret, once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, description = "Created; store the secret now", body = CreatedWebhookView),
              (status = "4XX", description = "Problem: 422 names the invalid field (a URL that is not https or points at a private address, an unknown event type)", body = Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> ApiResult {
    let created = s
        .webhooks
        .create(
            &actor,
            NewWebhook {
                url: body.url,
                events: body.events,
                description: body.description,
            },
        )
        .await?;
    let location = format!("/v1/webhooks/{}", created.webhook.id);
    Ok(etag::tagged(
        created.webhook.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(CreatedWebhookView {
                webhook: WebhookView::from(&created.webhook),
                secret: created.secret,
            }),
        ),
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, description = "The webhook (never its secret)", body = WebhookView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let webhook = s.webhooks.get(&actor, &webhook_id(&id)?).await?;
    Ok(etag::tagged(
        webhook.version,
        Json(WebhookView::from(&webhook)),
    ))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = PatchWebhook,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Changed", body = WebhookView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_webhook(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchWebhook>,
) -> ApiResult {
    let changes = WebhookChanges {
        url: body.url,
        events: body.events,
        description: body.description,
        active: body.active,
    };
    let webhook = s
        .webhooks
        .update(&actor, &webhook_id(&id)?, changes, expected)
        .await?;
    Ok(etag::tagged(
        webhook.version,
        Json(WebhookView::from(&webhook)),
    ))
}

/// Deletes the webhook; deliveries still queued for it are given up.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "Deleted"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.webhooks
        .delete(&actor, &webhook_id(&id)?, expected)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Queues a test delivery (`webhook.ping`) to this webhook; it shows in the delivery log.
#[utoipa::path(post, path = "/v1/webhooks/{id}/ping", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, description = "Queued", body = PingQueued),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn ping_webhook(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let event = s.webhooks.ping(&actor, &webhook_id(&id)?).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PingQueued { event_id: event.id }),
    )
        .into_response())
}

/// The webhook's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, description = "A page of the delivery log", body = DeliveryList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<DeliveryQuery>,
) -> ApiResult {
    let page = s
        .webhooks
        .deliveries(&actor, &webhook_id(&id)?, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(Json(DeliveryList {
        items: page.deliveries.iter().map(DeliveryView::from).collect(),
        next_cursor: page.next.map(|c| c.into_string()),
    })
    .into_response())
}
