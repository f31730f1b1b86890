//! Meta's OAuth logins, shared by the fakes that serve them:
//!
//! - [`FacebookLogin`], Facebook Login for Pages (on the Facebook fake, and on the Instagram fake
//!   for an Instagram account connected through Facebook Login, the test then pointing the
//!   Facebook Graph base at it), all under `/v21.0`:
//!   - `GET`/`POST /dialog/oauth`: the consent page ([`consent`](super::consent)), scopes
//!     comma-separated; a refusal redirects with `error=access_denied&error_code=200
//!     &error_description=Permissions+error&error_reason=user_denied`; an approval's redirect
//!     ends in `#_=_`, as Facebook's.
//!   - `GET /oauth/access_token?client_id&redirect_uri&client_secret&code`: a short-lived user
//!     token, `{"access_token","token_type":"bearer","expires_in":5183}`; with
//!     `grant_type=fb_exchange_token&fb_exchange_token=..` a long-lived one (`expires_in`
//!     5183944); with `grant_type=client_credentials` the app token `{id}|{secret}`. Errors in
//!     Graph's shape, type `OAuthException`: unknown app 101, wrong secret 1, a code unknown
//!     100, spent 100/36009 ("This authorization code has been used."), expired 100/36007,
//!     another redirect URI or app 100/36008.
//!   - `GET /me` (with a user token: [`USER_ID`], [`USER_NAME`]; the host fake answers other
//!     tokens), `GET /me/accounts` (the pages, each with a page token the host fake accepts; none
//!     without `pages_show_list` granted; `fields` honoured, nested
//!     `instagram_business_account{..}` included; `limit`/`after` paging with `next`),
//!     `GET /me/permissions` (each scope asked `granted` or `declined`, and `public_profile`
//!     granted, as Meta always adds it), `DELETE /me/permissions` (`{"success":true}`; the user
//!     token is recorded as revoked and stops working).
//! - [`LongLivedLogin`], Instagram Login and Threads: `GET`/`POST /oauth/authorize`, the code
//!   exchanged with `POST /oauth/access_token` for a short-lived token, made long-lived with
//!   `GET /access_token?grant_type={ig|th}_exchange_token&client_secret&access_token`
//!   (`{"access_token","token_type":"bearer","expires_in":5183944}`); the long-lived token is
//!   accepted by the host fake's API and its `/refresh_access_token`. Short-lived tokens serve
//!   `/me` and the exchange only.
//!
//! Both deref to their [`OAuthServer`]: a test registers its app with
//! `register_client(id, secret, redirect_uri)` and reads the counters there.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest::Url;
use serde_json::{Value, json};

use super::consent::{self, CodeError, Dialog, Grant, OAuthServer};
use super::facebook::VERSION;
use super::facebook::graph::{self, Params};
use super::instagram::containers::Engine;

/// The person's app-scoped user id, as `/me` answers it for a Facebook user token.
pub const USER_ID: &str = "10229000000000001";
pub const USER_NAME: &str = "Test Person";
/// The page tasks Facebook lists for a page's full administrator.
pub const ALL_TASKS: &[&str] = &[
    "MANAGE",
    "CREATE_CONTENT",
    "MODERATE",
    "ADVERTISE",
    "ANALYZE",
];

static FACEBOOK: Dialog = Dialog {
    network: "Facebook",
    scope_separator: ',',
    pkce_required: false,
    scopes: None,
    deny: &[
        ("error", "access_denied"),
        ("error_code", "200"),
        ("error_description", "Permissions error"),
        ("error_reason", "user_denied"),
    ],
    fragment: Some("_=_"),
};

/// An Instagram professional account linked to a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedInstagram {
    pub id: String,
    pub username: String,
    pub name: String,
    pub profile_picture_url: String,
}

/// A page the person manages, as `/me/accounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPage {
    pub id: String,
    pub name: String,
    pub category: String,
    pub tasks: Vec<String>,
    pub picture_url: String,
    pub instagram: Option<LinkedInstagram>,
}

