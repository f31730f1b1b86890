//! A fake LinkedIn REST API built from the documented shapes: versioned Rest.li 2.0 calls, posts
//! whose URN comes back in `x-restli-id`, image and video upload flows (upload URLs point back
//! here), duplicate detection, comments, posts by author, OAuth refresh for partner apps, and the
//! statistics: organization share statistics, member post analytics and a page's follower count.
//!
//! "Connect" (OAuth 2.0 Authorization Code, no PKCE), on the public field [`FakeLinkedin::oauth`]
//! (an [`OAuthServer`]; a test registers each app, e.g. the member app and the Community
//! Management app, with `linkedin.oauth.register_client(id, secret, redirect_uri)`):
//! - `GET`/`POST /oauth/v2/authorization`: the consent page ([`consent`](super::consent)); a
//!   refusal redirects with `error=user_cancelled_authorize&error_description=..`.
//! - `POST /oauth/v2/accessToken` `grant_type=authorization_code&code&redirect_uri&client_id
//!   &client_secret`: `{"access_token","expires_in":5184000,"scope":"a,b"}` (scopes joined by
//!   commas, as LinkedIn answers), plus `"refresh_token","refresh_token_expires_in":31536000`
//!   when the app may refresh ([`FakeLinkedin::set_refresh_enabled`], off by default). The token
//!   (and those its refresh token gives) is accepted by the API, alongside [`ACCESS_TOKEN`],
//!   until revoked or [`FakeLinkedin::expire_access_token`]. A bad, spent
//!   or expired code, or another redirect URI: 400 `invalid_request` ("Unable to retrieve access
//!   token: .."); a bad client: 401 `{"error":"invalid_client","error_description":"Client
//!   authentication failed"}`.
//! - `POST /oauth/v2/revoke` `client_id&client_secret&token`: 200, empty; recorded, and the
//!   token stops working.
//! - `GET /v2/userinfo` (OpenID Connect; `openid` and `profile` granted, else 403
//!   `ACCESS_DENIED`): the member [`MEMBER_ID`]; `email` too when granted.
//! - `GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED` (needs
//!   `rw_organization_admin` or `r_organization_admin`) and `GET /rest/organizations/{id}`: the
//!   pages the member administers ([`FakeLinkedin::set_organizations`]; by default [`AUTHOR`]).
//!
//! Tokens of the fixture ([`ACCESS_TOKEN`] and its refreshes) have every scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawForm, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::FakeServer;
use super::consent::{Dialog, Grant, OAuthServer};

pub const ACCESS_TOKEN: &str = "li-access-1";
pub const REFRESH_TOKEN: &str = "li-refresh-1";
pub const CLIENT_ID: &str = "palinsesto-li-client";
pub const CLIENT_SECRET: &str = "palinsesto-li-secret";
pub const AUTHOR: &str = "urn:li:organization:5515715";
/// The member (person) whose token the fake accepts, for posts made as a person.
pub const MEMBER: &str = "urn:li:person:Zx8Wq4Lm2P";
/// The member's id (`sub` in `/v2/userinfo`; [`MEMBER`] is `urn:li:person:{MEMBER_ID}`).
pub const MEMBER_ID: &str = "Zx8Wq4Lm2P";
pub const MEMBER_NAME: &str = "Ada Lovelace";
pub const MEMBER_PICTURE: &str = "https://media.licdn.com/dms/image/v2/Zx8Wq4Lm2P/profile.jpg";
pub const MEMBER_EMAIL: &str = "ada@example.com";
/// The id of the organization page [`AUTHOR`] names.
pub const ORGANIZATION_ID: u64 = 5_515_715;
/// The scopes the fixture's tokens have.
const FIXTURE_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "w_member_social",
    "r_member_postAnalytics",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
];

static DIALOG: Dialog = Dialog {
    network: "LinkedIn",
    scope_separator: ' ',
    pkce_required: false,
    scopes: None,
    deny: &[
        ("error", "user_cancelled_authorize"),
        ("error_description", "The user cancelled the authorization"),
    ],
    fragment: None,
};

/// An organization page the member administers, as `/rest/organizations/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOrganization {
    pub id: u64,
    pub localized_name: String,
    pub vanity_name: String,
}

impl FakeOrganization {
    pub fn new(id: u64, localized_name: &str, vanity_name: &str) -> Self {
        Self {
            id,
            localized_name: localized_name.to_owned(),
            vanity_name: vanity_name.to_owned(),
        }
    }
}
/// The versions this fake serves, as LinkedIn serves the last twelve months.
const ACTIVE_VERSIONS: &[&str] = &["202510", "202511", "202512", "202601"];
/// LinkedIn's documented part size for multipart video uploads.
const VIDEO_PART: u64 = 4_194_304;

#[derive(Debug, Clone, PartialEq)]
pub struct FakeLinkedinPost {
    pub urn: String,
    pub author: String,
    /// The commentary exactly as the client sent it (escaped little text).
    pub commentary: String,
    pub content: Option<Value>,
    pub body: Value,
    pub created_at: Timestamp,
}

impl FakeLinkedinPost {
    /// What LinkedIn would show: little text unescaped, cut at the first unescaped reserved
    /// character, as LinkedIn silently does.
    pub fn shown_text(&self) -> String {
        shown_little_text(&self.commentary)
    }
}

pub fn shown_little_text(commentary: &str) -> String {
    let mut shown = String::new();
    let mut chars = commentary.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => shown.push(escaped),
                None => break,
            },
            '|' | '{' | '}' | '@' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '*' | '_' | '~' => {
                break;
            }
            c => shown.push(c),
        }
    }
    shown
}

