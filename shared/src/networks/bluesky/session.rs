//! Bluesky sessions: logging in with the app password (`createSession`), refreshing
//! (`refreshSession`), reusing a session across publishes and processes by storing it with the
//! channel's credentials, and the authenticated call that renews a refused session once.

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::xrpc::{Answer, Call, Payload, Step, rate_limited, refusal};
use super::{BlueskyConnector, NETWORK, service_url};
use crate::domain::{Credentials, Endpoint, OutboundPolicy, Secret};
use crate::networks::{Account, PublishError, Renewal};

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) access_jwt: Secret,
    pub(super) refresh_jwt: Secret,
    pub(super) did: String,
    /// Where the repository lives; the login server may be an entryway in front of it.
    pub(super) pds: String,
}

impl BlueskyConnector {
    fn slot(&self, account: &Account<'_>) -> Arc<tokio::sync::Mutex<Option<Session>>> {
        let identifier = account
            .credentials()
            .get("identifier")
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        // Keyed by login too, so a channel reconnected to another account never reuses a session.
        let key = format!(
            "{}|{}|{}",
            account.channel.id,
            service_url(account),
            identifier
        );
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.entry(key).or_default().clone()
    }

    /// The session to act with: this process's, else the one an earlier process stored, else a
    /// new login (rate-limited by Bluesky, hence the last resort).
    pub(super) async fn session(&self, account: &Account<'_>) -> Result<Session, PublishError> {
        let slot = self.slot(account);
        let mut current = slot.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let session = match stored_session(account.credentials(), account, self.http.policy()) {
            Some(session) => session,
            None => {
                let session = self.create_session(account).await?;
                store_session(account, &session, true).await;
                session
            }
        };
        *current = Some(session.clone());
        Ok(session)
    }

    /// Replaces a session whose access JWT Bluesky refused: refresh first, log in only if no
    /// refresh JWT is accepted.
    async fn renew(&self, account: &Account<'_>, stale: &Session) -> Result<Session, PublishError> {
        let slot = self.slot(account);
        let mut current = slot.lock().await;
        if let Some(session) = current.as_ref()
            && session.access_jwt != stale.access_jwt
        {
            // Another task renewed it while this one waited.
            return Ok(session.clone());
        }
        // One renewal at a time per channel across processes (refreshing rotates the refresh
        // JWT), from the session as stored now.
        let renewal = account.begin_renewal().await?;
        let policy = self.http.policy();
        if let Some(stored) = stored_session(&renewal.credentials, account, policy)
            && stored.access_jwt != stale.access_jwt
        {
            // Another process renewed it and stored its session while this one waited.
            account.finish_renewal(renewal, Vec::new()).await?;
            *current = Some(stored.clone());
            return Ok(stored);
        }
        let renewed = crate::networks::within_renewal_time(
            NETWORK,
            self.renewed_session(account, &renewal, stale),
        )
        .await;
        let (session, with_pds) = match renewed {
            Ok(renewed) => renewed,
            Err(e) => {
                account.finish_renewal(renewal, Vec::new()).await?;
                return Err(e);
            }
        };
        // A session that could not be saved still works in this process; the next one logs in.
        if let Err(e) = account
            .finish_renewal(renewal, session_changes(account, &session, with_pds))
            .await
        {
            tracing::warn!(channel = %account.channel.id, error = %e, "could not save the Bluesky session");
        }
        *current = Some(session.clone());
        Ok(session)
    }

    /// A new session: refreshed with the newest refresh JWT (the stored one, then this
    /// process's), else a new login. `true` when it came from a login (its PDS is new too).
    async fn renewed_session(
        &self,
        account: &Account<'_>,
        renewal: &Renewal,
        stale: &Session,
    ) -> Result<(Session, bool), PublishError> {
        let mut refresh_jwts = Vec::new();
        if let Some(stored) = renewal.credentials.get("refresh_jwt") {
            refresh_jwts.push(stored.clone());
        }
        if !refresh_jwts.contains(&stale.refresh_jwt) {
            refresh_jwts.push(stale.refresh_jwt.clone());
        }
        for refresh_jwt in refresh_jwts.iter().filter(|jwt| !jwt.is_empty()) {
            if let Some(session) = self.refresh_session(account, refresh_jwt).await? {
                return Ok((session, false));
            }
        }
        Ok((self.create_session(account).await?, true))
    }

    async fn create_session(&self, account: &Account<'_>) -> Result<Session, PublishError> {
        let identifier = account.credential("identifier")?.expose().to_owned();
        let password = account.credential("app_password")?;
        let call = Call::post_json(
            "com.atproto.server.createSession",
            json!({"identifier": identifier, "password": password.expose()}),
        );
        let answer = self.send(&service_url(account), &call, None).await?;
        if !answer.ok() {
            let error = answer.error();
            return Err(match (answer.status.as_u16(), error.error.as_str()) {
                (429, _) => rate_limited(
                    &answer,
                    "Bluesky limits sign-ins with an app password (30 per 5 minutes, 300 per day)",
                ),
                (_, "AuthFactorTokenRequired") => PublishError::AuthExpired(format!(
                    "Bluesky asked for an email sign-in code for {identifier}: the stored password is the account password, not an app password; create an app password in Bluesky's settings and connect the channel again"
                )),
                (_, "AccountTakedown") => PublishError::AuthExpired(format!(
                    "Bluesky has suspended the account {identifier} ({})",
                    error.said()
                )),
                (400 | 401, _) => PublishError::AuthExpired(format!(
                    "Bluesky refused the app password for {identifier} ({}); create a new app password in Bluesky's settings and connect the channel again",
                    error.said()
                )),
                _ => refusal(&answer, Step::SignIn),
            });
        }
        parse_session(&answer, &service_url(account), self.http.policy())
    }

