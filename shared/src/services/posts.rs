//! Posts: writing drafts, the review workflow, scheduling, listing.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::domain::FieldError;
use crate::domain::post::Context;
use crate::domain::queue::{QueueSlot, upcoming};
use crate::domain::{
    Actor, Brand, ChannelId, ChannelStatus, DomainError, Permission, Post, PostDraft, PostId,
    PostInput, PostStatus, Validation, Variant,
};
use crate::store::{ListError, PostFilter, PostPage};

use super::preflight::{Preflight, TargetCheck};

use super::{Ports, ServiceError, check_version, with_retries};
use crate::domain::audit::{AuditEntry, action};
use crate::store::audit::audit_write;

pub use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// A partial change to a post's content; `None` keeps the current value, `Some(None)` clears a
/// clearable field.
#[derive(Debug, Default, Clone)]
pub struct PostChanges {
    pub text: Option<String>,
    pub thread: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub variants: Option<BTreeMap<String, Variant>>,
    pub media: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    pub campaign: Option<Option<String>>,
    pub publish_at: Option<Option<String>>,
}

/// A workflow action on one post.
#[derive(Debug, Clone)]
pub enum Action {
    Submit,
    Approve,
    Reject {
        note: Option<String>,
    },
    Schedule {
        publish_at: Option<String>,
    },
    /// Schedule for right now.
    PublishNow,
    /// Schedule at the next free queue slot of the post's channels.
    Queue,
    Unschedule,
    Cancel,
}

impl Action {
    /// The audit log's name for the action, when it is one a brand reviews (who approved,
    /// rejected, scheduled or published).
    fn audited(&self) -> Option<&'static str> {
        match self {
            Action::Approve => Some(action::POST_APPROVED),
            Action::Reject { .. } => Some(action::POST_REJECTED),
            Action::Schedule { .. } | Action::Queue => Some(action::POST_SCHEDULED),
            Action::PublishNow => Some(action::POST_PUBLISH_NOW),
            Action::Unschedule => Some(action::POST_UNSCHEDULED),
            Action::Cancel => Some(action::POST_CANCELLED),
            Action::Submit => None,
        }
    }

    fn permission(&self) -> Permission {
        match self {
            Action::Submit => Permission::WriteDrafts,
            Action::Approve | Action::Reject { .. } => Permission::Review,
            Action::Schedule { .. }
            | Action::PublishNow
            | Action::Queue
            | Action::Unschedule
            | Action::Cancel => Permission::Schedule,
        }
    }

    /// Whether the caller must say which version it read (If-Match): approving and scheduling
    /// decide what gets published, so they apply only to the copy the caller saw.
    pub fn needs_version(&self) -> bool {
        matches!(
            self,
            Action::Approve | Action::Schedule { .. } | Action::PublishNow | Action::Queue
        )
    }
}

/// The raw listing parameters as the caller gave them.
#[derive(Debug, Default, Clone)]
pub struct ListParams {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub label: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Clone)]
pub struct PostService {
    ports: Ports,
}

