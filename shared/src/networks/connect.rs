//! Connecting an account by OAuth 2.0: the capability each OAuth network's `oauth.rs` implements
//! (the authorize URL, the code exchange with the accounts the login gives, revocation), the
//! deployment's own apps (client ids and secrets, one per network or login), and the one token
//! call every network's exchange goes through.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{Account, PublishError, call_failed, snippet};
use crate::domain::{Network, Secret};
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

/// An OAuth client: the deployment's app on a network, or a channel's own (self-hosted apps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// The deployment's registered apps, by name ([`OAuthApps::NAMES`]). Mastodon has none here:
/// Palinsesto registers itself on each instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthApps {
    apps: BTreeMap<String, AppCredentials>,
}

impl OAuthApps {
    /// The apps a deployment may register: one per network, LinkedIn's Community Management
    /// app for organization pages, which LinkedIn wants alone on its app, and X's consumer key
    /// and secret (OAuth 1.0a), which sign X's webhook deliveries.
    pub const NAMES: [&'static str; 7] = [
        "x",
        "linkedin",
        "linkedin_community",
        "facebook",
        "instagram",
        "threads",
        "x_consumer",
    ];

    /// From `(name/client_id, value)` and `(name/client_secret, value)` pairs, as the Parameter
    /// Store's names under the deployment's path or the data folder's `oauth-apps.json` give
    /// them. Unknown names and apps missing half of their pair are left out (with a log line).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
        let mut secrets: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in pairs {
            let key = key.trim_matches('/');
            let Some((name, part)) = key.rsplit_once('/') else {
                continue;
            };
            let name = name.rsplit('/').next().unwrap_or(name);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match part {
                "client_id" => ids.insert(name, value),
                "client_secret" => secrets.insert(name, value),
                _ => None,
            };
        }
        let mut apps = BTreeMap::new();
        for name in Self::NAMES {
            match (ids.get(name), secrets.get(name)) {
                (Some(id), Some(secret)) => {
                    apps.insert(
                        name.to_owned(),
                        AppCredentials {
                            client_id: (*id).to_owned(),
                            client_secret: Secret::new(*secret),
                        },
                    );
                }
                (None, None) => {}
                _ => tracing::warn!(
                    app = name,
                    "an OAuth app has a client id or a secret but not both: it is left out"
                ),
            }
        }
        Self { apps }
    }

    /// From `PALINSESTO_OAUTH_{NAME}_CLIENT_ID` and `..._CLIENT_SECRET` (the local runner).
    pub fn from_env() -> Self {
        let vars: Vec<(String, String)> = Self::NAMES
            .iter()
            .flat_map(|name| {
                ["client_id", "client_secret"].map(|part| {
                    let var = format!("PALINSESTO_OAUTH_{name}_{part}").to_uppercase();
                    (
                        format!("{name}/{part}"),
                        std::env::var(var).unwrap_or_default(),
                    )
                })
            })
            .collect();
        Self::from_pairs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// These apps, with `other`'s in place of any of the same name.
    pub fn overridden_by(mut self, other: OAuthApps) -> Self {
        self.apps.extend(other.apps);
        self
    }

    pub fn get(&self, name: &str) -> Option<&AppCredentials> {
        self.apps.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.apps.keys().map(String::as_str)
    }

    /// The app that connects `network` through `login` (the network's default login when
    /// `None`): its name and credentials, or why there is none, in plain words.
    pub fn for_login(
        &self,
        network: Network,
        login: Option<&str>,
    ) -> Result<(&'static str, &AppCredentials), String> {
        let names = app_names(network, login);
        names
            .iter()
            .find_map(|name| self.apps.get(*name).map(|app| (*name, app)))
            .ok_or_else(|| {
                format!(
                    "this deployment has no {} app to connect with (its client id and secret, {}): docs/deploy.md says how to register one",
                    network.display_name(),
                    names
                        .first()
                        .map_or_else(String::new, |n| format!("\"{n}\"")),
                )
            })
    }
}

/// The apps that may connect `network` through `login`, the preferred first.
fn app_names(network: Network, login: Option<&str>) -> &'static [&'static str] {
    match (network, login) {
        (Network::X, _) => &["x"],
        (Network::Linkedin, Some("organization")) => &["linkedin_community", "linkedin"],
        (Network::Linkedin, _) => &["linkedin"],
        (Network::Facebook, _) | (Network::Instagram, Some("facebook")) => &["facebook"],
        (Network::Instagram, _) => &["instagram"],
        (Network::Threads, _) => &["threads"],
        _ => &[],
    }
}

