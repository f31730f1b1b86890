//! LinkedIn (versioned REST Posts API): posts for a member or an organization page, images and
//! videos through their upload flows, follow-ups as comments, a read-back by author, and post and
//! page statistics.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use super::{
    Account, MediaFiles, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack,
    ReadMetrics, call_failed, create_failed, oauth, snippet,
};
use crate::domain::{Asset, Counters, Credentials, MediaKind, MetricsReading, Network};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_body, read_error_text};

const NETWORK: &str = "LinkedIn";

/// Every LinkedIn endpoint the connector calls, relative to the API base (or the OAuth base).
mod endpoint {
    pub const POSTS: &str = "/rest/posts";
    pub const IMAGES_INITIALIZE: &str = "/rest/images?action=initializeUpload";
    pub const VIDEOS_INITIALIZE: &str = "/rest/videos?action=initializeUpload";
    pub const VIDEOS_FINALIZE: &str = "/rest/videos?action=finalizeUpload";
    pub const ACCESS_TOKEN: &str = "/oauth/v2/accessToken";
    pub const SHARE_STATISTICS: &str = "/rest/organizationalEntityShareStatistics";
    pub const MEMBER_POST_ANALYTICS: &str = "/rest/memberCreatorPostAnalytics";

    pub fn network_size(urn: &str) -> String {
        format!("/rest/networkSizes/{}", urlencoding::encode(urn))
    }

    /// Rest.li 2.0 wants URNs in a path percent-encoded.
    pub fn video(urn: &str) -> String {
        format!("/rest/videos/{}", urlencoding::encode(urn))
    }

    pub fn comments(post_urn: &str) -> String {
        format!(
            "/rest/socialActions/{}/comments",
            urlencoding::encode(post_urn)
        )
    }
}

pub const DEFAULT_VERSION: &str = "202510";
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_PAGE: usize = 20;
const READ_BACK_PAGES: usize = 5;

pub struct LinkedinConnector {
    http: OutboundClient,
    api_base: String,
    oauth_base: String,
    linkedin_version: String,
    poll_interval: Duration,
    poll_max_wait: Duration,
}