impl PostService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn get(&self, actor: &Actor, id: &PostId) -> Result<Post, ServiceError> {
        actor.require(Permission::Read)?;
        self.load(actor, id).await
    }

    pub async fn create(&self, actor: &Actor, input: PostInput) -> Result<Post, ServiceError> {
        actor.require(Permission::WriteDrafts)?;
        let brand = self.ports.brand(actor).await?;
        let draft = PostDraft::parse(input)?;
        self.check_channels_exist(actor, &draft.channels).await?;
        let post = Post::create(draft, brand.time_zone.clone(), &self.context(actor, &brand));
        Ok(self.ports.store.put_post(&actor.brand, &post, None).await?)
    }

    pub async fn patch(
        &self,
        actor: &Actor,
        id: &PostId,
        changes: PostChanges,
        expected: Option<u64>,
    ) -> Result<Post, ServiceError> {
        actor.require(Permission::WriteDrafts)?;
        let brand = self.ports.brand(actor).await?;
        with_retries(expected, "post", || async {
            let mut post = self.load(actor, id).await?;
            check_version(expected, post.version, "post")?;
            let current = post.draft();
            let draft = PostDraft::parse(merge(current, changes.clone()))?;
            self.check_channels_exist(actor, &draft.channels).await?;
            let version = post.version;
            post.edit(draft, brand.time_zone.clone(), &self.context(actor, &brand))?;
            Ok(self
                .ports
                .store
                .put_post(&actor.brand, &post, Some(version))
                .await?)
        })
        .await
    }

    pub async fn act(
        &self,
        actor: &Actor,
        id: &PostId,
        action: Action,
        expected: Option<u64>,
    ) -> Result<Post, ServiceError> {
        actor.require(action.permission())?;
        if expected.is_none() && action.needs_version() {
            return Err(ServiceError::VersionRequired("post"));
        }
        let brand = self.ports.brand(actor).await?;
        let publish_at = match &action {
            Action::Schedule {
                publish_at: Some(raw),
            } => Some(
                crate::domain::time::parse_instant(raw)
                    .map_err(|m| DomainError::invalid("publish_at", m))?,
            ),
            _ => None,
        };
        with_retries(expected, "post", || async {
            let mut post = self.load(actor, id).await?;
            check_version(expected, post.version, "post")?;
            let ctx = self.context(actor, &brand);
            match &action {
                Action::Submit => post.submit(&ctx)?,
                Action::Approve => post.approve(&ctx)?,
                Action::Reject { note } => post.reject(note.clone(), &ctx)?,
                Action::Schedule { .. } => {
                    self.check_before_scheduling(actor, &post).await?;
                    post.schedule(publish_at, &ctx)?;
                }
                Action::PublishNow => {
                    self.check_before_scheduling(actor, &post).await?;
                    post.schedule_now(&ctx)?;
                }
                Action::Queue => {
                    self.check_before_scheduling(actor, &post).await?;
                    let slot = self.next_free_slot(actor, &brand, &post).await?;
                    post.schedule(Some(slot), &ctx)?;
                }
                Action::Unschedule => post.unschedule(&ctx)?,
                Action::Cancel => post.cancel(&ctx)?,
            }
            let version = post.version;
            let also = match action.audited() {
                Some(what) => {
                    let entry = AuditEntry::new(
                        actor,
                        what,
                        format!("post/{}", post.id),
                        self.ports.clock.now(),
                        serde_json::json!({
                            "status": post.status(),
                            "publish_at": post.publish_at,
                            "channels": post.targets.iter().map(|t| t.channel_id.to_string()).collect::<Vec<_>>(),
                        }),
                    );
                    vec![audit_write(&actor.brand, &entry)?]
                }
                None => vec![],
            };
            Ok(self
                .ports
                .store
                .put_post_with(&actor.brand, &post, version, also)
                .await?)
        })
        .await
    }

    /// Checks every target against its network's rules without changing anything.
    pub async fn preflight(
        &self,
        actor: &Actor,
        id: &PostId,
    ) -> Result<Vec<TargetCheck>, ServiceError> {
        actor.require(Permission::Read)?;
        let post = self.load(actor, id).await?;
        Ok(self.preflight_checks().check(&actor.brand, &post).await?)
    }

    fn preflight_checks(&self) -> Preflight {
        Preflight::new(self.ports.store.clone(), self.ports.connectors.clone())
    }

    /// A post is scheduled only when every target passes preflight; otherwise the answer lists
    /// each target's problems (field `targets.<channel id>`).
    async fn check_before_scheduling(
        &self,
        actor: &Actor,
        post: &Post,
    ) -> Result<(), ServiceError> {
        self.check_channels_active(actor, &post.channels()).await?;
        let checks = self.preflight_checks().check(&actor.brand, post).await?;
        let errors: Vec<FieldError> = checks
            .iter()
            .flat_map(|c| {
                let network = c.network.map(|n| n.as_str()).unwrap_or("channel");
                c.problems.iter().map(move |p| {
                    FieldError::new(
                        format!("targets.{}", c.channel_id),
                        format!("{network}: {p}"),
                    )
                })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(errors).into())
        }
    }

    /// The first upcoming queue slot of the post's channels (the next eight weeks) at which none of
    /// those channels already has a scheduled post.
    async fn next_free_slot(
        &self,
        actor: &Actor,
        brand: &Brand,
        post: &Post,
    ) -> Result<Timestamp, ServiceError> {
        let channels = self.ports.store.list_channels(&actor.brand).await?;
        let mine: Vec<_> = channels
            .iter()
            .filter(|c| post.channels().contains(&c.id))
            .collect();
        let slots: Vec<QueueSlot> = mine.iter().flat_map(|c| c.queue.clone()).collect();
        if slots.is_empty() {
            return Err(DomainError::invalid(
                "channels",
                "none of the post's channels has queue slots: set them with PATCH /v1/channels/{id} {\"queue\": [...]}",
            )
            .into());
        }
        for at in upcoming(&slots, &brand.time_zone, self.now(), 7 * 8) {
            let end = at
                .checked_add(jiff::SignedDuration::from_secs(1))
                .unwrap_or(at);
            let (taken, _) = self
                .ports
                .store
                .posts_between(&actor.brand, at, end, 100)
                .await?;
            let busy = taken.iter().any(|other| {
                other.id != post.id
                    && other.workflow == crate::domain::Workflow::Scheduled
                    && other.channels().iter().any(|c| post.channels().contains(c))
            });
            if !busy {
                return Ok(at);
            }
        }
        Err(
            DomainError::InvalidState("every queue slot of the next eight weeks is taken".into())
                .into(),
        )
    }

    pub async fn duplicate(&self, actor: &Actor, id: &PostId) -> Result<Post, ServiceError> {
        actor.require(Permission::WriteDrafts)?;
        let brand = self.ports.brand(actor).await?;
        let original = self.load(actor, id).await?;
        let copy = original.duplicate(brand.time_zone.clone(), &self.context(actor, &brand));
        Ok(self.ports.store.put_post(&actor.brand, &copy, None).await?)
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        id: &PostId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(Permission::WriteDrafts)?;
        with_retries(expected, "post", || async {
            let post = self.load(actor, id).await?;
            check_version(expected, post.version, "post")?;
            // Editors may delete work in progress; anything past review is a manager's call.
            if !matches!(post.status(), PostStatus::Draft | PostStatus::InReview) {
                actor.require(Permission::Schedule)?;
            }
            post.check_deletable()?;
            Ok(self
                .ports
                .store
                .delete_post(&actor.brand, id, post.version)
                .await?)
        })
        .await
    }

    pub async fn list(&self, actor: &Actor, params: ListParams) -> Result<PostPage, ServiceError> {
        actor.require(Permission::Read)?;
        let mut v = Validation::new();
        let status = params
            .status
            .as_deref()
            .and_then(|s| v.check("status", PostStatus::parse(s)));
        let channel = params
            .channel
            .as_deref()
            .and_then(|c| v.check("channel", ChannelId::parse(c)));
        let (from, to) = super::time_range(&mut v, params.from.as_deref(), params.to.as_deref());
        let limit = super::page_limit(&mut v, params.limit);
        v.finish()?;
        let filter = PostFilter {
            status,
            channel,
            label: params.label,
            from,
            to,
        };
        self.ports
            .store
            .list_posts(&actor.brand, &filter, params.cursor.as_deref(), limit)
            .await
            .map_err(|e| match e {
                ListError::BadCursor(m) => DomainError::invalid("cursor", m).into(),
                ListError::Store(s) => s.into(),
            })
    }

    fn context<'a>(&self, actor: &'a Actor, brand: &Brand) -> Context<'a> {
        Context {
            actor: &actor.subject,
            now: self.now(),
            approval_required: brand.approval_required,
        }
    }

    fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    async fn load(&self, actor: &Actor, id: &PostId) -> Result<Post, ServiceError> {
        self.ports
            .store
            .get_post(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("post"))
    }

    async fn check_channels_exist(
        &self,
        actor: &Actor,
        channels: &[ChannelId],
    ) -> Result<(), ServiceError> {
        self.check_channels(actor, channels, false).await
    }

    async fn check_channels_active(
        &self,
        actor: &Actor,
        channels: &[ChannelId],
    ) -> Result<(), ServiceError> {
        self.check_channels(actor, channels, true).await
    }

    async fn check_channels(
        &self,
        actor: &Actor,
        channels: &[ChannelId],
        active: bool,
    ) -> Result<(), ServiceError> {
        if channels.is_empty() {
            return Ok(());
        }
        let known = self.ports.store.list_channels(&actor.brand).await?;
        let mut v = Validation::new();
        for (i, id) in channels.iter().enumerate() {
            match known.iter().find(|c| c.id == *id) {
                None => v.add(
                    format!("channels.{i}"),
                    format!("there is no channel {id} in this brand"),
                ),
                Some(c) if active && c.status != ChannelStatus::Active => v.add(
                    format!("channels.{i}"),
                    format!(
                        "channel \"{}\" is {}: it must be active to schedule posts to it",
                        c.name,
                        match c.status {
                            ChannelStatus::NeedsReconnect => "waiting to be reconnected",
                            _ => "disabled",
                        }
                    ),
                ),
                Some(_) => {}
            }
        }
        Ok(v.finish()?)
    }
}

fn merge(current: PostDraft, changes: PostChanges) -> PostInput {
    PostInput {
        text: changes.text.unwrap_or(current.text),
        thread: changes.thread.unwrap_or(current.thread),
        channels: changes
            .channels
            .unwrap_or_else(|| current.channels.iter().map(|c| c.to_string()).collect()),
        variants: changes.variants.unwrap_or_else(|| {
            current
                .variants
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        }),
        media: changes
            .media
            .unwrap_or_else(|| current.media.iter().map(|m| m.to_string()).collect()),
        labels: changes.labels.unwrap_or(current.labels),
        campaign: changes.campaign.unwrap_or(current.campaign),
        publish_at: changes
            .publish_at
            .unwrap_or_else(|| current.publish_at.map(|t| t.to_string())),
    }
}
