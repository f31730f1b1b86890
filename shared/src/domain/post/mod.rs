//! A post: the copy, the channels it goes to (one target each), per-channel variants, media, and
//! its place in the editorial workflow. Publishing states live on the targets; the post's status
//! is derived from them, never stored twice.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{AssetId, ChannelId, DomainError, PostId, TimeZoneName, Validation};

pub const MAX_TEXT_BYTES: usize = 65_536;
pub const MAX_CHANNELS: usize = 20;
pub const MAX_MEDIA: usize = 20;
pub const MAX_LABELS: usize = 20;
pub const MAX_LABEL_CHARS: usize = 50;
pub const MAX_CAMPAIGN_CHARS: usize = 100;
pub const MAX_NOTE_CHARS: usize = 2_000;
pub const MAX_THREAD_PARTS: usize = 25;

/// Where a post is in the editorial workflow. Publishing progress is on the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Workflow {
    Draft,
    InReview,
    Approved,
    Scheduled,
    Cancelled,
}

impl Workflow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a user sees as a post's status: the workflow state until it is scheduled, then the
/// publishing outcome derived from its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Draft,
    InReview,
    Approved,
    Scheduled,
    Publishing,
    Published,
    PartiallyPublished,
    Failed,
    Missed,
    Cancelled,
}

impl PostStatus {
    pub const ALL: [PostStatus; 10] = [
        Self::Draft,
        Self::InReview,
        Self::Approved,
        Self::Scheduled,
        Self::Publishing,
        Self::Published,
        Self::PartiallyPublished,
        Self::Failed,
        Self::Missed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Scheduled => "scheduled",
            Self::Publishing => "publishing",
            Self::Published => "published",
            Self::PartiallyPublished => "partially_published",
            Self::Failed => "failed",
            Self::Missed => "missed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown status {raw:?}: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// Why a target did not publish, in a form both code and people can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Failure {
    /// A stable machine-readable kind, such as `rate_limited`, `auth_expired`, `invalid_content`, `missed`.
    pub kind: String,
    pub retryable: bool,
    /// What happened, in plain words.
    pub message: String,
}

pub(crate) fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One target's publishing state. See `domain::publishing` for the transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TargetState {
    /// Waiting for its time, or for `retry_at` after a failed attempt.
    Pending {
        #[serde(default, skip_serializing_if = "is_zero")]
        attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<Timestamp>,
        /// Why the last attempt failed, while a retry is pending.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<Failure>,
    },
    /// Claimed by one publish attempt until `lease_until`. With `verify_first` the attempt must
    /// first look on the network for a post an earlier attempt may have made.
    Publishing {
        attempt_id: String,
        lease_until: Timestamp,
        attempts: u32,
        verify_first: bool,
        /// Attempts in a row whose lease ran out before they recorded anything (the worker
        /// crashed or ran out of time).
        #[serde(default, skip_serializing_if = "is_zero")]
        lost_leases: u32,
        /// After too many lost leases the attempt only looks on the network for the post and
        /// never publishes: it ends the target either way.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        check_only: bool,
    },
    Published {
        remote_id: String,
        url: Option<String>,
        published_at: Timestamp,
        /// What went wrong after the post itself was made (a thread reply, a first comment).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Failed {
        failure: Failure,
        attempts: u32,
    },
    /// The request may have reached the network but its answer was lost: at `check_at` the next
    /// attempt reads back before anything is retried.
    Unknown {
        check_at: Timestamp,
        attempts: u32,
        message: String,
    },
}

impl TargetState {
    pub const NEW: TargetState = TargetState::Pending {
        attempts: 0,
        retry_at: None,
        last_error: None,
    };

    /// Nothing has been attempted for this target yet.
    pub fn untouched(&self) -> bool {
        matches!(self, TargetState::Pending { attempts: 0, .. })
    }
}

/// A channel the post goes to, with its own publishing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    #[serde(flatten)]
    pub state: TargetState,
    /// When the first attempt was claimed: no post of this target can be older (read-back window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt_at: Option<Timestamp>,
}