impl LinkedinConnector {
    /// `api_base` is `https://api.linkedin.com` in production.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            oauth_base: "https://www.linkedin.com".into(),
            linkedin_version: DEFAULT_VERSION.into(),
            poll_interval: Duration::from_secs(3),
            poll_max_wait: Duration::from_secs(300),
        }
    }

    /// The `Linkedin-Version` (YYYYMM) sent with every call; LinkedIn retires versions after a year.
    pub fn with_version(mut self, linkedin_version: impl Into<String>) -> Self {
        self.linkedin_version = linkedin_version.into();
        self
    }

    /// Where refresh tokens are redeemed: `https://www.linkedin.com` in production.
    pub fn with_oauth_base(mut self, oauth_base: impl Into<String>) -> Self {
        self.oauth_base = oauth_base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Video processing polls: one every `interval`, giving up (transiently) after `max_wait`.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_interval = interval;
        self.poll_max_wait = max_wait;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    async fn upload_image(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let body = json!({ "initializeUploadRequest": { "owner": author } });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::IMAGES_INITIALIZE)).json(&body)
            })
            .await?;
        let upload = parse::<Wrapped<ImageUpload>>(response, Step::Media)
            .await?
            .value;
        let bytes = media.read(asset, 0..asset.size).await?;
        session
            .send(Step::Media, |http| {
                http.put(&upload.upload_url)
                    .header(reqwest::header::CONTENT_TYPE, asset.content_type.as_str())
                    .body(bytes.clone())
            })
            .await?;
        Ok(upload.image)
    }

    async fn upload_video(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let body = json!({
            "initializeUploadRequest": {
                "owner": author,
                "fileSizeBytes": asset.size,
                "uploadCaptions": false,
                "uploadThumbnail": false,
            }
        });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::VIDEOS_INITIALIZE)).json(&body)
            })
            .await?;
        let upload = parse::<Wrapped<VideoUpload>>(response, Step::Media)
            .await?
            .value;

        let mut etags = Vec::with_capacity(upload.upload_instructions.len());
        for (i, part) in upload.upload_instructions.iter().enumerate() {
            if part.last_byte < part.first_byte || part.last_byte >= asset.size {
                return Err(PublishError::Transient(format!(
                    "LinkedIn asked for bytes {}-{} of a {}-byte video",
                    part.first_byte, part.last_byte, asset.size
                )));
            }
            let bytes = media
                .read(asset, part.first_byte..part.last_byte + 1)
                .await?;
            if bytes.len() as u64 != part.last_byte + 1 - part.first_byte {
                return Err(PublishError::InvalidMedia(format!(
                    "the video {} is shorter in the library than its recorded size of {} bytes",
                    asset.id, asset.size
                )));
            }
            let response = session
                .send(Step::Media, |http| {
                    http.put(&part.upload_url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(bytes.clone())
                })
                .await?;
            // finalizeUpload names every part by the ETag its upload answered with.
            let etag = response
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| {
                    PublishError::Transient(format!(
                        "LinkedIn did not confirm part {} of the video upload (no ETag)",
                        i + 1
                    ))
                })?;
            etags.push(etag);
        }

        let body = json!({
            "finalizeUploadRequest": {
                "video": upload.video,
                "uploadToken": upload.upload_token,
                "uploadedPartIds": etags,
            }
        });
        session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::VIDEOS_FINALIZE)).json(&body)
            })
            .await?;
        self.wait_until_available(session, &upload.video).await?;
        Ok(upload.video)
    }

    async fn wait_until_available(
        &self,
        session: &mut Session<'_>,
        video: &str,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        loop {
            let response = session
                .send(Step::Media, |http| {
                    http.get(self.url(&endpoint::video(video)))
                })
                .await?;
            let state = parse::<VideoState>(response, Step::Media).await?;
            match state.status.as_str() {
                "AVAILABLE" => return Ok(()),
                "PROCESSING_FAILED" => {
                    return Err(PublishError::InvalidMedia(format!(
                        "LinkedIn could not process the video: {}",
                        state
                            .processing_failure_reason
                            .unwrap_or_else(|| "no reason given".into())
                    )));
                }
                _ => {}
            }
            if started.elapsed() + self.poll_interval > self.poll_max_wait {
                return Err(PublishError::Transient(format!(
                    "LinkedIn was still processing the video after {} s; publishing will be tried again",
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The post's `content`: one image or video as `media`, several images as `multiImage`.
    async fn content(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        assets: &[Asset],
    ) -> Result<Option<serde_json::Value>, PublishError> {
        match assets {
            [] => Ok(None),
            [video] if video.kind == MediaKind::Video => {
                let id = self.upload_video(session, media, author, video).await?;
                Ok(Some(json!({ "media": { "id": id } })))
            }
            _ if assets.iter().any(|a| a.kind == MediaKind::Video) => {
                Err(PublishError::InvalidMedia(
                    "a LinkedIn post carries one video or up to 20 images, not both".into(),
                ))
            }
            [image] => {
                let id = self.upload_image(session, media, author, image).await?;
                Ok(Some(json!({ "media": with_alt(id, image) })))
            }
            images => {
                let mut uploaded = Vec::with_capacity(images.len());
                for image in images {
                    let id = self.upload_image(session, media, author, image).await?;
                    uploaded.push(with_alt(id, image));
                }
                Ok(Some(json!({ "multiImage": { "images": uploaded } })))
            }
        }
    }

    async fn comment(
        &self,
        session: &mut Session<'_>,
        author: &str,
        post_urn: &str,
        text: &str,
    ) -> Result<(), PublishError> {
        // Comments carry plain text with attributes, not little text, so they are not escaped.
        let body = json!({
            "actor": author,
            "object": post_urn,
            "message": { "text": text },
        });
        session
            .send(Step::Create, |http| {
                http.post(self.url(&endpoint::comments(post_urn)))
                    .json(&body)
            })
            .await?;
        Ok(())
    }
}

/// Who posts: statistics come from different APIs for a page and for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthorKind {
    Organization,
    Member,
}

impl AuthorKind {
    fn of<'a>(account: &'a Account<'_>) -> Result<(Self, &'a str), PublishError> {
        let author = account.setting("author")?;
        if author.starts_with("urn:li:organization:") {
            Ok((Self::Organization, author))
        } else if author.starts_with("urn:li:person:") {
            Ok((Self::Member, author))
        } else {
            Err(PublishError::Misconfigured(format!(
                "the channel's settings.author ({author}) is neither an organization nor a person URN"
            )))
        }
    }
}

/// The two kinds of post URN a create answers with. Each statistics API names them its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PostKind {
    Share,
    UgcPost,
}

impl PostKind {
    fn of(urn: &str) -> Result<Self, PublishError> {
        if urn.starts_with("urn:li:share:") {
            Ok(Self::Share)
        } else if urn.starts_with("urn:li:ugcPost:") {
            Ok(Self::UgcPost)
        } else {
            Err(PublishError::InvalidContent(format!(
                "LinkedIn keeps statistics for share and ugcPost URNs; {urn} is neither"
            )))
        }
    }

    /// The list parameter of `organizationalEntityShareStatistics`, and the field naming the post
    /// in each of its elements.
    fn organization_list(self) -> (&'static str, &'static str) {
        match self {
            Self::Share => ("shares", "share"),
            Self::UgcPost => ("ugcPosts", "ugcPost"),
        }
    }

    /// The union member of `memberCreatorPostAnalytics`' `entity`.
    fn member_entity(self) -> &'static str {
        match self {
            Self::Share => "share",
            Self::UgcPost => "ugc",
        }
    }
}

/// What `memberCreatorPostAnalytics` counts, one query each: views, reach, reposts, likes,
/// replies, in the order `member_post_metrics` reads them.
const MEMBER_QUERIES: [&str; 5] = [
    "IMPRESSION",
    "MEMBERS_REACHED",
    "RESHARE",
    "REACTION",
    "COMMENT",
];

impl LinkedinConnector {
    /// Lifetime statistics of one organization post (`totalShareStatistics`; LinkedIn keeps them
    /// for posts of the last 12 months). No element for the post means not available yet.
    async fn organization_post_metrics(
        &self,
        session: &mut Session<'_>,
        organization: &str,
        urn: &str,
    ) -> Result<MetricsReading, PublishError> {
        let (list, field) = PostKind::of(urn)?.organization_list();
        // Rest.li 2.0 wants the URNs inside `List(...)` percent-encoded but the List syntax itself
        // left as is, which a query serializer would escape; so this query is written by hand.
        let url = format!(
            "{}?q=organizationalEntity&organizationalEntity={}&{list}=List({})",
            self.url(endpoint::SHARE_STATISTICS),
            urlencoding::encode(organization),
            urlencoding::encode(urn),
        );
        let response = session
            .send(Step::Metrics, |http| {
                http.get(&url).header("X-RestLi-Method", "FINDER")
            })
            .await?;
        let raw: Value = parse(response, Step::Metrics).await?;
        let elements = raw["elements"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let stats = elements
            .iter()
            .find(|e| e[field] == urn)
            .or(elements.first())
            .map(|e| &e["totalShareStatistics"]);
        let count = |name: &str| stats.and_then(|s| s.get(name)).and_then(Value::as_u64);
        Ok(MetricsReading {
            counters: Counters {
                likes: count("likeCount"),
                reposts: count("shareCount"),
                replies: count("commentCount"),
                views: count("impressionCount"),
                reach: count("uniqueImpressionsCount"),
                clicks: count("clickCount"),
                ..Counters::default()
            },
            raw,
        })
    }

    /// Lifetime statistics of one of the member's own posts: one query per figure. The API counts
    /// no clicks, quotes or saves in the version this connector speaks, so those stay not available.
    async fn member_post_metrics(
        &self,
        session: &mut Session<'_>,
        urn: &str,
    ) -> Result<MetricsReading, PublishError> {
        let entity = format!(
            "({}:{})",
            PostKind::of(urn)?.member_entity(),
            urlencoding::encode(urn)
        );
        let mut raw = serde_json::Map::new();
        let mut counts = [None; MEMBER_QUERIES.len()];
        for (query, count) in MEMBER_QUERIES.iter().zip(counts.iter_mut()) {
            let url = format!(
                "{}?q=entity&entity={entity}&queryType={query}&aggregation=TOTAL",
                self.url(endpoint::MEMBER_POST_ANALYTICS)
            );
            let response = session
                .send(Step::Metrics, |http| {
                    http.get(&url).header("X-RestLi-Method", "FINDER")
                })
                .await?;
            let answer: Value = parse(response, Step::Metrics).await?;
            *count = total_count(&answer);
            raw.insert((*query).to_owned(), answer);
        }
        let [views, reach, reposts, likes, replies] = counts;
        Ok(MetricsReading {
            counters: Counters {
                likes,
                reposts,
                replies,
                views,
                reach,
                ..Counters::default()
            },
            raw: Value::Object(raw),
        })
    }
}

/// The `count` of a `memberCreatorPostAnalytics` answer: one element with TOTAL aggregation (added
/// up should LinkedIn split it, stopping at `u64::MAX` rather than overflowing); none while the
/// post has no statistics yet.
fn total_count(answer: &Value) -> Option<u64> {
    let elements = answer["elements"].as_array().filter(|e| !e.is_empty())?;
    elements.iter().try_fold(0u64, |total, e| {
        Some(total.saturating_add(e["count"].as_u64()?))
    })
}

fn with_alt(id: String, asset: &Asset) -> serde_json::Value {
    match asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(alt) => json!({ "id": id, "altText": alt }),
        None => json!({ "id": id }),
    }
}

fn post_url(urn: &str) -> String {
    format!("https://www.linkedin.com/feed/update/{urn}/")
}

/// Escapes text for LinkedIn's "little text" format (the `commentary` of a post). Unescaped, any
/// of these characters silently cuts the post short while the API reports success.
pub fn little_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|'
                | '{'
                | '}'
                | '@'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '*'
                | '_'
                | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[async_trait]
impl Publish for LinkedinConnector {
    fn network(&self) -> Network {
        Network::Linkedin
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let author = ctx.account.setting("author")?;
        let mut session = Session::open(self, &ctx.account).await?;
        let content = self
            .content(&mut session, ctx.media, author, &post.media)
            .await?;
        let mut body = json!({
            "author": author,
            "commentary": little_text(&post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        if let Some(content) = content {
            body["content"] = content;
        }
        let response = session
            .send(Step::Create, |http| {
                http.post(self.url(endpoint::POSTS)).json(&body)
            })
            .await?;
        // The new post's URN comes only in this header; without it the post exists but is unnamed.
        let urn = response
            .headers()
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                PublishError::UnknownOutcome(
                    "LinkedIn accepted the post but did not say its id; it will be checked before any retry"
                        .into(),
                )
            })?;
        let mut published = Published::new(urn.clone(), Some(post_url(&urn)));

        for (i, text) in post.thread.iter().enumerate() {
            if let Err(e) = self.comment(&mut session, author, &urn, text).await {
                published
                    .notes
                    .push(comment_note(i + 1, post.thread.len(), &e));
                break;
            }
        }
        published.notes.append(&mut session.notes);
        Ok(published)
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let author = ctx.account.setting("author")?;
        let mut session = Session::open(self, &ctx.account).await?;
        let since = post
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(post.first_attempt_at)
            .as_millisecond();
        let count = READ_BACK_PAGE.to_string();

        for page in 0..READ_BACK_PAGES {
            let start = (page * READ_BACK_PAGE).to_string();
            let response = session
                .send(Step::Read, |http| {
                    http.get(self.url(endpoint::POSTS))
                        .header("X-RestLi-Method", "FINDER")
                        .query(&[
                            ("author", author),
                            ("q", "author"),
                            ("count", count.as_str()),
                            ("start", start.as_str()),
                            ("sortBy", "CREATED"),
                        ])
                })
                .await?;
            let found = parse::<Elements>(response, Step::Read).await?;
            if let Some(hit) = found.elements.iter().find(|p| {
                p.created_at.is_none_or(|at| at >= since)
                    && same_commentary(p.commentary.as_deref().unwrap_or_default(), &post.text)
            }) {
                let mut published = Published::new(hit.id.clone(), Some(post_url(&hit.id)));
                if !post.thread.is_empty() {
                    published.notes.push(format!(
                        "the post was found on LinkedIn, but its {} comment(s) were not posted because the answer to the post itself was lost; add them by hand if they are still wanted",
                        post.thread.len()
                    ));
                }
                published.notes.append(&mut session.notes);
                return Ok(ReadBack::Found(published));
            }
            // Newest first: a page ending before the window, or a short page, ends the search.
            let passed_window = found
                .elements
                .iter()
                .any(|p| p.created_at.is_some_and(|at| at < since));
            if passed_window || found.elements.len() < READ_BACK_PAGE {
                return Ok(ReadBack::NotFound);
            }
        }
        Ok(ReadBack::CannotTell(format!(
            "the account made more than {} LinkedIn posts since the first attempt; check by hand whether the post was made",
            READ_BACK_PAGE * READ_BACK_PAGES
        )))
    }
}

#[async_trait]
impl ReadMetrics for LinkedinConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let (kind, author) = AuthorKind::of(account)?;
        let mut session = Session::open(self, account).await?;
        match kind {
            AuthorKind::Organization => {
                self.organization_post_metrics(&mut session, author, remote_id)
                    .await
            }
            AuthorKind::Member => self.member_post_metrics(&mut session, remote_id).await,
        }
    }

    /// A page's followers (`networkSizes`, `firstDegreeSize`). A member's follower count is not
    /// in the APIs this connector is granted, so it is not available, with a note saying why.
    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let (kind, author) = AuthorKind::of(account)?;
        if kind == AuthorKind::Member {
            return Ok(MetricsReading {
                counters: Counters::default(),
                raw: json!({
                    "note": "LinkedIn reports followers for organization pages only; a member's followers are not available",
                }),
            });
        }
        let mut session = Session::open(self, account).await?;
        let url = self.url(&endpoint::network_size(author));
        let response = session
            .send(Step::Metrics, |http| {
                http.get(&url)
                    .query(&[("edgeType", "COMPANY_FOLLOWED_BY_MEMBER")])
            })
            .await?;
        let raw: Value = parse(response, Step::Metrics).await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: raw["firstDegreeSize"].as_u64(),
                ..Counters::default()
            },
            raw,
        })
    }
}