/// The client a channel's renewals use: the channel's own app where its credentials name one
/// (self-hosted apps take precedence), else the deployment's.
pub fn renewal_client(
    credentials: &crate::domain::Credentials,
    apps: &OAuthApps,
    network: Network,
    login: Option<&str>,
) -> Option<(String, Option<Secret>)> {
    if let Some(id) = credentials.get("client_id").filter(|s| !s.is_empty()) {
        let secret = credentials
            .get("client_secret")
            .filter(|s| !s.is_empty())
            .cloned();
        return Some((id.expose().to_owned(), secret));
    }
    apps.for_login(network, login)
        .ok()
        .map(|(_, app)| (app.client_id.clone(), Some(app.client_secret.clone())))
}

/// Where the browser is sent to consent.
pub struct Authorize<'a> {
    /// The server, for networks where each channel names its own (Mastodon).
    pub instance: Option<&'a str>,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub state: &'a str,
    pub pkce_challenge: Option<&'a str>,
    pub login: Option<&'a str>,
}

/// What the code exchange needs.
pub struct Exchange<'a> {
    pub instance: Option<&'a str>,
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub pkce_verifier: Option<&'a str>,
    pub login: Option<&'a str>,
    /// The scopes asked for, for networks whose answer does not say what was granted.
    pub scopes: &'a [String],
    pub now: Timestamp,
}

/// An account a login gives, with what the channel stores if it is chosen.
#[derive(Debug, Clone)]
pub struct FoundAccount {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub avatar: Option<String>,
    pub scopes: Vec<String>,
    /// The credentials to store (keys of the network's credential table).
    pub credentials: Vec<(String, Secret)>,
    /// The settings the connection fills in (the page, the author, the login used).
    pub settings: Vec<(String, Value)>,
    /// When the access runs out unless renewed; `None`: it does not expire.
    pub expires_at: Option<Timestamp>,
    /// Whether Palinsesto can renew it before then (a refresh token, a refreshable token).
    pub renewable: bool,
    /// The person who granted it, as the network's deauthorize and data-deletion callbacks name
    /// them (Meta's app-scoped user id); `None` where the network has no such callbacks.
    pub owner: Option<String>,
}

/// How a disconnect ended at the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The network offers no revocation of this access; the reason in plain words (where the
    /// person removes the app themselves).
    NotOffered(String),
}

/// Connecting an account by OAuth 2.0 (authorization code, PKCE where the network supports it).
#[async_trait]
pub trait ConnectAccount: Send + Sync {
    /// Whether the flow uses PKCE S256 (on `instance`, where each channel names its server).
    async fn uses_pkce(&self, instance: Option<&str>) -> bool;

    /// Where the browser goes to consent.
    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError>;

    /// Exchanges the code for tokens and reads the accounts the login gives (one, or the pages
    /// and organizations the person may act as).
    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError>;

    /// Revokes the channel's access at the network, with the app it was granted to.
    async fn revoke(
        &self,
        app: &AppCredentials,
        account: &Account<'_>,
    ) -> Result<Revocation, PublishError>;

    /// Renews the channel's access ahead of its expiry (it is `now`), where it can be renewed:
    /// the new expiry.
    async fn renew(
        &self,
        _account: &Account<'_>,
        _now: Timestamp,
    ) -> Result<Option<Timestamp>, PublishError> {
        Ok(None)
    }
}

/// `base` + `path` with `pairs` as its query, for authorize URLs.
pub fn url_with_query(base: &str, pairs: &[(&str, &str)]) -> Result<String, PublishError> {
    let mut url = url::Url::parse(base).map_err(|e| {
        PublishError::Misconfigured(format!("the authorization URL {base} is not a URL: {e}"))
    })?;
    url.query_pairs_mut().extend_pairs(pairs);
    Ok(url.into())
}

/// How long one OAuth or account call may take: a callback makes a few (the token, a
/// long-lived token, the permissions, the accounts) within its own 25 seconds.
pub const CALL_BUDGET: std::time::Duration = std::time::Duration::from_secs(6);

/// Sends an OAuth or account call (within [`CALL_BUDGET`]) and reads its JSON answer. A refusal
/// is `AuthExpired` (the code, the app or the token was refused: the person must start again),
/// with the network's reason from the OAuth (`error_description`), Graph (`error.message`) or Instagram
/// (`error_message`) error shapes; a server error is `Transient`.
pub async fn call_json(
    network: &str,
    doing: &str,
    http: &OutboundClient,
    request: reqwest::RequestBuilder,
) -> Result<Value, PublishError> {
    let response = http
        .send(request.timeout(CALL_BUDGET))
        .await
        .map_err(|e| call_failed(network, &e))?;
    let status = response.status();
    let body = read_text(response, JSON_ANSWER_LIMIT)
        .await
        .map_err(|e| call_failed(network, &e))?;
    if !status.is_success() {
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        let reason = parsed
            .as_ref()
            .and_then(|v| {
                v.get("error_description")
                    .or_else(|| v.pointer("/error/message"))
                    .or_else(|| v.get("error_message"))
                    .or_else(|| v.get("message"))
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| snippet(&body, status));
        let why = format!("{network} refused {doing}: {reason}");
        return Err(if status.is_server_error() {
            PublishError::Transient(why)
        } else {
            PublishError::AuthExpired(why)
        });
    }
    if body.trim().is_empty() {
        // Revocations answer 200 with nothing.
        return Ok(Value::Null);
    }
    serde_json::from_str(&body).map_err(|e| {
        PublishError::Transient(format!(
            "{network}'s answer to {doing} could not be read: {e}"
        ))
    })
}

/// A string field of an answer, or a plain-words error naming it.
pub fn field<'v>(answer: &'v Value, pointer: &str, network: &str) -> Result<&'v str, PublishError> {
    let value = answer.pointer(pointer);
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            PublishError::Transient(format!(
                "{network}'s answer has no {}",
                pointer.trim_start_matches('/').replace('/', ".")
            ))
        })
}

