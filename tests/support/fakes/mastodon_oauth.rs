//! The fake Mastodon's OAuth 2 authorization server (Doorkeeper's shapes, as Mastodon 4.3 serves
//! them): app registration (`POST /api/v1/apps`), the server metadata
//! (`/.well-known/oauth-authorization-server`, absent before 4.3, that is without PKCE), the
//! consent page and its form (`GET`/`POST /oauth/authorize`), the code exchange
//! (`POST /oauth/token`) and revocation (`POST /oauth/revoke`). The access token it issues is the
//! fake's [`TOKEN`], so the rest of the fake accepts it.
//!
//! The consent page is the plain form of [`consent`](crate::fakes::consent), which a test fills in
//! as a browser would:
//!
//! ```html
//! <form method="post" action="/oauth/authorize">
//!   <input type="hidden" name="client_id" value="..."> <!-- one per query parameter, in order -->
//!   <button name="decision" value="approve">Allow</button>
//!   <button name="decision" value="deny">Cancel</button>
//! </form>
//! ```

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jiff::Timestamp;
use reqwest::Url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{FakeMastodon, Shared, TOKEN, USERNAME, error, escape, form_parts};
use crate::fakes::consent;

/// The token `grant_type=client_credentials` issues: an app token, not the account's, so the
/// account's endpoints refuse it.
pub const APP_TOKEN: &str = "mastodon-test-app-token";

/// The redirect URI that shows the code on the server's page instead of redirecting.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The scopes Mastodon 4.3 knows (`scopes_supported`); apps and authorizations asking for others
/// are refused.
pub const SCOPES: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:write",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.";
const ACCESS_DENIED: &str = "The resource owner or authorization server denied the request.";

/// An app registered with `POST /api/v1/apps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeApp {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

/// A code issued on consent, until it is exchanged (once).
struct Grant {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    used: bool,
}

/// The authorization server's part of the fake's state.
pub(super) struct OAuth {
    apps: Vec<FakeApp>,
    codes: HashMap<String, Grant>,
    pkce_supported: bool,
    granted_scopes: Option<Vec<String>>,
    authorize_requests: usize,
    token_requests: usize,
    revoked: Vec<String>,
    next_secret: u64,
}

impl Default for OAuth {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            codes: HashMap::new(),
            pkce_supported: true,
            granted_scopes: None,
            authorize_requests: 0,
            token_requests: 0,
            revoked: Vec::new(),
            next_secret: 0,
        }
    }
}

impl OAuth {
    /// A fresh random-looking secret, 43 URL-safe characters as Doorkeeper's.
    fn secret(&mut self) -> String {
        self.next_secret += 1;
        let seed = format!("{}:{}", ulid::Ulid::new(), self.next_secret);
        URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()))
    }

    fn app(&self, client_id: &str) -> Option<&FakeApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }
}

/// The routes, merged into the fake's router (same state, same rate limit).
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/apps", post(register_app))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/authorize", get(consent_page).post(decide))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
}

impl FakeMastodon {
    /// The apps registered so far, oldest first.
    pub fn apps(&self) -> Vec<FakeApp> {
        self.state.lock().unwrap().oauth.apps.clone()
    }

    /// `GET /oauth/authorize` requests (consent pages asked for, valid or not).
    pub fn authorize_requests(&self) -> usize {
        self.state.lock().unwrap().oauth.authorize_requests
    }

    /// `POST /oauth/token` requests, whatever their answer.
    pub fn token_requests(&self) -> usize {
        self.state.lock().unwrap().oauth.token_requests
    }

    /// The tokens revoked with `POST /oauth/revoke`, in order (revoking does not stop [`TOKEN`]
    /// from working).
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().oauth.revoked.clone()
    }

    /// `false`: a server before 4.3, without PKCE: the well-known metadata is 404 and
    /// `code_challenge`/`code_verifier` are ignored (default `true`).
    pub fn set_pkce_supported(&self, supported: bool) {
        self.state.lock().unwrap().oauth.pkce_supported = supported;
    }

    /// `Some(scopes)`: the token answer grants these instead of those asked at authorize.
    pub fn set_granted_scopes(&self, scopes: Option<Vec<String>>) {
        self.state.lock().unwrap().oauth.granted_scopes = scopes;
    }
}

/// A request's parameters from a form-urlencoded, multipart or JSON body (or a query), in order.
/// Rails' `name[]` keys and JSON arrays give one pair per element.
struct Params(Vec<(String, String)>);