/// Whether a post's commentary, as LinkedIn returns it, is the text we sent (escaped, or as
/// written should LinkedIn return it unescaped).
fn same_commentary(shown: &str, sent: &str) -> bool {
    let shown: String = shown.trim().nfc().collect();
    let sent: String = sent.trim().nfc().collect();
    shown == little_text(&sent) || shown == sent
}

fn comment_note(number: usize, total: usize, e: &PublishError) -> String {
    let skipped = if number < total {
        format!("; the {} after it were not posted either", total - number)
    } else {
        String::new()
    };
    match e {
        PublishError::UnknownOutcome(_) => format!(
            "comment {number} of {total} may or may not have been posted (LinkedIn's answer was lost); check the post on LinkedIn{skipped}"
        ),
        e => format!("comment {number} of {total} was not posted: {e}{skipped}"),
    }
}

/// What a call does, which decides how its failures read: a call that creates something visible
/// must never be retried blindly, and a refused upload is about the media, not the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Media,
    Read,
    /// Statistics, which need their own permissions.
    Metrics,
}

impl Step {
    fn transport(self, e: &CallError) -> PublishError {
        match self {
            Step::Create => create_failed(NETWORK, e),
            Step::Media | Step::Read | Step::Metrics => call_failed(NETWORK, e),
        }
    }
}

