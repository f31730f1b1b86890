//! Calls to X for one account: the access token in use and its renewal, reading answers, and
//! X's problem answers as refusals in plain words.

use jiff::{SignedDuration, Timestamp};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{NETWORK, XConnector, endpoint};
use crate::domain::{Credentials, Network};
use crate::networks::connect::renewal_client;
use crate::networks::{
    Account, PublishError, call_failed, create_failed, oauth, reset_at_unix, snippet,
};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, read_body, read_error_text};

/// A token this close to its expiry is renewed first, so it cannot lapse halfway through a post.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// What a call does, which decides how its failures read: a call that creates a visible post
/// must never be retried blindly, and a refused upload is about the media, not the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Media,
    Read,
    /// An answer to someone's post: created like a post, refused by X's reply rules.
    Reply,
    /// Hiding, liking, deleting: creates nothing, so a lost answer is a plain retry.
    Moderate,
}

impl Step {
    fn transport(self, e: &CallError) -> PublishError {
        match self {
            Step::Create | Step::Reply => create_failed(NETWORK, e),
            Step::Media | Step::Read | Step::Moderate => call_failed(NETWORK, e),
        }
    }

    /// A success answer we cannot read: after a create, the post may exist.
    fn garbled(self, what: &str) -> PublishError {
        match self {
            Step::Create | Step::Reply => PublishError::UnknownOutcome(format!(
                "X accepted the post but its answer could not be read ({what}); it will be checked before any retry"
            )),
            Step::Media | Step::Read | Step::Moderate => {
                PublishError::Transient(format!("X gave an answer that could not be read: {what}"))
            }
        }
    }
}

/// One publish or read-back for one account: the access token in use (renewed at most once)
/// and anything worth telling the user that is not an error.
pub(super) struct Session<'a> {
    x: &'a XConnector,
    pub(super) account: &'a Account<'a>,
    token: String,
    refreshed: bool,
    pub(super) notes: Vec<String>,
}

impl<'a> Session<'a> {
    pub(super) async fn open(
        x: &'a XConnector,
        account: &'a Account<'a>,
    ) -> Result<Self, PublishError> {
        let token = account.credential("access_token")?.expose().to_owned();
        let mut session = Self {
            x,
            account,
            token,
            refreshed: false,
            notes: Vec::new(),
        };
        let expires_at = account
            .credentials()
            .get("access_token_expires_at")
            .and_then(|s| s.expose().trim().parse::<i64>().ok())
            .and_then(|secs| Timestamp::from_second(secs).ok());
        let has_refresh = account
            .credentials()
            .get("refresh_token")
            .is_some_and(|s| !s.is_empty());
        if let Some(expires_at) = expires_at
            && has_refresh
            && Timestamp::now()
                .checked_add(EXPIRY_MARGIN)
                .is_ok_and(|soon| soon >= expires_at)
        {
            session.refresh().await?;
        }
        Ok(session)
    }

    /// Sends the request `build` makes, with the bearer token; on a 401 renews the token once and
    /// sends it again (a refused request created nothing, so resending cannot duplicate).
    pub(super) async fn send(
        &mut self,
        step: Step,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, PublishError> {
        loop {
            let request = build(&self.x.http).bearer_auth(&self.token);
            let response = self
                .x
                .http
                .send(request)
                .await
                .map_err(|e| step.transport(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::UNAUTHORIZED && !self.refreshed {
                self.refresh().await?;
                continue;
            }
            return Err(failure(response, step).await);
        }
    }

    async fn refresh(&mut self) -> Result<(), PublishError> {
        self.refreshed = true;
        let x = self.x;
        let build = |credentials: &Credentials| {
            let refresh_token = credentials
                .get("refresh_token")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    PublishError::AuthExpired(
                        "X refused the access token (they last 2 hours) and the channel has no refresh token to renew it: connect the channel again"
                            .into(),
                    )
                })?;
            let (client_id, client_secret) =
                renewal_client(credentials, &x.apps, Network::X, None).ok_or_else(|| {
                    PublishError::AuthExpired(
                        "the channel has no OAuth app to renew its token with (no client_id, and this deployment has no X app): connect the channel again".into(),
                    )
                })?;
            let mut request = x.http.post(x.url(endpoint::TOKEN)).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", client_id.as_str()),
            ]);
            if let Some(secret) = client_secret {
                // Confidential clients authenticate with HTTP basic auth.
                request = request.basic_auth(&client_id, Some(secret.expose()));
            }
            Ok(request)
        };
        self.token = oauth::renew(
            NETWORK,
            &self.x.http,
            self.account,
            &self.token,
            build,
            &mut self.notes,
        )
        .await?;
        Ok(())
    }
}

