//! A fake Instagram Graph API for one professional account (media containers fetched by URL,
//! media_publish, comments, token refresh, media insights, the account's follower count), plus
//! [`containers`]: the container and insights engine it shares with the Threads fake, since Threads
//! publishes (and counts) the same way.
//!
//! "Connect" has two logins ([`meta_login`](super::meta_login)):
//! - Instagram Login, on the public field [`FakeInstagram::oauth`] (a test registers its
//!   Instagram app with `instagram.oauth.register_client(id, secret, redirect_uri)`):
//!   `GET`/`POST /oauth/authorize` (a refusal redirects with `error=access_denied
//!   &error_reason=user_denied&error_description=The+user+denied+your+request.`, an approval's
//!   redirect ends in `#_`), `POST /oauth/access_token` (`{"data":[{"access_token","user_id",
//!   "permissions"}]}`, `user_id` being [`APP_SCOPED_ID`]; errors `{"error_type":
//!   "OAuthException","code":400,"error_message":..}`), `GET /access_token?grant_type=
//!   ig_exchange_token` (a long-lived token the API and `/refresh_access_token` accept), and
//!   `GET /v21.0/me?fields=user_id,username,name,profile_picture_url,account_type`: `id` is
//!   [`APP_SCOPED_ID`], `user_id` the professional account id the content API uses
//!   ([`FakeInstagram::user_id`]).
//! - Facebook Login for Pages, on the public field [`FakeInstagram::facebook_login`] (its own
//!   apps): `/me/accounts` lists [`PAGE_ID`] with `instagram_business_account` this account, and
//!   a page token this fake's API accepts.

use std::ops::Deref;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, Method};
use axum::routing::get;
use serde_json::{Value, json};

use super::consent::Dialog;
use super::facebook::graph::{self, Params, Refusal};
use super::meta_inbox::{self, Delivery, Dm, Person};
use super::meta_login::{
    FacebookLogin, LinkedInstagram, ListedPage, LongLivedFlavor, LongLivedLogin,
};
use super::{FakeServer, Fault};
use containers::{Comment, Engine, Flavor, Kind, Mentioned};

/// The id Instagram Login's code exchange answers as `user_id`, and `/me` as `id` (the app-scoped
/// id, which is not the professional account id the content API takes).
pub const APP_SCOPED_ID: &str = "8012345678901234";
/// The account's username, name and picture.
pub const USERNAME: &str = "test";
pub const NAME: &str = "Test";
pub const PROFILE_PICTURE_URL: &str = "https://scontent.cdninstagram.com/v/t51/test_profile.jpg";
/// The Facebook page the account is linked to, as Facebook Login lists it.
pub const PAGE_ID: &str = "104000000000002";

static INSTAGRAM_LOGIN: Dialog = Dialog {
    network: "Instagram",
    scope_separator: ',',
    pkce_required: false,
    scopes: None,
    deny: &[
        ("error", "access_denied"),
        ("error_reason", "user_denied"),
        ("error_description", "The user denied your request."),
    ],
    fragment: Some("_"),
};

static INSTAGRAM_TOKENS: LongLivedFlavor = LongLivedFlavor {
    dialog: &INSTAGRAM_LOGIN,
    exchange_grant: "ig_exchange_token",
    short_prefix: "IGAAShort",
    long_prefix: "IGAALong",
    instagram: true,
};

/// Containers: created from a media URL (fetched at once, as Meta does), IN_PROGRESS for a number
/// of polls, then FINISHED (or ERROR with the reason when the fetch failed), then published; and
/// the published media's insights.
pub mod containers {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::{Path, RawQuery, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use jiff::Timestamp;
    use serde_json::{Value, json};

    use crate::fakes::facebook::graph::{self, Auth, Params, Refusal};
    use crate::fakes::meta_inbox::{Messages, Naming, Person};

    /// What a container holds, read from a network's own parameters.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Kind {
        Text,
        Image { url: String },
        Video { url: String },
        Carousel { children: Vec<String> },
    }

    /// What differs between Instagram and Threads.
    pub struct Flavor {
        pub version: &'static str,
        pub create_edge: &'static str,
        pub publish_edge: &'static str,
        pub text_param: &'static str,
        pub status_field: &'static str,
        pub reason_field: &'static str,
        pub grant_type: &'static str,
        pub max_children: usize,
        pub permalink_prefix: &'static str,
        /// Reads a create call's parameters as the network documents them.
        pub kind: fn(&Params) -> Result<(Kind, &'static str), Refusal>,
        /// The media insights metrics the network documents; asking for another is refused (100).
        pub media_metrics: &'static [&'static str],
        /// Where the account's followers are read: an insights edge (Threads' `threads_insights`),
        /// or `None` for a `followers_count` field on the account (Instagram).
        pub user_insights_edge: Option<&'static str>,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Container {
        pub id: String,
        pub kind: Kind,
        /// The `media_type` as the network names it (IMAGE, REELS, VIDEO, CAROUSEL, TEXT).
        pub media_type: String,
        pub text: String,
        pub alt_text: Option<String>,
        pub carousel_item: bool,
        pub reply_to: Option<String>,
        pub status: String,
        pub polls_left: u32,
        /// Why processing failed (the media could not be fetched).
        pub error: Option<String>,
    }

    /// A published post (or Threads reply).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Media {
        pub id: String,
        pub container_id: String,
        pub media_type: String,
        pub text: String,
        pub timestamp: Timestamp,
        pub permalink: String,
        pub reply_to: Option<String>,
        /// The URLs of the media it shows (the carousel's items for a carousel).
        pub media_urls: Vec<String>,
        /// Who made it; `None`: the account (a Threads reply or mention by someone else).
        pub author: Option<Person>,
        /// A post by someone else that mentions the account (Threads).
        pub mention: bool,
        pub hidden: bool,
        pub deleted: bool,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Comment {
        pub id: String,
        pub media_id: String,
        pub message: String,
        /// The top-level comment it replies to, if any.
        pub parent: Option<String>,
        /// Who wrote it; `None`: the account.
        pub from: Option<Person>,
        pub timestamp: Timestamp,
        pub hidden: bool,
        pub deleted: bool,
    }