/// One publish or read-back for one account: the access token in use (renewed at most once,
/// only where LinkedIn issued a refresh token) and anything worth telling the user.
struct Session<'a> {
    linkedin: &'a LinkedinConnector,
    account: &'a Account<'a>,
    token: String,
    refreshed: bool,
    notes: Vec<String>,
}

impl<'a> Session<'a> {
    async fn open(
        linkedin: &'a LinkedinConnector,
        account: &'a Account<'a>,
    ) -> Result<Self, PublishError> {
        let token = account.credential("access_token")?.expose().to_owned();
        let mut session = Self {
            linkedin,
            account,
            token,
            refreshed: false,
            notes: Vec::new(),
        };
        let expired = account
            .credentials()
            .get("access_token_expires_at")
            .and_then(|s| s.expose().trim().parse::<i64>().ok())
            .and_then(|secs| Timestamp::from_second(secs).ok())
            .is_some_and(|at| {
                Timestamp::now()
                    .checked_add(EXPIRY_MARGIN)
                    .is_ok_and(|soon| soon >= at)
            });
        if expired && session.can_refresh() {
            session.refresh().await?;
        }
        Ok(session)
    }

    fn can_refresh(&self) -> bool {
        ["refresh_token", "client_id", "client_secret"]
            .iter()
            .all(|k| {
                self.account
                    .credentials()
                    .get(k)
                    .is_some_and(|s| !s.is_empty())
            })
    }