    /// `None` when Bluesky refuses this refresh JWT (expired or revoked): the caller logs in.
    async fn refresh_session(
        &self,
        account: &Account<'_>,
        refresh_jwt: &Secret,
    ) -> Result<Option<Session>, PublishError> {
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.server.refreshSession",
            query: Vec::new(),
            payload: Payload::Empty,
            creates: false,
        };
        let answer = self
            .send(&service_url(account), &call, Some(refresh_jwt))
            .await?;
        match answer.status.as_u16() {
            200..=299 => Ok(Some(parse_session(
                &answer,
                &service_url(account),
                self.http.policy(),
            )?)),
            400 | 401 => Ok(None),
            _ => Err(refusal(&answer, Step::SignIn)),
        }
    }

    /// An authenticated call; an expired or rejected access JWT is renewed and the call made once
    /// more (a refused call created nothing, so repeating it is safe).
    pub(super) async fn call(
        &self,
        account: &Account<'_>,
        call: &Call,
    ) -> Result<(Answer, Session), PublishError> {
        let session = self.session(account).await?;
        let answer = self
            .send(&session.pds, call, Some(&session.access_jwt))
            .await?;
        if !answer.token_refused() {
            return Ok((answer, session));
        }
        let session = self.renew(account, &session).await?;
        let answer = self
            .send(&session.pds, call, Some(&session.access_jwt))
            .await?;
        Ok((answer, session))
    }
}

/// A session an earlier process stored with the channel's `credentials`, if it was made by the
/// channel's current service and names a PDS we connect to; otherwise the caller logs in again.
fn stored_session(
    credentials: &Credentials,
    account: &Account<'_>,
    policy: OutboundPolicy,
) -> Option<Session> {
    let get = |key: &str| credentials.get(key).filter(|s| !s.is_empty());
    let made_by = get(SESSION_SERVICE).map(|s| Endpoint::from_stored(s.expose()));
    if made_by.is_none() || made_by != Endpoint::of(&service_url(account)).ok() {
        return None;
    }
    if let Some(pds) = get("pds_url")
        && let Err(why) = policy.check_url(pds.expose())
    {
        tracing::warn!(channel = %account.channel.id, reason = %why, "the stored Bluesky session names a refused PDS; logging in again");
        return None;
    }
    Some(Session {
        access_jwt: get("access_jwt")?.clone(),
        refresh_jwt: get("refresh_jwt")
            .cloned()
            .unwrap_or_else(|| Secret::new("")),
        did: get("did")?.expose().to_owned(),
        pds: get("pds_url")
            .map(|s| s.expose().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| service_url(account)),
    })
}

/// Saves the session with the channel so the next process reuses it instead of logging in.
async fn store_session(account: &Account<'_>, session: &Session, with_pds: bool) {
    let changes = session_changes(account, session, with_pds);
    // A session that could not be saved still works in this process; the next one logs in.
    if let Err(e) = account.credentials_sink.update(changes).await {
        tracing::warn!(channel = %account.channel.id, error = %e, "could not save the Bluesky session");
    }
}

/// What a session leaves in the channel's credentials.
fn session_changes(
    account: &Account<'_>,
    session: &Session,
    with_pds: bool,
) -> Vec<(String, Secret)> {
    let made_by = Endpoint::of(&service_url(account))
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let mut changes = vec![
        (SESSION_SERVICE.to_owned(), Secret::new(made_by)),
        ("access_jwt".to_owned(), session.access_jwt.clone()),
        ("refresh_jwt".to_owned(), session.refresh_jwt.clone()),
        ("did".to_owned(), Secret::new(session.did.clone())),
    ];
    if with_pds {
        changes.push(("pds_url".to_owned(), Secret::new(session.pds.clone())));
    }
    changes.retain(|(_, value)| !value.is_empty());
    changes
}

/// The credential key recording which service (its endpoint) made the stored session.
const SESSION_SERVICE: &str = "session_service";

fn parse_session(
    answer: &Answer,
    service: &str,
    policy: OutboundPolicy,
) -> Result<Session, PublishError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        access_jwt: String,
        #[serde(default)]
        refresh_jwt: String,
        did: String,
        #[serde(default)]
        did_doc: Option<Value>,
    }
    let created: Created = answer.parse()?;
    let pds = created
        .did_doc
        .as_ref()
        .and_then(pds_endpoint)
        .unwrap_or_else(|| service.to_owned());
    // The DID document is the account owner's to write: its PDS gets the access JWT only if it
    // is a server we connect to at all.
    policy.check_url(&pds).map_err(|why| {
        PublishError::Misconfigured(format!(
            "the account's DID document names a PDS Palinsesto does not connect to: {why}"
        ))
    })?;
    Ok(Session {
        access_jwt: Secret::new(created.access_jwt),
        refresh_jwt: Secret::new(created.refresh_jwt),
        pds,
        did: created.did,
    })
}

/// The `#atproto_pds` service of a DID document.
fn pds_endpoint(did_doc: &Value) -> Option<String> {
    did_doc
        .get("service")?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.ends_with("#atproto_pds"))
        })?
        .get("serviceEndpoint")?
        .as_str()
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(|url| url.trim_end_matches('/').to_owned())
}
