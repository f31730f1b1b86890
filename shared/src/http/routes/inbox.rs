//! `/v1/inbox`: what people say to the brand, answered from one place. Viewers read (direct
//! messages: editors and up), editors reply and write notes, managers assign and change states.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use crate::domain::business_hours::BusinessHours;
use crate::domain::inbox::{
    Author, Interaction, InteractionKind, InteractionPatch, InteractionState, OutgoingReply,
    Priority, ReplyState, ResponseVia,
};
use crate::domain::inbox_rules::InboxRule;
use crate::domain::inbox_stats::{InboxStats, first_response_minutes};
use crate::domain::moderation::{Moderation, ModerationAction, ModerationState};
use crate::domain::{AssetId, ChannelId, DomainError, InteractionId, Network, ReplyId};
use crate::http::extract::{Caller, IfMatch, JsonBody, QueryParams};
use crate::http::views::present;
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::inbox::InboxQuery;
use crate::store::inbox::Note;

fn interaction_id(raw: &str) -> Result<InteractionId, Problem> {
    InteractionId::parse(raw).map_err(|_| ServiceError::NotFound("interaction").into())
}

/// An interaction as the API shows it (never the network's raw answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionView {
    pub id: String,
    pub channel_id: String,
    pub network: Network,
    pub kind: InteractionKind,
    /// The network's id of the item.
    pub external_id: String,
    pub permalink: Option<String>,
    /// The brand's post it answers, when Palinsesto published it.
    pub post_id: Option<String>,
    /// The network id of the brand's post it answers.
    pub answers: Option<String>,
    /// The network id of the item it answers.
    pub parent: Option<String>,
    pub author: Author,
    pub text: String,
    pub visibility: Option<String>,
    pub created_at: Timestamp,
    pub received_at: Timestamp,
    pub state: InteractionState,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub priority: Priority,
    pub first_response_at: Option<Timestamp>,
    pub first_response_via: Option<ResponseVia>,
    /// The first response time in the brand's business minutes (its hours, holidays, zone).
    pub first_response_minutes: Option<i64>,
    /// The person who wrote it (`/v1/people/{id}`).
    pub person_id: Option<String>,
    /// What the brand's inbox rules did when it arrived, in order ("rule: action").
    pub rule_actions: Vec<String>,
    pub version: u64,
}

/// How the brand counts response times: its business hours, in its zone.
pub(crate) type Clock = (BusinessHours, jiff::tz::TimeZone);

impl InteractionView {
    pub(crate) fn of(i: &Interaction, (hours, zone): &Clock) -> Self {
        Self {
            id: i.id.to_string(),
            channel_id: i.channel.to_string(),
            network: i.network,
            kind: i.kind,
            external_id: i.external_id.clone(),
            permalink: i.permalink.clone(),
            post_id: i.post.map(|p| p.to_string()),
            answers: i.answers.clone(),
            parent: i.parent.clone(),
            author: i.author.clone(),
            text: i.text.clone(),
            visibility: i.target.visibility.clone(),
            created_at: i.created_at,
            received_at: i.received_at,
            state: i.state,
            assignee: i.assignee.clone(),
            tags: i.tags.clone(),
            priority: i.priority,
            first_response_at: i.first_response_at,
            first_response_via: i.first_response_via,
            first_response_minutes: first_response_minutes(i, hours, zone),
            person_id: i.person.map(|p| p.to_string()),
            rule_actions: i.rule_actions.clone(),
            version: i.version,
        }
    }
}

pub(crate) async fn clock(
    s: &AppState,
    actor: &crate::domain::Actor,
) -> Result<Clock, ServiceError> {
    let (settings, zone) = s.inbox.settings(actor).await?;
    Ok((settings.business_hours, zone))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: String,
    pub interaction_id: String,
    pub text: String,
    pub media: Vec<String>,
    #[serde(flatten)]
    pub state: ReplyState,
    pub attempts: u32,
    /// When the worker takes it next (after a rate limit: the network's reset).
    pub next_attempt_at: Option<Timestamp>,
    pub requested_by: String,
    pub created_at: Timestamp,
    /// Sent as a private message to the comment's author (Meta's private replies).
    pub private: bool,
}