    /// A comment on someone else's media that @mentions the account (Instagram), read only
    /// through the account's `mentioned_comment` field.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Mentioned {
        pub comment_id: String,
        pub media_id: String,
        pub from: Person,
        pub text: String,
        pub timestamp: Timestamp,
    }

    #[derive(Debug, Default)]
    pub struct Store {
        pub auth: Auth,
        pub base: String,
        pub user_id: String,
        pub now: Option<Timestamp>,
        pub polls_before_finished: u32,
        /// Publishes, then answers code 4 / subcode 2207051 (Instagram's misleading rate limit).
        pub limit_after_publish: usize,
        pub refresh_answers_empty: bool,
        pub refuse_comments: bool,
        /// Containers with `reply_to_id` are refused (the account may not reply there).
        pub refuse_replies: bool,
        pub containers: Vec<Container>,
        pub media: Vec<Media>,
        pub comments: Vec<Comment>,
        pub fetched: Vec<String>,
        /// The grant types of every token refresh.
        pub refreshes: Vec<String>,
        /// Lifetime insights of each published media, by metric (a metric not set is 0).
        pub insights: HashMap<String, HashMap<String, u64>>,
        /// While false, media insights answer an empty `data`, as Meta does until they are ready.
        pub insights_ready: bool,
        /// The account's followers; `None`: not reported (field left out, or empty insights).
        pub followers: Option<u64>,
        /// The account's direct messages (Instagram).
        pub messages: Messages,
        pub mentioned: Vec<Mentioned>,
        next_id: u64,
    }

    impl Store {
        pub fn next_id(&mut self) -> String {
            self.next_id += 1;
            format!("{}", 17_900_000_000_000_000u64 + self.next_id)
        }

        pub fn now(&self) -> Timestamp {
            self.now.unwrap_or_else(Timestamp::now)
        }

        fn media_urls(&self, container: &Container) -> Vec<String> {
            match &container.kind {
                Kind::Image { url } | Kind::Video { url } => vec![url.clone()],
                Kind::Text => Vec::new(),
                Kind::Carousel { children } => children
                    .iter()
                    .filter_map(|c| self.containers.iter().find(|x| &x.id == c))
                    .flat_map(|c| self.media_urls(c))
                    .collect(),
            }
        }
    }

    /// One fake account: its flavor and its state; cheap to clone.
    #[derive(Clone)]
    pub struct Engine {
        pub flavor: &'static Flavor,
        pub store: Arc<Mutex<Store>>,
    }

    impl Engine {
        pub fn new(flavor: &'static Flavor, user_id: &str, token: &str) -> Self {
            Self {
                flavor,
                store: Arc::new(Mutex::new(Store {
                    auth: Auth::new(token),
                    user_id: user_id.to_owned(),
                    polls_before_finished: 1,
                    messages: Messages::new(user_id, "test", Naming::Username),
                    insights_ready: true,
                    ..Store::default()
                })),
            }
        }

        pub fn router(&self) -> Router {
            let v = self.flavor.version;
            Router::new()
                .route("/refresh_access_token", get(refresh))
                .route(
                    &format!("/{v}/{{node}}"),
                    get(read_node)
                        .post(community::update_node)
                        .delete(community::delete_node),
                )
                .route(
                    &format!("/{v}/{{node}}/{{edge}}"),
                    get(read_edge).post(create_on_edge),
                )
                .fallback(|| async { graph::unknown_path() })
                .with_state(self.clone())
        }

        pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
            self.store.lock().unwrap()
        }

        /// Published posts, oldest first (Threads replies included; see [`Media::reply_to`]).
        pub fn posts(&self) -> Vec<Media> {
            self.store().media.clone()
        }

        pub fn count_with_text(&self, text: &str) -> usize {
            self.posts().iter().filter(|m| m.text == text).count()
        }

        pub fn containers(&self) -> Vec<Container> {
            self.store().containers.clone()
        }

        pub fn comments(&self) -> Vec<Comment> {
            self.store().comments.clone()
        }

        /// Every media URL the fake fetched, in order.
        pub fn fetched(&self) -> Vec<String> {
            self.store().fetched.clone()
        }

        /// The grant types of the token refreshes made.
        pub fn refreshes(&self) -> Vec<String> {
            self.store().refreshes.clone()
        }

        /// The tokens the fake accepts (the first one, then every refreshed one).
        pub fn valid_tokens(&self) -> Vec<String> {
            self.store().auth.valid.clone()
        }

        /// Containers stay IN_PROGRESS for this many status polls.
        pub fn set_processing_polls(&self, polls: u32) {
            self.store().polls_before_finished = polls;
        }

        pub fn expire_token(&self) {
            self.store().auth.expired = true;
        }

        pub fn answer_refresh_with_empty_token(&self) {
            self.store().refresh_answers_empty = true;
        }

        pub fn refuse_comments(&self) {
            self.store().refuse_comments = true;
        }

        pub fn refuse_replies(&self) {
            self.store().refuse_replies = true;
        }

        /// The next `times` publishes make the post, then answer with code 4, subcode 2207051.
        pub fn rate_limit_after_publish(&self, times: usize) {
            self.store().limit_after_publish = times;
        }

        pub fn set_now(&self, now: Timestamp) {
            self.store().now = Some(now);
        }

        /// The path of a node (or one of its edges, when `edge` is not empty), for injecting faults.
        pub fn node_path(&self, node: &str, edge: &str) -> String {
            match edge {
                "" => format!("/{}/{node}", self.flavor.version),
                edge => format!("/{}/{node}/{edge}", self.flavor.version),
            }
        }

        /// Sets these lifetime insights of a published media (by metric name, e.g. `("likes", 4)`);
        /// metrics not named keep their value (0 if never set).
        pub fn set_post_stats(&self, media_id: &str, stats: &[(&str, u64)]) {
            let mut store = self.store();
            let insights = store.insights.entry(media_id.to_owned()).or_default();
            for (metric, value) in stats {
                insights.insert((*metric).to_owned(), *value);
            }
        }

        /// While `false`, media insights answer `{"data": []}` (not yet available).
        pub fn set_insights_ready(&self, ready: bool) {
            self.store().insights_ready = ready;
        }

        /// The account's follower count; `None` leaves it unreported.
        pub fn set_followers(&self, followers: Option<u64>) {
            self.store().followers = followers;
        }

        /// A post the account published (as if through the API); its id.
        pub fn add_post(&self, text: &str) -> String {
            self.add_media(text, None, None, false)
        }

        /// A post or reply by `author` (`None`: the account) under `reply_to`.
        pub(crate) fn add_media(
            &self,
            text: &str,
            reply_to: Option<&str>,
            author: Option<&Person>,
            mention: bool,
        ) -> String {
            let mut store = self.store();
            let id = store.next_id();
            let timestamp = store.now();
            let username = author.map_or("test", |a| a.username.as_str());
            let permalink = match self.flavor.create_edge {
                "threads" => format!("https://www.threads.net/@{username}/post/{id}"),
                _ => format!("{}{id}/", self.flavor.permalink_prefix),
            };
            store.media.push(Media {
                id: id.clone(),
                container_id: String::new(),
                media_type: if self.flavor.create_edge == "threads" {
                    "TEXT_POST".into()
                } else {
                    "IMAGE".into()
                },
                text: text.to_owned(),
                timestamp,
                permalink,
                reply_to: reply_to.map(str::to_owned),
                media_urls: Vec::new(),
                author: author.cloned(),
                mention,
                hidden: false,
                deleted: false,
            });
            id
        }

        /// A published media (or Threads post or reply) by id, with its moderation state.
        pub fn media(&self, id: &str) -> Option<Media> {
            self.store().media.iter().find(|m| m.id == id).cloned()
        }
    }

    async fn create_on_edge(
        State(engine): State<Engine>,
        Path((node, edge)): Path<(String, String)>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let params = Params::parse(query.as_deref(), &headers, &body);
        let user_id = {
            let store = engine.store();
            if let Err(refused) = store.auth.check(&headers, &params) {
                return refused.into_response();
            }
            store.user_id.clone()
        };
        let flavor = engine.flavor;
        if let Some(answer) = community::create(&engine, &node, &edge, &params, &user_id) {
            return answer;
        }
        match edge.as_str() {
            "comments" => comment(&engine, &node, &params),
            _ if node != user_id => graph::no_such_object(&node),
            e if e == flavor.create_edge => create(&engine, &params).await,
            e if e == flavor.publish_edge => publish(&engine, &params),
            _ => graph::unknown_path(),
        }
    }

    async fn create(engine: &Engine, params: &Params) -> Response {
        let flavor = engine.flavor;
        let (kind, media_type) = match (flavor.kind)(params) {
            Ok(k) => k,
            Err(refused) => return refused.into_response(),
        };
        let carousel_item = params.flag("is_carousel_item");
        let error = match &kind {
            Kind::Image { url } | Kind::Video { url } => {
                let fetched = graph::fetch(url).await;
                engine.store().fetched.push(url.clone());
                fetched.err().map(|why| {
                    format!(
                        "Error: Media download has failed. The media URI doesn't meet our requirements ({why})."
                    )
                })
            }
            _ => None,
        };
        let mut store = engine.store();
        if let Kind::Carousel { children } = &kind {
            if !(2..=flavor.max_children).contains(&children.len()) {
                return graph::error(
                    400,
                    100,
                    None,
                    &format!(
                        "(#100) A carousel takes 2 to {} items; it has {}",
                        flavor.max_children,
                        children.len()
                    ),
                );
            }
            for child in children {
                match store.containers.iter().find(|c| &c.id == child) {
                    Some(c) if c.carousel_item && c.status == "FINISHED" => {}
                    Some(c) if c.carousel_item => {
                        return graph::error(
                            400,
                            9007,
                            Some(2_207_027),
                            &format!("The carousel item {} is not ready ({})", c.id, c.status),
                        );
                    }
                    _ => {
                        return graph::error(
                            400,
                            100,
                            None,
                            &format!("(#100) {child} is not a carousel item container"),
                        );
                    }
                }
            }
        }
        let reply_to = params.get("reply_to_id").map(str::to_owned);
        if let Some(parent) = &reply_to {
            if store.refuse_replies {
                return graph::error(
                    400,
                    10,
                    None,
                    "(#10) Application does not have permission for this action",
                );
            }
            if !store.media.iter().any(|m| &m.id == parent) {
                return graph::no_such_object(parent);
            }
        }
        let id = store.next_id();
        let polls_left = match kind {
            Kind::Carousel { .. } => 0,
            _ => store.polls_before_finished,
        };
        store.containers.push(Container {
            id: id.clone(),
            kind,
            media_type: media_type.to_owned(),
            text: params.get(flavor.text_param).unwrap_or("").to_owned(),
            alt_text: params.get("alt_text").map(str::to_owned),
            carousel_item,
            reply_to,
            status: "IN_PROGRESS".into(),
            polls_left,
            error,
        });
        graph::ok(json!({ "id": id }))
    }

    fn publish(engine: &Engine, params: &Params) -> Response {
        let flavor = engine.flavor;
        let mut store = engine.store();
        let Some(creation_id) = params.get("creation_id").map(str::to_owned) else {
            return graph::error(
                400,
                100,
                None,
                "(#100) The parameter creation_id is required",
            );
        };
        let Some(container) = store
            .containers
            .iter()
            .find(|c| c.id == creation_id)
            .cloned()
        else {
            return graph::no_such_object(&creation_id);
        };
        if container.carousel_item {
            return graph::error(
                400,
                100,
                None,
                "(#100) A carousel item cannot be published alone",
            );
        }
        match container.status.as_str() {
            "FINISHED" => {}
            "PUBLISHED" => {
                return graph::error(400, 100, None, "(#100) The container was already published");
            }
            _ => {
                return graph::error(
                    400,
                    9007,
                    Some(2_207_027),
                    "The media is not ready for publishing, please wait for a moment",
                );
            }
        }
        let id = store.next_id();
        let media = Media {
            id: id.clone(),
            container_id: container.id.clone(),
            media_type: container.media_type.clone(),
            text: container.text.clone(),
            timestamp: store.now(),
            permalink: format!("{}{id}/", flavor.permalink_prefix),
            reply_to: container.reply_to.clone(),
            media_urls: store.media_urls(&container),
            author: None,
            mention: false,
            hidden: false,
            deleted: false,
        };
        store.media.push(media);
        if let Some(c) = store.containers.iter_mut().find(|c| c.id == creation_id) {
            c.status = "PUBLISHED".into();
        }
        if store.limit_after_publish > 0 {
            store.limit_after_publish -= 1;
            return graph::error(400, 4, Some(2_207_051), "Application request limit reached");
        }
        graph::ok(json!({ "id": id }))
    }

    fn comment(engine: &Engine, media_id: &str, params: &Params) -> Response {
        let mut store = engine.store();
        if store.refuse_comments {
            return graph::error(403, 200, None, "(#200) Permissions error");
        }
        if !store.media.iter().any(|m| m.id == media_id) {
            return graph::no_such_object(media_id);
        }
        let Some(message) = params.get("message").map(str::to_owned) else {
            return graph::error(400, 100, None, "(#100) The parameter message is required");
        };
        let id = store.next_id();
        let timestamp = store.now();
        store.comments.push(Comment {
            id: id.clone(),
            media_id: media_id.to_owned(),
            message,
            parent: None,
            from: None,
            timestamp,
            hidden: false,
            deleted: false,
        });
        graph::ok(json!({ "id": id }))
    }

    /// A container's status (each poll brings processing one step nearer its end) or a post's fields.
    async fn read_node(
        State(engine): State<Engine>,
        Path(node): Path<String>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let flavor = engine.flavor;
        let params = Params::parse(query.as_deref(), &headers, &[]);
        let mut store = engine.store();
        if let Err(refused) = store.auth.check(&headers, &params) {
            return refused.into_response();
        }
        let fields = params.fields();
        if let Some(c) = store.containers.iter_mut().find(|c| c.id == node) {
            if c.status == "IN_PROGRESS" {
                if c.polls_left > 0 {
                    c.polls_left -= 1;
                } else if c.error.is_some() {
                    c.status = "ERROR".into();
                } else {
                    c.status = "FINISHED".into();
                }
            }
            let mut full = json!({ "id": c.id, flavor.status_field: c.status });
            if let Some(error) = &c.error
                && c.status == "ERROR"
            {
                full[flavor.reason_field] = json!(error);
            }
            return graph::ok(graph::select(&full, &fields));
        }
        if node == store.user_id {
            if let Some(answer) = community::mentioned(&store, &params) {
                return answer;
            }
            return graph::ok(graph::select(&account_json(flavor, &store), &fields));
        }
        match store.media.iter().find(|m| m.id == node) {
            Some(m) => graph::ok(graph::select(&media_json(flavor, m), &fields)),
            None => graph::no_such_object(&node),
        }
    }

    /// The account's own fields; Instagram's carry `followers_count` (left out when unreported).
    fn account_json(flavor: &Flavor, store: &Store) -> Value {
        let mut account = json!({
            "id": store.user_id,
            "username": "test",
            "media_count": store.media.iter().filter(|m| m.reply_to.is_none() && m.author.is_none()).count(),
        });
        if let (None, Some(followers)) = (flavor.user_insights_edge, store.followers) {
            account["followers_count"] = json!(followers);
        }
        account
    }

    fn requested_metrics(params: &Params) -> Vec<String> {
        params
            .get("metric")
            .map(|m| m.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    }

    fn unsupported_metric(metric: &str, supported: &[&str]) -> Response {
        graph::error(
            400,
            100,
            None,
            &format!(
                "(#100) metric {metric} must be one of the following values: {}",
                supported.join(", ")
            ),
        )
    }

    /// `GET /{media-id}/insights?metric=..`: one lifetime value per metric asked for, or an empty
    /// `data` while insights are not ready.
    fn media_insights(flavor: &Flavor, store: &Store, node: &str, params: &Params) -> Response {
        if !store.media.iter().any(|m| m.id == node) {
            return graph::no_such_object(node);
        }
        let metrics = requested_metrics(params);
        if metrics.is_empty() {
            return graph::error(400, 100, None, "(#100) The parameter metric is required");
        }
        if let Some(bad) = metrics
            .iter()
            .find(|m| !flavor.media_metrics.contains(&m.as_str()))
        {
            return unsupported_metric(bad, flavor.media_metrics);
        }
        if !store.insights_ready {
            return graph::ok(json!({ "data": [] }));
        }
        let set = store.insights.get(node);
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| {
                let value = set.and_then(|s| s.get(m)).copied().unwrap_or(0);
                json!({
                    "name": m,
                    "period": "lifetime",
                    "values": [{ "value": value }],
                    "title": m,
                    "description": format!("The lifetime {m} of the media."),
                    "id": format!("{node}/insights/{m}/lifetime"),
                })
            })
            .collect();
        graph::ok(json!({ "data": data }))
    }

    /// Threads' `GET /{user-id}/threads_insights?metric=followers_count`: a `total_value`, or an
    /// empty `data` when the count is not reported.
    fn user_insights(store: &Store, params: &Params) -> Response {
        const SUPPORTED: [&str; 1] = ["followers_count"];
        let metrics = requested_metrics(params);
        if let Some(bad) = metrics.iter().find(|m| !SUPPORTED.contains(&m.as_str())) {
            return unsupported_metric(bad, &SUPPORTED);
        }
        let data: Vec<Value> = match store.followers {
            Some(followers) if !metrics.is_empty() => vec![json!({
                "name": "followers_count",
                "period": "day",
                "title": "followers_count",
                "description": "The number of followers of the profile.",
                "total_value": { "value": followers },
                "id": format!("{}/insights/followers_count/day", store.user_id),
            })],
            _ => Vec::new(),
        };
        graph::ok(json!({ "data": data }))
    }

    fn media_json(flavor: &Flavor, m: &Media) -> Value {
        json!({
            "id": m.id,
            flavor.text_param: m.text,
            "timestamp": graph::time(m.timestamp),
            "permalink": m.permalink,
            "media_type": m.media_type,
        })
    }

    /// The account's recent posts (Threads replies are listed elsewhere, so not here).
    async fn read_edge(
        State(engine): State<Engine>,
        Path((node, edge)): Path<(String, String)>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let flavor = engine.flavor;
        let params = Params::parse(query.as_deref(), &headers, &[]);
        let store = engine.store();
        if let Err(refused) = store.auth.check(&headers, &params) {
            return refused.into_response();
        }
        if edge == "insights" {
            return media_insights(flavor, &store, &node, &params);
        }
        if let Some(answer) = community::read(flavor, &store, &node, &edge, &params) {
            return answer;
        }
        if node != store.user_id {
            return graph::no_such_object(&node);
        }
        if flavor.user_insights_edge == Some(edge.as_str()) {
            return user_insights(&store, &params);
        }
        if edge != flavor.create_edge {
            return graph::unknown_path();
        }
        let fields = params.fields();
        let items = store
            .media
            .iter()
            .filter(|m| m.reply_to.is_none() && m.author.is_none() && !m.deleted)
            .map(|m| (m.timestamp, graph::select(&media_json(flavor, m), &fields)))
            .collect();
        let url = format!("{}/{node}/{edge}", store.base);
        graph::ok(graph::page(items, &params, &url))
    }

    /// The inbox on the account: Instagram's comments, replies, mentions and direct messages,
    /// and Threads' replies, conversations and mentions, with their moderation.
    pub mod community {
        use axum::body::Bytes;
        use axum::extract::{Path, RawQuery, State};
        use axum::http::HeaderMap;
        use axum::response::{IntoResponse, Response};
        use serde_json::{Value, json};

        use super::{Comment, Engine, Flavor, Media, Store};
        use crate::fakes::facebook::graph::{self, Params};
        use crate::fakes::meta_inbox;

        fn threads(flavor: &Flavor) -> bool {
            flavor.create_edge == "threads"
        }

        /// Instagram's IG Comment as Graph answers it (with its first replies when top-level).
        fn ig_comment(store: &Store, c: &Comment, with_replies: bool) -> Value {
            let (id, username) = match &c.from {
                Some(p) => (p.id.clone(), p.username.clone()),
                None => (store.user_id.clone(), "test".to_owned()),
            };
            let mut out = json!({
                "id": c.id,
                "text": c.message,
                "timestamp": graph::time(c.timestamp),
                "username": username,
                "from": { "id": id, "username": username },
                "hidden": c.hidden,
                "like_count": 0,
                "media": { "id": c.media_id },
            });
            if let Some(parent) = &c.parent {
                out["parent_id"] = json!(parent);
            }
            if with_replies {
                let mut replies: Vec<&Comment> = store
                    .comments
                    .iter()
                    .filter(|r| !r.deleted && r.parent.as_deref() == Some(c.id.as_str()))
                    .collect();
                replies.sort_by_key(|r| r.timestamp);
                out["replies"] = json!({
                    "data": replies.iter().map(|r| ig_comment(store, r, false)).collect::<Vec<_>>()
                });
            }
            out
        }

        /// A Threads post or reply as the reply and mention endpoints answer it.
        fn threads_media(store: &Store, m: &Media) -> Value {
            let username = m.author.as_ref().map_or("test", |p| p.username.as_str());
            let mut out = json!({
                "id": m.id,
                "text": m.text,
                "username": username,
                "permalink": m.permalink,
                "timestamp": graph::time(m.timestamp),
                "media_type": "TEXT_POST",
                "is_reply_owned_by_me": m.author.is_none(),
                "hide_status": if m.hidden { "HIDDEN" } else { "NOT_HUSHED" },
            });
            if let Some(to) = &m.reply_to {
                out["replied_to"] = json!({ "id": to });
                out["root_post"] = json!({ "id": root_of(store, &m.id) });
                out["is_reply"] = json!(true);
            }
            out
        }

        /// The post a reply's chain starts from.
        pub fn root_of(store: &Store, id: &str) -> String {
            let mut id = id.to_owned();
            for _ in 0..100 {
                match store
                    .media
                    .iter()
                    .find(|m| m.id == id)
                    .and_then(|m| m.reply_to.clone())
                {
                    Some(up) => id = up,
                    None => break,
                }
            }
            id
        }

        fn list(items: Vec<(jiff::Timestamp, Value)>, params: &Params, url: &str) -> Response {
            let fields = params.fields();
            let items = items
                .into_iter()
                .map(|(at, v)| (at, graph::select(&v, &fields)))
                .collect();
            graph::ok(graph::page(items, params, url))
        }

        /// Reads of the inbox's edges; `None`: not one of them.
        pub fn read(
            flavor: &Flavor,
            store: &Store,
            node: &str,
            edge: &str,
            params: &Params,
        ) -> Option<Response> {
            let url = format!("{}/{node}/{edge}", store.base);
            let live = |m: &&Media| !m.deleted;
            if threads(flavor) {
                let answer = match edge {
                    "conversation" | "replies" if node != store.user_id => {
                        if !store.media.iter().any(|m| m.id == node) {
                            return Some(graph::no_such_object(node));
                        }
                        let items = store
                            .media
                            .iter()
                            .filter(live)
                            .filter(|m| match edge {
                                "replies" => m.reply_to.as_deref() == Some(node),
                                _ => m.reply_to.is_some() && root_of(store, &m.id) == node,
                            })
                            .map(|m| (m.timestamp, threads_media(store, m)))
                            .collect();
                        list(items, params, &url)
                    }
                    "mentions" if node == store.user_id => {
                        let items = store
                            .media
                            .iter()
                            .filter(live)
                            .filter(|m| m.mention)
                            .map(|m| (m.timestamp, threads_media(store, m)))
                            .collect();
                        list(items, params, &url)
                    }
                    "replies" if node == store.user_id => {
                        let items = store
                            .media
                            .iter()
                            .filter(live)
                            .filter(|m| m.author.is_none() && m.reply_to.is_some())
                            .map(|m| (m.timestamp, threads_media(store, m)))
                            .collect();
                        list(items, params, &url)
                    }
                    _ => return None,
                };
                return Some(answer);
            }
            let answer = match edge {
                "comments" if node != store.user_id => {
                    if !store.media.iter().any(|m| m.id == node) {
                        return Some(graph::no_such_object(node));
                    }
                    let items = store
                        .comments
                        .iter()
                        .filter(|c| !c.deleted && c.media_id == node && c.parent.is_none())
                        .map(|c| (c.timestamp, ig_comment(store, c, true)))
                        .collect();
                    list(items, params, &url)
                }
                "replies" if node != store.user_id => {
                    let known = store.comments.iter().any(|c| c.id == node)
                        || store.mentioned.iter().any(|m| m.comment_id == node);
                    if !known {
                        return Some(graph::no_such_object(node));
                    }
                    let items = store
                        .comments
                        .iter()
                        .filter(|c| !c.deleted && c.parent.as_deref() == Some(node))
                        .map(|c| (c.timestamp, ig_comment(store, c, false)))
                        .collect();
                    list(items, params, &url)
                }
                "conversations" if node == store.user_id => {
                    if params.get("platform") != Some("instagram") {
                        return Some(graph::error(
                            400,
                            100,
                            None,
                            "(#100) platform must be instagram",
                        ));
                    }
                    store.messages.conversations(params, &url)
                }
                _ => return None,
            };
            Some(answer)
        }

        /// `GET /{ig-user-id}?fields=mentioned_comment.comment_id(..){..}` (or
        /// `mentioned_media.media_id(..)`); `None`: not such a read.
        pub fn mentioned(store: &Store, params: &Params) -> Option<Response> {
            let fields = params.get("fields")?;
            let (field, rest) = fields.split_once('.')?;
            if field != "mentioned_comment" && field != "mentioned_media" {
                return None;
            }
            let id = rest.split_once('(')?.1.split_once(')')?.0;
            let found = store
                .mentioned
                .iter()
                .find(|m| m.comment_id == id || (field == "mentioned_media" && m.media_id == id));
            let Some(m) = found else {
                return Some(graph::error(
                    400,
                    100,
                    None,
                    &format!("(#100) {id} does not mention this account"),
                ));
            };
            let permalink = format!("https://www.instagram.com/p/{}/", m.media_id);
            let item = json!({
                "id": if field == "mentioned_comment" { &m.comment_id } else { &m.media_id },
                "text": m.text,
                "caption": m.text,
                "timestamp": graph::time(m.timestamp),
                "username": m.from.username,
                "from": { "id": m.from.id, "username": m.from.username },
                "permalink": permalink,
                "media": { "id": m.media_id, "permalink": permalink },
            });
            Some(graph::ok(json!({ field: item, "id": store.user_id })))
        }

        /// The account's answers and moderation on an edge; `None`: not one of them.
        pub fn create(
            engine: &Engine,
            node: &str,
            edge: &str,
            params: &Params,
            user_id: &str,
        ) -> Option<Response> {
            let mut store = engine.store();
            let now = store.now();
            if threads(engine.flavor) {
                if edge != "manage_reply" {
                    return None;
                }
                let hide = match params.get("hide") {
                    Some(flag) => flag == "true",
                    None => return Some(graph::error(400, 100, None, "(#100) hide is required")),
                };
                let owner_post = |to: &str| {
                    store
                        .media
                        .iter()
                        .any(|m| m.id == to && m.author.is_none() && m.reply_to.is_none())
                };
                let top_level = store
                    .media
                    .iter()
                    .find(|m| m.id == node && !m.deleted)
                    .and_then(|m| m.reply_to.clone())
                    .is_some_and(|to| owner_post(&to));
                if !top_level {
                    return Some(graph::error(
                        400,
                        100,
                        None,
                        "(#100) Only top-level replies to your own posts can be hidden",
                    ));
                }
                if let Some(m) = store.media.iter_mut().find(|m| m.id == node) {
                    m.hidden = hide;
                }
                return Some(meta_inbox::success());
            }
            let message = params.get("message").map(str::to_owned);
            let answer = match edge {
                "replies" => {
                    let Some(c) = store.comments.iter().find(|c| c.id == node && !c.deleted) else {
                        return Some(graph::no_such_object(node));
                    };
                    if c.parent.is_some() || c.hidden {
                        return Some(graph::error(
                            400,
                            100,
                            None,
                            "(#100) Replies can be made only to visible top-level comments",
                        ));
                    }
                    let Some(message) = message else {
                        return Some(graph::error(400, 100, None, "(#100) message is required"));
                    };
                    let media_id = c.media_id.clone();
                    reply(&mut store, &media_id, Some(node), message, now)
                }
                "mentions" if node == user_id => {
                    let (Some(media), Some(message)) = (params.get("media_id"), message) else {
                        return Some(graph::error(
                            400,
                            100,
                            None,
                            "(#100) media_id and message are required",
                        ));
                    };
                    let media = media.to_owned();
                    let comment = params.get("comment_id").map(str::to_owned);
                    reply(&mut store, &media, comment.as_deref(), message, now)
                }
                "messages" if node == user_id => {
                    let comments = store.comments.clone();
                    store.messages.send(params, now, |id| {
                        comments
                            .iter()
                            .find(|c| c.id == id)
                            .and_then(|c| c.from.clone())
                    })
                }
                _ => return None,
            };
            Some(answer)
        }

        fn reply(
            store: &mut Store,
            media: &str,
            parent: Option<&str>,
            message: String,
            now: jiff::Timestamp,
        ) -> Response {
            let id = store.next_id();
            store.comments.push(Comment {
                id: id.clone(),
                media_id: media.to_owned(),
                message,
                parent: parent.map(str::to_owned),
                from: None,
                timestamp: now,
                hidden: false,
                deleted: false,
            });
            graph::ok(json!({ "id": id }))
        }

        /// `POST /{ig-comment-id}?hide=true|false` (Instagram).
        pub async fn update_node(
            State(engine): State<Engine>,
            Path(node): Path<String>,
            RawQuery(query): RawQuery,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let params = Params::parse(query.as_deref(), &headers, &body);
            let mut store = engine.store();
            if let Err(refused) = store.auth.check(&headers, &params) {
                return refused.into_response();
            }
            let Some(c) = store
                .comments
                .iter_mut()
                .find(|c| c.id == node && !c.deleted)
            else {
                return graph::no_such_object(&node);
            };
            match params.get("hide") {
                Some(flag) => {
                    c.hidden = flag == "true";
                    meta_inbox::success()
                }
                None => graph::error(400, 100, None, "(#100) Nothing to update"),
            }
        }

        /// `DELETE /{id}`: a comment (Instagram), or one of the account's own posts or replies
        /// (Threads: `{"success": true, "deleted_id": ..}`).
        pub async fn delete_node(
            State(engine): State<Engine>,
            Path(node): Path<String>,
            RawQuery(query): RawQuery,
            headers: HeaderMap,
        ) -> Response {
            let params = Params::parse(query.as_deref(), &headers, &[]);
            let mut store = engine.store();
            if let Err(refused) = store.auth.check(&headers, &params) {
                return refused.into_response();
            }
            if let Some(c) = store
                .comments
                .iter_mut()
                .find(|c| c.id == node && !c.deleted)
            {
                c.deleted = true;
                return meta_inbox::success();
            }
            match store.media.iter_mut().find(|m| m.id == node && !m.deleted) {
                Some(m) if m.author.is_none() => {
                    m.deleted = true;
                    graph::ok(json!({ "success": true, "deleted_id": node }))
                }
                Some(_) => graph::error(
                    403,
                    10,
                    None,
                    "(#10) Application does not have permission to delete this media",
                ),
                None => graph::no_such_object(&node),
            }
        }
    }

    async fn refresh(
        State(engine): State<Engine>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
    ) -> Response {
        let params = Params::parse(query.as_deref(), &headers, &[]);
        let mut store = engine.store();
        if params.get("grant_type") != Some(engine.flavor.grant_type) {
            return graph::error(400, 100, None, "(#100) Unsupported grant_type");
        }
        if params.get("access_token").is_none() {
            return graph::error(400, 100, None, "(#100) Missing access_token");
        }
        if let Err(refused) = store.auth.check(&HeaderMap::new(), &params) {
            return refused.into_response();
        }
        store.refreshes.push(engine.flavor.grant_type.to_owned());
        if store.refresh_answers_empty {
            return graph::ok(
                json!({ "access_token": "", "token_type": "bearer", "expires_in": 5_184_000 }),
            );
        }
        let token = format!(
            "{}-refreshed-{}",
            store.auth.valid[0],
            store.refreshes.len()
        );
        store.auth.valid.push(token.clone());
        graph::ok(json!({ "access_token": token, "token_type": "bearer", "expires_in": 5_184_000 }))
    }
}