/// A post's lifetime statistics as LinkedIn counts them (organization `totalShareStatistics`;
/// member analytics answer the same figures by query type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FakePostStats {
    pub likes: u64,
    pub comments: u64,
    pub shares: u64,
    pub impressions: u64,
    pub unique_impressions: u64,
    pub clicks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeImage {
    pub urn: String,
    pub owner: String,
    pub bytes: Option<Vec<u8>>,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeVideo {
    pub urn: String,
    pub owner: String,
    pub size: u64,
    pub parts: Vec<Option<Vec<u8>>>,
    pub upload_token: String,
    pub finalized: bool,
    pub status: String,
}

impl FakeVideo {
    pub fn bytes(&self) -> Vec<u8> {
        self.parts.iter().flatten().flatten().copied().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeComment {
    pub urn: String,
    pub post: String,
    pub actor: String,
    pub text: String,
    /// The comment's own id (the last part of its URN).
    pub id: u64,
    /// The comment it answers (LinkedIn nests one level deep).
    pub parent: Option<String>,
    pub created_at: Timestamp,
}

struct LinkedinState {
    base: String,
    access_token: String,
    refresh_token: String,
    issued: usize,
    refreshes: usize,
    refresh_refused: bool,
    return_refresh_token: bool,
    next_id: u64,
    posts: Vec<FakeLinkedinPost>,
    images: HashMap<String, FakeImage>,
    image_order: Vec<String>,
    videos: HashMap<String, FakeVideo>,
    video_part: u64,
    processing_polls: usize,
    processing_failure: Option<String>,
    pending_polls: HashMap<String, usize>,
    status_polls: usize,
    comments: Vec<FakeComment>,
    stats: HashMap<String, FakePostStats>,
    /// While false, statistics answers carry no elements, as for a post LinkedIn has not counted yet.
    statistics_ready: bool,
    followers: u64,
    oauth: OAuthServer,
    /// Access tokens issued by code exchanges (and their refreshes) the API accepts.
    connected: Vec<String>,
    /// Refresh tokens issued by code exchanges.
    refresh_tokens: Vec<String>,
    /// Apps whose exchanges give a refresh token.
    refresh_clients: Vec<String>,
    organizations: Vec<FakeOrganization>,
    /// Reactions as `(actor, root, reactionType)`.
    reactions: Vec<(String, String, String)>,
    /// Event subscriptions by key (decoded), with their webhook URL.
    event_subscriptions: HashMap<String, String>,
}

type Shared = Arc<Mutex<LinkedinState>>;

fn lock(state: &Shared) -> MutexGuard<'_, LinkedinState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FakeLinkedin {
    pub server: FakeServer,
    /// The authorization server: apps, codes, issued and revoked tokens.
    pub oauth: OAuthServer,
    state: Shared,
}

impl FakeLinkedin {
    pub async fn start() -> Self {
        let oauth = OAuthServer::new(&DIALOG);
        let state: Shared = Arc::new(Mutex::new(LinkedinState {
            base: String::new(),
            access_token: ACCESS_TOKEN.into(),
            refresh_token: REFRESH_TOKEN.into(),
            issued: 1,
            refreshes: 0,
            refresh_refused: false,
            return_refresh_token: true,
            next_id: 7_100_000_000_000_000_000,
            posts: Vec::new(),
            images: HashMap::new(),
            image_order: Vec::new(),
            videos: HashMap::new(),
            video_part: VIDEO_PART,
            processing_polls: 2,
            processing_failure: None,
            pending_polls: HashMap::new(),
            status_polls: 0,
            comments: Vec::new(),
            stats: HashMap::new(),
            statistics_ready: true,
            followers: 0,
            oauth: oauth.clone(),
            connected: Vec::new(),
            refresh_tokens: Vec::new(),
            refresh_clients: Vec::new(),
            organizations: vec![FakeOrganization::new(ORGANIZATION_ID, "Acme", "acme")],
            reactions: Vec::new(),
            event_subscriptions: HashMap::new(),
        }));
        let rest = Router::new()
            .route("/rest/posts", post(create_post).get(posts_by_author))
            .route("/rest/images", post(images_action))
            .route("/rest/videos", post(videos_action))
            .route("/rest/videos/{urn}", get(video_status))
            .route(
                "/rest/socialActions/{urn}/comments",
                post(create_comment).get(list_comments),
            )
            .route(
                "/rest/socialActions/{urn}/comments/{id}",
                get(get_comment).delete(delete_comment),
            )
            .route("/rest/reactions", post(create_reaction))
            .route(
                "/rest/organizationalEntityShareStatistics",
                get(share_statistics),
            )
            .route("/rest/memberCreatorPostAnalytics", get(member_analytics))
            .route("/rest/networkSizes/{urn}", get(network_size))
            .route("/rest/organizationAcls", get(organization_acls))
            .route(
                "/rest/eventSubscriptions/{key}",
                put(put_event_subscription).delete(delete_event_subscription),
            )
            .route("/rest/organizations/{id}", get(organization))
            .layer(middleware::from_fn_with_state(state.clone(), rest_rules));
        let router = Router::new()
            .merge(rest)
            .route("/upload/image/{id}", put(upload_image))
            .route("/upload/video/{id}/{part}", put(upload_video_part))
            .route("/oauth/v2/accessToken", post(access_token))
            .route("/oauth/v2/revoke", post(revoke))
            .route("/v2/userinfo", get(userinfo))
            .with_state(state.clone())
            .merge(oauth.consent_routes("/oauth/v2/authorization"));
        let server = FakeServer::start(router).await;
        lock(&state).base = server.base.clone();
        Self {
            server,
            oauth,
            state,
        }
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// The channel settings of the organization page this fake posts as.
    pub fn settings(&self) -> Value {
        json!({ "author": AUTHOR })
    }

    /// The channel settings of a member posting as themselves.
    pub fn member_settings(&self) -> Value {
        json!({ "author": MEMBER })
    }

    /// An ordinary app's credentials: an access token only.
    pub fn credentials(&self) -> Value {
        json!({ "access_token": ACCESS_TOKEN })
    }

    /// A partner app's credentials, which can be refreshed.
    pub fn partner_credentials(&self) -> Value {
        json!({
            "access_token": ACCESS_TOKEN,
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        })
    }

    /// The current access token, and every token issued by a code exchange, stop working (60
    /// days are over, or they were revoked).
    pub fn expire_access_token(&self) {
        let mut s = lock(&self.state);
        s.issued += 1;
        s.access_token = format!("li-access-expired-{}", s.issued);
        s.connected.clear();
    }

    /// Whether this app's code exchanges give a refresh token (LinkedIn gives them to approved
    /// partner apps only); off by default.
    pub fn set_refresh_enabled(&self, client_id: &str, enabled: bool) {
        let mut s = lock(&self.state);
        s.refresh_clients.retain(|c| c != client_id);
        if enabled {
            s.refresh_clients.push(client_id.to_owned());
        }
    }

    /// The event subscriptions made, by key (decoded), with their webhook URL.
    pub fn event_subscriptions(&self) -> HashMap<String, String> {
        lock(&self.state).event_subscriptions.clone()
    }

    /// The organization pages the member administers (by default [`AUTHOR`]'s, "Acme").
    pub fn set_organizations(&self, organizations: Vec<FakeOrganization>) {
        lock(&self.state).organizations = organizations;
    }

    pub fn refuse_refresh(&self) {
        lock(&self.state).refresh_refused = true;
    }

    /// Refresh answers carry no refresh token.
    pub fn omit_refresh_token(&self) {
        lock(&self.state).return_refresh_token = false;
    }

    pub fn access_token(&self) -> String {
        lock(&self.state).access_token.clone()
    }

    pub fn tokens_refreshed(&self) -> usize {
        lock(&self.state).refreshes
    }

    /// Videos answer PROCESSING to this many status reads, then AVAILABLE or PROCESSING_FAILED.
    pub fn set_processing(&self, polls: usize, failure: Option<&str>) {
        let mut s = lock(&self.state);
        s.processing_polls = polls;
        s.processing_failure = failure.map(str::to_owned);
    }

    /// The size of each video upload part (4 MiB at LinkedIn); small in tests.
    pub fn set_video_part_size(&self, bytes: u64) {
        lock(&self.state).video_part = bytes.max(1);
    }

    pub fn status_polls(&self) -> usize {
        lock(&self.state).status_polls
    }

    pub fn posts(&self) -> Vec<FakeLinkedinPost> {
        lock(&self.state).posts.clone()
    }

    pub fn post(&self, urn: &str) -> Option<FakeLinkedinPost> {
        lock(&self.state)
            .posts
            .iter()
            .find(|p| p.urn == urn)
            .cloned()
    }

    /// Posts whose commentary, as LinkedIn shows it, is `text`.
    pub fn count_with_text(&self, text: &str) -> usize {
        lock(&self.state)
            .posts
            .iter()
            .filter(|p| p.shown_text() == text)
            .count()
    }

    pub fn images(&self) -> Vec<FakeImage> {
        let s = lock(&self.state);
        s.image_order
            .iter()
            .filter_map(|urn| s.images.get(urn).cloned())
            .collect()
    }

    pub fn videos(&self) -> Vec<FakeVideo> {
        lock(&self.state).videos.values().cloned().collect()
    }

    pub fn comments(&self) -> Vec<FakeComment> {
        lock(&self.state).comments.clone()
    }

    /// The post's lifetime statistics from now on (a post without any has all zeros).
    pub fn set_post_stats(&self, urn: &str, stats: FakePostStats) {
        lock(&self.state).stats.insert(urn.to_owned(), stats);
    }

    /// While `false`, statistics answers are empty, as for a post LinkedIn has not counted yet.
    pub fn set_statistics_ready(&self, ready: bool) {
        lock(&self.state).statistics_ready = ready;
    }

    /// The organization page's follower count.
    pub fn set_followers(&self, followers: u64) {
        lock(&self.state).followers = followers;
    }

    /// A person's comment on the page's post `post` (or, with `parent`, under that comment),
    /// now. Returns its URN.
    pub fn comment_as(&self, actor: &str, post: &str, parent: Option<&str>, text: &str) -> String {
        let mut s = lock(&self.state);
        let id = s.new_id();
        let urn = format!("urn:li:comment:({post},{id})");
        s.comments.push(FakeComment {
            urn: urn.clone(),
            post: post.to_owned(),
            actor: actor.to_owned(),
            text: text.to_owned(),
            id,
            parent: parent.map(str::to_owned),
            created_at: Timestamp::now(),
        });
        urn
    }

    /// The page's comments answering the comment `urn` (each should be there once).
    pub fn page_replies_to(&self, urn: &str) -> Vec<FakeComment> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| c.actor == AUTHOR && c.parent.as_deref() == Some(urn))
            .cloned()
            .collect()
    }

    /// Reactions as `(actor, root, reactionType)`.
    pub fn reactions(&self) -> Vec<(String, String, String)> {
        lock(&self.state).reactions.clone()
    }

    /// The next comment made is made, but its answer never arrives.
    pub fn lose_next_comment_answer(&self) {
        self.server.faults.inject(
            axum::http::Method::POST,
            "/rest/socialActions/",
            1,
            super::Fault::DropAfterReceive,
        );
    }

    /// The next read of comments answers 429 (LinkedIn documents no rate-limit headers).
    pub fn rate_limit_next_comments_read(&self) {
        self.server.faults.inject(
            axum::http::Method::GET,
            "/rest/socialActions/",
            1,
            super::Fault::status(
                429,
                r#"{"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS","message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached."}"#,
            ),
        );
    }

    /// An organization social action notification delivery naming the comment `urn` (LinkedIn
    /// batches up to 10 per delivery), as sent to the app's webhook.
    pub fn notification_body(&self, urn: &str, action: &str) -> Vec<u8> {
        let s = lock(&self.state);
        let comment = s.comments.iter().find(|c| c.urn == urn).expect("a comment");
        serde_json::to_vec(&json!({
            "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
            "notifications": [{
                "notificationId": comment.id,
                "organizationalEntity": AUTHOR,
                "action": action,
                "sourcePost": comment.post,
                "generatedActivity": urn,
                "lastModifiedAt": comment.created_at.as_millisecond(),
                "subscriber": MEMBER,
            }],
        }))
        .unwrap()
    }

    /// The path of a statistics endpoint, for injecting faults.
    pub fn statistics_path(&self) -> &'static str {
        "/rest/organizationalEntityShareStatistics"
    }
}