impl Params {
    fn from_query(query: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.trim_end_matches("[]").to_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn from_body(headers: &HeaderMap, body: &[u8]) -> Self {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/json") {
            let mut pairs = Vec::new();
            if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
                for (k, v) in object {
                    let values = match v {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    for v in values {
                        match v {
                            Value::String(s) => pairs.push((k.clone(), s)),
                            Value::Null => {}
                            other => pairs.push((k.clone(), other.to_string())),
                        }
                    }
                }
            }
            return Self(pairs);
        }
        if content_type.starts_with("multipart/form-data") {
            let parts = form_parts(content_type, body).unwrap_or_default();
            return Self(
                parts
                    .into_iter()
                    .map(|p| {
                        (
                            p.name.trim_end_matches("[]").to_owned(),
                            String::from_utf8_lossy(&p.data).into_owned(),
                        )
                    })
                    .collect(),
            );
        }
        Self::from_query(std::str::from_utf8(body).ok())
    }

    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split_whitespace().map(str::to_owned).collect()
}

fn valid_redirect_uri(uri: &str) -> bool {
    uri == OOB || Url::parse(uri).is_ok_and(|u| u.has_host())
}

/// `POST /api/v1/apps`.
async fn register_app(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_body(&headers, &body);
    let Some(name) = params.get("client_name").map(str::to_owned) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Application name can't be blank",
        );
    };
    let redirect_uris: Vec<String> = params
        .all("redirect_uris")
        .into_iter()
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect();
    if redirect_uris.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Redirect URI can't be blank",
        );
    }
    if !redirect_uris.iter().all(|u| valid_redirect_uri(u)) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Redirect URI must be an absolute URI.",
        );
    }
    let scopes = split_scopes(params.get("scopes").unwrap_or("read"));
    if scopes.is_empty() || !scopes.iter().all(|s| SCOPES.contains(&s.as_str())) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Scopes doesn't match configured on the server.",
        );
    }
    let mut m = state.lock().unwrap();
    let oauth = &mut m.oauth;
    let app = FakeApp {
        id: (oauth.apps.len() + 1).to_string(),
        name,
        website: params.get("website").map(str::to_owned),
        client_id: oauth.secret(),
        client_secret: oauth.secret(),
        redirect_uris,
        scopes,
    };
    let answer = json!({
        "id": app.id,
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes,
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "client_secret_expires_at": 0,
    });
    oauth.apps.push(app);
    Json(answer).into_response()
}

/// `GET /.well-known/oauth-authorization-server` (404 when PKCE is switched off).
async fn metadata(State(state): State<Shared>) -> Response {
    let m = state.lock().unwrap();
    if !m.oauth.pkce_supported {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let base = &m.base;
    Json(json!({
        "issuer": format!("{base}/"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "service_documentation": "https://docs.joinmastodon.org/",
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
    }))
    .into_response()
}

/// What an authorization request asks for, once checked.
struct Authorization {
    client_id: String,
    app_name: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: Option<String>,
}

/// Checks an authorization request's parameters (the query of the consent page, then the form
/// posted from it), as Doorkeeper does before it shows the page; the error says what is wrong.
fn check_authorization(oauth: &OAuth, params: &Params) -> Result<Authorization, &'static str> {
    match params.get("response_type") {
        None => return Err("invalid_request: missing response_type"),
        Some("code") => {}
        Some(_) => {
            return Err("unsupported_response_type: only response_type=code is supported");
        }
    }
    let client_id = params
        .get("client_id")
        .ok_or("invalid_request: missing client_id")?;
    let app = oauth
        .app(client_id)
        .ok_or("invalid_client: unknown client_id")?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or("invalid_request: missing redirect_uri")?;
    if !app.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err("invalid_redirect_uri: redirect_uri is not registered for this client");
    }
    let scopes = split_scopes(params.get("scope").unwrap_or("read"));
    if scopes.is_empty() || !scopes.iter().all(|s| app.scopes.contains(s)) {
        return Err("invalid_scope: the requested scope is not a subset of the app's scopes");
    }
    let code_challenge = if oauth.pkce_supported {
        match (
            params.get("code_challenge"),
            params.get("code_challenge_method"),
        ) {
            (None, _) => None,
            (Some(challenge), Some("S256")) => Some(challenge.to_owned()),
            (Some(_), _) => {
                return Err("invalid_request: code_challenge_method must be S256");
            }
        }
    } else {
        None
    };
    Ok(Authorization {
        client_id: client_id.to_owned(),
        app_name: app.name.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: params.get("state").map(str::to_owned),
        code_challenge,
    })
}

/// `GET /oauth/authorize`: the consent page, its form carrying every query parameter.
async fn consent_page(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut m = state.lock().unwrap();
    m.oauth.authorize_requests += 1;
    let request = match check_authorization(&m.oauth, &params) {
        Ok(request) => request,
        Err(message) => return consent::error_page(message),
    };
    consent::page(
        "/oauth/authorize",
        "Authorization required",
        &[
            format!(
                "{} would like permission to access your account @{USERNAME}.",
                request.app_name
            ),
            format!("Scopes: {}", request.scopes.join(" ")),
        ],
        &params.0,
    )
}