static INSTAGRAM: Flavor = Flavor {
    version: "v21.0",
    create_edge: "media",
    publish_edge: "media_publish",
    text_param: "caption",
    status_field: "status_code",
    reason_field: "status",
    grant_type: "ig_refresh_token",
    max_children: 10,
    permalink_prefix: "https://www.instagram.com/p/",
    kind: instagram_kind,
    media_metrics: &[
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "follows",
        "profile_visits",
        "profile_activity",
    ],
    user_insights_edge: None,
};

/// Instagram's container parameters: `image_url` (a photo, or a carousel item), `video_url` with
/// `media_type=REELS` (or VIDEO for a carousel item), or `media_type=CAROUSEL` with `children`.
fn instagram_kind(params: &Params) -> Result<(Kind, &'static str), Refusal> {
    let carousel_item = params.flag("is_carousel_item");
    match (
        params.get("media_type"),
        params.get("image_url"),
        params.get("video_url"),
    ) {
        (None | Some("IMAGE"), Some(url), None) => Ok((Kind::Image { url: url.into() }, "IMAGE")),
        (Some("REELS"), None, Some(url)) if !carousel_item => {
            Ok((Kind::Video { url: url.into() }, "REELS"))
        }
        (Some("VIDEO"), None, Some(url)) if carousel_item => {
            Ok((Kind::Video { url: url.into() }, "VIDEO"))
        }
        (Some("CAROUSEL"), None, None) => {
            let children = params
                .get("children")
                .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default();
            Ok((Kind::Carousel { children }, "CAROUSEL"))
        }
        _ => Err(graph::refusal(
            400,
            100,
            None,
            "(#100) The parameter image_url, or video_url with media_type REELS, is required",
        )),
    }
}

