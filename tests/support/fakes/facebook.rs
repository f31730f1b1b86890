//! A fake Facebook Graph API for one page (feed, photos by URL, videos by URL, comments, the page's
//! posts, post engagement and insights, the page's follower count), plus [`graph`]: the Graph
//! request and error shapes the Instagram and Threads fakes share.
//!
//! "Connect" is Facebook Login for Pages ([`meta_login`](super::meta_login)), on the public field
//! [`FakeFacebook::oauth`]: a test registers its app with
//! `facebook.oauth.register_client(id, secret, redirect_uri)`. `/me/accounts` lists the fake's
//! page ([`FakeFacebook::page_id`], "Test page", no Instagram account) with a page token the page
//! endpoints accept, then any added with `facebook.oauth.add_page(..)`. `GET /v21.0/me` with a
//! page token reads the page, as Graph does.
//!
//! The inbox: people comment under the page's posts and in comments' threads
//! ([`FakeFacebook::comment_as`]), tag the page ([`FakeFacebook::tag_page`]) and write to it on
//! Messenger ([`FakeFacebook::message_from`]); `GET /{post-id}/comments` (`filter=stream` lists
//! every level, newest first), `GET /{page-id}/tagged`, `GET /{page-id}/conversations`, the page's
//! answers (`POST /{object-id}/comments`, the Send API and private replies), and moderation
//! (`POST /{comment-id}` with `is_hidden`, `POST /{comment-id}/likes`, `DELETE /{comment-id}`), with
//! webhook deliveries built from what the fake holds ([`FakeFacebook::comment_webhook`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta_inbox::{self, Delivery, Dm, Messages, Naming, Person};
use super::meta_login::{FacebookLogin, ListedPage};
use super::{FakeServer, Fault};
use graph::{Auth, Params};

/// Graph's request parameters, error bodies, usage headers, media fetching and post lists.
pub mod graph {
    use std::collections::HashMap;
    use std::time::Duration;

    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use jiff::Timestamp;
    use serde_json::{Value, json};

    use crate::fakes::Fault;

    /// A Graph call's parameters: the query string and a form or JSON body, as Graph accepts all three.
    #[derive(Debug, Default, Clone)]
    pub struct Params(pub HashMap<String, String>);

    impl Params {
        pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Self {
            let mut params = HashMap::new();
            let mut add_form = |raw: &str| {
                if let Ok(url) = reqwest::Url::parse(&format!("http://form/?{raw}")) {
                    for (k, v) in url.query_pairs() {
                        params.insert(k.into_owned(), v.into_owned());
                    }
                }
            };
            if let Some(query) = query {
                add_form(query);
            }
            let json_body = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if json_body {
                if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
                    for (k, v) in map {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        params.insert(k, v);
                    }
                }
            } else if let Ok(body) = std::str::from_utf8(body) {
                add_form(body);
            }
            Self(params)
        }

        pub fn get(&self, key: &str) -> Option<&str> {
            self.0
                .get(key)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        }

        pub fn flag(&self, key: &str) -> bool {
            self.get(key).is_some_and(|v| v == "true" || v == "1")
        }

