//! What the fakes' OAuth 2 authorization servers share: the consent page a test fills in as a
//! browser, the person's decision, and the registered clients, single-use codes and issued
//! tokens of one authorization server ([`OAuthServer`]).
//!
//! The consent page is a plain form, one hidden input per query parameter, in order:
//!
//! ```html
//! <form method="post" action="/oauth/authorize">  <!-- the page's own path -->
//!   <input type="hidden" name="client_id" value="...">
//!   <button name="decision" value="approve">Allow</button>
//!   <button name="decision" value="deny">Cancel</button>
//! </form>
//! ```
//!
//! `GET` on the authorize path checks the request (`response_type=code`, a known `client_id`, a
//! `redirect_uri` registered for it, the scopes, PKCE where the network requires it) and shows
//! the page, or a 400 error page without any redirect. `POST` with the form checks it again;
//! `decision=approve` answers 302 to `{redirect_uri}?code=..&state=..`, `decision=deny` 302 to
//! `{redirect_uri}?{the network's refusal parameters}&state=..` (`state` only when given).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Url;
use sha2::{Digest, Sha256};

/// How a network's authorization dialog behaves.
#[derive(Debug)]
pub struct Dialog {
    /// The network's name, shown on the page.
    pub network: &'static str,
    /// What joins the scopes in `scope`: `' '` (OAuth 2, X, LinkedIn) or `','` (Meta).
    pub scope_separator: char,
    /// `code_challenge` with `code_challenge_method=S256` is required, and the code's exchange
    /// must carry the matching `code_verifier` (X). Otherwise PKCE parameters are ignored.
    pub pkce_required: bool,
    /// The scopes the network knows (any other is refused on the page); `None`: any.
    pub scopes: Option<&'static [&'static str]>,
    /// The parameters a refusal adds to the redirect, before `state`.
    pub deny: &'static [(&'static str, &'static str)],
    /// Appended to the redirect after an approval (Instagram adds `#_`).
    pub fragment: Option<&'static str>,
}

/// A client (app) registered with a fake authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    /// Empty for a public client.
    pub secret: String,
    pub redirect_uris: Vec<String>,
}

/// What a code (then the tokens it gave) was granted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    /// The scopes asked for at the authorize step.
    pub asked: Vec<String>,
    /// The scopes granted: those asked, or what [`OAuthServer::set_granted_scopes`] says.
    pub scopes: Vec<String>,
}

/// Why a code was not exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    Unknown,
    Used,
    Expired,
    WrongClient,
    WrongRedirectUri,
    WrongVerifier,
}

struct Code {
    grant: Grant,
    challenge: Option<String>,
    used: bool,
    expired: bool,
}

#[derive(Default)]
struct ServerState {
    clients: Vec<Client>,
    codes: HashMap<String, Code>,
    authorize_requests: usize,
    token_requests: usize,
    asked_scopes: Option<Vec<String>>,
    granted_scopes: Option<Vec<String>>,
    /// Every token issued with its grant, in order.
    issued: Vec<(String, Grant)>,
    revoked: Vec<String>,
    next: u64,
}

/// One fake authorization server: its clients, codes, issued and revoked tokens, and the test's
/// controls over them. Cheap to clone (one shared state).
#[derive(Clone)]
pub struct OAuthServer {
    dialog: &'static Dialog,
    state: Arc<Mutex<ServerState>>,
}

impl OAuthServer {
    pub fn new(dialog: &'static Dialog) -> Self {
        Self {
            dialog,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a client (an empty secret makes it public), or adds a redirect URI to one
    /// already registered (its secret replaced by this one).
    pub fn register_client(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        let mut s = self.lock();
        match s.clients.iter_mut().find(|c| c.id == client_id) {
            Some(client) => {
                client.secret = client_secret.to_owned();
                if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
                    client.redirect_uris.push(redirect_uri.to_owned());
                }
            }
            None => s.clients.push(Client {
                id: client_id.to_owned(),
                secret: client_secret.to_owned(),
                redirect_uris: vec![redirect_uri.to_owned()],
            }),
        }
    }

    pub fn clients(&self) -> Vec<Client> {
        self.lock().clients.clone()
    }

    /// Consent pages asked for (`GET` on the authorize path), valid or not.
    pub fn authorize_requests(&self) -> usize {
        self.lock().authorize_requests
    }

    /// Requests to the token endpoint (code exchanges, long-lived exchanges, refreshes), whatever
    /// their answer.
    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }

    /// The scopes asked for by the last valid consent page, in order.
    pub fn asked_scopes(&self) -> Option<Vec<String>> {
        self.lock().asked_scopes.clone()
    }

