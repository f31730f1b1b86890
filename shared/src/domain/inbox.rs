//! The community inbox, as rules: what people address to the brand (an [`Interaction`]: a reply or
//! comment on the brand's posts, a mention, a quote, a direct message), its life
//! (`new -> open -> replied | resolved | ignored`), who handles it, and the first response that
//! makes it answered, whether sent from Palinsesto or natively on the network; the brand's
//! [`OutgoingReply`], sent exactly once; and each channel's polled streams ([`InboxStream`]).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::channel::Network;
use super::error::{DomainError, Validation};
use super::ids::{AssetId, ChannelId, InteractionId, PersonId, PostId, ReplyId};

pub use super::inbox_settings::{DEFAULT_RETENTION, InboxSettings};

/// What someone addressed to the brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// An answer to one of the brand's posts (or to an answer under it).
    Reply,
    /// A comment under one of the brand's posts (networks that call them comments).
    Comment,
    /// A post that names the brand's account.
    Mention,
    /// A post that quotes one of the brand's.
    Quote,
    DirectMessage,
}

impl InteractionKind {
    pub const ALL: [Self; 5] = [
        Self::Reply,
        Self::Comment,
        Self::Mention,
        Self::Quote,
        Self::DirectMessage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Comment => "comment",
            Self::Mention => "mention",
            Self::Quote => "quote",
            Self::DirectMessage => "direct_message",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown kind {raw:?}: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// Where an interaction is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InteractionState {
    /// Nobody has looked at it.
    New,
    /// Someone is on it.
    Open,
    /// The brand answered it (from Palinsesto or natively on the network).
    Replied,
    /// Done without an answer needed.
    Resolved,
    Ignored,
    /// Hidden on the network by a manager (where the network allows it): people other than its
    /// author no longer see it.
    Hidden,
}

impl InteractionState {
    pub const ALL: [Self; 6] = [
        Self::New,
        Self::Open,
        Self::Replied,
        Self::Resolved,
        Self::Ignored,
        Self::Hidden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Replied => "replied",
            Self::Resolved => "resolved",
            Self::Ignored => "ignored",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown state {raw:?}: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// Waiting for the brand: new or open.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Open)
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

/// How the first response was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseVia {
    /// A reply sent from Palinsesto.
    Palinsesto,
    /// The brand answered on the network itself (its app, its website).
    Native,
}

/// The person behind an interaction, as the network shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    /// The network's id of the account.
    pub id: String,
    pub handle: String,
    pub name: String,
    /// Followers, when the network says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
}

/// What a reply to an interaction must name on its network: the item itself and, where the
/// network threads by strong references (Bluesky), its content hash and its thread's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplyTarget {
    /// The network's id of the item (a status id, an `at://` URI).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cid: Option<String>,
    /// The item's visibility where the network has one (a Mastodon reply keeps it: an answer to
    /// a direct message stays direct).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// The conversation the item lives in, where an answer must name it: a Telegram chat id, the
    /// person's id a Messenger or Instagram message is answered to (PSID, IGSID), an X
    /// conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
}

/// An interaction as a network's reader found it, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub external_id: String,
    pub kind: InteractionKind,
    pub permalink: Option<String>,
    /// The item it answers, when it answers one (its network id).
    pub parent: Option<String>,
    /// The first post of its thread, when known.
    pub root: Option<String>,
    pub author: Author,
    pub text: String,
    /// The network's own answer for it, kept for later needs, never shown by the API.
    pub raw: Value,
    pub target: ReplyTarget,
    pub created_at: Timestamp,
}

/// A reply the brand made natively on the network (its own stream): it answers `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeReply {
    pub external_id: String,
    pub parent: String,
    pub created_at: Timestamp,
}