        /// The `fields` the caller asked for, split at the commas outside braces and
        /// parentheses (`a,b{c,d},e.limit(1)` is three fields).
        pub fn fields(&self) -> Vec<String> {
            self.get("fields").map(split_fields).unwrap_or_default()
        }
    }

    /// A field list split at its top-level commas.
    pub fn split_fields(list: &str) -> Vec<String> {
        let mut fields = Vec::new();
        let mut depth = 0i32;
        let mut current = String::new();
        for c in list.chars() {
            match c {
                '{' | '(' => depth += 1,
                '}' | ')' => depth -= 1,
                ',' if depth == 0 => {
                    fields.push(std::mem::take(&mut current).trim().to_owned());
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        fields.push(current.trim().to_owned());
        fields.retain(|f| !f.is_empty());
        fields
    }

    /// The documented error body: `{"error": {message, type, code, error_subcode, fbtrace_id}}`.
    pub fn error_body(code: i64, subcode: Option<i64>, message: &str) -> String {
        let mut error = json!({
            "message": message,
            "type": if code == 190 { "OAuthException" } else { "GraphMethodException" },
            "code": code,
            "fbtrace_id": format!("A{}", ulid::Ulid::new()),
        });
        if let Some(subcode) = subcode {
            error["error_subcode"] = json!(subcode);
        }
        json!({ "error": error }).to_string()
    }

    /// An error of the login endpoints (`/oauth/access_token` and the like): type
    /// `OAuthException` whatever the code.
    pub fn oauth_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Response {
        let mut error = json!({
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": format!("A{}", ulid::Ulid::new()),
        });
        if let Some(subcode) = subcode {
            error["error_subcode"] = json!(subcode);
        }
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({ "error": error })),
        )
            .into_response()
    }

    /// The token a call carries: `Authorization: Bearer|OAuth`, or the `access_token` parameter.
    pub fn access_token<'a>(headers: &'a HeaderMap, params: &'a Params) -> Option<&'a str> {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("OAuth "))
            })
            .or_else(|| params.get("access_token"))
    }

    pub fn error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Response {
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            [("content-type", "application/json")],
            error_body(code, subcode, message),
        )
            .into_response()
    }

    pub fn ok(value: Value) -> Response {
        axum::Json(value).into_response()
    }

    /// Graph's answer to a path it does not serve.
    pub fn unknown_path() -> Response {
        error(400, 2500, None, "Unknown path components")
    }

    pub fn no_such_object(id: &str) -> Response {
        error(
            400,
            100,
            Some(33),
            &format!(
                "Unsupported request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        )
    }

    /// A Graph error to answer with, small enough to pass around in a `Result`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Refusal {
        pub status: u16,
        pub code: i64,
        pub subcode: Option<i64>,
        pub message: String,
    }

    pub fn refusal(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Refusal {
        Refusal {
            status,
            code,
            subcode,
            message: message.to_owned(),
        }
    }

    impl IntoResponse for Refusal {
        fn into_response(self) -> Response {
            error(self.status, self.code, self.subcode, &self.message)
        }
    }

    /// A Graph error as a fault: the request is answered with it and nothing is made.
    pub fn error_fault(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Fault {
        Fault::status(status, &error_body(code, subcode, message))
    }

    /// An application-level rate limit (code 4) with `X-App-Usage` at 100 %.
    pub fn app_rate_limited(regain_minutes: u64) -> Fault {
        let usage = json!({
            "call_count": 100, "total_cputime": 12, "total_time": 40,
            "estimated_time_to_regain_access": regain_minutes,
        });
        Fault::status_with_headers(
            400,
            &[("X-App-Usage", &usage.to_string())],
            &error_body(4, None, "(#4) Application request limit reached"),
        )
    }

    /// A Business Use Case rate limit (codes 17, 32, 80001, ...) with `X-Business-Use-Case-Usage`
    /// for `object_id`.
    pub fn business_rate_limited(code: i64, object_id: &str, regain_minutes: u64) -> Fault {
        let usage = json!({ object_id: [{
            "type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 35,
            "estimated_time_to_regain_access": regain_minutes,
        }]});
        Fault::status_with_headers(
            400,
            &[("X-Business-Use-Case-Usage", &usage.to_string())],
            &error_body(code, None, &format!("(#{code}) User request limit reached")),
        )
    }

    /// The access tokens a fake accepts.
    #[derive(Debug, Default)]
    pub struct Auth {
        pub valid: Vec<String>,
        /// Every call is refused with code 190 (the knob for an expired token).
        pub expired: bool,
    }

    impl Auth {
        pub fn new(token: &str) -> Self {
            Self {
                valid: vec![token.to_owned()],
                expired: false,
            }
        }

        /// The token from `Authorization: Bearer|OAuth` or the `access_token` parameter.
        pub fn check(&self, headers: &HeaderMap, params: &Params) -> Result<(), Refusal> {
            match access_token(headers, params) {
                None => Err(refusal(
                    400,
                    2500,
                    None,
                    "An active access token must be used to query information about the current user.",
                )),
                Some(_) if self.expired => Err(refusal(
                    400,
                    190,
                    Some(463),
                    "Error validating access token: Session has expired on Friday, 01-Jan-2027 00:00:00 PST.",
                )),
                Some(t) if self.valid.iter().any(|v| v == t) => Ok(()),
                Some(_) => Err(refusal(
                    400,
                    190,
                    None,
                    "Invalid OAuth access token - Cannot parse access token",
                )),
            }
        }
    }

    /// Fetches media from the URL a caller gave, as Meta does; the byte count, or why it failed.
    pub async fn fetch(url: &str) -> Result<usize, String> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(
                palinsesto::outbound::tls_config(&[]).map_err(|e| e.to_string())?,
            )
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let response = http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        Ok(bytes.len())
    }

    /// Graph's time format, e.g. `2027-01-15T10:00:00+0000`.
    pub fn time(at: Timestamp) -> String {
        at.to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y-%m-%dT%H:%M:%S%z")
            .to_string()
    }

    /// One page of a list edge, newest first, honouring `since` (unix seconds), `limit` and the
    /// `after` cursor.
    pub fn page(mut items: Vec<(Timestamp, Value)>, params: &Params, base_url: &str) -> Value {
        items.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let since = params.get("since").and_then(|s| s.parse::<i64>().ok());
        let items: Vec<Value> = items
            .into_iter()
            .filter(|(at, _)| since.is_none_or(|s| at.as_second() >= s))
            .map(|(_, v)| v)
            .collect();
        let limit = params
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .max(1);
        let start = params
            .get("after")
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0);
        let end = (start + limit).min(items.len());
        let data: Vec<Value> = items.get(start..end).unwrap_or_default().to_vec();
        let mut paging =
            json!({ "cursors": { "before": start.to_string(), "after": end.to_string() } });
        if end < items.len() {
            paging["next"] = json!(format!("{base_url}?after={end}&limit={limit}"));
        }
        json!({ "data": data, "paging": paging })
    }

    /// Keeps only the `fields` asked for (Graph answers with `id` alone when none are). A field
    /// `name{a,b}` keeps only `a` and `b` (and `id`) of a node `name`.
    pub fn select(full: &Value, fields: &[String]) -> Value {
        let mut out = json!({ "id": full["id"] });
        for field in fields {
            let (name, nested) = match field.split_once('{') {
                Some((name, rest)) => (name, Some(rest.strip_suffix('}').unwrap_or(rest))),
                None => (field.as_str(), None),
            };
            if let Some(v) = full.get(name) {
                out[name] = match nested {
                    Some(nested) if v.get("id").is_some() => select(v, &split_fields(nested)),
                    _ => v.clone(),
                };
            }
        }
        out
    }
}