impl ListedPage {
    /// A page the person fully administers, without an Instagram account.
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            category: "Media/news company".into(),
            tasks: ALL_TASKS.iter().map(|t| (*t).to_owned()).collect(),
            picture_url: format!("https://scontent.xx.fbcdn.net/v/t39/{id}_picture.jpg"),
            instagram: None,
        }
    }

    pub fn with_instagram(mut self, instagram: LinkedInstagram) -> Self {
        self.instagram = Some(instagram);
        self
    }

    fn to_json(&self, token: &str) -> Value {
        let mut page = json!({
            "id": self.id,
            "name": self.name,
            "access_token": token,
            "category": self.category,
            "category_list": [{"id": "2233", "name": self.category}],
            "tasks": self.tasks,
            "picture": {"data": {
                "height": 50,
                "is_silhouette": false,
                "url": self.picture_url,
                "width": 50,
            }},
        });
        if let Some(ig) = &self.instagram {
            page["instagram_business_account"] = json!({
                "id": ig.id,
                "username": ig.username,
                "name": ig.name,
                "profile_picture_url": ig.profile_picture_url,
            });
        }
        page
    }
}

/// What `/me/accounts` answers when no `fields` are asked for.
const DEFAULT_PAGE_FIELDS: &[&str] = &[
    "access_token",
    "category",
    "category_list",
    "name",
    "id",
    "tasks",
];

struct UserToken {
    token: String,
    grant: Grant,
}

#[derive(Default)]
struct FacebookState {
    base: String,
    pages: Vec<ListedPage>,
    user_tokens: Vec<UserToken>,
    /// (user token, page id) -> page token.
    page_tokens: HashMap<(String, String), String>,
}

type Accept = Arc<dyn Fn(&str) + Send + Sync>;

/// Facebook Login for Pages; cheap to clone. Derefs to its [`OAuthServer`].
#[derive(Clone)]
pub struct FacebookLogin {
    oauth: OAuthServer,
    state: Arc<Mutex<FacebookState>>,
    /// Makes the host fake accept a page token.
    accept: Accept,
}

impl Deref for FacebookLogin {
    type Target = OAuthServer;
    fn deref(&self) -> &OAuthServer {
        &self.oauth
    }
}