/// One recorded interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: InteractionId,
    pub channel: ChannelId,
    pub network: Network,
    pub external_id: String,
    pub kind: InteractionKind,
    pub permalink: Option<String>,
    /// The brand's post it answers, when it is one Palinsesto published.
    pub post: Option<PostId>,
    /// The network id of the brand's post it answers, when it answers one.
    pub answers: Option<String>,
    pub parent: Option<String>,
    pub root: Option<String>,
    pub author: Author,
    pub text: String,
    pub raw: Value,
    pub target: ReplyTarget,
    pub created_at: Timestamp,
    pub received_at: Timestamp,
    pub state: InteractionState,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub priority: Priority,
    pub first_response_at: Option<Timestamp>,
    pub first_response_via: Option<ResponseVia>,
    /// The person who wrote it, as the brand knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
    /// What the brand's inbox rules did to it when it arrived, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_actions: Vec<String>,
    #[serde(default)]
    pub version: u64,
}

impl Interaction {
    /// A new interaction from what a reader found on `channel`. `answers` is the brand post it
    /// answers when the reader could tell, with the post Palinsesto published it as, if any.
    pub fn received(
        incoming: Incoming,
        channel: ChannelId,
        network: Network,
        answers: Option<(String, Option<PostId>)>,
        now: Timestamp,
    ) -> Self {
        let (answers, post) = match answers {
            Some((remote, post)) => (Some(remote), post),
            None => (None, None),
        };
        Self {
            id: InteractionId::new(),
            channel,
            network,
            external_id: incoming.external_id,
            kind: incoming.kind,
            permalink: incoming.permalink,
            post,
            answers,
            parent: incoming.parent,
            root: incoming.root,
            author: incoming.author,
            text: incoming.text,
            raw: incoming.raw,
            target: incoming.target,
            created_at: incoming.created_at,
            received_at: now,
            state: InteractionState::New,
            assignee: None,
            tags: Vec::new(),
            priority: Priority::default(),
            first_response_at: None,
            first_response_via: None,
            person: None,
            rule_actions: Vec::new(),
            version: 0,
        }
    }

    /// Whether it is a direct message (only editors and up read those).
    pub fn is_direct(&self) -> bool {
        self.kind == InteractionKind::DirectMessage
    }

    /// Records the brand's first response: the first one counts, later ones change nothing but
    /// the state of an interaction still waiting. Returns whether anything changed.
    pub fn responded(&mut self, at: Timestamp, via: ResponseVia) -> bool {
        let mut changed = false;
        if self.first_response_at.is_none() {
            // A response cannot come before what it answers (clocks of two servers).
            self.first_response_at = Some(at.max(self.created_at));
            self.first_response_via = Some(via);
            changed = true;
        }
        if self.state.is_open() {
            self.state = InteractionState::Replied;
            changed = true;
        }
        changed
    }

    /// Applies a manager's changes.
    pub fn apply(&mut self, patch: InteractionPatch) {
        if let Some(state) = patch.state {
            self.state = state;
        }
        if let Some(assignee) = patch.assignee {
            self.assignee = assignee;
        }
        if let Some(tags) = patch.tags {
            self.tags = tags;
        }
        if let Some(priority) = patch.priority {
            self.priority = priority;
        }
    }
}

/// A manager's changes to an interaction, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionPatch {
    pub state: Option<InteractionState>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub priority: Option<Priority>,
}

/// At most this many tags on an interaction.
pub const MAX_TAGS: usize = 20;

impl InteractionPatch {
    pub fn parse(
        state: Option<&str>,
        assignee: Option<Option<&str>>,
        tags: Option<Vec<String>>,
        priority: Option<Priority>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let state = match state {
            Some("new") => {
                v.add(
                    "state",
                    "an interaction cannot become new again: use open, replied, resolved or ignored",
                );
                None
            }
            Some(raw) => v.check("state", InteractionState::parse(raw)),
            None => None,
        };
        let assignee = assignee.map(|a| a.map(str::trim).filter(|a| !a.is_empty()));
        if let Some(Some(a)) = assignee
            && a.chars().count() > 200
        {
            v.add("assignee", "must be at most 200 characters");
        }
        let tags = tags.map(|tags| {
            let mut clean: Vec<String> = Vec::new();
            for (i, tag) in tags.iter().enumerate() {
                let tag = tag.trim().to_lowercase();
                if tag.is_empty() || tag.chars().count() > 40 {
                    v.add(format!("tags.{i}"), "must be 1 to 40 characters");
                } else if !clean.contains(&tag) {
                    clean.push(tag);
                }
            }
            if clean.len() > MAX_TAGS {
                v.add("tags", format!("at most {MAX_TAGS} tags"));
            }
            clean
        });
        v.finish()?;
        Ok(Self {
            state,
            assignee: assignee.map(|a| a.map(str::to_owned)),
            tags,
            priority,
        })
    }
}