/// The fake's version prefix, as in `https://graph.facebook.com/v21.0`.
pub const VERSION: &str = "v21.0";

#[derive(Debug, Clone, PartialEq)]
pub struct FbPost {
    /// `{page id}_{n}`, as page posts are named.
    pub id: String,
    pub message: String,
    pub created_time: Timestamp,
    /// Photo ids attached (one for a photo post, several for a multi-photo post).
    pub photos: Vec<String>,
    pub video: Option<String>,
}

/// A post's lifetime figures: engagement on the post object, impressions and clicks in its insights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FbPostStats {
    pub reactions: u64,
    pub comments: u64,
    pub shares: u64,
    pub impressions: u64,
    pub clicks: u64,
}

/// The post insights metrics the fake knows (Graph answers code 100 for any other).
const POST_INSIGHTS: [&str; 2] = ["post_impressions", "post_clicks"];

#[derive(Debug, Clone, PartialEq)]
pub struct FbPhoto {
    pub id: String,
    pub url: String,
    pub alt_text: Option<String>,
    pub published: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FbComment {
    pub id: String,
    pub post_id: String,
    pub message: String,
    /// The comment whose thread it is in (a reply), if any.
    pub parent: Option<String>,
    /// Who wrote it; `None`: the page.
    pub from: Option<Person>,
    pub created_time: Timestamp,
    pub hidden: bool,
    pub liked: bool,
    pub deleted: bool,
}

/// A post by someone else that tags the page.
#[derive(Debug, Clone, PartialEq)]
pub struct FbTagged {
    pub id: String,
    pub from: Person,
    pub message: String,
    pub created_time: Timestamp,
}

#[derive(Debug)]
struct Page {
    page_id: String,
    base: String,
    auth: Auth,
    now: Option<Timestamp>,
    posts: Vec<FbPost>,
    photos: Vec<FbPhoto>,
    comments: Vec<FbComment>,
    tagged: Vec<FbTagged>,
    messages: Messages,
    fetched: Vec<String>,
    refuse_comments: bool,
    stats: HashMap<String, FbPostStats>,
    /// While false, insights answer an empty `data`, as for a small page or a too recent post.
    insights_ready: bool,
    /// Metrics Graph no longer knows (retired): asking for one is refused with code 100.
    retired_metrics: Vec<String>,
    followers_count: Option<u64>,
    fan_count: Option<u64>,
    next_id: u64,
    /// The `subscribed_fields` of each `POST /{page}/subscribed_apps`, and `DELETE` as `-`.
    subscribed_apps: Vec<String>,
}

impl Page {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }

    /// Facebook refuses a page post whose text repeats one already on the page (code 506).
    fn add_post(
        &mut self,
        message: &str,
        photos: Vec<String>,
        video: Option<String>,
    ) -> Result<String, graph::Refusal> {
        if !message.trim().is_empty() && self.posts.iter().any(|p| p.message == message) {
            return Err(graph::refusal(400, 506, None, "Duplicate status message"));
        }
        let n = 900_000 + self.next_id();
        let id = format!("{}_{n}", self.page_id);
        let created_time = self.now();
        self.posts.push(FbPost {
            id: id.clone(),
            message: message.to_owned(),
            created_time,
            photos,
            video,
        });
        Ok(id)
    }
}

type Shared = Arc<Mutex<Page>>;

/// A fake Facebook page on loopback.
pub struct FakeFacebook {
    pub server: FakeServer,
    pub page_id: String,
    pub token: String,
    /// Facebook Login for Pages: apps, codes, user and page tokens, pages listed.
    pub oauth: FacebookLogin,
    page: Shared,
}