/// A fake Instagram professional account on loopback.
pub struct FakeInstagram {
    pub server: FakeServer,
    pub user_id: String,
    pub token: String,
    /// Instagram Login: apps, codes, short- and long-lived tokens.
    pub oauth: LongLivedLogin,
    /// Facebook Login for Pages, listing the page this account is linked to.
    pub facebook_login: FacebookLogin,
    engine: Engine,
}

impl FakeInstagram {
    pub async fn start() -> Self {
        let user_id = "17841400000000001".to_owned();
        let token = "IGAAToken".to_owned();
        let engine = Engine::new(&INSTAGRAM, &user_id, &token);
        let oauth = LongLivedLogin::new(&INSTAGRAM_TOKENS, APP_SCOPED_ID, &engine);
        let accepting = engine.clone();
        let page = ListedPage::new(PAGE_ID, "Test page").with_instagram(LinkedInstagram {
            id: user_id.clone(),
            username: USERNAME.into(),
            name: NAME.into(),
            profile_picture_url: PROFILE_PICTURE_URL.into(),
        });
        let facebook_login = FacebookLogin::new(vec![page], move |t| {
            accepting.store().auth.valid.push(t.to_owned());
        });
        let me = {
            let (oauth, facebook_login, engine) =
                (oauth.clone(), facebook_login.clone(), engine.clone());
            move |RawQuery(query): RawQuery, headers: HeaderMap| async move {
                let params = Params::parse(query.as_deref(), &headers, &[]);
                if let Some(answer) = facebook_login.me(&headers, &params) {
                    return answer;
                }
                if let Err(refused) = oauth.check_me(&headers, &params) {
                    return *refused;
                }
                let store = engine.store();
                let full = json!({
                    "id": APP_SCOPED_ID,
                    "user_id": store.user_id,
                    "username": USERNAME,
                    "name": NAME,
                    "profile_picture_url": PROFILE_PICTURE_URL,
                    "account_type": "BUSINESS",
                    "media_count": store.media.len(),
                });
                graph::ok(graph::select(&full, &params.fields()))
            }
        };
        let router = engine
            .router()
            .merge(oauth.routes())
            .merge(facebook_login.routes())
            .merge(Router::new().route(&format!("/{}/me", INSTAGRAM.version), get(me)));
        let server = FakeServer::start(router).await;
        engine.store().base = format!("{}/{}", server.base, INSTAGRAM.version);
        facebook_login.set_base(&server.base);
        Self {
            server,
            user_id,
            token,
            oauth,
            facebook_login,
            engine,
        }
    }

