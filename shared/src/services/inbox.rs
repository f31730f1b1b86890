//! The inbox as the brand's team uses it: listings served by indexes (open, by channel, by
//! assignee and state, everything), refined by the other filters; counts per state; one
//! interaction with its context (the brand post it answers, what it answers, the replies and
//! notes); managers' changes; notes; and replies, which the inbox worker sends.

use jiff::Timestamp;
use serde_json::json;

use super::{Ports, ServiceError, check_version};
use crate::domain::audit::{AuditEntry, action};
use crate::domain::inbox::{
    InboxSettings, Interaction, InteractionKind, InteractionPatch, InteractionState,
    MAX_SAVED_REPLIES, OutgoingReply, ReplyState, SavedReply,
};
use crate::domain::inbox_rules::{InboxRule, parse_rules};
use crate::domain::inbox_stats::{InboxStats, inbox_stats};
use crate::domain::moderation::{Moderation, ModerationAction};
use crate::domain::reply_rules::{self, ReplyCheck};
use crate::domain::{
    Actor, AssetId, ChannelId, DomainError, InteractionId, Network, Permission, ReplyId,
};
use crate::store::audit::audit_write;
use crate::store::inbox::{InteractionPage, Listing, Note, PageRequest, RuleSet};
use crate::store::{ListError, Store, StoreError};

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    pub state: Option<InteractionState>,
    pub assignee: Option<String>,
    pub channel: Option<ChannelId>,
    pub network: Option<Network>,
    pub kind: Option<InteractionKind>,
    pub tag: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub oldest_first: bool,
    pub cursor: Option<String>,
    pub limit: usize,
}

/// One interaction and what surrounds it.
#[derive(Debug, Clone)]
pub struct InteractionDetail {
    pub interaction: Interaction,
    /// The interaction it answers, when the brand has it.
    pub parent: Option<Interaction>,
    pub replies: Vec<OutgoingReply>,
    pub notes: Vec<Note>,
    pub moderations: Vec<Moderation>,
}

/// The same text (and media) answered to the same interaction within this long is one reply:
/// a form sent twice, or a client retrying after a lost answer, sends nothing twice.
pub const SAME_REPLY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// At most this many interactions go into one period's figures.
pub const MAX_STATS_INTERACTIONS: usize = 20_000;

#[derive(Clone)]
pub struct InboxService {
    ports: Ports,
}

fn list_error(e: ListError) -> ServiceError {
    match e {
        ListError::BadCursor(why) => DomainError::invalid("cursor", why).into(),
        ListError::Store(e) => e.into(),
    }
}