    /// Sends the request `build` makes with LinkedIn's required headers; on a 401 renews the
    /// token once where possible and sends it again (a refused request created nothing).
    async fn send(
        &mut self,
        step: Step,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, PublishError> {
        loop {
            let request = build(&self.linkedin.http)
                .bearer_auth(&self.token)
                .header("Linkedin-Version", &self.linkedin.linkedin_version)
                .header("X-Restli-Protocol-Version", "2.0.0");
            let response = self
                .linkedin
                .http
                .send(request)
                .await
                .map_err(|e| step.transport(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::UNAUTHORIZED && !self.refreshed && self.can_refresh() {
                self.refresh().await?;
                continue;
            }
            return Err(failure(response, step, &self.linkedin.linkedin_version).await);
        }
    }

    async fn refresh(&mut self) -> Result<(), PublishError> {
        self.refreshed = true;
        let (linkedin, account) = (self.linkedin, self.account);
        let build = |credentials: &Credentials| {
            let refresh_token = account.credential_in(credentials, "refresh_token")?;
            let client_id = account.credential_in(credentials, "client_id")?;
            let client_secret = account.credential_in(credentials, "client_secret")?;
            Ok(linkedin
                .http
                .post(format!("{}{}", linkedin.oauth_base, endpoint::ACCESS_TOKEN))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                    ("client_id", client_id.expose()),
                    ("client_secret", client_secret.expose()),
                ]))
        };
        self.token = oauth::renew(
            NETWORK,
            &self.linkedin.http,
            self.account,
            &self.token,
            build,
            &mut self.notes,
        )
        .await?;
        Ok(())
    }
}

async fn parse<T: DeserializeOwned>(response: Response, step: Step) -> Result<T, PublishError> {
    let body = read_body(response, JSON_ANSWER_LIMIT)
        .await
        .map_err(|e| step.transport(&e))?;
    serde_json::from_slice(&body).map_err(|e| {
        PublishError::Transient(format!(
            "LinkedIn gave an answer that could not be read: {e}"
        ))
    })
}

/// Maps a LinkedIn error answer to a publish error in plain words.
async fn failure(response: Response, step: Step, version: &str) -> PublishError {
    let status = response.status();
    let body = read_error_text(response).await;
    let error = serde_json::from_str::<ApiError>(&body).unwrap_or_default();
    let message = error.describe().unwrap_or_else(|| snippet(&body, status));
    let code = error.code.as_deref().unwrap_or_default();
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "LinkedIn refused the channel's access token ({message}); its tokens last 60 days: connect the channel again"
        )),
        403 if step == Step::Metrics => PublishError::AuthExpired(format!(
            "LinkedIn did not allow reading statistics ({message}); a page's statistics need the rw_organization_admin permission and an ADMINISTRATOR role on the page, a member's need r_member_postAnalytics: connect the channel again"
        )),
        403 => PublishError::AuthExpired(format!(
            "LinkedIn did not allow this ({message}); the connected member needs the w_member_social permission (or w_organization_social and an admin role on the page): connect the channel again"
        )),
        422 if error.is_duplicate() => PublishError::Duplicate(format!(
            "LinkedIn refused the post as a duplicate of one the account already made: {message}"
        )),
        // LinkedIn documents no rate-limit headers: the publisher backs off on its own.
        429 => PublishError::RateLimited {
            retry_at: None,
            message: format!(
                "LinkedIn's daily limit for this member or app is used up ({message}); it resets at midnight UTC"
            ),
        },
        426 => PublishError::Misconfigured(format!(
            "LinkedIn no longer serves API version {version} ({message}); the connector's version must be updated"
        )),
        400 if code == "VERSION_MISSING" || code == "NONEXISTENT_VERSION" => {
            PublishError::Misconfigured(format!(
                "LinkedIn refused the API version {version}: {message}"
            ))
        }
        // A gateway timeout on a create may still have created the post behind the gateway.
        504 if step == Step::Create => PublishError::UnknownOutcome(format!(
            "LinkedIn timed out answering ({message}); the post may or may not have been made, so it will be checked before any retry"
        )),
        500..=599 => {
            PublishError::Transient(format!("LinkedIn had a problem ({status}): {message}"))
        }
        400..=499 if step == Step::Metrics => PublishError::InvalidContent(format!(
            "LinkedIn refused the statistics request: {message}"
        )),
        400..=499 if step == Step::Media => {
            PublishError::InvalidMedia(format!("LinkedIn refused the media: {message}"))
        }
        400..=499 => PublishError::InvalidContent(format!("LinkedIn refused the post: {message}")),
        _ => PublishError::Transient(format!(
            "LinkedIn gave an unexpected answer ({status}): {message}"
        )),
    }
}