impl LinkedinState {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"status": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn coded_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"status": status.as_u16(), "code": code, "message": message})),
    )
        .into_response()
}

fn unprocessable(message: &str, input_code: &str, description: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": message,
            "errorDetails": {"inputErrors": [{
                "description": description,
                "input": {},
                "code": input_code,
            }]},
            "status": 422,
        })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The current access token, or one a code exchange issued (not revoked, not expired).
fn bearer_ok(state: &Shared, headers: &HeaderMap) -> bool {
    let s = lock(state);
    bearer(headers)
        .is_some_and(|given| given == s.access_token || s.connected.iter().any(|t| t == given))
}

/// The scopes of the request's token: its grant's, or every scope for the fixture's tokens.
fn token_scopes(state: &Shared, headers: &HeaderMap) -> Vec<String> {
    let oauth = lock(state).oauth.clone();
    match bearer(headers).and_then(|t| oauth.grant_of(t)) {
        Some(grant) => grant.scopes,
        None => FIXTURE_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn invalid_token() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            json!({"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}),
        ),
    )
        .into_response()
}

/// What every `/rest` call must carry: an active `Linkedin-Version`, Rest.li 2.0.0, a valid token.
async fn rest_rules(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let version = headers
        .get("linkedin-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match version {
        None => {
            return coded_error(
                StatusCode::BAD_REQUEST,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            );
        }
        Some(v) if !ACTIVE_VERSIONS.contains(&v.as_str()) => {
            return coded_error(
                StatusCode::UPGRADE_REQUIRED,
                "NONEXISTENT_VERSION",
                &format!("Requested version {v} is not active"),
            );
        }
        Some(_) => {}
    }
    if headers
        .get("x-restli-protocol-version")
        .and_then(|v| v.to_str().ok())
        != Some("2.0.0")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The Rest.li protocol version header X-Restli-Protocol-Version: 2.0.0 is required",
        );
    }
    if !bearer_ok(&state, headers) {
        return invalid_token();
    }
    next.run(request).await
}