/// Per-channel overrides of the post's text or media.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<String>>,
    /// Follow-ups for this channel instead of the post's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<Vec<String>>,
}

/// The content of a post, validated. Channel existence is checked by the service against the
/// store; everything checkable without I/O is checked here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDraft {
    pub text: String,
    /// Follow-ups: replies forming a thread, or a first comment where the network has no threads.
    pub thread: Vec<String>,
    pub channels: Vec<ChannelId>,
    pub variants: BTreeMap<ChannelId, Variant>,
    pub media: Vec<AssetId>,
    pub labels: Vec<String>,
    pub campaign: Option<String>,
    pub publish_at: Option<Timestamp>,
}

/// The unvalidated content as a caller sent it.
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    pub text: String,
    pub thread: Vec<String>,
    pub channels: Vec<String>,
    pub variants: BTreeMap<String, Variant>,
    pub media: Vec<String>,
    pub labels: Vec<String>,
    pub campaign: Option<String>,
    pub publish_at: Option<String>,
}

impl PostDraft {
    pub fn parse(input: PostInput) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        if input.text.len() > MAX_TEXT_BYTES {
            v.add("text", format!("must be at most {MAX_TEXT_BYTES} bytes"));
        }
        if input.text.trim().is_empty() && input.media.is_empty() {
            v.add("text", "a post needs some text or at least one media item");
        }
        let mut channels = Vec::new();
        if input.channels.len() > MAX_CHANNELS {
            v.add(
                "channels",
                format!("a post can go to at most {MAX_CHANNELS} channels"),
            );
        }
        for (i, raw) in input.channels.iter().enumerate() {
            if let Some(id) = v.check(&format!("channels.{i}"), ChannelId::parse(raw)) {
                if channels.contains(&id) {
                    v.add(format!("channels.{i}"), "is listed twice");
                } else {
                    channels.push(id);
                }
            }
        }
        let media = parse_media(&mut v, "media", &input.media);
        check_thread(&mut v, "thread", &input.thread);
        let mut variants = BTreeMap::new();
        for (key, variant) in input.variants {
            let field = format!("variants.{key}");
            let Some(id) = v.check(&field, ChannelId::parse(&key)) else {
                continue;
            };
            if !channels.contains(&id) {
                v.add(&field, "is a variant for a channel the post does not go to");
            }
            if variant
                .text
                .as_ref()
                .is_some_and(|t| t.len() > MAX_TEXT_BYTES)
            {
                v.add(
                    format!("{field}.text"),
                    format!("must be at most {MAX_TEXT_BYTES} bytes"),
                );
            }
            if let Some(media) = &variant.media {
                parse_media(&mut v, &format!("{field}.media"), media);
            }
            if let Some(thread) = &variant.thread {
                check_thread(&mut v, &format!("{field}.thread"), thread);
            }
            variants.insert(id, variant);
        }
        let mut labels: Vec<String> = Vec::new();
        if input.labels.len() > MAX_LABELS {
            v.add(
                "labels",
                format!("a post can have at most {MAX_LABELS} labels"),
            );
        }
        for (i, raw) in input.labels.iter().enumerate() {
            let label = raw.trim();
            let chars = label.chars().count();
            if chars == 0 || chars > MAX_LABEL_CHARS {
                v.add(
                    format!("labels.{i}"),
                    format!("a label is 1 to {MAX_LABEL_CHARS} characters"),
                );
            } else if !labels.iter().any(|l| l == label) {
                labels.push(label.to_owned());
            }
        }
        let campaign = match input.campaign.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.chars().count() > MAX_CAMPAIGN_CHARS => {
                v.add(
                    "campaign",
                    format!("must be at most {MAX_CAMPAIGN_CHARS} characters"),
                );
                None
            }
            Some(c) => Some(c.to_owned()),
        };
        let publish_at = match input.publish_at.as_deref() {
            None => None,
            Some(raw) => v.check("publish_at", super::time::parse_instant(raw)),
        };
        v.finish()?;
        Ok(Self {
            text: input.text,
            thread: input.thread,
            channels,
            variants,
            media,
            labels,
            campaign,
            publish_at,
        })
    }
}