/// A field that may be a string or a number (ids), as a string.
pub fn id_field(answer: &Value, pointer: &str, network: &str) -> Result<String, PublishError> {
    match answer.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(PublishError::Transient(format!(
            "{network}'s answer has no {}",
            pointer.trim_start_matches('/').replace('/', ".")
        ))),
    }
}

/// `now + expires_in` seconds of a token answer, if it says.
pub fn expiry(answer: &Value, key: &str, now: Timestamp) -> Option<Timestamp> {
    let seconds = answer.get(key).and_then(Value::as_i64)?;
    now.checked_add(SignedDuration::from_secs(seconds)).ok()
}

/// The scopes a token answer says were granted (`scope`), or those asked for when it does not
/// say.
pub fn granted_scopes(answer: &Value, asked: &[String]) -> Vec<String> {
    answer
        .get("scope")
        .and_then(Value::as_str)
        .map_or_else(|| asked.to_vec(), split_scopes)
}

/// Scopes as a network answers them: space- or comma-separated.
pub fn split_scopes(raw: &str) -> Vec<String> {
    raw.split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `(key, secret)` for a credential.
pub fn credential(key: &str, value: impl Into<String>) -> (String, Secret) {
    (key.to_owned(), Secret::new(value.into()))
}

/// The expiry credential renewals read (`access_token_expires_at`, unix seconds).
pub fn expiry_credential(at: Timestamp) -> (String, Secret) {
    credential("access_token_expires_at", at.as_second().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_come_in_pairs_and_only_under_known_names() {
        let apps = OAuthApps::from_pairs([
            ("/palinsesto/prod/oauth/x/client_id", "xid"),
            ("/palinsesto/prod/oauth/x/client_secret", "xsecret"),
            ("/palinsesto/prod/oauth/threads/client_id", "only-an-id"),
            ("/palinsesto/prod/oauth/nope/client_id", "a"),
            ("/palinsesto/prod/oauth/nope/client_secret", "b"),
        ]);
        assert_eq!(apps.names().collect::<Vec<_>>(), ["x"]);
        assert_eq!(apps.get("x").map(|a| a.client_id.as_str()), Some("xid"));
    }

    #[test]
    fn linkedin_organizations_prefer_the_community_app_and_fall_back_to_the_member_one() {
        let member = OAuthApps::from_pairs([
            ("linkedin/client_id", "member"),
            ("linkedin/client_secret", "s"),
        ]);
        let (name, _) = member
            .for_login(Network::Linkedin, Some("organization"))
            .expect("the member app");
        assert_eq!(name, "linkedin");
        let both = member.overridden_by(OAuthApps::from_pairs([
            ("linkedin_community/client_id", "community"),
            ("linkedin_community/client_secret", "s"),
        ]));
        assert_eq!(
            both.for_login(Network::Linkedin, Some("organization"))
                .map(|(n, _)| n),
            Ok("linkedin_community")
        );
        assert_eq!(
            both.for_login(Network::Linkedin, None).map(|(n, _)| n),
            Ok("linkedin")
        );
        assert!(
            both.for_login(Network::X, None)
                .unwrap_err()
                .contains("no X app")
        );
    }

    #[test]
    fn a_channels_own_app_takes_precedence_over_the_deployments() {
        let apps = OAuthApps::from_pairs([("x/client_id", "deployment"), ("x/client_secret", "s")]);
        let own = crate::domain::Credentials::from_stored(
            [("client_id".to_owned(), "own".to_owned())].into(),
        );
        let none = crate::domain::Credentials::from_stored(BTreeMap::new());
        assert_eq!(
            renewal_client(&own, &apps, Network::X, None).map(|(id, s)| (id, s.is_some())),
            Some(("own".to_owned(), false))
        );
        assert_eq!(
            renewal_client(&none, &apps, Network::X, None).map(|(id, _)| id),
            Some("deployment".to_owned())
        );
    }
}
