//! The capabilities a network may offer, each a small trait: a connector implements the ones its
//! network's API allows, and callers ask the [`super::Connectors`] registry for the one they need.
//! What each network offers is stated in the coverage table (`crate::domain::coverage`); a test
//! keeps the registry and the table in step.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::Timestamp;

use super::{Account, PublishError};
use crate::domain::inbox::{Incoming, NativeReply, ReplyTarget, StreamKind};
use crate::domain::moderation::ModerationAction;
use crate::domain::preflight::Rules;
use crate::domain::{Asset, MetricsReading, Network};

/// Reads the bytes of the media library for uploads.
#[async_trait]
pub trait MediaFiles: Send + Sync {
    /// Bytes `range` of the asset (the whole asset is `0..asset.size`); chunked uploads read parts.
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError>;
    /// A short-lived URL a network can fetch the asset from (Meta's media-by-URL publishing).
    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError>;
}

/// What one target publishes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable for the target across attempts (`{post id}-{channel id}`): Mastodon's idempotency
    /// key, the basis of a Bluesky record key, the marker a read-back looks for.
    pub key: String,
    pub text: String,
    /// Follow-ups: replies forming a thread where the network has threads, or a first comment.
    pub thread: Vec<String>,
    pub media: Vec<Asset>,
    /// No earlier attempt of this target can have posted before this instant (read-back window).
    pub first_attempt_at: Timestamp,
}

/// Everything a connector may use for one call.
pub struct PublishContext<'a> {
    pub account: Account<'a>,
    pub media: &'a dyn MediaFiles,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub remote_id: String,
    pub url: Option<String>,
    /// Things that went wrong after the post itself was made (a thread reply, a first comment),
    /// in plain words. The post counts as published; these are shown with it.
    pub notes: Vec<String>,
}

impl Published {
    pub fn new(remote_id: impl Into<String>, url: Option<String>) -> Self {
        Self {
            remote_id: remote_id.into(),
            url,
            notes: Vec::new(),
        }
    }
}

/// The answer of a read-back after an unknown outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// The earlier attempt did post: this is it.
    Found(Published),
    /// The account has no such post: publishing now cannot duplicate it.
    NotFound,
    /// The network offers no way to tell (e.g. Telegram bots cannot read a channel's history).
    CannotTell(String),
}

/// Publishing on the brand's account: posts with their media, threads or first comments, and the
/// read-back that keeps a retry from posting twice.
#[async_trait]
pub trait Publish: Send + Sync {
    fn network(&self) -> Network;

    /// The rules preflight checks a post against. Most networks' are fixed; Mastodon reads its
    /// instance's configuration.
    async fn rules(&self, _account: &Account<'_>) -> Result<Rules, PublishError> {
        Ok(Rules::for_network(self.network()))
    }

    /// Publishes the post (uploading its media the way the network requires), then its thread.
    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError>;

    /// After an unknown outcome: finds the post an earlier attempt of `post` made, if any.
    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError>;
}

/// Checking credentials a person gives before they are stored: the network accepts them for
/// this channel, or says why not. What the check learns that saves work later (a Bluesky
/// session) goes to the account's sink, to be stored with them.
#[async_trait]
pub trait CheckCredentials: Send + Sync {
    async fn check(&self, account: &Account<'_>) -> Result<(), PublishError>;
}

/// Reading the figures of the brand's account and of its published posts.
#[async_trait]
pub trait ReadMetrics: Send + Sync {
    /// The lifetime counters of one of the account's published posts (`remote_id` as
    /// [`Published::remote_id`]). A figure the network does not report is `None`, never 0.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError>;

    /// The account's own counters (followers, subscribers).
    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError>;
}

/// What one read of an inbox stream found, and where the next read starts.
#[derive(Debug, Clone, Default)]
pub struct InboxRead {
    /// What people addressed to the brand.
    pub found: Vec<Incoming>,
    /// The brand's own replies made on the network.
    pub native: Vec<NativeReply>,
    /// Where the next read of the stream starts; `None` keeps the one it had.
    pub cursor: Option<String>,
}

/// Reading what people address to the brand's account: its streams, each read from its cursor.
#[async_trait]
pub trait ReadInbox: Send + Sync {
    /// The streams this network's channels are polled on.
    fn streams(&self) -> &'static [StreamKind];