    pub fn base(&self) -> String {
        format!("{}/{}", self.server.base, INSTAGRAM.version)
    }

    /// The path of an edge of the account, for injecting faults (e.g. `media_publish`).
    pub fn path(&self, edge: &str) -> String {
        format!("/{}/{}/{edge}", INSTAGRAM.version, self.user_id)
    }

    pub fn settings(&self) -> Value {
        json!({ "ig_user_id": self.user_id })
    }

    /// Credentials with a token last refreshed at `refreshed_at` (unix seconds), if given.
    pub fn credentials(&self, refreshed_at: Option<i64>) -> Value {
        match refreshed_at {
            Some(at) => {
                json!({ "access_token": self.token, "access_token_refreshed_at": at.to_string() })
            }
            None => json!({ "access_token": self.token }),
        }
    }

    /// Arms `fault` on the account's publish call.
    pub fn on_publish(&self, times: usize, fault: Fault) {
        self.server
            .faults
            .inject(Method::POST, &self.path("media_publish"), times, fault);
    }

    /// `person` comments under `on`: a media (a top-level comment) or a top-level comment (a
    /// reply). Returns the comment's id.
    pub fn comment_as(&self, person: &Person, on: &str, text: &str) -> String {
        let mut store = self.store();
        let (media, parent) = match store.comments.iter().find(|c| c.id == on) {
            Some(c) => (
                c.media_id.clone(),
                Some(c.parent.clone().unwrap_or(c.id.clone())),
            ),
            None => (on.to_owned(), None),
        };
        let id = store.next_id();
        let timestamp = store.now();
        store.comments.push(Comment {
            id: id.clone(),
            media_id: media,
            message: text.to_owned(),
            parent,
            from: Some(person.clone()),
            timestamp,
            hidden: false,
            deleted: false,
        });
        id
    }