fn check_thread(v: &mut Validation, field: &str, parts: &[String]) {
    if parts.len() > MAX_THREAD_PARTS {
        v.add(field, format!("at most {MAX_THREAD_PARTS} follow-ups"));
    }
    for (i, part) in parts.iter().enumerate() {
        if part.trim().is_empty() || part.len() > MAX_TEXT_BYTES {
            v.add(
                format!("{field}.{i}"),
                format!("a follow-up is 1 to {MAX_TEXT_BYTES} bytes of text"),
            );
        }
    }
}

fn parse_media(v: &mut Validation, field: &str, raw: &[String]) -> Vec<AssetId> {
    if raw.len() > MAX_MEDIA {
        v.add(field, format!("at most {MAX_MEDIA} media items"));
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, id)| v.check(&format!("{field}.{i}"), AssetId::parse(id)))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub text: String,
    /// Follow-ups: replies forming a thread, or a first comment where the network has no threads.
    #[serde(default)]
    pub thread: Vec<String>,
    pub variants: BTreeMap<ChannelId, Variant>,
    pub media: Vec<AssetId>,
    pub targets: Vec<Target>,
    pub labels: Vec<String>,
    pub campaign: Option<String>,
    pub publish_at: Option<Timestamp>,
    /// The brand's zone when the post was last saved, so the local time the user chose is kept.
    pub time_zone: TimeZoneName,
    pub workflow: Workflow,
    /// The reviewer's note when a post was sent back to draft.
    pub review_note: Option<String>,
    pub version: u64,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

/// The facts a workflow rule needs beyond the post itself.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub actor: &'a str,
    pub now: Timestamp,
    pub approval_required: bool,
}

impl Post {
    pub fn create(draft: PostDraft, time_zone: TimeZoneName, ctx: &Context<'_>) -> Self {
        let mut post = Self {
            id: PostId::new(),
            text: String::new(),
            thread: Vec::new(),
            variants: BTreeMap::new(),
            media: Vec::new(),
            targets: Vec::new(),
            labels: Vec::new(),
            campaign: None,
            publish_at: None,
            time_zone,
            workflow: Workflow::Draft,
            review_note: None,
            version: 0,
            created_by: ctx.actor.to_owned(),
            created_at: ctx.now,
            updated_by: ctx.actor.to_owned(),
            updated_at: ctx.now,
        };
        post.set_content(draft);
        post
    }

    pub fn channels(&self) -> Vec<ChannelId> {
        self.targets.iter().map(|t| t.channel_id).collect()
    }

    pub fn status(&self) -> PostStatus {
        match self.workflow {
            Workflow::Draft => PostStatus::Draft,
            Workflow::InReview => PostStatus::InReview,
            Workflow::Approved => PostStatus::Approved,
            Workflow::Cancelled => PostStatus::Cancelled,
            Workflow::Scheduled => derive_publishing_status(&self.targets),
        }
    }

    fn set_content(&mut self, draft: PostDraft) {
        self.text = draft.text;
        self.thread = draft.thread;
        self.variants = draft.variants;
        self.media = draft.media;
        self.labels = draft.labels;
        self.campaign = draft.campaign;
        self.publish_at = draft.publish_at;
        self.targets = draft
            .channels
            .iter()
            .map(|c| Target {
                channel_id: *c,
                state: TargetState::NEW,
                first_attempt_at: None,
            })
            .collect();
    }

    pub fn draft(&self) -> PostDraft {
        PostDraft {
            text: self.text.clone(),
            thread: self.thread.clone(),
            channels: self.channels(),
            variants: self.variants.clone(),
            media: self.media.clone(),
            labels: self.labels.clone(),
            campaign: self.campaign.clone(),
            publish_at: self.publish_at,
        }
    }