/// Where a reply is in its sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplyState {
    /// The brand requires a manager's approval of replies; nothing is sent before it.
    AwaitingApproval,
    /// Waiting for the worker.
    Pending,
    /// A worker holds it until `until`.
    Sending {
        until: Timestamp,
    },
    Sent {
        remote_id: String,
        url: Option<String>,
        sent_at: Timestamp,
    },
    Failed {
        kind: String,
        message: String,
    },
    /// A sending whose outcome is unknown (the answer was lost): read back before any retry.
    Unknown {
        message: String,
    },
}

/// A reply the brand sends to an interaction, exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingReply {
    pub id: ReplyId,
    pub interaction: InteractionId,
    pub channel: ChannelId,
    pub text: String,
    pub media: Vec<AssetId>,
    pub state: ReplyState,
    pub attempts: u32,
    /// When it may be tried next (pending, unknown, or a retryable failure).
    pub next_attempt_at: Option<Timestamp>,
    pub first_attempt_at: Option<Timestamp>,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub created_at: Timestamp,
    /// A fresh id per claim, so two workers claiming at the same instant never write the same
    /// item (the store takes an identical write as a replay of the first, not a conflict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    /// A private message to the comment's author instead of a public answer (Meta's private
    /// replies).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    #[serde(default)]
    pub version: u64,
}

/// At most this many attempts at one reply.
pub const MAX_REPLY_ATTEMPTS: u32 = 5;
/// How long a worker holds a reply it is sending.
pub const REPLY_LEASE: SignedDuration = SignedDuration::from_secs(120);

impl OutgoingReply {
    /// Checks the text (the network's own limits are preflight's) and makes the reply.
    pub fn new(
        interaction: &Interaction,
        text: &str,
        media: Vec<AssetId>,
        requested_by: &str,
        needs_approval: bool,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.is_empty() && media.is_empty() {
            return Err(DomainError::invalid("text", "a reply needs text or media"));
        }
        if media.len() > 4 {
            return Err(DomainError::invalid("media", "at most 4 media in a reply"));
        }
        Ok(Self {
            id: ReplyId::new(),
            interaction: interaction.id,
            channel: interaction.channel,
            text: text.to_owned(),
            media,
            state: if needs_approval {
                ReplyState::AwaitingApproval
            } else {
                ReplyState::Pending
            },
            attempts: 0,
            next_attempt_at: (!needs_approval).then_some(now),
            first_attempt_at: None,
            requested_by: requested_by.to_owned(),
            approved_by: None,
            created_at: now,
            claim: None,
            private: false,
            version: 0,
        })
    }

    /// The same reply, sent privately to the comment's author when `private`.
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }

    /// The key that makes a retry the same reply at the network (Mastodon's `Idempotency-Key`,
    /// Bluesky's record key): stable for the reply across attempts.
    pub fn key(&self) -> String {
        // Starting with the reply's ULID, Bluesky's derived record key carries its time.
        format!("{}-reply", self.id)
    }
}

/// A channel's polled streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// The network's notifications (mentions, replies, quotes, direct messages).
    Notifications,
    /// The threads under the brand's recent posts (a reply that dropped the brand's @mention
    /// is not notified).
    Threads,
    /// The brand's own recent replies: native answers count as responses.
    Own,
    /// Direct messages where the network reads them apart from notifications (Messenger,
    /// Instagram messaging, a Telegram bot's updates).
    Messages,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notifications => "notifications",
            Self::Threads => "threads",
            Self::Own => "own",
            Self::Messages => "messages",
        }
    }
}