impl FakeFacebook {
    pub async fn start() -> Self {
        let page_id = "104000000000001".to_owned();
        let token = "EAAPageToken".to_owned();
        let page: Shared = Arc::new(Mutex::new(Page {
            page_id: page_id.clone(),
            base: String::new(),
            auth: Auth::new(&token),
            now: None,
            posts: Vec::new(),
            photos: Vec::new(),
            comments: Vec::new(),
            tagged: Vec::new(),
            messages: Messages::new(&page_id, "Test page", Naming::Name),
            fetched: Vec::new(),
            refuse_comments: false,
            stats: HashMap::new(),
            insights_ready: true,
            retired_metrics: Vec::new(),
            followers_count: None,
            fan_count: None,
            next_id: 0,
            subscribed_apps: Vec::new(),
        }));
        let accepting = page.clone();
        let oauth = FacebookLogin::new(vec![ListedPage::new(&page_id, "Test page")], move |t| {
            accepting.lock().unwrap().auth.valid.push(t.to_owned());
        });
        let login = oauth.clone();
        let me = move |State(page): State<Shared>,
                       RawQuery(query): RawQuery,
                       headers: HeaderMap| async move {
            let params = Params::parse(query.as_deref(), &headers, &[]);
            if let Some(answer) = login.me(&headers, &params) {
                return answer;
            }
            let page_id = page.lock().unwrap().page_id.clone();
            read_node(State(page), Path(page_id), RawQuery(query), headers).await
        };
        let router = Router::new()
            .route(&format!("/{VERSION}/me"), get(me))
            .route(
                &format!("/{VERSION}/{{node}}"),
                get(read_node).post(update_node).delete(delete_node),
            )
            .route(
                &format!("/{VERSION}/{{node}}/{{edge}}"),
                get(read_edge).post(create_on_edge).delete(delete_on_edge),
            )
            .fallback(|| async { graph::unknown_path() })
            .with_state(page.clone())
            .merge(oauth.routes());
        let server = FakeServer::start(router).await;
        page.lock().unwrap().base = format!("{}/{VERSION}", server.base);
        oauth.set_base(&server.base);
        Self {
            server,
            page_id,
            token,
            oauth,
            page,
        }
    }

    /// The Graph base URL to give the connector.
    pub fn base(&self) -> String {
        format!("{}/{VERSION}", self.server.base)
    }

    /// The path of an edge of the page, for injecting faults (e.g. `feed`, `photos`).
    pub fn path(&self, edge: &str) -> String {
        format!("/{VERSION}/{}/{edge}", self.page_id)
    }

    /// Channel settings and credentials for this page.
    pub fn settings(&self) -> Value {
        json!({ "page_id": self.page_id })
    }

    pub fn credentials(&self) -> Value {
        json!({ "access_token": self.token })
    }

    pub fn posts(&self) -> Vec<FbPost> {
        self.page.lock().unwrap().posts.clone()
    }

    pub fn count_with_text(&self, text: &str) -> usize {
        self.posts().iter().filter(|p| p.message == text).count()
    }

    pub fn photos(&self) -> Vec<FbPhoto> {
        self.page.lock().unwrap().photos.clone()
    }

    pub fn comments(&self) -> Vec<FbComment> {
        self.page.lock().unwrap().comments.clone()
    }

    /// Every media URL the fake fetched, in order.
    pub fn fetched(&self) -> Vec<String> {
        self.page.lock().unwrap().fetched.clone()
    }

    /// Every call from now on is refused with code 190.
    pub fn expire_token(&self) {
        self.page.lock().unwrap().auth.expired = true;
    }

    /// Comments are refused (a permission error), so the post stands alone.
    pub fn refuse_comments(&self) {
        self.page.lock().unwrap().refuse_comments = true;
    }

    /// The path of any object (a post, a video, the page), for injecting faults on reads of it.
    pub fn object_path(&self, id: &str) -> String {
        format!("/{VERSION}/{id}")
    }

    /// The post's (or video's) figures from now on; a post without any has all zeros.
    pub fn set_post_stats(&self, id: &str, stats: FbPostStats) {
        self.page.lock().unwrap().stats.insert(id.to_owned(), stats);
    }

    /// While `false`, every insights read answers `{"data": []}`.
    pub fn set_insights_ready(&self, ready: bool) {
        self.page.lock().unwrap().insights_ready = ready;
    }

    /// Asking for this insights metric is refused with code 100, as Graph does for retired ones.
    pub fn retire_metric(&self, metric: &str) {
        self.page
            .lock()
            .unwrap()
            .retired_metrics
            .push(metric.to_owned());
    }

    /// The page's `followers_count` and `fan_count`; `None` leaves the field out of the answer.
    pub fn set_page_counts(&self, followers_count: Option<u64>, fan_count: Option<u64>) {
        let mut page = self.page.lock().unwrap();
        page.followers_count = followers_count;
        page.fan_count = fan_count;
    }

    /// Fixes the fake's clock, for tests that run the system on a manual clock.
    pub fn set_now(&self, now: Timestamp) {
        self.page.lock().unwrap().now = Some(now);
    }

    /// `person` comments under `on`: a post (a top-level comment) or a comment (a reply in its
    /// thread). Returns the comment's id.
    pub fn comment_as(&self, person: &Person, on: &str, text: &str) -> String {
        let mut page = self.page.lock().unwrap();
        let (post, parent) = match page.comments.iter().find(|c| c.id == on) {
            Some(c) => (
                c.post_id.clone(),
                Some(c.parent.clone().unwrap_or(c.id.clone())),
            ),
            None => (on.to_owned(), None),
        };
        let id = format!("{post}_{}", page.next_id());
        let created_time = page.now();
        page.comments.push(FbComment {
            id: id.clone(),
            post_id: post,
            message: text.to_owned(),
            parent,
            from: Some(person.clone()),
            created_time,
            hidden: false,
            liked: false,
            deleted: false,
        });
        id
    }