    /// `person` @mentions the account in a comment under their own media `media`; the
    /// comment's id (readable only through `mentioned_comment`, as on Instagram).
    pub fn mention_in_comment(&self, person: &Person, media: &str, text: &str) -> String {
        let mut store = self.store();
        let id = store.next_id();
        let timestamp = store.now();
        store.mentioned.push(Mentioned {
            comment_id: id.clone(),
            media_id: media.to_owned(),
            from: person.clone(),
            text: text.to_owned(),
            timestamp,
        });
        id
    }

    /// `person` writes to the account; the message's id (`mid`).
    pub fn message_from(&self, person: &Person, text: &str) -> String {
        let mut store = self.store();
        let now = store.now();
        store.messages.receive(person, text, now)
    }

    /// A comment by id, with its moderation state.
    pub fn comment(&self, id: &str) -> Option<Comment> {
        self.comments().into_iter().find(|c| c.id == id)
    }

    /// The account's own replies under the comment `id`.
    pub fn account_replies_to(&self, id: &str) -> Vec<Comment> {
        self.comments()
            .into_iter()
            .filter(|c| c.from.is_none() && !c.deleted && c.parent.as_deref() == Some(id))
            .collect()
    }

    /// The account's direct messages to `person`.
    pub fn messages_to(&self, person: &str) -> Vec<Dm> {
        self.store().messages.sent_to(person)
    }