fn parse_json(body: &Bytes) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

fn not_json() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "The request body is not valid JSON",
    )
}

async fn create_post(State(state): State<Shared>, body: Bytes) -> Response {
    let Some(body) = parse_json(&body) else {
        return not_json();
    };
    let author = body["author"].as_str().unwrap_or_default().to_owned();
    if !(author.starts_with("urn:li:person:") || author.starts_with("urn:li:organization:")) {
        return unprocessable(
            "/author :: invalid author URN",
            "INVALID_URN_TYPE",
            "author must be a person or organization URN",
        );
    }
    let required = [
        ("/visibility", body["visibility"] == json!("PUBLIC")),
        (
            "/distribution/feedDistribution",
            body["distribution"]["feedDistribution"] == json!("MAIN_FEED"),
        ),
        (
            "/lifecycleState",
            body["lifecycleState"] == json!("PUBLISHED"),
        ),
        (
            "/isReshareDisabledByAuthor",
            body["isReshareDisabledByAuthor"].is_boolean(),
        ),
    ];
    if let Some((field, _)) = required.iter().find(|(_, ok)| !ok) {
        return unprocessable(
            &format!("{field} :: field is required or invalid"),
            "MISSING_FIELD",
            &format!("{field} is missing or invalid"),
        );
    }
    let commentary = body["commentary"].as_str().unwrap_or_default().to_owned();
    if commentary.chars().count() > 3000 {
        return unprocessable(
            "/commentary :: length exceeds 3000",
            "MAX_LENGTH_EXCEEDED",
            "commentary is too long",
        );
    }
    let content = body.get("content").cloned();
    let mut s = lock(&state);
    if let Some(refused) = content.as_ref().and_then(|c| refusal_of_content(&s, c)) {
        return refused;
    }
    if let Some(earlier) = s
        .posts
        .iter()
        .find(|p| p.author == author && p.commentary == commentary)
    {
        return unprocessable(
            &format!("Content is a duplicate of {}", earlier.urn),
            "DUPLICATE_POST",
            "Duplicate post is detected",
        );
    }
    let urn = format!("urn:li:share:{}", s.new_id());
    s.posts.push(FakeLinkedinPost {
        urn: urn.clone(),
        author,
        commentary,
        content,
        body,
        created_at: Timestamp::now(),
    });
    (StatusCode::CREATED, [("x-restli-id", urn)]).into_response()
}

/// Why LinkedIn would refuse this `content`, if it would.
fn refusal_of_content(s: &LinkedinState, content: &Value) -> Option<Response> {
    let image_ready = |id: &str| s.images.get(id).is_some_and(|i| i.bytes.is_some());
    if let Some(id) = content["media"]["id"].as_str() {
        let ok = if id.starts_with("urn:li:video:") {
            s.videos.get(id).is_some_and(|v| v.status == "AVAILABLE")
        } else {
            image_ready(id)
        };
        if !ok {
            return Some(unprocessable(
                &format!("/content/media/id :: {id} is not available"),
                "INVALID_CONTENT",
                "the media is unknown, not uploaded or still processing",
            ));
        }
        return None;
    }
    if let Some(images) = content["multiImage"]["images"].as_array() {
        if !(2..=20).contains(&images.len()) {
            return Some(unprocessable(
                "/content/multiImage/images :: a multi-image post has 2 to 20 images",
                "INVALID_CONTENT",
                "wrong number of images",
            ));
        }
        for image in images {
            let id = image["id"].as_str().unwrap_or_default();
            if !image_ready(id) {
                return Some(unprocessable(
                    &format!("/content/multiImage/images :: {id} is not available"),
                    "INVALID_CONTENT",
                    "the image is unknown or not uploaded",
                ));
            }
        }
        return None;
    }
    Some(unprocessable(
        "/content :: unsupported content",
        "INVALID_CONTENT",
        "content must be media or multiImage",
    ))
}

async fn posts_by_author(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("q").map(String::as_str) != Some("author") {
        return error(StatusCode::BAD_REQUEST, "The finder q=author is required");
    }
    let Some(author) = query.get("author") else {
        return error(StatusCode::BAD_REQUEST, "author is required");
    };
    let count: usize = query
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10)
        .min(100);
    let start: usize = query.get("start").and_then(|c| c.parse().ok()).unwrap_or(0);
    let s = lock(&state);
    let mut mine: Vec<&FakeLinkedinPost> = s.posts.iter().filter(|p| &p.author == author).collect();
    mine.reverse();
    let elements: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(count)
        .map(|p| {
            let at = p.created_at.as_millisecond();
            json!({
                "id": p.urn,
                "author": p.author,
                "commentary": p.commentary,
                "visibility": "PUBLIC",
                "lifecycleState": "PUBLISHED",
                "createdAt": at,
                "publishedAt": at,
                "lastModifiedAt": at,
            })
        })
        .collect();
    axum::Json(json!({
        "paging": {"start": start, "count": count, "total": mine.len(), "links": []},
        "elements": elements,
    }))
    .into_response()
}

async fn images_action(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if query.get("action").map(String::as_str) != Some("initializeUpload") {
        return error(StatusCode::BAD_REQUEST, "Unsupported action");
    }
    let Some(body) = parse_json(&body) else {
        return not_json();
    };
    let Some(owner) = body["initializeUploadRequest"]["owner"].as_str() else {
        return unprocessable(
            "/initializeUploadRequest/owner :: field is required",
            "MISSING_FIELD",
            "owner is required",
        );
    };
    let mut s = lock(&state);
    let id = s.new_id();
    let urn = format!("urn:li:image:C4E{id}");
    s.images.insert(
        urn.clone(),
        FakeImage {
            urn: urn.clone(),
            owner: owner.to_owned(),
            bytes: None,
            content_type: None,
        },
    );
    s.image_order.push(urn.clone());
    let upload_url = format!("{}/upload/image/{id}", s.base);
    axum::Json(json!({"value": {
        "uploadUrlExpiresAt": Timestamp::now().as_millisecond() + 86_400_000,
        "uploadUrl": upload_url,
        "image": urn,
    }}))
    .into_response()
}

async fn upload_image(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !bearer_ok(&state, &headers) {
        return invalid_token();
    }
    let mut s = lock(&state);
    let urn = format!("urn:li:image:C4E{id}");
    let Some(image) = s.images.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, "Unknown upload URL");
    };
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "Empty upload");
    }
    image.bytes = Some(body.to_vec());
    image.content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    StatusCode::CREATED.into_response()
}

