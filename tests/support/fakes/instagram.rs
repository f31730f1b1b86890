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
use super::meta_login::{
    FacebookLogin, LinkedInstagram, ListedPage, LongLivedFlavor, LongLivedLogin,
};
use super::{FakeServer, Fault};
use containers::{Engine, Flavor, Kind};

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
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Comment {
        pub id: String,
        pub media_id: String,
        pub message: String,
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
        next_id: u64,
    }

    impl Store {
        fn next_id(&mut self) -> String {
            self.next_id += 1;
            format!("{}", 17_900_000_000_000_000u64 + self.next_id)
        }

        fn now(&self) -> Timestamp {
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
                    insights_ready: true,
                    ..Store::default()
                })),
            }
        }

        pub fn router(&self) -> Router {
            let v = self.flavor.version;
            Router::new()
                .route("/refresh_access_token", get(refresh))
                .route(&format!("/{v}/{{node}}"), get(read_node))
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
        store.comments.push(Comment {
            id: id.clone(),
            media_id: media_id.to_owned(),
            message,
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
            "media_count": store.media.iter().filter(|m| m.reply_to.is_none()).count(),
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
            .filter(|m| m.reply_to.is_none())
            .map(|m| (m.timestamp, graph::select(&media_json(flavor, m), &fields)))
            .collect();
        let url = format!("{}/{node}/{edge}", store.base);
        graph::ok(graph::page(items, &params, &url))
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
}

impl Deref for FakeInstagram {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}