impl InboxService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    /// The brand's inbox settings and time zone (the defaults before it has a profile).
    pub async fn settings(
        &self,
        actor: &Actor,
    ) -> Result<(InboxSettings, jiff::tz::TimeZone), ServiceError> {
        Ok(match self.store().get_brand(&actor.brand).await? {
            Some(brand) => (brand.inbox.clone(), brand.time_zone.zone()),
            None => (InboxSettings::default(), jiff::tz::TimeZone::UTC),
        })
    }

    /// `GET /v1/inbox/stats`: response times and volumes of the interactions created in
    /// `[from, to)` (at most [`MAX_STATS_INTERACTIONS`]; `partial` says when there were more).
    pub async fn stats(
        &self,
        actor: &Actor,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(InboxStats, bool), ServiceError> {
        actor.require(Permission::Read)?;
        if to <= from {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        let (settings, zone) = self.settings(actor).await?;
        let (all, partial) = self
            .store()
            .interactions_created(&actor.brand, (from, to), MAX_STATS_INTERACTIONS)
            .await?;
        let mut stats = inbox_stats(
            &all,
            &settings.business_hours,
            &zone,
            settings.response_target_minutes,
            self.ports.clock.now(),
        );
        stats.from = Some(from);
        stats.to = Some(to);
        Ok((stats, partial))
    }

    /// Approves a reply waiting for a manager (brands with `replies_need_approval`): it is sent
    /// by the next worker tick. In the audit log.
    pub async fn approve_reply(
        &self,
        actor: &Actor,
        id: &InteractionId,
        reply: &ReplyId,
    ) -> Result<OutgoingReply, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        self.load(actor, id).await?;
        let mut found = self
            .store()
            .get_reply(&actor.brand, id, reply)
            .await?
            .ok_or(ServiceError::NotFound("reply"))?;
        if found.state != ReplyState::AwaitingApproval {
            return Err(
                DomainError::InvalidState("this reply is not waiting for approval".into()).into(),
            );
        }
        let now = self.ports.clock.now();
        found.state = ReplyState::Pending;
        found.next_attempt_at = Some(now);
        found.approved_by = Some(actor.subject.clone());
        let (settings, _) = self.settings(actor).await?;
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::INBOX_REPLY_APPROVED,
                format!("interaction/{id}"),
                now,
                json!({"reply_id": reply.to_string()}),
            ),
        )?;
        match self
            .store()
            .update_reply(&actor.brand, &found, settings.retention(), vec![audit])
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("reply")),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /v1/inbox`: viewers read everything but direct messages, which editors and up read.
    pub async fn list(
        &self,
        actor: &Actor,
        query: InboxQuery,
    ) -> Result<InteractionPage, ServiceError> {
        actor.require(Permission::Read)?;
        let directs = actor.can(Permission::ReadDirectMessages);
        let listing = match (&query.assignee, query.state, query.channel) {
            (Some(a), Some(state), _) => Listing::Assignee(a.clone(), state),
            (Some(_), None, _) => {
                return Err(DomainError::invalid(
                    "state",
                    "is needed with assignee (for example state=open)",
                )
                .into());
            }
            (None, _, Some(channel)) => Listing::Channel(channel),
            (None, Some(s), None) if s.is_open() => Listing::Open,
            (None, _, None) => Listing::All,
        };
        let q = &query;
        let keep = |i: &Interaction| {
            (directs || !i.is_direct())
                && q.state.is_none_or(|s| i.state == s)
                && q.channel.is_none_or(|c| i.channel == c)
                && q.network.is_none_or(|n| i.network == n)
                && q.kind.is_none_or(|k| i.kind == k)
                && q.tag.as_ref().is_none_or(|t| i.tags.contains(t))
        };
        self.store()
            .list_interactions(
                &actor.brand,
                &listing,
                PageRequest {
                    range: (query.from, query.to),
                    oldest_first: query.oldest_first,
                    cursor: query.cursor.as_deref(),
                    limit: query.limit.clamp(1, 100),
                },
                keep,
            )
            .await
            .map_err(list_error)
    }

    /// `GET /v1/inbox/counts`: interactions per state, from the counters kept on write.
    pub async fn counts(
        &self,
        actor: &Actor,
    ) -> Result<std::collections::BTreeMap<InteractionState, u64>, ServiceError> {
        actor.require(Permission::Read)?;
        Ok(self.store().inbox_counts(&actor.brand).await?)
    }

    async fn load(&self, actor: &Actor, id: &InteractionId) -> Result<Interaction, ServiceError> {
        actor.require(Permission::Read)?;
        let interaction = self
            .store()
            .get_interaction(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("interaction"))?;
        // A direct message does not exist for someone who may not read it.
        if interaction.is_direct() && !actor.can(Permission::ReadDirectMessages) {
            return Err(ServiceError::NotFound("interaction"));
        }
        Ok(interaction)
    }

    /// `GET /v1/inbox/{id}`.
    pub async fn get(
        &self,
        actor: &Actor,
        id: &InteractionId,
    ) -> Result<InteractionDetail, ServiceError> {
        let interaction = self.load(actor, id).await?;
        let parent = match &interaction.parent {
            Some(parent) => self
                .store()
                .find_interaction(&actor.brand, interaction.network, parent)
                .await?
                .filter(|p| !p.is_direct() || actor.can(Permission::ReadDirectMessages)),
            None => None,
        };
        let replies = self.store().replies_of(&actor.brand, id).await?;
        let notes = self.store().list_notes(&actor.brand, id).await?;
        let moderations = self.store().moderations_of(&actor.brand, id).await?;
        Ok(InteractionDetail {
            interaction,
            parent,
            replies,
            notes,
            moderations,
        })
    }

    /// `PATCH /v1/inbox/{id}` (managers): state, assignee, tags, priority, on the version read.
    pub async fn patch(
        &self,
        actor: &Actor,
        id: &InteractionId,
        patch: InteractionPatch,
        expected: Option<u64>,
    ) -> Result<Interaction, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("interaction"))?;
        let before = self.load(actor, id).await?;
        check_version(Some(expected), before.version, "interaction")?;
        let mut after = before.clone();
        after.apply(patch);
        let (settings, _) = self.settings(actor).await?;
        match self
            .store()
            .update_interaction(
                &actor.brand,
                &before,
                &after,
                settings.retention(),
                Vec::new(),
            )
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("interaction")),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /v1/inbox/{id}/notes` (editors and up).
    pub async fn add_note(
        &self,
        actor: &Actor,
        id: &InteractionId,
        text: &str,
    ) -> Result<Note, ServiceError> {
        actor.require(Permission::ReplyInbox)?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 5_000 {
            return Err(DomainError::invalid("text", "must be 1 to 5,000 characters").into());
        }
        let interaction = self.load(actor, id).await?;
        let note = Note {
            id: ulid::Ulid::new().to_string(),
            author: actor.subject.clone(),
            text: text.to_owned(),
            at: self.ports.clock.now(),
        };
        let (settings, _) = self.settings(actor).await?;
        self.store()
            .put_note(&actor.brand, &interaction, &note, settings.retention())
            .await?;
        Ok(note)
    }

    /// `GET /v1/inbox/{id}/notes`.
    pub async fn notes(
        &self,
        actor: &Actor,
        id: &InteractionId,
    ) -> Result<Vec<Note>, ServiceError> {
        self.load(actor, id).await?;
        Ok(self.store().list_notes(&actor.brand, id).await?)
    }

    /// `POST /v1/inbox/{id}/reply` (editors and up): the reply waits for the worker, which
    /// sends it exactly once; it is in the audit log.
    pub async fn reply(
        &self,
        actor: &Actor,
        id: &InteractionId,
        text: &str,
        media: Vec<AssetId>,
        private: bool,
    ) -> Result<OutgoingReply, ServiceError> {
        actor.require(Permission::ReplyInbox)?;
        let interaction = self.load(actor, id).await?;
        self.ports
            .connectors
            .replier(interaction.network)
            .map_err(|e| DomainError::NetworkRule(e.0))?;
        // A private reply asked for again (a retry after a lost answer) is the one already
        // made, as for any reply, not a second private reply that the rules would refuse.
        if private {
            let now = self.ports.clock.now();
            let same = self
                .store()
                .replies_of(&actor.brand, id)
                .await?
                .into_iter()
                .find(|r| {
                    r.private
                        && r.text == text.trim()
                        && r.media == media
                        && !matches!(r.state, ReplyState::Failed { .. })
                        && now.duration_since(r.created_at) < SAME_REPLY_WINDOW
                });
            if let Some(same) = same {
                return Ok(same);
            }
        }
        check_reply_rules(
            &self.ports,
            &actor.brand,
            &interaction,
            private,
            None,
            self.ports.clock.now(),
        )
        .await?;
        for asset in &media {
            if self.store().get_asset(&actor.brand, asset).await?.is_none() {
                return Err(DomainError::invalid(
                    "media",
                    format!("the asset {asset} is not in the library"),
                )
                .into());
            }
        }
        let now = self.ports.clock.now();
        let (settings, _) = self.settings(actor).await?;
        let reply = OutgoingReply::new(
            &interaction,
            text,
            media,
            &actor.subject,
            settings.replies_need_approval,
            now,
        )?
        .private(private);
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::INBOX_REPLIED,
                format!("interaction/{id}"),
                now,
                json!({
                    "reply_id": reply.id.to_string(),
                    "channel_id": interaction.channel.to_string(),
                    "network": interaction.network.as_str(),
                }),
            ),
        )?;
        match self
            .store()
            .create_reply(
                &actor.brand,
                &reply,
                settings.retention(),
                SAME_REPLY_WINDOW,
                vec![audit],
            )
            .await?
        {
            Ok(()) => {
                let mut saved = reply;
                saved.version = 1;
                Ok(saved)
            }
            // The same answer, asked for again: the reply it already made.
            Err(earlier) => self
                .store()
                .get_reply(&actor.brand, id, &earlier)
                .await?
                .ok_or(ServiceError::NotFound("reply")),
        }
    }

    // ---- moderation ----

    /// `POST /v1/inbox/{id}/moderation` (managers): asks the network to hide, unhide or like
    /// the interaction, or to delete the brand's reply to it; the inbox worker does it. An
    /// action the network does not allow is refused here, naming the network. Audited.
    pub async fn moderate(
        &self,
        actor: &Actor,
        id: &InteractionId,
        action: ModerationAction,
        reply: Option<ReplyId>,
    ) -> Result<Moderation, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let interaction = self.load(actor, id).await?;
        let name = interaction.network.display_name();
        let moderator = self
            .ports
            .connectors
            .moderator(interaction.network)
            .map_err(|e| DomainError::NetworkRule(e.0))?;
        if !moderator.actions().contains(&action) {
            return Err(DomainError::NetworkRule(format!(
                "{name} does not let an app {}",
                action.describe()
            ))
            .into());
        }
        // The request's own shape first (a reply named only for delete_reply), then the reply.
        let now = self.ports.clock.now();
        let m = Moderation::new(&interaction, action, reply, &actor.subject, now)?;
        if let Some(reply) = &reply {
            let sent = self
                .store()
                .get_reply(&actor.brand, id, reply)
                .await?
                .ok_or(ServiceError::NotFound("reply"))?;
            if !matches!(sent.state, ReplyState::Sent { .. }) {
                return Err(DomainError::InvalidState(
                    "only a reply that was sent can be deleted".into(),
                )
                .into());
            }
        }
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::INBOX_MODERATED,
                format!("interaction/{id}"),
                now,
                json!({
                    "action": m.action.as_str(),
                    "moderation_id": m.id,
                    "network": interaction.network.as_str(),
                    "reply_id": reply.map(|r| r.to_string()),
                }),
            ),
        )?;
        let (settings, _) = self.settings(actor).await?;
        Ok(self
            .store()
            .save_moderation(&actor.brand, &m, settings.retention(), vec![audit])
            .await?)
    }

    // ---- rules ----

    /// `GET /v1/inbox/rules`: the brand's rules in the order they run.
    pub async fn rules(&self, actor: &Actor) -> Result<RuleSet, ServiceError> {
        actor.require(Permission::Read)?;
        Ok(self.store().inbox_rules(&actor.brand).await?)
    }

    /// `PUT /v1/inbox/rules` (managers): replaces the rules, on the version read (0 before
    /// any). Audited.
    pub async fn put_rules(
        &self,
        actor: &Actor,
        rules: Vec<InboxRule>,
        expected: Option<u64>,
    ) -> Result<RuleSet, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("inbox rules"))?;
        let rules = parse_rules(rules)?;
        let current = self.store().inbox_rules(&actor.brand).await?;
        check_version(Some(expected), current.version, "inbox rules")?;
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::INBOX_RULES_UPDATED,
                "inbox/rules".to_owned(),
                self.ports.clock.now(),
                json!({ "rules": rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>() }),
            ),
        )?;
        match self
            .store()
            .put_inbox_rules(
                &actor.brand,
                &RuleSet {
                    rules,
                    version: current.version,
                },
                vec![audit],
            )
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("inbox rules")),
            Err(e) => Err(e.into()),
        }
    }

    // ---- saved replies ----

    /// `GET /v1/saved-replies` (viewers).
    pub async fn saved_replies(&self, actor: &Actor) -> Result<Vec<SavedReply>, ServiceError> {
        actor.require(Permission::Read)?;
        Ok(self.store().list_saved_replies(&actor.brand).await?)
    }

    /// `POST /v1/saved-replies` (editors and up).
    pub async fn create_saved_reply(
        &self,
        actor: &Actor,
        title: &str,
        text: &str,
    ) -> Result<SavedReply, ServiceError> {
        actor.require(Permission::ReplyInbox)?;
        let (title, text) = SavedReply::check(title, text)?;
        if self.store().list_saved_replies(&actor.brand).await?.len() >= MAX_SAVED_REPLIES {
            return Err(DomainError::InvalidState(format!(
                "the brand has {MAX_SAVED_REPLIES} saved replies, the most it may keep: delete one first"
            ))
            .into());
        }
        let now = self.ports.clock.now();
        let saved = SavedReply {
            id: ulid::Ulid::new().to_string(),
            title,
            text,
            created_by: actor.subject.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        Ok(self
            .store()
            .put_saved_reply(&actor.brand, &saved, None)
            .await?)
    }

    async fn load_saved(&self, actor: &Actor, id: &str) -> Result<SavedReply, ServiceError> {
        self.store()
            .get_saved_reply(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("saved reply"))
    }

    /// `PATCH /v1/saved-replies/{id}` (editors and up, `If-Match`).
    pub async fn update_saved_reply(
        &self,
        actor: &Actor,
        id: &str,
        title: Option<&str>,
        text: Option<&str>,
        expected: Option<u64>,
    ) -> Result<SavedReply, ServiceError> {
        actor.require(Permission::ReplyInbox)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("saved reply"))?;
        let mut saved = self.load_saved(actor, id).await?;
        check_version(Some(expected), saved.version, "saved reply")?;
        let (title, text) =
            SavedReply::check(title.unwrap_or(&saved.title), text.unwrap_or(&saved.text))?;
        saved.title = title;
        saved.text = text;
        saved.updated_at = self.ports.clock.now();
        match self
            .store()
            .put_saved_reply(&actor.brand, &saved, Some(expected))
            .await
        {
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("saved reply")),
            other => Ok(other?),
        }
    }

    /// `DELETE /v1/saved-replies/{id}` (editors and up, `If-Match`).
    pub async fn delete_saved_reply(
        &self,
        actor: &Actor,
        id: &str,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(Permission::ReplyInbox)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("saved reply"))?;
        let saved = self.load_saved(actor, id).await?;
        check_version(Some(expected), saved.version, "saved reply")?;
        match self
            .store()
            .delete_saved_reply(&actor.brand, id, expected)
            .await
        {
            Err(StoreError::Conflict { .. }) => Err(ServiceError::Stale("saved reply")),
            other => Ok(other?),
        }
    }

    /// The text of a reply made from a saved one, for the interaction's author.
    pub async fn rendered(
        &self,
        actor: &Actor,
        id: &InteractionId,
        saved: &str,
    ) -> Result<String, ServiceError> {
        let interaction = self.load(actor, id).await?;
        let saved = self
            .store()
            .get_saved_reply(&actor.brand, saved)
            .await?
            .ok_or_else(|| {
                DomainError::invalid("saved_reply", "is not one of the brand's saved replies")
            })?;
        Ok(saved.render(&interaction.author))
    }

    // ---- bulk ----

    /// `POST /v1/inbox/bulk` (managers): the same state and/or assignee on up to 100
    /// interactions, each on its latest version; one outcome per id.
    pub async fn bulk(
        &self,
        actor: &Actor,
        ids: &[InteractionId],
        patch: InteractionPatch,
    ) -> Result<Vec<(InteractionId, Result<Interaction, ServiceError>)>, ServiceError> {
        actor.require(Permission::ManageInbox)?;
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(
                DomainError::invalid("ids", format!("1 to {MAX_BULK} interactions")).into(),
            );
        }
        if patch.tags.is_some() || patch.priority.is_some() {
            return Err(
                DomainError::invalid("tags", "bulk changes set state and assignee only").into(),
            );
        }
        let (settings, _) = self.settings(actor).await?;
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            let mut outcome = Err(ServiceError::Stale("interaction"));
            for _ in 0..3 {
                let before = match self.load(actor, id).await {
                    Ok(i) => i,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                };
                let mut after = before.clone();
                after.apply(patch.clone());
                match self
                    .store()
                    .update_interaction(
                        &actor.brand,
                        &before,
                        &after,
                        settings.retention(),
                        Vec::new(),
                    )
                    .await
                {
                    Ok(saved) => {
                        outcome = Ok(saved);
                        break;
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => {
                        outcome = Err(e.into());
                        break;
                    }
                }
            }
            outcomes.push((*id, outcome));
        }
        Ok(outcomes)
    }
}