async fn videos_action(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(body) = parse_json(&body) else {
        return not_json();
    };
    match query.get("action").map(String::as_str) {
        Some("initializeUpload") => initialize_video(&state, &body),
        Some("finalizeUpload") => finalize_video(&state, &body),
        _ => error(StatusCode::BAD_REQUEST, "Unsupported action"),
    }
}

fn initialize_video(state: &Shared, body: &Value) -> Response {
    let request = &body["initializeUploadRequest"];
    let (Some(owner), Some(size)) = (request["owner"].as_str(), request["fileSizeBytes"].as_u64())
    else {
        return unprocessable(
            "/initializeUploadRequest :: owner and fileSizeBytes are required",
            "MISSING_FIELD",
            "owner and fileSizeBytes are required",
        );
    };
    if size == 0 {
        return unprocessable(
            "/initializeUploadRequest/fileSizeBytes :: must be positive",
            "INVALID_VALUE",
            "fileSizeBytes must be positive",
        );
    }
    let mut s = lock(state);
    let id = s.new_id();
    let urn = format!("urn:li:video:D4E{id}");
    let part_size = s.video_part;
    let parts = size.div_ceil(part_size);
    let instructions: Vec<Value> = (0..parts)
        .map(|i| {
            json!({
                "uploadUrl": format!("{}/upload/video/{id}/{i}", s.base),
                "firstByte": i * part_size,
                "lastByte": ((i + 1) * part_size).min(size) - 1,
            })
        })
        .collect();
    let token = format!("upload-token-{id}");
    s.videos.insert(
        urn.clone(),
        FakeVideo {
            urn: urn.clone(),
            owner: owner.to_owned(),
            size,
            parts: vec![None; parts as usize],
            upload_token: token.clone(),
            finalized: false,
            status: "WAITING_UPLOAD".into(),
        },
    );
    axum::Json(json!({"value": {
        "uploadUrlsExpireAt": Timestamp::now().as_millisecond() + 86_400_000,
        "video": urn,
        "uploadInstructions": instructions,
        "uploadToken": token,
    }}))
    .into_response()
}

fn etag(id: &str, part: usize) -> String {
    format!("/ambry-video/signedId/etag-{id}-{part}")
}

async fn upload_video_part(
    State(state): State<Shared>,
    Path((id, part)): Path<(String, usize)>,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    let part_size = s.video_part;
    let urn = format!("urn:li:video:D4E{id}");
    let Some(video) = s.videos.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, "Unknown upload URL");
    };
    let Some(slot) = video.parts.get_mut(part) else {
        return error(StatusCode::NOT_FOUND, "Unknown upload part");
    };
    let first = part as u64 * part_size;
    let expected = (first + part_size).min(video.size) - first;
    if body.len() as u64 != expected {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Part {part} must be {expected} bytes, got {}", body.len()),
        );
    }
    *slot = Some(body.to_vec());
    (StatusCode::OK, [("etag", etag(&id, part))]).into_response()
}

fn finalize_video(state: &Shared, body: &Value) -> Response {
    let request = &body["finalizeUploadRequest"];
    let urn = request["video"].as_str().unwrap_or_default().to_owned();
    let token = request["uploadToken"].as_str().unwrap_or_default();
    let ids: Vec<&str> = request["uploadedPartIds"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut s = lock(state);
    let polls = s.processing_polls;
    let Some(video) = s.videos.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, &format!("Unknown video {urn}"));
    };
    let id = urn.trim_start_matches("urn:li:video:D4E").to_owned();
    let expected: Vec<String> = (0..video.parts.len()).map(|p| etag(&id, p)).collect();
    if token != video.upload_token
        || ids != expected.iter().map(String::as_str).collect::<Vec<_>>()
        || video.parts.iter().any(Option::is_none)
    {
        return unprocessable(
            "/finalizeUploadRequest :: the upload is incomplete or the part ids do not match",
            "INVALID_VALUE",
            "uploadedPartIds must list every part's ETag in order",
        );
    }
    video.finalized = true;
    video.status = "PROCESSING".into();
    s.pending_polls.insert(urn, polls);
    StatusCode::OK.into_response()
}

async fn video_status(State(state): State<Shared>, Path(urn): Path<String>) -> Response {
    let mut s = lock(&state);
    s.status_polls += 1;
    let failure = s.processing_failure.clone();
    let left = s.pending_polls.get(&urn).copied();
    let Some(video) = s.videos.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, &format!("Unknown video {urn}"));
    };
    let mut answer = json!({"id": urn, "owner": video.owner});
    if video.finalized {
        match left {
            Some(left) if left > 0 => video.status = "PROCESSING".into(),
            _ => match &failure {
                Some(_) => video.status = "PROCESSING_FAILED".into(),
                None => video.status = "AVAILABLE".into(),
            },
        }
    }
    answer["status"] = json!(video.status);
    if video.status == "PROCESSING_FAILED" {
        answer["processingFailureReason"] = json!(failure);
    }
    if let Some(left) = s.pending_polls.get_mut(&urn) {
        *left = left.saturating_sub(1);
    }
    axum::Json(answer).into_response()
}

/// `POST /rest/socialActions/{post}/comments` (a comment), or `/{comment}/comments` with
/// `parentComment` (a reply under it, as the page or the member).
async fn create_comment(
    State(state): State<Shared>,
    Path(target): Path<String>,
    body: Bytes,
) -> Response {
    let Some(body) = parse_json(&body) else {
        return not_json();
    };
    let actor = body["actor"].as_str().unwrap_or_default().to_owned();
    let object = body["object"].as_str().unwrap_or_default().to_owned();
    let parent = body["parentComment"].as_str().map(str::to_owned);
    let Some(text) = body["message"]["text"].as_str().map(str::to_owned) else {
        return unprocessable(
            "/message/text :: field is required",
            "MISSING_FIELD",
            "message.text is required",
        );
    };
    let mut s = lock(&state);
    if !s.posts.iter().any(|p| p.urn == object) {
        return error(StatusCode::NOT_FOUND, &format!("Unknown post {object}"));
    }
    match &parent {
        None if target != object => {
            return error(
                StatusCode::BAD_REQUEST,
                "object must be the post in the path",
            );
        }
        Some(parent) => {
            let known = s
                .comments
                .iter()
                .find(|c| &c.urn == parent)
                .map(|c| (c.post.clone(), c.parent.is_some()));
            match known {
                Some((post, nested)) if post == object && !nested && *parent == target => {}
                Some((_, true)) => {
                    return unprocessable(
                        "/parentComment :: nested comments are one level deep",
                        "INVALID_VALUE",
                        "a reply cannot be answered with a nested comment; answer its parent",
                    );
                }
                _ => {
                    return error(StatusCode::NOT_FOUND, &format!("Unknown comment {parent}"));
                }
            }
        }
        None => {}
    }
    let id = s.new_id();
    let urn = format!("urn:li:comment:({object},{id})");
    let comment = FakeComment {
        urn: urn.clone(),
        post: object.clone(),
        actor: actor.clone(),
        text: text.clone(),
        id,
        parent,
        created_at: Timestamp::now(),
    };
    let answer = comment_json(&s, &comment);
    s.comments.push(comment);
    (
        StatusCode::CREATED,
        [("x-restli-id", urn)],
        axum::Json(answer),
    )
        .into_response()
}