/// A channel's stream, polled on the due index with its cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxStream {
    pub channel: ChannelId,
    pub kind: StreamKind,
    pub cursor: Option<String>,
    pub next_poll: Timestamp,
    pub last_polled: Option<Timestamp>,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub version: u64,
}

/// How often a channel's streams are polled: often while it has recent posts (people answer
/// in the first hours), less when quiet, and less again after failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollCadence {
    pub busy: SignedDuration,
    pub quiet: SignedDuration,
}

impl PollCadence {
    /// Deployed: every 2 minutes while busy, 15 when quiet. engagement.md's limits: Mastodon
    /// 300 requests per 5 minutes per account (and per IP: every function shares its egress
    /// addresses), Bluesky 3,000 per 5 minutes per IP; a stream costs a few calls a poll, so
    /// this leaves most of an account's allowance to publishing. docs/deploy.md works out the
    /// per-IP side at scale.
    pub const DEPLOYED: Self = Self {
        busy: SignedDuration::from_mins(2),
        quiet: SignedDuration::from_mins(15),
    };

    /// The local runner's `--inbox-every`: a busy channel at that interval (a second at
    /// least), a quiet one at it or at the deployed quiet cadence, whichever is longer.
    pub fn every(interval: SignedDuration) -> Self {
        let busy = interval.max(SignedDuration::from_secs(1));
        Self {
            busy,
            quiet: busy.max(Self::DEPLOYED.quiet),
        }
    }

    /// When a stream polled at `now` is due again.
    pub fn next(&self, now: Timestamp, busy: bool, failures: u32) -> Timestamp {
        let base = if busy { self.busy } else { self.quiet };
        // After failures, wait longer (capped at an hour) so a broken channel costs little.
        let backoff = SignedDuration::from_mins(5 * i64::from(failures.min(12)));
        now + base + backoff
    }
}

/// How recent a post keeps its channel busy.
pub const BUSY_WINDOW: SignedDuration = SignedDuration::from_hours(48);

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming() -> Incoming {
        Incoming {
            external_id: "1".into(),
            kind: InteractionKind::Reply,
            permalink: None,
            parent: Some("9".into()),
            root: Some("9".into()),
            author: Author {
                id: "a".into(),
                handle: "@a".into(),
                name: "A".into(),
                followers: None,
            },
            text: "hello".into(),
            raw: Value::Null,
            target: ReplyTarget {
                id: "1".into(),
                cid: None,
                root_id: None,
                root_cid: None,
                visibility: None,
                chat: None,
            },
            created_at: "2027-01-15T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_first_response_counts_and_never_comes_before_the_interaction() {
        let now: Timestamp = "2027-01-15T10:05:00Z".parse().unwrap();
        let mut i =
            Interaction::received(incoming(), ChannelId::new(), Network::Mastodon, None, now);
        assert!(i.responded("2027-01-15T09:59:00Z".parse().unwrap(), ResponseVia::Native));
        assert_eq!(i.first_response_at, Some(i.created_at));
        assert_eq!(i.state, InteractionState::Replied);
        assert!(
            !i.responded(now, ResponseVia::Palinsesto),
            "the first one counts"
        );
        assert_eq!(i.first_response_via, Some(ResponseVia::Native));
    }

    #[test]
    fn a_patch_is_checked_field_by_field() {
        let err =
            InteractionPatch::parse(Some("new"), None, Some(vec!["".into()]), None).unwrap_err();
        let DomainError::Invalid(fields) = err else {
            panic!("{err:?}")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["state", "tags.0"]);
        let ok = InteractionPatch::parse(
            Some("resolved"),
            Some(Some(" ada ")),
            Some(vec!["VIP".into(), "vip".into()]),
            Some(Priority::High),
        )
        .unwrap();
        assert_eq!(ok.assignee, Some(Some("ada".into())));
        assert_eq!(ok.tags, Some(vec!["vip".into()]));
    }

    #[test]
    fn busy_channels_are_polled_often_and_failing_ones_back_off() {
        let now: Timestamp = "2027-01-15T10:00:00Z".parse().unwrap();
        let deployed = PollCadence::DEPLOYED;
        assert_eq!(
            deployed.next(now, true, 0),
            now + SignedDuration::from_mins(2)
        );
        assert_eq!(
            deployed.next(now, false, 0),
            now + SignedDuration::from_mins(15)
        );
        assert_eq!(
            deployed.next(now, true, 100),
            now + SignedDuration::from_mins(2) + SignedDuration::from_hours(1),
            "backs off an hour at most"
        );
        let local = PollCadence::every(SignedDuration::from_secs(5));
        assert_eq!(local.next(now, true, 0), now + SignedDuration::from_secs(5));
        assert_eq!(
            local.next(now, false, 0),
            now + SignedDuration::from_mins(15)
        );
        let slow = PollCadence::every(SignedDuration::from_mins(30));
        assert_eq!(
            slow.next(now, false, 0),
            now + SignedDuration::from_mins(30)
        );
        assert_eq!(
            PollCadence::every(SignedDuration::ZERO).busy,
            SignedDuration::from_secs(1)
        );
    }
}