pub(super) async fn parse<T: DeserializeOwned>(
    response: Response,
    step: Step,
) -> Result<T, PublishError> {
    let body = read_body(response, JSON_ANSWER_LIMIT)
        .await
        .map_err(|e| step.transport(&e))?;
    serde_json::from_slice(&body).map_err(|e| step.garbled(&e.to_string()))
}

/// Maps an X error answer (problem JSON) to a publish error in plain words.
async fn failure(response: Response, step: Step) -> PublishError {
    let status = response.status();
    let reset = reset_at_unix(response.headers().get("x-rate-limit-reset"));
    let body = read_error_text(response).await;
    let problem = serde_json::from_str::<Problem>(&body).unwrap_or_default();
    let detail = problem.describe().unwrap_or_else(|| snippet(&body, status));
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "X refused the channel's access token ({detail}): connect the channel again"
        )),
        403 if problem.is_duplicate() => PublishError::Duplicate(format!(
            "X refused the post as a duplicate of one the account already made: {detail}"
        )),
        // X's reply rule since 2026-02-23 (engagement.md, "X"): a self-serve app may answer only
        // posts that mention or quote the account. Its refusal is about this post, not the
        // channel's access: a plain failure, never retried.
        403 if step == Step::Reply => PublishError::InvalidContent(format!(
            "X refused the reply ({detail}): since 2026-02-23 X lets an app reply only to posts that mention or quote the brand's account (or the app lacks the tweet.write permission)"
        )),
        403 if step == Step::Moderate => PublishError::AuthExpired(format!(
            "X did not allow this ({detail}); hiding replies needs the tweet.moderate.write permission, liking like.write, deleting tweet.write: connect the channel again"
        )),
        403 if step == Step::Read => PublishError::AuthExpired(format!(
            "X did not allow this read ({detail}); check that the app has the tweet.read and users.read permissions, then connect the channel again"
        )),
        403 => PublishError::AuthExpired(format!(
            "X did not allow this ({detail}); check that the app has the tweet.write, media.write and users.read permissions, then connect the channel again"
        )),
        429 => PublishError::RateLimited {
            retry_at: reset,
            message: format!("X's rate limit for this account or app is used up: {detail}"),
        },
        // A gateway timeout on a create may still have created the post behind the gateway.
        504 if matches!(step, Step::Create | Step::Reply) => PublishError::UnknownOutcome(format!(
            "X timed out answering ({detail}); the post may or may not have been made, so it will be checked before any retry"
        )),
        500..=599 => PublishError::Transient(format!("X had a problem ({status}): {detail}")),
        400..=499 if step == Step::Media => {
            PublishError::InvalidMedia(format!("X refused the media: {detail}"))
        }
        400..=499 => PublishError::InvalidContent(format!("X refused the post: {detail}")),
        _ => PublishError::Transient(format!("X gave an unexpected answer ({status}): {detail}")),
    }
}

#[derive(Deserialize)]
pub(super) struct Data<T> {
    pub(super) data: T,
}

#[derive(Deserialize)]
pub(super) struct Created {
    pub(super) id: String,
}

#[derive(Deserialize, Default)]
pub(super) struct Problem {
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemError>,
}

#[derive(Deserialize)]
struct ProblemError {
    message: Option<String>,
    detail: Option<String>,
}

impl Problem {
    /// The most specific words X gave: its per-field messages, else the detail, else the title.
    pub(super) fn describe(&self) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter_map(|e| e.message.as_deref().or(e.detail.as_deref()))
            .collect();
        if !messages.is_empty() {
            return Some(messages.join("; "));
        }
        self.detail.clone().or_else(|| self.title.clone())
    }

    fn is_duplicate(&self) -> bool {
        let said = |s: &str| s.to_lowercase().contains("duplicate content");
        self.detail.as_deref().is_some_and(said)
            || self
                .errors
                .iter()
                .filter_map(|e| e.message.as_deref().or(e.detail.as_deref()))
                .any(said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_problem_is_recognised() {
        let p: Problem = serde_json::from_str(
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
        )
        .unwrap();
        assert!(p.is_duplicate());
        let p: Problem = serde_json::from_str(
            r#"{"title":"Forbidden","detail":"You are not permitted to perform this action.","type":"about:blank"}"#,
        )
        .unwrap();
        assert!(!p.is_duplicate());
    }
}