    /// Reads `stream` from `cursor` (`None`: the first read, which takes the latest page).
    /// `recent_posts` are the network ids of the brand's posts of the last days, whose threads
    /// the `threads` stream reads.
    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError>;

    /// Reads items a webhook named only by id ([`Pushed::to_fetch`]). Networks whose pushes
    /// are complete never get here.
    async fn fetch(
        &self,
        account: &Account<'_>,
        ids: &[String],
    ) -> Result<InboxRead, PublishError> {
        let _ = (account, ids);
        Ok(InboxRead::default())
    }
}

/// What one verified webhook delivery says about one account it names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushed {
    /// The network's id of the account the delivery is for (a Page id, an Instagram or Threads
    /// user id, a LinkedIn organization URN, an X user id; for Telegram, the channel's hook).
    pub account: String,
    /// What people addressed to the brand, complete enough to record.
    pub found: Vec<Incoming>,
    /// The brand's own replies made on the network.
    pub native: Vec<NativeReply>,
    /// Items the delivery names only by id (an Instagram mention): read with the account's token
    /// by the inbox worker ([`ReadInbox::fetch`]), since the hook function cannot open
    /// credentials.
    pub to_fetch: Vec<String>,
}

/// Turning a verified webhook delivery of a network into what it says, without any call: the
/// hook function that parses it holds no credentials. Signatures are checked before this.
pub trait ParsePush: Send + Sync {
    /// What `body` says, per account. A body that is not the network's shape is an error in
    /// plain words (answered 400, nothing stored); parts it does not know are skipped.
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String>;
}

/// Answering an interaction on the network, exactly once: a stable key per reply, and a
/// read-back after a lost answer.
#[async_trait]
pub trait ReplyTo: Send + Sync {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError>;

    /// After an unknown outcome: the reply an earlier attempt made, if any.
    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError>;

    /// Answers a comment with a private message to its author (Meta's private replies, one per
    /// comment: the domain's reply rules check that before this is called). Networks without
    /// them refuse.
    async fn reply_privately(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        _reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        let _ = target;
        Err(PublishError::InvalidContent(format!(
            "{} has no private replies to comments",
            ctx.account.channel.network.display_name()
        )))
    }
}

/// Moderating on the brand's account: hiding, unhiding and liking what people said, deleting
/// the brand's own replies, where the network allows it.
#[async_trait]
pub trait Moderate: Send + Sync {
    /// The actions this network allows; the others are refused before any call, naming the
    /// network.
    fn actions(&self) -> &'static [ModerationAction];

    /// Takes `action` on `target`, the interaction's item (for
    /// [`ModerationAction::DeleteReply`], `target.id` is the brand's reply's network id).
    /// Doing it twice is harmless: hiding a hidden comment is not an error.
    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError>;
}

/// Where a network is to push an account's activity: this deployment's hook URL for the
/// network, and what the network needs besides (Telegram's `secret_token`, the id under which
/// the network already knows the deployment's webhook).
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    /// `https://api.example.com/hooks/meta`, `.../hooks/telegram/{hook id}`.
    pub url: &'a str,
    /// The secret the network sends back with each delivery (Telegram's `secret_token`).
    pub secret: Option<&'a str>,
    /// The deployment's webhook as the network registered it once for the whole app (X's
    /// webhook id, LinkedIn's developer application id): a deployment setting.
    pub registration: Option<&'a str>,
}

/// What a subscription left at the network: the id its deliveries name the account by (the
/// key of the global lookup), and the network's ids of what was made (X subscription ids), to
/// remove them again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    pub account: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<String>,
}

/// Asking a network to push the account's activity to this deployment's webhook when a channel
/// connects, and to stop when it disconnects. A network that pushes to an app-wide URL set in
/// its dashboard (Threads) only names the account.
#[async_trait]
pub trait Subscribe: Send + Sync {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError>;

    /// Undoing it is harmless when it is already undone.
    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        subscription: &Subscription,
        callback: &Callback<'_>,
    ) -> Result<(), PublishError>;
}