impl FacebookLogin {
    /// A login listing `pages`, whose page tokens `accept` makes the host fake accept.
    pub(crate) fn new(
        pages: Vec<ListedPage>,
        accept: impl Fn(&str) + Send + Sync + 'static,
    ) -> Self {
        Self {
            oauth: OAuthServer::new(&FACEBOOK),
            state: Arc::new(Mutex::new(FacebookState {
                pages,
                ..FacebookState::default()
            })),
            accept: Arc::new(accept),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FacebookState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fake's base URL, for the `next` links of `/me/accounts`.
    pub(crate) fn set_base(&self, base: &str) {
        self.lock().base = base.to_owned();
    }

    /// The pages `/me/accounts` lists, in order.
    pub fn pages(&self) -> Vec<ListedPage> {
        self.lock().pages.clone()
    }

    /// Another page the person manages (listed after the others).
    pub fn add_page(&self, page: ListedPage) {
        self.lock().pages.push(page);
    }

    /// The pages the person manages, replacing all (empty: none).
    pub fn set_pages(&self, pages: Vec<ListedPage>) {
        self.lock().pages = pages;
    }

    /// The page tokens `/me/accounts` handed out for this page, oldest first.
    pub fn page_tokens(&self, page_id: &str) -> Vec<String> {
        let s = self.lock();
        let mut tokens: Vec<String> = s
            .user_tokens
            .iter()
            .filter_map(|u| s.page_tokens.get(&(u.token.clone(), page_id.to_owned())))
            .cloned()
            .collect();
        tokens.dedup();
        tokens
    }

    /// The routes under `/v21.0` (`/me` itself is the host fake's, see [`FacebookLogin::me`]).
    pub(crate) fn routes(&self) -> Router {
        let login = Router::new()
            .route(
                &format!("/{VERSION}/oauth/access_token"),
                get(fb_access_token),
            )
            .route(&format!("/{VERSION}/me/accounts"), get(fb_accounts))
            .route(
                &format!("/{VERSION}/me/permissions"),
                get(fb_permissions).delete(fb_remove_permissions),
            )
            .with_state(self.clone());
        login.merge(
            self.oauth
                .consent_routes(&format!("/{VERSION}/dialog/oauth")),
        )
    }

    /// The grant of a valid user token.
    fn user_grant(&self, token: &str) -> Option<Grant> {
        if self.oauth.is_revoked(token) {
            return None;
        }
        self.lock()
            .user_tokens
            .iter()
            .find(|u| u.token == token)
            .map(|u| u.grant.clone())
    }

    /// The user token of a call, or the Graph error to answer.
    fn user(&self, headers: &HeaderMap, params: &Params) -> Result<(String, Grant), Box<Response>> {
        let Some(token) = graph::access_token(headers, params) else {
            return Err(Box::new(graph::oauth_error(
                400,
                2500,
                None,
                "An active access token must be used to query information about the current user.",
            )));
        };
        match self.user_grant(token) {
            Some(grant) => Ok((token.to_owned(), grant)),
            None => Err(Box::new(graph::oauth_error(
                400,
                190,
                None,
                "Invalid OAuth access token - Cannot parse access token",
            ))),
        }
    }

    /// `GET /me` with a user token of this login: the person (`id` and `name` unless other
    /// `fields` are asked for). `None` for any other token, which the host fake answers.
    pub(crate) fn me(&self, headers: &HeaderMap, params: &Params) -> Option<Response> {
        let token = graph::access_token(headers, params)?;
        self.user_grant(token)?;
        let full = json!({"id": USER_ID, "name": USER_NAME});
        let mut fields = params.fields();
        if fields.is_empty() {
            fields = vec!["id".into(), "name".into()];
        }
        Some(graph::ok(graph::select(&full, &fields)))
    }

    fn issue_user_token(&self, prefix: &str, grant: &Grant) -> String {
        let token = self.oauth.new_token(prefix);
        self.oauth.issue(&token, grant);
        self.lock().user_tokens.push(UserToken {
            token: token.clone(),
            grant: grant.clone(),
        });
        token
    }
}

/// A code's refusal in Graph's shape (Facebook Login and Threads).
pub(crate) fn code_refusal(error: CodeError) -> Response {
    match error {
        CodeError::Unknown => {
            graph::oauth_error(400, 100, None, "Invalid verification code format.")
        }
        CodeError::Used => graph::oauth_error(
            400,
            100,
            Some(36009),
            "This authorization code has been used.",
        ),
        CodeError::Expired => graph::oauth_error(
            400,
            100,
            Some(36007),
            "This authorization code has expired.",
        ),
        CodeError::WrongClient | CodeError::WrongRedirectUri | CodeError::WrongVerifier => {
            graph::oauth_error(
                400,
                100,
                Some(36008),
                "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            )
        }
    }
}

/// Graph's refusal of an app's credentials, or the client they authenticate.
fn graph_client(
    oauth: &OAuthServer,
    client_id: Option<&str>,
    secret: Option<&str>,
) -> Result<consent::Client, Box<Response>> {
    let Some(client) = client_id.and_then(|id| oauth.client(id)) else {
        return Err(Box::new(graph::oauth_error(
            400,
            101,
            None,
            "Error validating application. Invalid application ID.",
        )));
    };
    if secret != Some(client.secret.as_str()) {
        return Err(Box::new(graph::oauth_error(
            400,
            1,
            None,
            "Error validating client secret.",
        )));
    }
    Ok(client)
}

/// `GET /v21.0/oauth/access_token`: a code, a short-lived token (`fb_exchange_token`) or the
/// app's credentials (`client_credentials`) exchanged.
async fn fb_access_token(
    State(login): State<FacebookLogin>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    login.oauth.count_token_request();
    let client = match graph_client(
        &login.oauth,
        params.get("client_id"),
        params.get("client_secret"),
    ) {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    match params.get("grant_type") {
        Some("fb_exchange_token") => {
            let grant = params
                .get("fb_exchange_token")
                .and_then(|t| login.user_grant(t))
                .filter(|g| g.client_id == client.id);
            let Some(grant) = grant else {
                return graph::oauth_error(
                    400,
                    190,
                    None,
                    "Invalid OAuth access token - Cannot parse access token",
                );
            };
            let token = login.issue_user_token("EAALongUser", &grant);
            graph::ok(
                json!({"access_token": token, "token_type": "bearer", "expires_in": 5_183_944}),
            )
        }
        Some("client_credentials") => graph::ok(json!({
            "access_token": format!("{}|{}", client.id, client.secret),
            "token_type": "bearer",
        })),
        Some(other) => {
            graph::oauth_error(400, 100, None, &format!("Unsupported grant_type: {other}"))
        }
        None => {
            let Some(code) = params.get("code") else {
                return graph::oauth_error(400, 1, None, "Missing authorization code");
            };
            match login
                .oauth
                .redeem(code, &client.id, params.get("redirect_uri"), None)
            {
                Ok(grant) => {
                    let token = login.issue_user_token("EAAShortUser", &grant);
                    graph::ok(
                        json!({"access_token": token, "token_type": "bearer", "expires_in": 5183}),
                    )
                }
                Err(error) => code_refusal(error),
            }
        }
    }
}

/// `GET /v21.0/me/accounts`: the pages, each with its page token for this user token.
async fn fb_accounts(
    State(login): State<FacebookLogin>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let (user_token, grant) = match login.user(&headers, &params) {
        Ok(user) => user,
        Err(refused) => return *refused,
    };
    let mut fields = params.fields();
    if fields.is_empty() {
        fields = DEFAULT_PAGE_FIELDS
            .iter()
            .map(|f| (*f).to_owned())
            .collect();
    }
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .max(1);
    let start = params
        .get("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0);
    let mut accepted = Vec::new();
    let (data, total, base) = {
        let mut s = login.lock();
        let pages: Vec<ListedPage> = if grant.scopes.iter().any(|g| g == "pages_show_list") {
            s.pages.clone()
        } else {
            Vec::new()
        };
        let mut data = Vec::new();
        for page in pages.iter().skip(start).take(limit) {
            let key = (user_token.clone(), page.id.clone());
            let token = match s.page_tokens.get(&key) {
                Some(token) => token.clone(),
                None => {
                    let token = login.oauth.new_token(&format!("EAAPage{}x", page.id));
                    s.page_tokens.insert(key, token.clone());
                    accepted.push(token.clone());
                    token
                }
            };
            data.push(graph::select(&page.to_json(&token), &fields));
        }
        (data, pages.len(), s.base.clone())
    };
    for token in &accepted {
        (login.accept)(token);
    }
    let end = start + data.len();
    let mut paging = json!({"cursors": {"before": start.to_string(), "after": end.to_string()}});
    if end < total
        && let Ok(mut next) = Url::parse(&format!("{base}/{VERSION}/me/accounts"))
    {
        next.query_pairs_mut()
            .append_pair("access_token", &user_token)
            .append_pair("fields", &fields.join(","))
            .append_pair("limit", &limit.to_string())
            .append_pair("after", &end.to_string());
        paging["next"] = json!(next.to_string());
    }
    graph::ok(json!({"data": data, "paging": paging}))
}

/// `GET /v21.0/me/permissions`: each scope asked, granted or declined.
async fn fb_permissions(
    State(login): State<FacebookLogin>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    let grant = match login.user(&headers, &params) {
        Ok((_, grant)) => grant,
        Err(refused) => return *refused,
    };
    let mut names: Vec<&String> = grant.asked.iter().collect();
    names.extend(grant.scopes.iter().filter(|g| !grant.asked.contains(*g)));
    let mut data: Vec<Value> = names
        .iter()
        .map(|name| {
            let status = if grant.scopes.contains(*name) {
                "granted"
            } else {
                "declined"
            };
            json!({"permission": name, "status": status})
        })
        .collect();
    if !names.iter().any(|n| *n == "public_profile") {
        data.push(json!({"permission": "public_profile", "status": "granted"}));
    }
    graph::ok(json!({ "data": data }))
}

/// `DELETE /v21.0/me/permissions`: the person's grant to the app removed.
async fn fb_remove_permissions(
    State(login): State<FacebookLogin>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &body);
    let token = match login.user(&headers, &params) {
        Ok((token, _)) => token,
        Err(refused) => return *refused,
    };
    login.oauth.record_revoked(&token);
    graph::ok(json!({"success": true}))
}

/// What differs between Instagram Login and Threads.
pub(crate) struct LongLivedFlavor {
    pub dialog: &'static Dialog,
    /// `ig_exchange_token`, `th_exchange_token`
    pub exchange_grant: &'static str,
    pub short_prefix: &'static str,
    pub long_prefix: &'static str,
    /// Instagram Login's shapes (`{"data":[{..,"permissions"}]}`, `{"error_type","code",
    /// "error_message"}` errors) rather than Threads' (a flat answer, Graph errors).
    pub instagram: bool,
}

#[derive(Default)]
struct LongLivedState {
    short: Vec<(String, Grant)>,
    long: Vec<String>,
}

/// Instagram Login or Threads' login; cheap to clone. Derefs to its [`OAuthServer`].
#[derive(Clone)]
pub struct LongLivedLogin {
    oauth: OAuthServer,
    flavor: &'static LongLivedFlavor,
    /// The id the code exchange answers as `user_id`.
    user_id: String,
    engine: Engine,
    state: Arc<Mutex<LongLivedState>>,
}

impl Deref for LongLivedLogin {
    type Target = OAuthServer;
    fn deref(&self) -> &OAuthServer {
        &self.oauth
    }
}

impl LongLivedLogin {
    /// A login whose long-lived tokens `engine` accepts; its code exchange answers `user_id`.
    pub(crate) fn new(flavor: &'static LongLivedFlavor, user_id: &str, engine: &Engine) -> Self {
        Self {
            oauth: OAuthServer::new(flavor.dialog),
            flavor,
            user_id: user_id.to_owned(),
            engine: engine.clone(),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LongLivedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The short-lived tokens the code exchanges issued, oldest first.
    pub fn short_lived_tokens(&self) -> Vec<String> {
        self.lock().short.iter().map(|(t, _)| t.clone()).collect()
    }

    /// The long-lived tokens issued, oldest first.
    pub fn long_lived_tokens(&self) -> Vec<String> {
        self.lock().long.clone()
    }

    pub(crate) fn routes(&self) -> Router {
        Router::new()
            .route("/oauth/access_token", post(code_exchange))
            .route("/access_token", get(long_lived_exchange))
            .with_state(self.clone())
            .merge(self.oauth.consent_routes("/oauth/authorize"))
    }

    /// Whether the call's token may read `/me`: a short-lived token of this login, or one the
    /// host fake's API accepts; the Graph error otherwise.
    pub(crate) fn check_me(
        &self,
        headers: &HeaderMap,
        params: &Params,
    ) -> Result<(), Box<Response>> {
        if let Some(token) = graph::access_token(headers, params)
            && self.lock().short.iter().any(|(t, _)| t == token)
        {
            return Ok(());
        }
        self.engine
            .store()
            .auth
            .check(headers, params)
            .map_err(|refused| Box::new(refused.into_response()))
    }

    fn error(&self, message: &str) -> Response {
        if self.flavor.instagram {
            (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"error_type": "OAuthException", "code": 400, "error_message": message}),
                ),
            )
                .into_response()
        } else {
            graph::oauth_error(400, 100, None, message)
        }
    }
}

/// `POST /oauth/access_token`: a code exchanged for a short-lived token.
async fn code_exchange(State(login): State<LongLivedLogin>, body: Bytes) -> Response {
    let params = consent::pairs(&body);
    let param = |name: &str| consent::param(&params, name);
    login.oauth.count_token_request();
    let client = match login.flavor.instagram {
        true => match param("client_id").and_then(|id| login.oauth.client(id)) {
            Some(client) if param("client_secret") == Some(client.secret.as_str()) => client,
            _ => return login.error("Invalid platform app"),
        },
        false => match graph_client(&login.oauth, param("client_id"), param("client_secret")) {
            Ok(client) => client,
            Err(refused) => return *refused,
        },
    };
    if param("grant_type") != Some("authorization_code") {
        return login.error("Invalid grant_type: authorization_code is required");
    }
    let Some(code) = param("code") else {
        return login.error("Missing required parameter: code");
    };
    let grant = match login
        .oauth
        .redeem(code, &client.id, param("redirect_uri"), None)
    {
        Ok(grant) => grant,
        Err(error) if !login.flavor.instagram => return code_refusal(error),
        Err(CodeError::Used) => return login.error("This authorization code has been used"),
        Err(CodeError::Expired) => return login.error("This authorization code has expired"),
        Err(CodeError::Unknown) => return login.error("Invalid authorization code"),
        Err(CodeError::WrongClient | CodeError::WrongRedirectUri | CodeError::WrongVerifier) => {
            return login.error(
                "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            );
        }
    };
    let token = login.oauth.new_token(login.flavor.short_prefix);
    login.oauth.issue(&token, &grant);
    login.lock().short.push((token.clone(), grant.clone()));
    if login.flavor.instagram {
        graph::ok(json!({"data": [{
            "access_token": token,
            "user_id": login.user_id,
            "permissions": grant.scopes.join(","),
        }]}))
    } else {
        graph::ok(json!({"access_token": token, "user_id": login.user_id}))
    }
}

/// `GET /access_token?grant_type={ig|th}_exchange_token&client_secret&access_token`: a
/// short-lived token made long-lived, which the host fake's API then accepts.
async fn long_lived_exchange(
    State(login): State<LongLivedLogin>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), &headers, &[]);
    login.oauth.count_token_request();
    if params.get("grant_type") != Some(login.flavor.exchange_grant) {
        return graph::oauth_error(400, 100, None, "Unsupported grant_type");
    }
    let grant = params.get("access_token").and_then(|given| {
        let s = login.lock();
        s.short
            .iter()
            .find(|(t, _)| t == given)
            .map(|(_, g)| g.clone())
    });
    let Some(grant) = grant.filter(|_| {
        !params
            .get("access_token")
            .is_some_and(|t| login.oauth.is_revoked(t))
    }) else {
        return graph::oauth_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    let secret = params.get("client_secret");
    if login
        .oauth
        .client(&grant.client_id)
        .is_none_or(|c| Some(c.secret.as_str()) != secret)
    {
        return graph::oauth_error(400, 1, None, "Error validating client secret.");
    }
    let token = login.oauth.new_token(login.flavor.long_prefix);
    login.oauth.issue(&token, &grant);
    login.lock().long.push(token.clone());
    login.engine.store().auth.valid.push(token.clone());
    graph::ok(json!({"access_token": token, "token_type": "bearer", "expires_in": 5_183_944}))
}