/// A reply the team keeps to reuse, with variables filled in for each person: `{name}` and
/// `{handle}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedReply {
    pub id: String,
    pub title: String,
    pub text: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// The variables a saved reply may use.
pub const SAVED_REPLY_VARIABLES: [&str; 2] = ["name", "handle"];
/// At most this many saved replies per brand.
pub const MAX_SAVED_REPLIES: usize = 500;

impl SavedReply {
    /// Checks a title and a text (its variables among [`SAVED_REPLY_VARIABLES`]).
    pub fn check(title: &str, text: &str) -> Result<(String, String), DomainError> {
        let mut v = Validation::new();
        let (title, text) = (title.trim(), text.trim());
        if title.is_empty() || title.chars().count() > 100 {
            v.add("title", "must be 1 to 100 characters");
        }
        if text.is_empty() || text.chars().count() > 5_000 {
            v.add("text", "must be 1 to 5,000 characters");
        }
        for variable in variables(text) {
            if !SAVED_REPLY_VARIABLES.contains(&variable) {
                v.add(
                    "text",
                    format!(
                        "{{{variable}}} is not a variable: use {}",
                        SAVED_REPLY_VARIABLES
                            .map(|n| format!("{{{n}}}"))
                            .join(" or ")
                    ),
                );
            }
        }
        v.finish()?;
        Ok((title.to_owned(), text.to_owned()))
    }

    /// The text for `author`, its variables filled in.
    pub fn render(&self, author: &Author) -> String {
        self.text
            .replace("{name}", &author.name)
            .replace("{handle}", &author.handle)
    }
}

/// The `{word}` variables of a text.
fn variables(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| {
        let end = rest.find('}')?;
        let name = &rest[..end];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then_some(name)
    })
}

#[cfg(test)]
mod saved_reply_tests {
    use super::*;

    #[test]
    fn a_saved_reply_fills_in_the_person_and_refuses_unknown_variables() {
        let (title, text) = SavedReply::check(" Thanks ", "Thank you {name} ({handle})!").unwrap();
        let saved = SavedReply {
            id: "1".into(),
            title,
            text,
            created_by: "a".into(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            version: 1,
        };
        let author = Author {
            id: "7".into(),
            handle: "@ada@example.social".into(),
            name: "Ada".into(),
            followers: None,
        };
        assert_eq!(
            saved.render(&author),
            "Thank you Ada (@ada@example.social)!"
        );
        assert!(SavedReply::check("t", "Hi {first_name}").is_err());
        assert!(
            SavedReply::check("t", "a { b } c {}").is_ok(),
            "not variables"
        );
    }
}