    /// `Some(scopes)`: the person grants only these (unticked the others): token answers and
    /// permission reads give these instead of those asked. `None` (the default): all asked.
    pub fn set_granted_scopes(&self, scopes: Option<Vec<String>>) {
        self.lock().granted_scopes = scopes;
    }

    /// Every token this server issued (codes exchanged, long-lived exchanges, refreshes),
    /// oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.iter().map(|(t, _)| t.clone()).collect()
    }

    /// The tokens revoked, in order.
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.lock().revoked.clone()
    }

    /// Every code issued so far has expired (codes live seconds to minutes at the networks).
    pub fn expire_codes(&self) {
        for code in self.lock().codes.values_mut() {
            code.expired = true;
        }
    }

    /// The consent page (`GET`) and its form (`POST`) on `path`.
    pub fn consent_routes(&self, path: &str) -> Router {
        Router::new()
            .route(path, get(show).post(decide))
            .with_state(self.clone())
    }

    pub(crate) fn count_token_request(&self) {
        self.lock().token_requests += 1;
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<Client> {
        self.lock()
            .clients
            .iter()
            .find(|c| c.id == client_id)
            .cloned()
    }

    /// The client these credentials authenticate.
    pub(crate) fn authenticate(&self, client_id: &str, secret: &str) -> Option<Client> {
        self.client(client_id).filter(|c| c.secret == secret)
    }

    /// Exchanges a code (spent by its first exchange, even one that fails).
    pub(crate) fn redeem(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Grant, CodeError> {
        let mut s = self.lock();
        let granted = s.granted_scopes.clone();
        let code = s.codes.get_mut(code).ok_or(CodeError::Unknown)?;
        if code.used {
            return Err(CodeError::Used);
        }
        code.used = true;
        if code.expired {
            return Err(CodeError::Expired);
        }
        if code.grant.client_id != client_id {
            return Err(CodeError::WrongClient);
        }
        if redirect_uri != Some(code.grant.redirect_uri.as_str()) {
            return Err(CodeError::WrongRedirectUri);
        }
        if let Some(challenge) = &code.challenge
            && verifier.map(s256).as_ref() != Some(challenge)
        {
            return Err(CodeError::WrongVerifier);
        }
        let mut grant = code.grant.clone();
        grant.scopes = granted.unwrap_or_else(|| grant.asked.clone());
        Ok(grant)
    }

    /// A fresh token (or code) starting with `prefix`.
    pub(crate) fn new_token(&self, prefix: &str) -> String {
        let mut s = self.lock();
        s.next += 1;
        let seed = format!("{}:{}", ulid::Ulid::new(), s.next);
        let random = URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()));
        format!("{prefix}{}{}", s.next, &random[..24])
    }

    /// Records a token issued for `grant`.
    pub(crate) fn issue(&self, token: &str, grant: &Grant) {
        self.lock().issued.push((token.to_owned(), grant.clone()));
    }

    /// The grant a token was issued for (when this server issued it and it is not revoked).
    pub(crate) fn grant_of(&self, token: &str) -> Option<Grant> {
        let s = self.lock();
        if s.revoked.iter().any(|t| t == token) {
            return None;
        }
        s.issued
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, g)| g.clone())
    }

    pub(crate) fn record_revoked(&self, token: &str) {
        self.lock().revoked.push(token.to_owned());
    }

    pub(crate) fn is_revoked(&self, token: &str) -> bool {
        self.lock().revoked.iter().any(|t| t == token)
    }

    pub(crate) fn split_scopes(&self, scope: &str) -> Vec<String> {
        split_scopes(scope, self.dialog.scope_separator)
    }

    /// Checks an authorization request, as the network does before it shows its page.
    fn check(&self, params: &[(String, String)]) -> Result<Authorization, String> {
        let get = |name: &str| param(params, name);
        match get("response_type") {
            None => return Err("invalid_request: response_type is required".into()),
            Some("code") => {}
            Some(other) => {
                return Err(format!(
                    "unsupported_response_type: {other} (only code is supported)"
                ));
            }
        }
        let client_id = get("client_id").ok_or("invalid_request: client_id is required")?;
        let client = self
            .client(client_id)
            .ok_or_else(|| format!("invalid_client: unknown client_id {client_id}"))?;
        let redirect_uri =
            get("redirect_uri").ok_or("invalid_request: redirect_uri is required")?;
        if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Err(format!(
                "invalid_request: the redirect_uri {redirect_uri} is not registered for this app"
            ));
        }
        let scopes = self.split_scopes(get("scope").unwrap_or(""));
        if let Some(known) = self.dialog.scopes
            && let Some(unknown) = scopes.iter().find(|s| !known.contains(&s.as_str()))
        {
            return Err(format!("invalid_scope: unknown scope {unknown}"));
        }
        let challenge = if self.dialog.pkce_required {
            match (get("code_challenge"), get("code_challenge_method")) {
                (Some(challenge), Some("S256")) => Some(challenge.to_owned()),
                (None, _) => return Err("invalid_request: code_challenge is required".into()),
                (Some(_), _) => {
                    return Err("invalid_request: code_challenge_method must be S256".into());
                }
            }
        } else {
            None
        };
        Ok(Authorization {
            client_id: client.id,
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            state: get("state").map(str::to_owned),
            challenge,
        })
    }
}