    fn touch(&mut self, ctx: &Context<'_>) {
        self.updated_by = ctx.actor.to_owned();
        self.updated_at = ctx.now;
    }

    /// Whether `draft` would publish something else than this post: other copy, follow-ups,
    /// media, channels or per-channel variants. Labels, the campaign and the publish time are
    /// the desk's own bookkeeping and publish nothing.
    pub fn publishes_differently(&self, draft: &PostDraft) -> bool {
        self.text != draft.text
            || self.thread != draft.thread
            || self.media != draft.media
            || self.channels() != draft.channels
            || self.variants != draft.variants
    }

    /// Replaces the content. Changing what would be published sends a post in review back to
    /// draft (the reviewer was reading other copy), and withdraws the approval of approved copy
    /// when approval is required: what was approved is no longer what would be published.
    pub fn edit(
        &mut self,
        draft: PostDraft,
        time_zone: TimeZoneName,
        ctx: &Context<'_>,
    ) -> Result<(), DomainError> {
        let changed = self.publishes_differently(&draft);
        match self.workflow {
            Workflow::Draft => {}
            Workflow::InReview => {
                if changed {
                    self.workflow = Workflow::Draft;
                }
            }
            Workflow::Approved => {
                if changed && ctx.approval_required {
                    self.workflow = Workflow::Draft;
                }
            }
            Workflow::Scheduled => {
                return Err(DomainError::InvalidState(
                    "a scheduled post cannot be edited: unschedule it first".into(),
                ));
            }
            Workflow::Cancelled => {
                return Err(DomainError::InvalidState(
                    "a cancelled post cannot be edited: duplicate it instead".into(),
                ));
            }
        }
        self.set_content(draft);
        self.time_zone = time_zone;
        self.touch(ctx);
        Ok(())
    }

    pub fn submit(&mut self, ctx: &Context<'_>) -> Result<(), DomainError> {
        self.expect(&[Workflow::Draft], "submitted for review")?;
        self.workflow = Workflow::InReview;
        self.review_note = None;
        self.touch(ctx);
        Ok(())
    }

    pub fn approve(&mut self, ctx: &Context<'_>) -> Result<(), DomainError> {
        self.expect(&[Workflow::InReview], "approved")?;
        self.workflow = Workflow::Approved;
        self.touch(ctx);
        Ok(())
    }