/// `POST /oauth/authorize`: the consent form's answer.
async fn decide(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_body(&headers, &body);
    let mut m = state.lock().unwrap();
    let request = match check_authorization(&m.oauth, &params) {
        Ok(request) => request,
        Err(message) => return consent::error_page(message),
    };
    let oob = request.redirect_uri == OOB;
    match params.get("decision") {
        Some("approve") => {}
        Some("deny") if oob => return consent::error_page("access_denied"),
        Some("deny") => {
            return consent::redirect_back(
                &request.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", ACCESS_DENIED),
                ],
                request.state.as_deref(),
                None,
            );
        }
        _ => return consent::error_page("invalid_request: decision must be approve or deny"),
    }
    let code = m.oauth.secret();
    m.oauth.codes.insert(
        code.clone(),
        Grant {
            client_id: request.client_id,
            redirect_uri: request.redirect_uri.clone(),
            scopes: request.scopes,
            code_challenge: request.code_challenge,
            used: false,
        },
    );
    if oob {
        let page = format!(
            "<!DOCTYPE html>\n<html><body><p>Copy this authorization code and paste it to the application.</p><input type=\"text\" readonly value=\"{}\"></body></html>\n",
            escape(&code)
        );
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response();
    }
    consent::redirect_back(
        &request.redirect_uri,
        &[("code", &code)],
        request.state.as_deref(),
        None,
    )
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's id and secret, from HTTP Basic (`client_secret_basic`) or the body
/// (`client_secret_post`).
fn client_credentials(headers: &HeaderMap, params: &Params) -> Option<(String, String)> {
    let basic = consent::basic_credentials(headers);
    basic.or_else(|| {
        Some((
            params.get("client_id")?.to_owned(),
            params.get("client_secret")?.to_owned(),
        ))
    })
}

/// The app these credentials authenticate, if any.
fn authenticate<'a>(oauth: &'a OAuth, headers: &HeaderMap, params: &Params) -> Option<&'a FakeApp> {
    let (id, secret) = client_credentials(headers, params)?;
    oauth.app(&id).filter(|app| app.client_secret == secret)
}

fn token_answer(token: &str, scopes: &[String]) -> Response {
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
        "created_at": Timestamp::now().as_second(),
    }))
    .into_response()
}

/// `POST /oauth/token`.
async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_body(&headers, &body);
    let mut m = state.lock().unwrap();
    let oauth = &mut m.oauth;
    oauth.token_requests += 1;
    let Some(grant_type) = params.get("grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: grant_type.",
        );
    };
    let Some(app) = authenticate(oauth, &headers, &params) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT);
    };
    let client_id = app.client_id.clone();
    match grant_type {
        "authorization_code" => {}
        "client_credentials" => {
            let scopes = split_scopes(params.get("scope").unwrap_or("read"));
            if !scopes.iter().all(|s| app.scopes.contains(s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The requested scope is invalid, unknown, or malformed.",
                );
            }
            return token_answer(APP_TOKEN, &scopes);
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    }
    let Some(code) = params.get("code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code.",
        );
    };
    let pkce_supported = oauth.pkce_supported;
    let granted_scopes = oauth.granted_scopes.clone();
    // A code is spent by its first exchange, even one that fails.
    let grant = match oauth.codes.get_mut(code) {
        Some(grant) if !grant.used => {
            grant.used = true;
            &*grant
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT),
    };
    if grant.client_id != client_id
        || params.get("redirect_uri") != Some(grant.redirect_uri.as_str())
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT);
    }
    if pkce_supported {
        let verifier = params.get("code_verifier");
        // As Doorkeeper: a verifier is checked whenever one is sent, even for a code issued
        // without a challenge (which then fails).
        if grant.code_challenge.is_some() || verifier.is_some() {
            let computed = verifier.map(consent::s256);
            if computed.is_none() || computed != grant.code_challenge {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT);
            }
        }
    }
    let scopes = granted_scopes.unwrap_or_else(|| grant.scopes.clone());
    token_answer(TOKEN, &scopes)
}

/// `POST /oauth/revoke`: answers `{}` whatever the token (RFC 7009), and records it.
async fn revoke(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::from_body(&headers, &body);
    let mut m = state.lock().unwrap();
    if authenticate(&m.oauth, &headers, &params).is_none() {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "You are not authorized to revoke this token",
        );
    }
    let Some(token) = params.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token.",
        );
    };
    m.oauth.revoked.push(token.to_owned());
    Json(json!({})).into_response()
}