    /// `person` publishes a post that tags the page; its id.
    pub fn tag_page(&self, person: &Person, text: &str) -> String {
        let mut page = self.page.lock().unwrap();
        let id = format!("{}_{}", person.id, 300_000 + page.next_id());
        let created_time = page.now();
        page.tagged.push(FbTagged {
            id: id.clone(),
            from: person.clone(),
            message: text.to_owned(),
            created_time,
        });
        id
    }

    /// `person` writes to the page on Messenger; the message's id (`mid`).
    pub fn message_from(&self, person: &Person, text: &str) -> String {
        let mut page = self.page.lock().unwrap();
        let now = page.now();
        page.messages.receive(person, text, now)
    }

    /// A comment by id, with its moderation state.
    pub fn comment(&self, id: &str) -> Option<FbComment> {
        self.comments().into_iter().find(|c| c.id == id)
    }

    /// The page's own comments answering `id` (in a comment's thread, or under a post).
    pub fn page_replies_to(&self, id: &str) -> Vec<FbComment> {
        let page = self.page.lock().unwrap();
        let thread = page
            .comments
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.parent.clone().unwrap_or(c.id.clone()));
        page.comments
            .iter()
            .filter(|c| c.from.is_none() && !c.deleted)
            .filter(|c| match &thread {
                Some(thread) => c.parent.as_deref() == Some(thread.as_str()),
                None => c.post_id == id && c.parent.is_none(),
            })
            .cloned()
            .collect()
    }

    /// The page's Messenger messages to `person`.
    pub fn page_messages_to(&self, person: &str) -> Vec<Dm> {
        self.page.lock().unwrap().messages.sent_to(person)
    }

    /// The page's private replies to the comment `comment`.
    pub fn private_replies_to(&self, comment: &str) -> Vec<Dm> {
        self.page
            .lock()
            .unwrap()
            .messages
            .private_replies_to(comment)
    }

    /// The next POST to `object` or one of its edges (`/{object}/comments`, the page's
    /// `/messages`) is made, then its answer is lost: the connection drops.
    pub fn lose_next_answer_on(&self, object: &str) {
        self.server.faults.inject(
            Method::POST,
            &self.object_path(object),
            1,
            Fault::DropAfterReceive,
        );
    }

    /// The page's app subscriptions, in order: the `subscribed_fields` of each `POST
    /// /{page}/subscribed_apps`, `-` for each `DELETE`.
    pub fn subscribed_apps(&self) -> Vec<String> {
        self.page.lock().unwrap().subscribed_apps.clone()
    }

    /// The `feed` webhook Meta sends for the comment `id` (`item: comment`, `verb: add`).
    pub fn comment_webhook(&self, id: &str, app_secret: &str) -> Delivery {
        let page = self.page.lock().unwrap();
        let c = page
            .comments
            .iter()
            .find(|c| c.id == id)
            .expect("a comment");
        let from = match &c.from {
            Some(p) => json!({ "id": p.id, "name": p.name }),
            None => json!({ "id": page.page_id, "name": "Test page" }),
        };
        let at = c.created_time.as_second();
        let value = json!({
            "from": from,
            "post": {
                "status_type": "mobile_status_update",
                "is_published": true,
                "updated_time": graph::time(c.created_time),
                "permalink_url": format!("https://www.facebook.com/{}", c.post_id),
                "promotion_status": "inactive",
                "id": c.post_id,
            },
            "message": c.message,
            "post_id": c.post_id,
            "comment_id": c.id,
            "created_time": at,
            "item": "comment",
            "parent_id": c.parent.clone().unwrap_or(c.post_id.clone()),
            "verb": "add",
        });
        let entry = json!({
            "id": page.page_id,
            "time": at,
            "changes": [{ "field": "feed", "value": value }],
        });
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("page", vec![entry]))
    }

    /// The `mention` webhook Meta sends for the post `id` that tags the page.
    pub fn mention_webhook(&self, id: &str, app_secret: &str) -> Delivery {
        let page = self.page.lock().unwrap();
        let t = page
            .tagged
            .iter()
            .find(|t| t.id == id)
            .expect("a tagged post");
        let value = json!({
            "post_id": t.id,
            "sender_name": t.from.name,
            "item": "post",
            "sender_id": t.from.id,
            "verb": "add",
            "message": t.message,
            "created_time": t.created_time.as_second(),
        });
        let entry = json!({
            "id": page.page_id,
            "time": t.created_time.as_second(),
            "changes": [{ "field": "mention", "value": value }],
        });
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("page", vec![entry]))
    }

    /// The `messages` webhook Meta sends for the message `mid`.
    pub fn message_webhook(&self, mid: &str, app_secret: &str) -> Delivery {
        let page = self.page.lock().unwrap();
        let m = page.messages.get(mid).expect("a message");
        let entry = page.messages.webhook_entry(&page.page_id, &m);
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("page", vec![entry]))
    }
}