    /// The account's private replies to the comment `comment`.
    pub fn private_replies_to(&self, comment: &str) -> Vec<Dm> {
        self.store().messages.private_replies_to(comment)
    }

    /// The next POST to `object` or one of its edges (`/{comment}/replies`, the account's
    /// `/messages`) is made, then its answer is lost: the connection drops.
    pub fn lose_next_answer_on(&self, object: &str) {
        self.server.faults.inject(
            Method::POST,
            &self.node_path(object, ""),
            1,
            Fault::DropAfterReceive,
        );
    }

    /// The `comments` webhook Meta sends for the comment `id`.
    pub fn comment_webhook(&self, id: &str, app_secret: &str) -> Delivery {
        let store = self.store();
        let c = store
            .comments
            .iter()
            .find(|c| c.id == id)
            .expect("a comment");
        let (from_id, username) = match &c.from {
            Some(p) => (p.id.clone(), p.username.clone()),
            None => (store.user_id.clone(), USERNAME.to_owned()),
        };
        let mut value = json!({
            "from": { "id": from_id, "username": username },
            "media": { "id": c.media_id, "media_product_type": "FEED" },
            "id": c.id,
            "text": c.message,
        });
        if let Some(parent) = &c.parent {
            value["parent_id"] = json!(parent);
        }
        let entry = json!({
            "id": store.user_id,
            "time": c.timestamp.as_second(),
            "changes": [{ "field": "comments", "value": value }],
        });
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("instagram", vec![entry]))
    }

    /// The `mentions` webhook Meta sends for the comment `comment_id` that mentions the
    /// account: ids only.
    pub fn mention_webhook(&self, comment_id: &str, app_secret: &str) -> Delivery {
        let store = self.store();
        let m = store
            .mentioned
            .iter()
            .find(|m| m.comment_id == comment_id)
            .expect("a mention");
        let entry = json!({
            "id": store.user_id,
            "time": m.timestamp.as_second(),
            "changes": [{ "field": "mentions", "value": { "media_id": m.media_id, "comment_id": m.comment_id } }],
        });
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("instagram", vec![entry]))
    }

    /// The `messages` webhook Meta sends for the message `mid`.
    pub fn message_webhook(&self, mid: &str, app_secret: &str) -> Delivery {
        let store = self.store();
        let m = store.messages.get(mid).expect("a message");
        let entry = store.messages.webhook_entry(&store.user_id, &m);
        meta_inbox::delivery(app_secret, &meta_inbox::envelope("instagram", vec![entry]))
    }
}

impl Deref for FakeInstagram {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}