    pub fn reject(&mut self, note: Option<String>, ctx: &Context<'_>) -> Result<(), DomainError> {
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            return Err(DomainError::invalid(
                "note",
                format!("must be at most {MAX_NOTE_CHARS} characters"),
            ));
        }
        self.expect(&[Workflow::InReview], "rejected")?;
        self.workflow = Workflow::Draft;
        self.review_note = note.filter(|n| !n.trim().is_empty());
        self.touch(ctx);
        Ok(())
    }

    /// Schedules the post for `publish_at` (or the time already on it). Without required approval a
    /// draft can be scheduled directly; with it, only an approved post can.
    pub fn schedule(
        &mut self,
        publish_at: Option<Timestamp>,
        ctx: &Context<'_>,
    ) -> Result<(), DomainError> {
        self.schedule_at(publish_at.or(self.publish_at), false, ctx)
    }

    /// Schedules the post for right now: the publisher takes it at once.
    pub fn schedule_now(&mut self, ctx: &Context<'_>) -> Result<(), DomainError> {
        self.schedule_at(Some(ctx.now), true, ctx)
    }

    fn schedule_at(
        &mut self,
        at: Option<Timestamp>,
        now_allowed: bool,
        ctx: &Context<'_>,
    ) -> Result<(), DomainError> {
        let allowed: &[Workflow] = if ctx.approval_required {
            &[Workflow::Approved]
        } else {
            &[Workflow::Draft, Workflow::InReview, Workflow::Approved]
        };
        if ctx.approval_required && matches!(self.workflow, Workflow::Draft | Workflow::InReview) {
            return Err(DomainError::InvalidState(
                "this brand requires approval: the post must be approved before it can be scheduled".into(),
            ));
        }
        self.expect(allowed, "scheduled")?;
        let mut v = Validation::new();
        match at {
            None => v.add(
                "publish_at",
                "a publish time is required to schedule a post",
            ),
            Some(at) if at < ctx.now || (at == ctx.now && !now_allowed) => {
                v.add("publish_at", format!("{at} is in the past"))
            }
            Some(_) => {}
        }
        if self.targets.is_empty() {
            v.add("channels", "choose at least one channel before scheduling");
        }
        v.finish()?;
        self.publish_at = at;
        self.workflow = Workflow::Scheduled;
        for target in &mut self.targets {
            target.state = TargetState::NEW;
            target.first_attempt_at = None;
        }
        self.touch(ctx);
        Ok(())
    }

    /// Takes a scheduled post off the calendar, as long as nothing has started publishing.
    pub fn unschedule(&mut self, ctx: &Context<'_>) -> Result<(), DomainError> {
        self.expect(&[Workflow::Scheduled], "unscheduled")?;
        if self.targets.iter().any(|t| !t.state.untouched()) {
            return Err(DomainError::InvalidState(
                "publishing has already started for this post, so it can no longer be unscheduled"
                    .into(),
            ));
        }
        self.workflow = if ctx.approval_required {
            Workflow::Approved
        } else {
            Workflow::Draft
        };
        self.touch(ctx);
        Ok(())
    }

    pub fn cancel(&mut self, ctx: &Context<'_>) -> Result<(), DomainError> {
        self.expect(
            &[
                Workflow::Draft,
                Workflow::InReview,
                Workflow::Approved,
                Workflow::Scheduled,
            ],
            "cancelled",
        )?;
        if self.targets.iter().any(|t| {
            !matches!(
                t.state,
                TargetState::Pending { .. } | TargetState::Failed { .. }
            )
        }) {
            return Err(DomainError::InvalidState(
                "some targets are publishing or published already, so the post can no longer be cancelled".into(),
            ));
        }
        self.workflow = Workflow::Cancelled;
        self.touch(ctx);
        Ok(())
    }

    /// Whether the post may be deleted: never while it is on the schedule.
    pub fn check_deletable(&self) -> Result<(), DomainError> {
        if self.workflow == Workflow::Scheduled {
            return Err(DomainError::InvalidState(
                "a scheduled post cannot be deleted: unschedule or cancel it first".into(),
            ));
        }
        Ok(())
    }

    /// A new draft with the same content and no publish time.
    pub fn duplicate(&self, time_zone: TimeZoneName, ctx: &Context<'_>) -> Self {
        let mut draft = self.draft();
        draft.publish_at = None;
        Self::create(draft, time_zone, ctx)
    }

    fn expect(&self, allowed: &[Workflow], action: &str) -> Result<(), DomainError> {
        if allowed.contains(&self.workflow) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|w| w.as_str()).collect();
            Err(DomainError::InvalidState(format!(
                "a post that is {} cannot be {action}; it must be {}",
                self.workflow.as_str(),
                names.join(" or ")
            )))
        }
    }
}

fn derive_publishing_status(targets: &[Target]) -> PostStatus {
    let count = |f: fn(&TargetState) -> bool| targets.iter().filter(|t| f(&t.state)).count();
    let untouched = count(TargetState::untouched);
    let published = count(|s| matches!(s, TargetState::Published { .. }));
    let missed =
        count(|s| matches!(s, TargetState::Failed { failure, .. } if failure.kind == MISSED));
    let failed = count(|s| matches!(s, TargetState::Failed { .. }));
    let total = targets.len();
    if untouched == total {
        PostStatus::Scheduled
    } else if published == total {
        PostStatus::Published
    } else if missed == total {
        PostStatus::Missed
    } else if failed == total {
        PostStatus::Failed
    } else if published + failed == total {
        PostStatus::PartiallyPublished
    } else {
        PostStatus::Publishing
    }
}

/// The failure kind of a target that was not published because it was too late.
pub const MISSED: &str = "missed";

#[cfg(test)]
mod tests;
