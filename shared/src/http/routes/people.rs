//! `/v1/people`: the people who talk to the brand. Viewers read, managers tag, write notes, link
//! handles, export and erase.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use super::inbox::{InteractionView, clock};
use crate::domain::Network;
use crate::domain::people::{Person, PersonHandle, PersonPatch};
use crate::domain::{DomainError, PersonId};
use crate::http::extract::{Caller, IfMatch, JsonBody, QueryParams};
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;

fn person_id(raw: &str) -> Result<PersonId, Problem> {
    PersonId::parse(raw).map_err(|_| ServiceError::NotFound("person").into())
}

/// A person as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub handles: Vec<PersonHandle>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Interactions per kind.
    pub counts: BTreeMap<String, u64>,
    pub interactions: u64,
    /// e.g. vip, journalist, ambassador, detractor.
    pub tags: Vec<String>,
    pub notes: String,
    pub version: u64,
}

impl From<&Person> for PersonView {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            handles: p.handles.clone(),
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            counts: p.counts.clone(),
            interactions: p.total(),
            tags: p.tags.clone(),
            notes: p.notes.clone(),
            version: p.version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleParams {
    /// Only people with this tag.
    pub tag: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePageView {
    pub items: Vec<PersonView>,
    pub next_cursor: Option<String>,
}

/// The brand's people, oldest record first.
#[utoipa::path(get, path = "/v1/people", tag = "people", params(PeopleParams),
    responses((status = 200, body = PeoplePageView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_people(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<PeopleParams>,
) -> ApiResult {
    let page = s
        .people
        .list(
            &actor,
            q.tag.as_deref(),
            q.cursor.as_deref(),
            q.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(PeoplePageView {
        items: page.items.iter().map(PersonView::from).collect(),
        next_cursor: page.next.map(|c| c.into_string()),
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDetailView {
    #[serde(flatten)]
    pub person: PersonView,
    /// Their latest interactions (direct messages for editors and up).
    pub recent: Vec<InteractionView>,
}

/// One person and their latest interactions.
#[utoipa::path(get, path = "/v1/people/{id}", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = PersonDetailView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_person(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let detail = s.people.get(&actor, &person_id(&id)?).await?;
    let clock = clock(&s, &actor).await?;
    Ok(etag::tagged(
        detail.person.version,
        Json(PersonDetailView {
            person: PersonView::from(&detail.person),
            recent: detail
                .interactions
                .iter()
                .map(|i| InteractionView::of(i, &clock))
                .collect(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPerson {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub notes: Option<String>,
}

/// A manager's changes (name, tags, notes), with `If-Match`. Audited.
#[utoipa::path(patch, path = "/v1/people/{id}", tag = "people", params(("id" = String, Path)),
    request_body = PatchPerson,
    responses((status = 200, body = PersonView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_person(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchPerson>,
) -> ApiResult {
    let patch = PersonPatch::parse(body.name, body.tags, body.notes)?;
    let saved = s
        .people
        .patch(&actor, &person_id(&id)?, patch, expected)
        .await?;
    Ok(etag::tagged(saved.version, Json(PersonView::from(&saved))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandle {
    pub network: String,
    /// The person's handle there (`@name`, `name@server`, `name.bsky.social`).
    pub handle: String,
}

/// Links the person's handle on a network (managers): their interactions from it count as
/// theirs. A record the brand already has for that handle is the same person and is merged into
/// this one. Audited.
#[utoipa::path(post, path = "/v1/people/{id}/handles", tag = "people", params(("id" = String, Path)),
    request_body = NewHandle,
    responses((status = 200, body = PersonView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn link_handle(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewHandle>,
) -> ApiResult {
    let network = Network::parse(&body.network).map_err(|e| DomainError::invalid("network", e))?;
    let saved = s
        .people
        .link(&actor, &person_id(&id)?, network, &body.handle)
        .await?;
    Ok(etag::tagged(saved.version, Json(PersonView::from(&saved))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonErased {
    /// Their interactions erased with them.
    pub interactions_erased: usize,
}

/// Erases the person for good (owners and managers): their record, their interactions with the
/// team's notes and the brand's replies to them; their later content is dropped when it arrives
/// (a suppression key, an HMAC of network and account, is all that is kept). Audited.
#[utoipa::path(delete, path = "/v1/people/{id}", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = PersonErased),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn erase_person(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let erased = s.people.erase(&actor, &person_id(&id)?).await?;
    Ok(Json(PersonErased {
        interactions_erased: erased,
    })
    .into_response())
}

/// Everything the brand holds on the person (managers): their record and every interaction,
/// direct messages and the network's raw answers included, as JSON. Audited.
#[utoipa::path(get, path = "/v1/people/{id}/export", tag = "people", params(("id" = String, Path)),
    responses((status = 200, description = "The person's data", content_type = "application/json"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn export_person(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let export = s.people.export(&actor, &person_id(&id)?).await?;
    Ok(Json(export).into_response())
}