impl From<&OutgoingReply> for ReplyView {
    fn from(r: &OutgoingReply) -> Self {
        Self {
            id: r.id.to_string(),
            interaction_id: r.interaction.to_string(),
            text: r.text.clone(),
            media: r.media.iter().map(ToString::to_string).collect(),
            state: r.state.clone(),
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            requested_by: r.requested_by.clone(),
            created_at: r.created_at,
            private: r.private,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// `new`, `open`, `replied`, `resolved` or `ignored`.
    pub state: Option<String>,
    /// With `state`: that person's interactions in that state.
    pub assignee: Option<String>,
    pub channel: Option<String>,
    pub network: Option<String>,
    /// `reply`, `comment`, `mention`, `quote`, `direct_message`.
    pub kind: Option<String>,
    pub tag: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<Timestamp>,
    /// Created before (RFC 3339).
    pub to: Option<Timestamp>,
    /// `newest` (default) or `oldest`.
    pub order: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<InteractionView>,
    pub next_cursor: Option<String>,
    /// The page was cut short after examining its limit of interactions: follow `next_cursor`
    /// for more that match.
    pub partial: bool,
}

fn parse_query(q: InboxParams) -> Result<InboxQuery, DomainError> {
    let mut v = crate::domain::Validation::new();
    let state = q
        .state
        .as_deref()
        .and_then(|s| v.check("state", InteractionState::parse(s)));
    let channel = q
        .channel
        .as_deref()
        .and_then(|c| v.check("channel", ChannelId::parse(c)));
    let network = q
        .network
        .as_deref()
        .and_then(|n| v.check("network", Network::parse(n)));
    let kind = q
        .kind
        .as_deref()
        .and_then(|k| v.check("kind", InteractionKind::parse(k)));
    let oldest_first = match q.order.as_deref() {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(other) => {
            v.add("order", format!("{other:?}: expected newest or oldest"));
            false
        }
    };
    v.finish()?;
    Ok(InboxQuery {
        state,
        assignee: q.assignee,
        channel,
        network,
        kind,
        tag: q.tag.map(|t| t.trim().to_lowercase()),
        from: q.from,
        to: q.to,
        oldest_first,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(50),
    })
}

/// The brand's inbox, newest first (or oldest), served by one index: open (`state=new|open`),
/// a channel (`channel`), an assignee's (`assignee` + `state`), or everything; other filters
/// refine it.
#[utoipa::path(get, path = "/v1/inbox", tag = "inbox", params(InboxParams),
    responses((status = 200, body = InboxPage),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_inbox(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<InboxParams>,
) -> ApiResult {
    let page = s.inbox.list(&actor, parse_query(q)?).await?;
    let clock = clock(&s, &actor).await?;
    Ok(Json(InboxPage {
        items: page
            .items
            .iter()
            .map(|i| InteractionView::of(i, &clock))
            .collect(),
        next_cursor: page.next.map(|c| c.into_string()),
        partial: page.partial,
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxCounts {
    pub new: u64,
    pub open: u64,
    pub replied: u64,
    pub resolved: u64,
    pub ignored: u64,
    pub hidden: u64,
}

/// Interactions per state (kept as they change, not counted on request).
#[utoipa::path(get, path = "/v1/inbox/counts", tag = "inbox",
    responses((status = 200, body = InboxCounts),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn inbox_counts(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let counts = s.inbox.counts(&actor).await?;
    let of = |state| counts.get(&state).copied().unwrap_or(0);
    Ok(Json(InboxCounts {
        new: of(InteractionState::New),
        open: of(InteractionState::Open),
        replied: of(InteractionState::Replied),
        resolved: of(InteractionState::Resolved),
        ignored: of(InteractionState::Ignored),
        hidden: of(InteractionState::Hidden),
    })
    .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionDetailView {
    #[serde(flatten)]
    pub interaction: InteractionView,
    /// What it answers, when the brand has it in the inbox.
    pub in_reply_to: Option<InteractionView>,
    /// The replies sent (or waiting) from Palinsesto.
    pub replies: Vec<ReplyView>,
    pub notes: Vec<Note>,
    /// Managers' moderation requests and how each went.
    pub moderations: Vec<ModerationView>,
}

/// One interaction, with what it answers, the brand's replies and the team's notes.
#[utoipa::path(get, path = "/v1/inbox/{id}", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = InteractionDetailView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_interaction(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let detail = s.inbox.get(&actor, &interaction_id(&id)?).await?;
    let version = detail.interaction.version;
    let clock = clock(&s, &actor).await?;
    Ok(etag::tagged(
        version,
        Json(InteractionDetailView {
            interaction: InteractionView::of(&detail.interaction, &clock),
            in_reply_to: detail
                .parent
                .as_ref()
                .map(|p| InteractionView::of(p, &clock)),
            replies: detail.replies.iter().map(ReplyView::from).collect(),
            moderations: detail
                .moderations
                .iter()
                .map(ModerationView::from)
                .collect(),
            notes: detail.notes,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchInteraction {
    /// `open`, `replied`, `resolved` or `ignored`.
    pub state: Option<String>,
    /// A person's name or id; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub priority: Option<Priority>,
}

/// A manager's changes (state, assignee, tags, priority), with `If-Match`.
#[utoipa::path(patch, path = "/v1/inbox/{id}", tag = "inbox", params(("id" = String, Path)),
    request_body = PatchInteraction,
    responses((status = 200, body = InteractionView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_interaction(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchInteraction>,
) -> ApiResult {
    let patch = InteractionPatch::parse(
        body.state.as_deref(),
        body.assignee.as_ref().map(|a| a.as_deref()),
        body.tags,
        body.priority,
    )?;
    let saved = s
        .inbox
        .patch(&actor, &interaction_id(&id)?, patch, expected)
        .await?;
    let clock = clock(&s, &actor).await?;
    Ok(etag::tagged(
        saved.version,
        Json(InteractionView::of(&saved, &clock)),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList {
    pub items: Vec<Note>,
}

/// The team's notes on an interaction, oldest first.
#[utoipa::path(get, path = "/v1/inbox/{id}/notes", tag = "inbox", params(("id" = String, Path)),
    responses((status = 200, body = NoteList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_notes(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let items = s.inbox.notes(&actor, &interaction_id(&id)?).await?;
    Ok(Json(NoteList { items }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
}

/// Adds a note (editors and up); only the brand's team sees notes.
#[utoipa::path(post, path = "/v1/inbox/{id}/notes", tag = "inbox", params(("id" = String, Path)),
    request_body = NewNote,
    responses((status = 201, body = Note),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn add_note(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewNote>,
) -> ApiResult {
    let note = s
        .inbox
        .add_note(&actor, &interaction_id(&id)?, &body.text)
        .await?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// The reply's text; or `saved_reply`.
    pub text: Option<String>,
    /// A saved reply's id: its text, with `{name}` and `{handle}` filled in for the author.
    pub saved_reply: Option<String>,
    /// Media-library asset ids.
    #[serde(default)]
    pub media: Vec<String>,
    /// Answer a Facebook or Instagram comment with a private message to its author (once per
    /// comment, within 7 days).
    #[serde(default)]
    pub private: bool,
}

/// Answers the interaction on its network (editors and up): 202, the reply is sent by the inbox
/// worker exactly once; its state is in `GET /v1/inbox/{id}`.
#[utoipa::path(post, path = "/v1/inbox/{id}/reply", tag = "inbox", params(("id" = String, Path)),
    request_body = NewReply,
    responses((status = 202, body = ReplyView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn reply(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewReply>,
) -> ApiResult {
    let mut media = Vec::new();
    let mut v = crate::domain::Validation::new();
    for (i, raw) in body.media.iter().enumerate() {
        if let Some(id) = v.check(&format!("media.{i}"), AssetId::parse(raw)) {
            media.push(id);
        }
    }
    if body.text.is_some() == body.saved_reply.is_some() {
        v.add("text", "give either text or saved_reply");
    }
    v.finish()?;
    let id = interaction_id(&id)?;
    let text = match (body.text, body.saved_reply) {
        (Some(text), _) => text,
        (None, Some(saved)) => s.inbox.rendered(&actor, &id, &saved).await?,
        (None, None) => String::new(),
    };
    let reply = s
        .inbox
        .reply(&actor, &id, &text, media, body.private)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ReplyView::from(&reply))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Interactions created at or after (RFC 3339).
    pub from: Timestamp,
    /// Created before (RFC 3339).
    pub to: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxStatsView {
    #[serde(flatten)]
    pub stats: InboxStats,
    /// More interactions than one read takes were created in the period: the figures cover the
    /// first 20,000.
    pub partial: bool,
}

/// Response times and volumes of the interactions created in `[from, to)`: median and p90 first
/// response in business minutes, the share within the brand's target, the response rate
/// (answered / needing an answer: not ignored, not a quote), backlog by age, volume by hour,
/// per network, channel and assignee.
#[utoipa::path(get, path = "/v1/inbox/stats", tag = "inbox", params(StatsParams),
    responses((status = 200, body = InboxStatsView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn inbox_stats(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<StatsParams>,
) -> ApiResult {
    let (stats, partial) = s.inbox.stats(&actor, q.from, q.to).await?;
    Ok(Json(InboxStatsView { stats, partial }).into_response())
}

/// Approves a reply waiting for a manager (brands with `inbox.replies_need_approval`); it is sent
/// by the next worker tick.
#[utoipa::path(post, path = "/v1/inbox/{id}/replies/{reply}/approve", tag = "inbox",
    params(("id" = String, Path), ("reply" = String, Path)),
    responses((status = 200, body = ReplyView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn approve_reply(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((id, reply)): Path<(String, String)>,
) -> ApiResult {
    let reply = ReplyId::parse(&reply).map_err(|_| ServiceError::NotFound("reply"))?;
    let approved = s
        .inbox
        .approve_reply(&actor, &interaction_id(&id)?, &reply)
        .await?;
    Ok(Json(ReplyView::from(&approved)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkChange {
    /// 1 to 100 interaction ids.
    pub ids: Vec<String>,
    /// `open`, `replied`, `resolved` or `ignored`.
    pub state: Option<String>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub id: String,
    /// The interaction as saved; absent when it was not changed.
    pub interaction: Option<InteractionView>,
    /// Why it was not changed (not found, not allowed).
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub items: Vec<BulkOutcome>,
}

/// The same state and/or assignee on many interactions at once (managers), each on its latest
/// version; one outcome per id.
#[utoipa::path(post, path = "/v1/inbox/bulk", tag = "inbox", request_body = BulkChange,
    responses((status = 200, body = BulkResult),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn bulk_change(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<BulkChange>,
) -> ApiResult {
    let patch = InteractionPatch::parse(
        body.state.as_deref(),
        body.assignee.as_ref().map(|a| a.as_deref()),
        None,
        None,
    )?;
    let mut v = crate::domain::Validation::new();
    let ids: Vec<InteractionId> = body
        .ids
        .iter()
        .enumerate()
        .filter_map(|(i, raw)| v.check(&format!("ids.{i}"), InteractionId::parse(raw)))
        .collect();
    v.finish()?;
    let outcomes = s.inbox.bulk(&actor, &ids, patch).await?;
    let clock = clock(&s, &actor).await?;
    Ok(Json(BulkResult {
        items: outcomes
            .into_iter()
            .map(|(id, outcome)| match outcome {
                Ok(saved) => BulkOutcome {
                    id: id.to_string(),
                    interaction: Some(InteractionView::of(&saved, &clock)),
                    problem: None,
                },
                Err(e) => BulkOutcome {
                    id: id.to_string(),
                    interaction: None,
                    problem: Some(e.to_string()),
                },
            })
            .collect(),
    })
    .into_response())
}

/// A manager's moderation request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModerationView {
    pub id: String,
    pub interaction_id: String,
    pub action: ModerationAction,
    pub reply_id: Option<String>,
    #[serde(flatten)]
    pub state: ModerationState,
    pub attempts: u32,
    pub requested_by: String,
    pub created_at: Timestamp,
}

impl From<&Moderation> for ModerationView {
    fn from(m: &Moderation) -> Self {
        Self {
            id: m.id.clone(),
            interaction_id: m.interaction.to_string(),
            action: m.action,
            reply_id: m.reply.map(|r| r.to_string()),
            state: m.state.clone(),
            attempts: m.attempts,
            requested_by: m.requested_by.clone(),
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModeration {
    /// `hide`, `unhide`, `like` or `delete_reply`.
    pub action: String,
    /// The brand's reply to delete (`delete_reply` only).
    pub reply_id: Option<String>,
}

/// Asks the network to hide, unhide or like the interaction, or to delete the brand's reply to
/// it (managers): 202, the inbox worker does it; how it went is in `GET /v1/inbox/{id}`. An
/// action the network does not allow is 422 naming the network. Audited.
#[utoipa::path(post, path = "/v1/inbox/{id}/moderation", tag = "inbox", params(("id" = String, Path)),
    request_body = NewModeration,
    responses((status = 202, body = ModerationView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn moderate(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewModeration>,
) -> ApiResult {
    let mut v = crate::domain::Validation::new();
    let action = v.check("action", ModerationAction::parse(&body.action));
    let reply = match body.reply_id.as_deref() {
        Some(raw) => v.check("reply_id", ReplyId::parse(raw)),
        None => None,
    };
    v.finish()?;
    let action = action.ok_or_else(|| DomainError::invalid("action", "is required"))?;
    let m = s
        .inbox
        .moderate(&actor, &interaction_id(&id)?, action, reply)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ModerationView::from(&m))).into_response())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxRulesBody {
    /// The rules in the order they run on each new interaction.
    pub rules: Vec<InboxRule>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxRulesView {
    pub rules: Vec<InboxRule>,
    /// 0 before any rules were saved; send it as `If-Match` to replace them.
    pub version: u64,
}

/// The brand's inbox rules, in the order they run.
#[utoipa::path(get, path = "/v1/inbox/rules", tag = "inbox",
    responses((status = 200, body = InboxRulesView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_rules(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let set = s.inbox.rules(&actor).await?;
    Ok(etag::tagged(
        set.version,
        Json(InboxRulesView {
            rules: set.rules,
            version: set.version,
        }),
    ))
}

/// Replaces the brand's inbox rules (managers), with `If-Match` (`0` before any). Conditions:
/// `keywords` (`any`, without case or accents), `question`, `author_tag`,
/// `mentions_competitor`; actions: `tag`, `assign`, `priority`, `event`. The first assignment
/// wins; tags and priority accumulate. Audited.
#[utoipa::path(put, path = "/v1/inbox/rules", tag = "inbox",
    request_body = InboxRulesBody,
    responses((status = 200, body = InboxRulesView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn put_rules(
    State(s): State<AppState>,
    Caller(actor): Caller,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<InboxRulesBody>,
) -> ApiResult {
    let set = s.inbox.put_rules(&actor, body.rules, expected).await?;
    Ok(etag::tagged(
        set.version,
        Json(InboxRulesView {
            rules: set.rules,
            version: set.version,
        }),
    ))
}