async fn create_on_edge(
    State(page): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &body);
    if let Err(refused) = page.lock().unwrap().auth.check(&headers, &params) {
        return refused.into_response();
    }
    let page_id = page.lock().unwrap().page_id.clone();
    match edge.as_str() {
        "subscribed_apps" if node == page_id => {
            let fields = params
                .get("subscribed_fields")
                .unwrap_or_default()
                .to_owned();
            page.lock().unwrap().subscribed_apps.push(fields);
            meta_inbox::success()
        }
        "comments" => comment(&page, &node, &params),
        "likes" => like(&page, &node),
        "messages" if node == page_id => {
            let mut page = page.lock().unwrap();
            let now = page.now();
            let comments = page.comments.clone();
            page.messages.send(&params, now, |id| {
                comments
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.from.clone())
            })
        }
        _ if node != page_id => graph::no_such_object(&node),
        "feed" => feed(&page, &params),
        "photos" => photo(&page, &params).await,
        "videos" => video(&page, &params).await,
        _ => graph::unknown_path(),
    }
}

fn feed(page: &Shared, params: &Params) -> Response {
    let mut page = page.lock().unwrap();
    let message = params.get("message").unwrap_or("").to_owned();
    let mut attached = Vec::new();
    for i in 0.. {
        let Some(raw) = params.get(&format!("attached_media[{i}]")) else {
            break;
        };
        let Some(fbid) = serde_json::from_str::<Value>(raw)
            .ok()
            .and_then(|v| v["media_fbid"].as_str().map(str::to_owned))
        else {
            return graph::error(
                400,
                100,
                None,
                "(#100) param attached_media must be an array of objects with media_fbid",
            );
        };
        if !page.photos.iter().any(|p| p.id == fbid && !p.published) {
            return graph::error(
                400,
                100,
                None,
                &format!("(#100) media_fbid {fbid} is not an unpublished photo of this page"),
            );
        }
        attached.push(fbid);
    }
    if message.trim().is_empty() && attached.is_empty() && params.get("link").is_none() {
        return graph::error(400, 100, None, "(#100) Missing message or attachment");
    }
    match page.add_post(&message, attached.clone(), None) {
        Ok(id) => {
            for photo in page.photos.iter_mut().filter(|p| attached.contains(&p.id)) {
                photo.published = true;
            }
            graph::ok(json!({ "id": id }))
        }
        Err(refused) => refused.into_response(),
    }
}

async fn photo(page: &Shared, params: &Params) -> Response {
    let Some(url) = params.get("url").map(str::to_owned) else {
        return graph::error(400, 324, None, "(#324) Requires upload file");
    };
    let fetched = graph::fetch(&url).await;
    let mut page = page.lock().unwrap();
    page.fetched.push(url.clone());
    if let Err(why) = fetched {
        return graph::error(
            400,
            324,
            None,
            &format!("(#324) Missing or invalid image file ({why})"),
        );
    }
    let photo_id = format!("{}", 500_000_000 + page.next_id());
    let published = params.get("published") != Some("false");
    page.photos.push(FbPhoto {
        id: photo_id.clone(),
        url,
        alt_text: params.get("alt_text_custom").map(str::to_owned),
        published,
    });
    if !published {
        return graph::ok(json!({ "id": photo_id }));
    }
    let caption = params
        .get("caption")
        .or(params.get("message"))
        .unwrap_or("")
        .to_owned();
    match page.add_post(&caption, vec![photo_id.clone()], None) {
        Ok(post_id) => graph::ok(json!({ "id": photo_id, "post_id": post_id })),
        Err(refused) => {
            page.photos.retain(|p| p.id != photo_id);
            refused.into_response()
        }
    }
}

async fn video(page: &Shared, params: &Params) -> Response {
    let Some(url) = params.get("file_url").map(str::to_owned) else {
        return graph::error(
            400,
            100,
            None,
            "(#100) A video file or file_url is required",
        );
    };
    let fetched = graph::fetch(&url).await;
    let mut page = page.lock().unwrap();
    page.fetched.push(url);
    if fetched.is_err() {
        return graph::error(400, 389, None, "Unable to fetch video file from URL.");
    }
    let video_id = format!("{}", 700_000_000 + page.next_id());
    let description = params.get("description").unwrap_or("").to_owned();
    match page.add_post(&description, Vec::new(), Some(video_id.clone())) {
        Ok(_) => graph::ok(json!({ "id": video_id })),
        Err(refused) => refused.into_response(),
    }
}

/// The page comments under a post (its own, or one that tags the page) or in a comment's thread
/// (a reply to a reply joins the thread of the comment it is in, as on Facebook).
fn comment(page: &Shared, object: &str, params: &Params) -> Response {
    let mut page = page.lock().unwrap();
    if page.refuse_comments {
        return graph::error(403, 200, None, "(#200) Permissions error");
    }
    let Some(message) = params.get("message").map(str::to_owned) else {
        return graph::error(400, 100, None, "(#100) Missing message");
    };
    let (post, parent) = if page.posts.iter().any(|p| p.id == object)
        || page.tagged.iter().any(|t| t.id == object)
    {
        (object.to_owned(), None)
    } else if let Some(c) = page.comments.iter().find(|c| c.id == object && !c.deleted) {
        (
            c.post_id.clone(),
            Some(c.parent.clone().unwrap_or(c.id.clone())),
        )
    } else {
        return graph::no_such_object(object);
    };
    let id = format!("{post}_{}", page.next_id());
    let created_time = page.now();
    page.comments.push(FbComment {
        id: id.clone(),
        post_id: post,
        message,
        parent,
        from: None,
        created_time,
        hidden: false,
        liked: false,
        deleted: false,
    });
    graph::ok(json!({ "id": id }))
}