/// An authorization request, once checked.
struct Authorization {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    challenge: Option<String>,
}

/// `GET {authorize path}`: the consent page.
async fn show(State(server): State<OAuthServer>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    server.lock().authorize_requests += 1;
    let params = pairs(query.as_deref().unwrap_or("").as_bytes());
    let request = match server.check(&params) {
        Ok(request) => request,
        Err(message) => return error_page(&message),
    };
    server.lock().asked_scopes = Some(request.scopes.clone());
    let dialog = server.dialog;
    page(
        uri.path(),
        &format!(
            "{}: allow {} to use your account?",
            dialog.network, request.client_id
        ),
        &[format!("It asks for: {}", request.scopes.join(", "))],
        &params,
    )
}

/// `POST {authorize path}`: the consent form's answer.
async fn decide(State(server): State<OAuthServer>, body: Bytes) -> Response {
    let params = pairs(&body);
    let request = match server.check(&params) {
        Ok(request) => request,
        Err(message) => return error_page(&message),
    };
    let state = request.state.as_deref();
    match Decision::of(&params) {
        Some(Decision::Approve) => {}
        Some(Decision::Deny) => {
            return redirect_back(&request.redirect_uri, server.dialog.deny, state, None);
        }
        None => return error_page("invalid_request: decision must be approve or deny"),
    }
    let code = server.new_token("code-");
    server.lock().codes.insert(
        code.clone(),
        Code {
            grant: Grant {
                client_id: request.client_id,
                redirect_uri: request.redirect_uri.clone(),
                asked: request.scopes,
                scopes: Vec::new(),
            },
            challenge: request.challenge,
            used: false,
            expired: false,
        },
    );
    redirect_back(
        &request.redirect_uri,
        &[("code", &code)],
        state,
        server.dialog.fragment,
    )
}

/// The person's answer on a consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

impl Decision {
    /// The `decision` of a posted consent form.
    pub fn of(params: &[(String, String)]) -> Option<Self> {
        match param(params, "decision") {
            Some("approve") => Some(Self::Approve),
            Some("deny") => Some(Self::Deny),
            _ => None,
        }
    }
}

/// The pairs of a query string or form body, decoded, in order.
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first non-empty value of `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

pub fn split_scopes(scope: &str, separator: char) -> Vec<String> {
    scope
        .split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// PKCE's S256: the challenge a verifier answers.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The id and secret of HTTP Basic client authentication (each form-urlencoded, RFC 6749 2.3.1).
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let pair = String::from_utf8(STANDARD.decode(raw.trim()).ok()?).ok()?;
    let (id, secret) = pair.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A consent page: `heading`, `lines` of text, and the form posting `params` back to `action`
/// with the decision.
pub fn page(
    action: &str,
    heading: &str,
    lines: &[String],
    params: &[(String, String)],
) -> Response {
    let hidden: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let lines: String = lines
        .iter()
        .map(|l| format!("  <p>{}</p>\n", escape(l)))
        .collect();
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{heading}</title></head>\n<body>\n  <h1>{heading}</h1>\n{lines}  <form method=\"post\" action=\"{action}\">\n{hidden}    <button name=\"decision\" value=\"approve\">Allow</button>\n    <button name=\"decision\" value=\"deny\">Cancel</button>\n  </form>\n</body>\n</html>\n",
        heading = escape(heading),
        action = escape(action),
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// The error page a network shows instead of redirecting (unknown client, unregistered
/// redirect URI, malformed request).
pub fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// 302 to `redirect_uri` with `pairs` added to its query, then `state` when there is one, then
/// the `fragment` if any.
pub fn redirect_back(
    redirect_uri: &str,
    pairs: &[(&str, &str)],
    state: Option<&str>,
    fragment: Option<&str>,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page("invalid_request: the redirect_uri is not an absolute URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    if fragment.is_some() {
        url.set_fragment(fragment);
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}