#[derive(Deserialize)]
/// LinkedIn wraps action results in `{"value": ...}`.
struct Wrapped<T> {
    value: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageUpload {
    upload_url: String,
    image: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoUpload {
    video: String,
    #[serde(default)]
    upload_instructions: Vec<UploadPart>,
    #[serde(default)]
    upload_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadPart {
    upload_url: String,
    first_byte: u64,
    last_byte: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoState {
    #[serde(default)]
    status: String,
    processing_failure_reason: Option<String>,
}

#[derive(Deserialize)]
struct Elements {
    #[serde(default)]
    elements: Vec<PostElement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostElement {
    id: String,
    commentary: Option<String>,
    /// Milliseconds since the epoch.
    created_at: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    message: Option<String>,
    code: Option<String>,
    error_details: Option<ErrorDetails>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    #[serde(default)]
    input_errors: Vec<InputError>,
}

#[derive(Deserialize)]
struct InputError {
    code: Option<String>,
    description: Option<String>,
}

impl ApiError {
    fn input_errors(&self) -> impl Iterator<Item = &InputError> {
        self.error_details
            .iter()
            .flat_map(|d| d.input_errors.iter())
    }

    fn is_duplicate(&self) -> bool {
        self.input_errors()
            .any(|e| e.code.as_deref() == Some("DUPLICATE_POST"))
    }

    /// LinkedIn's message, with the per-field descriptions it adds for invalid input.
    fn describe(&self) -> Option<String> {
        let details: Vec<&str> = self
            .input_errors()
            .filter_map(|e| e.description.as_deref())
            .collect();
        match (&self.message, details.is_empty()) {
            (Some(m), true) => Some(m.clone()),
            (Some(m), false) => Some(format!("{m} ({})", details.join("; "))),
            (None, false) => Some(details.join("; ")),
            (None, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn split_counts_add_up_and_stop_at_the_maximum() {
        let answer = serde_json::json!({"elements": [{"count": u64::MAX}, {"count": 5}]});
        assert_eq!(total_count(&answer), Some(u64::MAX));
        let answer = serde_json::json!({"elements": [{"count": 2}, {"count": 5}]});
        assert_eq!(total_count(&answer), Some(7));
        assert_eq!(total_count(&serde_json::json!({"elements": []})), None);
        assert_eq!(
            total_count(&serde_json::json!({"elements": [{"x": 1}]})),
            None
        );
    }
    use super::*;

    #[test]
    fn every_reserved_character_is_escaped() {
        assert_eq!(
            little_text(r"\|{}@[]()<>#*_~"),
            r"\\\|\{\}\@\[\]\(\)\<\>\#\*\_\~"
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "Ciao! Prezzi: 10€ - 20% off, domani alle 9:30. Emoji 🎉 & \"quotes\"\nnew line";
        assert_eq!(little_text(text), text);
        assert_eq!(little_text(""), "");
    }

    #[test]
    fn a_launch_post_is_escaped_as_linkedin_expects() {
        assert_eq!(
            little_text("Launch (beta) #news @acme"),
            r"Launch \(beta\) \#news \@acme"
        );
        // A backslash already in the text is itself escaped, never taken as an escape.
        assert_eq!(little_text(r"C:\path (x)"), r"C:\\path \(x\)");
    }

    #[test]
    fn commentary_matches_in_escaped_or_plain_form() {
        let sent = "Launch (beta) #news";
        assert!(same_commentary(r"Launch \(beta\) \#news", sent));
        assert!(same_commentary(sent, sent));
        assert!(!same_commentary(r"Launch \(beta\)", sent));
    }

    #[test]
    fn each_statistics_api_names_a_post_its_own_way() {
        let ugc = PostKind::of("urn:li:ugcPost:7").unwrap();
        assert_eq!(ugc.organization_list(), ("ugcPosts", "ugcPost"));
        assert_eq!(ugc.member_entity(), "ugc");
        let share = PostKind::of("urn:li:share:7").unwrap();
        assert_eq!(share.organization_list(), ("shares", "share"));
        assert_eq!(share.member_entity(), "share");
        let other = PostKind::of("urn:li:comment:(urn:li:share:7,1)").unwrap_err();
        assert_eq!(other.kind(), "invalid_content");
    }

    #[test]
    fn a_member_analytics_count_is_absent_until_linkedin_has_one() {
        assert_eq!(total_count(&json!({"elements": []})), None);
        assert_eq!(total_count(&json!({})), None);
        assert_eq!(
            total_count(&json!({"elements": [{"count": 0, "metricType": "REACTION"}]})),
            Some(0),
            "a counted zero is a zero"
        );
        assert_eq!(
            total_count(&json!({"elements": [{"metricType": "REACTION"}]})),
            None
        );
    }

    #[test]
    fn duplicate_and_messages_are_read_from_the_error_body() {
        let e: ApiError = serde_json::from_str(
            r#"{"errorDetailType":"com.linkedin.common.error.BadRequest","message":"Content is a duplicate of urn:li:share:1","errorDetails":{"inputErrors":[{"description":"Duplicate post is detected","input":{},"code":"DUPLICATE_POST"}]},"status":422}"#,
        )
        .unwrap();
        assert!(e.is_duplicate());
        assert_eq!(
            e.describe().unwrap(),
            "Content is a duplicate of urn:li:share:1 (Duplicate post is detected)"
        );
    }
}