fn like(page: &Shared, object: &str) -> Response {
    let mut page = page.lock().unwrap();
    match page
        .comments
        .iter_mut()
        .find(|c| c.id == object && !c.deleted)
    {
        Some(c) => {
            c.liked = true;
            meta_inbox::success()
        }
        None => graph::no_such_object(object),
    }
}

/// `POST /{comment-id}` with `is_hidden`.
async fn update_node(
    State(page): State<Shared>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &body);
    let mut page = page.lock().unwrap();
    if let Err(refused) = page.auth.check(&headers, &params) {
        return refused.into_response();
    }
    let Some(c) = page
        .comments
        .iter_mut()
        .find(|c| c.id == node && !c.deleted)
    else {
        return graph::no_such_object(&node);
    };
    match params.get("is_hidden") {
        Some(flag) => {
            c.hidden = flag == "true";
            meta_inbox::success()
        }
        None => graph::error(400, 100, None, "(#100) Nothing to update"),
    }
}

/// `DELETE /{comment-id}`.
async fn delete_node(
    State(page): State<Shared>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let mut page = page.lock().unwrap();
    if let Err(refused) = page.auth.check(&headers, &params) {
        return refused.into_response();
    }
    match page
        .comments
        .iter_mut()
        .find(|c| c.id == node && !c.deleted)
    {
        Some(c) => {
            c.deleted = true;
            meta_inbox::success()
        }
        None => graph::no_such_object(&node),
    }
}

impl Page {
    fn comment_json(&self, c: &FbComment) -> Value {
        let from = match &c.from {
            Some(p) => json!({ "id": p.id, "name": p.name }),
            None => json!({ "id": self.page_id, "name": "Test page" }),
        };
        let mut out = json!({
            "id": c.id,
            "message": c.message,
            "from": from,
            "created_time": graph::time(c.created_time),
            "permalink_url": format!("https://www.facebook.com/{}", c.id),
            "is_hidden": c.hidden,
        });
        if let Some(parent) = &c.parent {
            out["parent"] = json!({ "id": parent, "message": "" });
        }
        out
    }

    /// `GET /{object-id}/comments`: under a post, the top-level comments (every level with
    /// `filter=stream`); under a comment, its thread.
    fn list_comments(&self, node: &str, params: &Params) -> Response {
        let on_post =
            self.posts.iter().any(|p| p.id == node) || self.tagged.iter().any(|t| t.id == node);
        let on_comment = self.comments.iter().any(|c| c.id == node);
        if !on_post && !on_comment {
            return graph::no_such_object(node);
        }
        let stream = params.get("filter") == Some("stream");
        let fields = params.fields();
        let items = self
            .comments
            .iter()
            .filter(|c| !c.deleted)
            .filter(|c| {
                if on_post {
                    c.post_id == node && (stream || c.parent.is_none())
                } else {
                    c.parent.as_deref() == Some(node)
                }
            })
            .map(|c| {
                (
                    c.created_time,
                    graph::select(&self.comment_json(c), &fields),
                )
            })
            .collect();
        let url = format!("{}/{node}/comments", self.base);
        graph::ok(graph::page(items, params, &url))
    }

    fn list_tagged(&self, params: &Params) -> Response {
        let fields = params.fields();
        let items = self
            .tagged
            .iter()
            .map(|t| {
                let full = json!({
                    "id": t.id,
                    "message": t.message,
                    "from": { "id": t.from.id, "name": t.from.name },
                    "created_time": graph::time(t.created_time),
                    "permalink_url": format!("https://www.facebook.com/{}", t.id),
                });
                (t.created_time, graph::select(&full, &fields))
            })
            .collect();
        let url = format!("{}/{}/tagged", self.base, self.page_id);
        graph::ok(graph::page(items, params, &url))
    }
}

async fn read_edge(
    State(page): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let page = page.lock().unwrap();
    if let Err(refused) = page.auth.check(&headers, &params) {
        return refused.into_response();
    }
    if edge == "insights" {
        return insights(&page, &node, &params);
    }
    if edge == "comments" {
        return page.list_comments(&node, &params);
    }
    if node != page.page_id {
        return graph::no_such_object(&node);
    }
    match edge.as_str() {
        "tagged" => return page.list_tagged(&params),
        "conversations" if params.get("platform") == Some("messenger") => {
            let url = format!("{}/{node}/conversations", page.base);
            return page.messages.conversations(&params, &url);
        }
        "conversations" => {
            return graph::error(
                400,
                100,
                None,
                "(#100) platform must be messenger or instagram",
            );
        }
        _ => {}
    }
    if edge != "posts" && edge != "feed" {
        return graph::unknown_path();
    }
    let fields = params.fields();
    let items = page
        .posts
        .iter()
        .map(|p| {
            let full = json!({
                "id": p.id,
                "message": p.message,
                "created_time": graph::time(p.created_time),
            });
            (p.created_time, graph::select(&full, &fields))
        })
        .collect();
    let url = format!("{}/{node}/{edge}", page.base);
    graph::ok(graph::page(items, &params, &url))
}