/// At most this many interactions in one bulk change.
pub const MAX_BULK: usize = 100;

/// Whether the network lets the brand answer `interaction` now (`private`: as a private reply
/// to a comment): the domain's reply rules with what they need read from the store. Checked
/// when a reply is asked for and again before it is sent (`sending`: that reply, which does not
/// count as an earlier private reply).
pub async fn check_reply_rules(
    ports: &Ports,
    brand: &crate::domain::BrandId,
    interaction: &Interaction,
    private: bool,
    sending: Option<ReplyId>,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let store = &ports.store;
    let channel = store
        .get_channel(brand, &interaction.channel)
        .await?
        .ok_or(ServiceError::NotFound("channel"))?;
    // The messaging window starts at the person's last message on this channel.
    let mut last_from_person = interaction.created_at;
    // Found by the author's account, not the interaction's person id: a manager may have
    // linked that record into another since.
    let author = &interaction.author;
    if let Some(p) = store
        .find_person(brand, interaction.network, &author.id, &author.handle)
        .await?
        && let Some(at) = p.last_direct.get(&interaction.channel)
    {
        last_from_person = last_from_person.max(*at);
    }
    let earlier_private = private
        && store
            .replies_of(brand, &interaction.id)
            .await?
            .iter()
            .any(|r| {
                r.private && Some(r.id) != sending && !matches!(r.state, ReplyState::Failed { .. })
            });
    let human_agent = channel
        .settings
        .get("human_agent")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    reply_rules::check(
        interaction,
        ReplyCheck {
            brand_handle: &channel.handle,
            last_from_person,
            human_agent,
            private,
            earlier_private,
            now,
        },
    )?;
    Ok(())
}