/// A comment as the Comments API shows it.
fn comment_json(s: &LinkedinState, c: &FakeComment) -> Value {
    let replies = s
        .comments
        .iter()
        .filter(|r| r.parent.as_deref() == Some(c.urn.as_str()))
        .count();
    let at = c.created_at.as_millisecond();
    let mut json = json!({
        "id": c.id.to_string(),
        "commentUrn": c.urn,
        "$URN": c.urn,
        "actor": c.actor,
        "object": c.post,
        "created": {"actor": c.actor, "time": at},
        "lastModified": {"actor": c.actor, "time": at},
        "message": {"text": c.text, "attributes": []},
        "commentsSummary": {"totalFirstLevelComments": replies, "aggregatedTotalComments": replies},
    });
    if let Some(parent) = &c.parent {
        json["parentComment"] = json!(parent);
    }
    json
}

/// `GET /rest/socialActions/{post or comment}/comments?start&count`: a post's top-level comments,
/// or the replies under a comment, oldest first.
async fn list_comments(
    State(state): State<Shared>,
    Path(target): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let count: usize = query
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10)
        .min(100);
    let start: usize = query.get("start").and_then(|c| c.parse().ok()).unwrap_or(0);
    let s = lock(&state);
    let under: Vec<&FakeComment> = if target.starts_with("urn:li:comment:") {
        if !s.comments.iter().any(|c| c.urn == target) {
            return error(StatusCode::NOT_FOUND, &format!("Unknown comment {target}"));
        }
        s.comments
            .iter()
            .filter(|c| c.parent.as_deref() == Some(target.as_str()))
            .collect()
    } else {
        if !s.posts.iter().any(|p| p.urn == target) {
            return error(StatusCode::NOT_FOUND, &format!("Unknown post {target}"));
        }
        s.comments
            .iter()
            .filter(|c| c.post == target && c.parent.is_none())
            .collect()
    };
    let elements: Vec<Value> = under
        .iter()
        .skip(start)
        .take(count)
        .map(|c| comment_json(&s, c))
        .collect();
    axum::Json(json!({
        "paging": {"start": start, "count": count, "total": under.len(), "links": []},
        "elements": elements,
    }))
    .into_response()
}

fn find_comment<'s>(s: &'s LinkedinState, entity: &str, id: &str) -> Option<&'s FakeComment> {
    s.comments
        .iter()
        .find(|c| c.id.to_string() == id && c.urn.contains(entity))
}

async fn get_comment(
    State(state): State<Shared>,
    Path((entity, id)): Path<(String, String)>,
) -> Response {
    let s = lock(&state);
    match find_comment(&s, &entity, &id) {
        Some(c) => axum::Json(comment_json(&s, c)).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("Unknown comment {id}")),
    }
}