impl Page {
    /// A page post by id, or a video by the id `/videos` answered with.
    fn object(&self, id: &str) -> Option<&FbPost> {
        self.posts
            .iter()
            .find(|p| p.id == id || p.video.as_deref() == Some(id))
    }
}

/// A field as Graph reads it: `reactions.limit(0).summary(total_count)` is the `reactions` edge.
fn field_name(field: &str) -> &str {
    field.split(['.', '{']).next().unwrap_or(field)
}

/// The page's fields, or a post's (or video's) engagement: `reactions` and `comments` summaries,
/// and on a post `shares`, left out while nobody has shared it (as Graph does).
async fn read_node(
    State(page): State<Shared>,
    Path(node): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let page = page.lock().unwrap();
    if let Err(refused) = page.auth.check(&headers, &params) {
        return refused.into_response();
    }
    let fields = params.fields();
    if node == page.page_id {
        let mut out = json!({ "id": page.page_id });
        for field in &fields {
            let value = match field.as_str() {
                "followers_count" => page.followers_count,
                "fan_count" => page.fan_count,
                "name" => {
                    out["name"] = json!("Test page");
                    continue;
                }
                other => {
                    return graph::error(
                        400,
                        100,
                        None,
                        &format!(
                            "(#100) Tried accessing nonexisting field ({other}) on node type (Page)"
                        ),
                    );
                }
            };
            if let Some(value) = value {
                out[field.as_str()] = json!(value);
            }
        }
        return graph::ok(out);
    }
    let Some(post) = page.object(&node) else {
        return graph::no_such_object(&node);
    };
    let is_video = post.video.as_deref() == Some(node.as_str());
    let stats = page.stats.get(&node).copied().unwrap_or_default();
    let mut out = json!({ "id": node });
    for field in &fields {
        match field_name(field) {
            "reactions" => {
                out["reactions"] = json!({
                    "data": [],
                    "summary": { "total_count": stats.reactions, "viewer_reaction": "NONE" },
                });
            }
            "comments" => {
                out["comments"] = json!({
                    "data": [],
                    "summary": { "order": "ranked", "total_count": stats.comments, "can_comment": true },
                });
            }
            "shares" if !is_video => {
                if stats.shares > 0 {
                    out["shares"] = json!({ "count": stats.shares });
                }
            }
            "message" if !is_video => out["message"] = json!(post.message),
            "created_time" => out["created_time"] = json!(graph::time(post.created_time)),
            other => {
                let kind = if is_video { "Video" } else { "Post" };
                return graph::error(
                    400,
                    100,
                    None,
                    &format!(
                        "(#100) Tried accessing nonexisting field ({other}) on node type ({kind})"
                    ),
                );
            }
        }
    }
    graph::ok(out)
}

/// `GET /{post-id}/insights?metric=post_impressions,post_clicks`: lifetime values, or an empty
/// `data` while insights are not ready.
fn insights(page: &Page, node: &str, params: &Params) -> Response {
    if !page.posts.iter().any(|p| p.id == node) {
        return graph::no_such_object(node);
    }
    let metrics: Vec<&str> = params
        .get("metric")
        .map(|m| m.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if let Some(bad) = metrics
        .iter()
        .find(|m| !POST_INSIGHTS.contains(m) || page.retired_metrics.iter().any(|r| r == *m))
    {
        return graph::error(
            400,
            100,
            None,
            &format!("(#100) The value must be a valid insights metric ({bad})"),
        );
    }
    let stats = page.stats.get(node).copied().unwrap_or_default();
    let data: Vec<Value> = if page.insights_ready {
        metrics
            .iter()
            .map(|m| {
                let value = if *m == "post_impressions" {
                    stats.impressions
                } else {
                    stats.clicks
                };
                json!({
                    "name": m,
                    "period": "lifetime",
                    "values": [{ "value": value }],
                    "title": format!("Lifetime {m}"),
                    "description": format!("Lifetime: {m}"),
                    "id": format!("{node}/insights/{m}/lifetime"),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    graph::ok(json!({ "data": data }))
}

/// `DELETE /{page}/subscribed_apps`: the app stops receiving the page's webhooks.
async fn delete_on_edge(
    State(page): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let mut page = page.lock().unwrap();
    if let Err(refused) = page.auth.check(&headers, &params) {
        return refused.into_response();
    }
    if edge != "subscribed_apps" || node != page.page_id {
        return graph::unknown_path();
    }
    page.subscribed_apps.push("-".into());
    meta_inbox::success()
}