/// `DELETE /rest/socialActions/{entity}/comments/{id}?actor=`: by its author only.
async fn delete_comment(
    State(state): State<Shared>,
    Path((entity, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let Some(comment) = find_comment(&s, &entity, &id).cloned() else {
        return error(StatusCode::NOT_FOUND, &format!("Unknown comment {id}"));
    };
    if query.get("actor") != Some(&comment.actor) {
        return access_denied("Not enough permissions to delete this comment");
    }
    s.comments
        .retain(|c| c.urn != comment.urn && c.parent.as_deref() != Some(comment.urn.as_str()));
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /rest/reactions?actor=` `{"root", "reactionType"}`: 201, or 409 when the actor reacted.
async fn create_reaction(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some(body) = parse_json(&body) else {
        return not_json();
    };
    let Some(actor) = query.get("actor").cloned() else {
        return error(StatusCode::BAD_REQUEST, "actor is required");
    };
    let root = body["root"].as_str().unwrap_or_default().to_owned();
    let kind = body["reactionType"].as_str().unwrap_or_default().to_owned();
    let mut s = lock(&state);
    let exists = s.comments.iter().any(|c| c.urn == root) || s.posts.iter().any(|p| p.urn == root);
    if !exists {
        return error(StatusCode::NOT_FOUND, &format!("Unknown entity {root}"));
    }
    if s.reactions
        .iter()
        .any(|(a, r, _)| *a == actor && *r == root)
    {
        return coded_error(
            StatusCode::CONFLICT,
            "DUPLICATE",
            "The actor already reacted",
        );
    }
    s.reactions.push((actor, root, kind));
    StatusCode::CREATED.into_response()
}

/// `X-LI-Signature`: lowercase hex HMAC-SHA256 of "hmacsha256=" + the raw body, keyed by the
/// app's client secret (LinkedIn "Webhooks", learn.microsoft.com/linkedin/shared/api-guide/
/// webhook-validation, as quoted by api-evangelist/linkedin asyncapi/linkedin-webhooks.yml;
/// the prefix was not checked against LinkedIn's page itself).
pub fn webhook_signature(client_secret: &str, body: &[u8]) -> String {
    let mut signed = b"hmacsha256=".to_vec();
    signed.extend_from_slice(body);
    hmac_hex(client_secret, &signed)
}

/// LinkedIn's endpoint validation: `GET ?challengeCode=` answered with
/// `{"challengeCode", "challengeResponse": hex HMAC-SHA256(challengeCode, client secret)}`.
pub fn challenge_response(client_secret: &str, challenge_code: &str) -> Value {
    json!({
        "challengeCode": challenge_code,
        "challengeResponse": hmac_hex(client_secret, challenge_code.as_bytes()),
    })
}

fn hmac_hex(key: &str, data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key");
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn form_fields(form: &[u8]) -> HashMap<String, String> {
    let uri: Uri = format!("/?{}", String::from_utf8_lossy(form))
        .parse()
        .unwrap_or_default();
    Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed",
    )
}

async fn access_token(State(state): State<Shared>, RawForm(form): RawForm) -> Response {
    let fields = form_fields(&form);
    let oauth = lock(&state).oauth.clone();
    oauth.count_token_request();
    match fields.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(&state, &oauth, &fields),
        Some("refresh_token") => refresh(&state, &oauth, &fields),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"grant_type\" is missing",
        ),
    }
}

fn exchange_code(
    state: &Shared,
    oauth: &OAuthServer,
    fields: &HashMap<String, String>,
) -> Response {
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let Some(client) = oauth.authenticate(field("client_id"), field("client_secret")) else {
        return invalid_client();
    };
    if field("code").is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"code\" is missing",
        );
    }
    let grant = match oauth.redeem(
        field("code"),
        &client.id,
        fields.get("redirect_uri").map(String::as_str),
        None,
    ) {
        Ok(grant) => grant,
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists",
            );
        }
    };
    let token = oauth.new_token("AQV");
    oauth.issue(&token, &grant);
    let mut s = lock(state);
    s.connected.push(token.clone());
    let mut answer = json!({
        "access_token": token,
        "expires_in": 5_184_000,
        "scope": grant.scopes.join(","),
    });
    if s.refresh_clients.contains(&client.id) {
        let refresh = oauth.new_token("AQX");
        oauth.issue(&refresh, &grant);
        s.refresh_tokens.push(refresh.clone());
        answer["refresh_token"] = json!(refresh);
        answer["refresh_token_expires_in"] = json!(31_536_000);
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// `grant_type=refresh_token`: the fixture's partner app and refresh token, or a refresh token
/// a code exchange gave (with the app it was given to). The refresh token stays the same.
fn refresh(state: &Shared, oauth: &OAuthServer, fields: &HashMap<String, String>) -> Response {
    let invalid =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let fixture_client = field("client_id") == CLIENT_ID && field("client_secret") == CLIENT_SECRET;
    let client = oauth.authenticate(field("client_id"), field("client_secret"));
    if !fixture_client && client.is_none() {
        return invalid("Client authentication failed");
    }
    let given = field("refresh_token");
    let mut s = lock(state);
    let issued_grant: Option<Grant> = s
        .refresh_tokens
        .iter()
        .any(|t| t == given)
        .then(|| oauth.grant_of(given))
        .flatten()
        .filter(|g| client.as_ref().is_some_and(|c| c.id == g.client_id));
    if s.refresh_refused || (given != s.refresh_token && issued_grant.is_none()) {
        return invalid(
            "The provided authorization grant or refresh token is invalid, expired or revoked",
        );
    }
    s.refreshes += 1;
    s.issued += 1;
    let token = format!("li-access-{}", s.issued);
    match &issued_grant {
        // A connection's token joins the others; the fixture's replaces the current one.
        Some(grant) => {
            oauth.issue(&token, grant);
            s.connected.push(token.clone());
        }
        None => s.access_token = token.clone(),
    }
    let mut answer = json!({"access_token": token, "expires_in": 5_184_000});
    if let Some(grant) = &issued_grant {
        answer["scope"] = json!(grant.scopes.join(","));
    }
    if s.return_refresh_token {
        answer["refresh_token"] = json!(given);
        answer["refresh_token_expires_in"] = json!(31_536_000);
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// `POST /oauth/v2/revoke`: 200 with an empty body; the token stops working.
async fn revoke(State(state): State<Shared>, RawForm(form): RawForm) -> Response {
    let fields = form_fields(&form);
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    let oauth = lock(&state).oauth.clone();
    if oauth
        .authenticate(field("client_id"), field("client_secret"))
        .is_none()
    {
        return invalid_client();
    }
    let token = field("token");
    if token.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"token\" is missing",
        );
    }
    oauth.record_revoked(token);
    let mut s = lock(&state);
    s.connected.retain(|t| t != token);
    s.refresh_tokens.retain(|t| t != token);
    if token == s.access_token {
        s.issued += 1;
        s.access_token = format!("li-access-revoked-{}", s.issued);
    }
    StatusCode::OK.into_response()
}

/// `GET /v2/userinfo` (OpenID Connect): the member, with `openid` and `profile` granted.
async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if !bearer_ok(&state, &headers) {
        return invalid_token();
    }
    let scopes = token_scopes(&state, &headers);
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    if !has("openid") || !has("profile") {
        return access_denied("Not enough permissions to access: userinfo.GET.NO_VERSION");
    }
    let (given_name, family_name) = MEMBER_NAME.split_once(' ').unwrap_or((MEMBER_NAME, ""));
    let mut answer = json!({
        "sub": MEMBER_ID,
        "name": MEMBER_NAME,
        "given_name": given_name,
        "family_name": family_name,
        "picture": MEMBER_PICTURE,
        "locale": {"country": "US", "language": "en"},
    });
    if has("email") {
        answer["email"] = json!(MEMBER_EMAIL);
        answer["email_verified"] = json!(true);
    }
    axum::Json(answer).into_response()
}

/// `PUT /rest/eventSubscriptions/(developerApplication:…,user:…,entity:…,eventType:…)` with
/// `{"webhook": url}`: the member must administer the entity and be the key's user.
async fn put_event_subscription(
    State(state): State<Shared>,
    Path(key): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut s = lock(&state);
    let administers = s
        .organizations
        .iter()
        .any(|o| key.contains(&format!("entity:urn:li:organization:{}", o.id)));
    if !key.contains(&format!("user:{MEMBER}")) || !administers {
        return access_denied("Not enough permissions to access: eventSubscriptions.UPDATE");
    }
    let Some(webhook) = body.get("webhook").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "webhook is required");
    };
    s.event_subscriptions.insert(key, webhook.to_owned());
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /rest/eventSubscriptions/{key}`: 404 when there is none.
async fn delete_event_subscription(
    State(state): State<Shared>,
    Path(key): Path<String>,
) -> Response {
    match lock(&state).event_subscriptions.remove(&key) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "no such subscription"),
    }
}

/// `GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED`: the member's
/// approved administrator roles.
async fn organization_acls(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let scopes = token_scopes(&state, &headers);
    if !scopes
        .iter()
        .any(|s| s == "rw_organization_admin" || s == "r_organization_admin")
    {
        return access_denied(
            "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20240101",
        );
    }
    if query.get("q").map(String::as_str) != Some("roleAssignee") {
        return error(
            StatusCode::BAD_REQUEST,
            "The finder q=roleAssignee is required",
        );
    }
    let role = query
        .get("role")
        .map(String::as_str)
        .unwrap_or("ADMINISTRATOR");
    let wanted_state = query.get("state").map(String::as_str).unwrap_or("APPROVED");
    let count: usize = query
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let start: usize = query.get("start").and_then(|c| c.parse().ok()).unwrap_or(0);
    let s = lock(&state);
    let elements: Vec<Value> = if role == "ADMINISTRATOR" && wanted_state == "APPROVED" {
        s.organizations
            .iter()
            .skip(start)
            .take(count)
            .map(|o| {
                json!({
                    "organization": format!("urn:li:organization:{}", o.id),
                    "role": "ADMINISTRATOR",
                    "state": "APPROVED",
                    "roleAssignee": MEMBER,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(json!({
        "elements": elements,
        "paging": {"count": count, "start": start, "links": []},
    }))
    .into_response()
}

/// `GET /rest/organizations/{id}`: a page the member administers.
async fn organization(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let s = lock(&state);
    match s.organizations.iter().find(|o| o.id.to_string() == id) {
        Some(o) => axum::Json(json!({
            "id": o.id,
            "localizedName": o.localized_name,
            "vanityName": o.vanity_name,
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Organization {id} not found"),
        ),
    }
}

fn access_denied(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(json!({
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": message,
        })),
    )
        .into_response()
}

/// Rest.li 2.0 reads `List(..)` and `(key:value)` only when their syntax characters arrive as they
/// are and the URNs inside them percent-encoded: a query with these `parts` missing is refused.
fn restli_syntax(raw: Option<&str>, parts: &[&str]) -> Option<Response> {
    let raw = raw.unwrap_or_default();
    parts.iter().find(|p| !raw.contains(*p)).map(|missing| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid Rest.li 2.0 query syntax (expected {missing:?} in {raw:?})"),
        )
    })
}

/// The URNs of a Rest.li `List(a,b)` (already percent-decoded by the query parser).
fn restli_list(value: &str) -> Option<Vec<String>> {
    let inner = value.strip_prefix("List(")?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=..
/// &shares=List(..)` (or `ugcPosts=List(..)`): lifetime statistics of the organization's posts.
async fn share_statistics(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = restli_syntax(raw.as_deref(), &["List(urn%3Ali%3A"]) {
        return refused;
    }
    if query.get("q").map(String::as_str) != Some("organizationalEntity") {
        return error(
            StatusCode::BAD_REQUEST,
            "The finder q=organizationalEntity is required",
        );
    }
    let Some(organization) = query.get("organizationalEntity") else {
        return error(StatusCode::BAD_REQUEST, "organizationalEntity is required");
    };
    if organization != AUTHOR {
        return access_denied(&format!(
            "Not enough permissions to access: organizationalEntityShareStatistics for {organization}"
        ));
    }
    let (field, urns) = match (query.get("shares"), query.get("ugcPosts")) {
        (Some(list), None) => ("share", restli_list(list)),
        (None, Some(list)) => ("ugcPost", restli_list(list)),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "Exactly one of shares or ugcPosts is supported in this fake",
            );
        }
    };
    let Some(urns) = urns else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid Rest.li list syntax: expected List(urn,...)",
        );
    };
    let prefix = format!("urn:li:{field}:");
    if let Some(wrong) = urns.iter().find(|u| !u.starts_with(&prefix)) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("{wrong} is not a {field} URN"),
        );
    }
    let s = lock(&state);
    let elements: Vec<Value> = if s.statistics_ready {
        urns.iter()
            .filter(|urn| s.posts.iter().any(|p| &p.urn == *urn && p.author == AUTHOR))
            .map(|urn| {
                let st = s.stats.get(urn).copied().unwrap_or_default();
                let engagement = if st.impressions == 0 {
                    0.0
                } else {
                    (st.likes + st.comments + st.shares + st.clicks) as f64 / st.impressions as f64
                };
                json!({
                    "organizationalEntity": organization,
                    field: urn,
                    "totalShareStatistics": {
                        "uniqueImpressionsCount": st.unique_impressions,
                        "shareCount": st.shares,
                        "engagement": engagement,
                        "clickCount": st.clicks,
                        "likeCount": st.likes,
                        "impressionCount": st.impressions,
                        "commentCount": st.comments,
                    },
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    axum::Json(json!({
        "paging": {"start": 0, "count": 10, "links": []},
        "elements": elements,
    }))
    .into_response()
}

/// `GET /rest/memberCreatorPostAnalytics?q=entity&entity=(share:..)&queryType=..&aggregation=TOTAL`:
/// one figure of one of the member's own posts.
async fn member_analytics(
    State(state): State<Shared>,
    RawQuery(raw): RawQuery,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = restli_syntax(raw.as_deref(), &["entity=(", ":urn%3Ali%3A"]) {
        return refused;
    }
    if query.get("q").map(String::as_str) != Some("entity") {
        return error(StatusCode::BAD_REQUEST, "The finder q=entity is required");
    }
    let entity = query.get("entity").map(String::as_str).unwrap_or_default();
    let Some((kind, urn)) = entity
        .strip_prefix('(')
        .and_then(|e| e.strip_suffix(')'))
        .and_then(|e| e.split_once(':'))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "entity must be (share:urn) or (ugc:urn)",
        );
    };
    let expected = match kind {
        "share" => "urn:li:share:",
        "ugc" => "urn:li:ugcPost:",
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Unknown entity type {kind}"),
            );
        }
    };
    if !urn.starts_with(expected) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("{urn} is not a {kind} URN"),
        );
    }
    let query_type = query
        .get("queryType")
        .map(String::as_str)
        .unwrap_or_default();
    if query.get("aggregation").map(String::as_str) != Some("TOTAL") {
        return error(
            StatusCode::BAD_REQUEST,
            "This fake serves aggregation=TOTAL only",
        );
    }
    let s = lock(&state);
    let Some(post) = s.posts.iter().find(|p| p.urn == urn) else {
        return error(StatusCode::NOT_FOUND, &format!("Unknown post {urn}"));
    };
    if post.author != MEMBER {
        return access_denied("Analytics are available only for the member's own posts");
    }
    let st = s.stats.get(urn).copied().unwrap_or_default();
    let count = match query_type {
        "IMPRESSION" => st.impressions,
        "MEMBERS_REACHED" => st.unique_impressions,
        "RESHARE" => st.shares,
        "REACTION" => st.likes,
        "COMMENT" => st.comments,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Unsupported queryType {other}"),
            );
        }
    };
    let elements = if s.statistics_ready {
        vec![json!({
            "count": count,
            "metricType": query_type,
            "targetEntity": { kind: urn },
        })]
    } else {
        Vec::new()
    };
    axum::Json(json!({
        "paging": {"start": 0, "count": 10, "links": []},
        "elements": elements,
    }))
    .into_response()
}

/// `GET /rest/networkSizes/{organization urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`.
async fn network_size(
    State(state): State<Shared>,
    Path(urn): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("edgeType").map(String::as_str) != Some("COMPANY_FOLLOWED_BY_MEMBER") {
        return error(
            StatusCode::BAD_REQUEST,
            "edgeType must be COMPANY_FOLLOWED_BY_MEMBER",
        );
    }
    if urn != AUTHOR {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Unknown organization {urn}"),
        );
    }
    axum::Json(json!({ "firstDegreeSize": lock(&state).followers })).into_response()
}
