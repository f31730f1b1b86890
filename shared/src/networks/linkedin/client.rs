//! Calls to LinkedIn for one account: the access token in use and its renewal, LinkedIn's
//! required headers, reading answers, and refusals in plain words.

use jiff::{SignedDuration, Timestamp};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{LinkedinConnector, NETWORK, endpoint};
use crate::domain::{Credentials, Network, Secret};
use crate::networks::connect::renewal_client;
use crate::networks::{Account, PublishError, call_failed, create_failed, oauth, snippet};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, read_body, read_error_text};

const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// What a call does, which decides how its failures read: a call that creates something visible
/// must never be retried blindly, and a refused upload is about the media, not the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Media,
    Read,
    /// Statistics, which need their own permissions.
    Metrics,
    /// Reading the comments under the page's posts.
    Inbox,
    /// The page's answer to a comment: created like a post.
    Reply,
    /// Liking a comment or deleting the page's own: creates nothing new to look for.
    Moderate,
}

impl Step {
    fn transport(self, e: &CallError) -> PublishError {
        match self {
            Step::Create | Step::Reply => create_failed(NETWORK, e),
            Step::Media | Step::Read | Step::Metrics | Step::Inbox | Step::Moderate => {
                call_failed(NETWORK, e)
            }
        }
    }
}

/// One publish or read-back for one account: the access token in use (renewed at most once,
/// only where LinkedIn issued a refresh token) and anything worth telling the user.
pub(super) struct Session<'a> {
    linkedin: &'a LinkedinConnector,
    account: &'a Account<'a>,
    token: String,
    refreshed: bool,
    pub(super) notes: Vec<String>,
}

impl<'a> Session<'a> {
    pub(super) async fn open(
        linkedin: &'a LinkedinConnector,
        account: &'a Account<'a>,
    ) -> Result<Self, PublishError> {
        let token = account.credential("access_token")?.expose().to_owned();
        let mut session = Self {
            linkedin,
            account,
            token,
            refreshed: false,
            notes: Vec::new(),
        };
        let expired = account
            .credentials()
            .get("access_token_expires_at")
            .and_then(|s| s.expose().trim().parse::<i64>().ok())
            .and_then(|secs| Timestamp::from_second(secs).ok())
            .is_some_and(|at| {
                Timestamp::now()
                    .checked_add(EXPIRY_MARGIN)
                    .is_ok_and(|soon| soon >= at)
            });
        if expired && session.can_refresh() {
            session.refresh().await?;
        }
        Ok(session)
    }

    fn can_refresh(&self) -> bool {
        let credentials = self.account.credentials();
        credentials
            .get("refresh_token")
            .is_some_and(|s| !s.is_empty())
            && renewal_app(self.linkedin, self.account, credentials).is_some()
    }

    /// Sends the request `build` makes with LinkedIn's required headers; on a 401 renews the
    /// token once where possible and sends it again (a refused request created nothing).
    pub(super) async fn send(
        &mut self,
        step: Step,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, PublishError> {
        match self.send_allowing(step, &[], build).await? {
            Some(response) => Ok(response),
            // Only an allowed status answers `None`, and none is allowed here.
            None => Err(PublishError::Transient(format!(
                "{NETWORK} gave an answer the connector does not expect"
            ))),
        }
    }

    /// As [`Session::send`], but an answer with one of the `allowed` statuses is `None` instead
    /// of an error: a comment already deleted, a reaction already made.
    pub(super) async fn send_allowing(
        &mut self,
        step: Step,
        allowed: &[StatusCode],
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Option<Response>, PublishError> {
        loop {
            let request = build(&self.linkedin.http)
                .bearer_auth(&self.token)
                .header("Linkedin-Version", &self.linkedin.linkedin_version)
                .header("X-Restli-Protocol-Version", "2.0.0");
            let response = self
                .linkedin
                .http
                .send(request)
                .await
                .map_err(|e| step.transport(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(Some(response));
            }
            if allowed.contains(&status) {
                return Ok(None);
            }
            if status == StatusCode::UNAUTHORIZED && !self.refreshed && self.can_refresh() {
                self.refresh().await?;
                continue;
            }
            return Err(failure(response, step, &self.linkedin.linkedin_version).await);
        }
    }

    async fn refresh(&mut self) -> Result<(), PublishError> {
        self.refreshed = true;
        let (linkedin, account) = (self.linkedin, self.account);
        let build = |credentials: &Credentials| {
            let refresh_token = account.credential_in(credentials, "refresh_token")?;
            let (client_id, client_secret) = renewal_app(linkedin, account, credentials)
                .ok_or_else(|| {
                    PublishError::AuthExpired(
                        "the channel has no OAuth app to renew its token with: connect it again"
                            .into(),
                    )
                })?;
            Ok(linkedin
                .http
                .post(format!("{}{}", linkedin.oauth_base, endpoint::ACCESS_TOKEN))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose()),
                ]))
        };
        self.token = oauth::renew(
            NETWORK,
            &self.linkedin.http,
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
    serde_json::from_slice(&body).map_err(|e| {
        PublishError::Transient(format!(
            "LinkedIn gave an answer that could not be read: {e}"
        ))
    })
}

/// Maps a LinkedIn error answer to a publish error in plain words.
async fn failure(response: Response, step: Step, version: &str) -> PublishError {
    let status = response.status();
    let body = read_error_text(response).await;
    let error = serde_json::from_str::<ApiError>(&body).unwrap_or_default();
    let message = error.describe().unwrap_or_else(|| snippet(&body, status));
    let code = error.code.as_deref().unwrap_or_default();
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "LinkedIn refused the channel's access token ({message}); its tokens last 60 days: connect the channel again"
        )),
        403 if step == Step::Inbox => PublishError::AuthExpired(format!(
            "LinkedIn did not allow reading the page's comments ({message}); it needs the r_organization_social permission and an ADMINISTRATOR role on the page: connect the channel again"
        )),
        403 if matches!(step, Step::Reply | Step::Moderate) => PublishError::AuthExpired(format!(
            "LinkedIn did not allow acting as the page ({message}); it needs the w_organization_social permission and an ADMINISTRATOR role on the page: connect the channel again"
        )),
        403 if step == Step::Metrics => PublishError::AuthExpired(format!(
            "LinkedIn did not allow reading statistics ({message}); a page's statistics need the rw_organization_admin permission and an ADMINISTRATOR role on the page, a member's need r_member_postAnalytics: connect the channel again"
        )),
        403 => PublishError::AuthExpired(format!(
            "LinkedIn did not allow this ({message}); the connected member needs the w_member_social permission (or w_organization_social and an admin role on the page): connect the channel again"
        )),
        422 if error.is_duplicate() => PublishError::Duplicate(format!(
            "LinkedIn refused the post as a duplicate of one the account already made: {message}"
        )),
        // LinkedIn documents no rate-limit headers: the publisher backs off on its own.
        429 => PublishError::RateLimited {
            retry_at: None,
            message: format!(
                "LinkedIn's daily limit for this member or app is used up ({message}); it resets at midnight UTC"
            ),
        },
        426 => PublishError::Misconfigured(format!(
            "LinkedIn no longer serves API version {version} ({message}); the connector's version must be updated"
        )),
        400 if code == "VERSION_MISSING" || code == "NONEXISTENT_VERSION" => {
            PublishError::Misconfigured(format!(
                "LinkedIn refused the API version {version}: {message}"
            ))
        }
        // A gateway timeout on a create may still have created the post behind the gateway.
        504 if matches!(step, Step::Create | Step::Reply) => PublishError::UnknownOutcome(format!(
            "LinkedIn timed out answering ({message}); the post may or may not have been made, so it will be checked before any retry"
        )),
        500..=599 => {
            PublishError::Transient(format!("LinkedIn had a problem ({status}): {message}"))
        }
        400..=499 if step == Step::Metrics => PublishError::InvalidContent(format!(
            "LinkedIn refused the statistics request: {message}"
        )),
        400..=499 if step == Step::Inbox => PublishError::Misconfigured(format!(
            "LinkedIn refused to read the page's comments: {message}"
        )),
        400..=499 if step == Step::Reply => {
            PublishError::InvalidContent(format!("LinkedIn refused the reply: {message}"))
        }
        400..=499 if step == Step::Moderate => {
            PublishError::InvalidContent(format!("LinkedIn refused the action: {message}"))
        }
        400..=499 if step == Step::Media => {
            PublishError::InvalidMedia(format!("LinkedIn refused the media: {message}"))
        }
        400..=499 => PublishError::InvalidContent(format!("LinkedIn refused the post: {message}")),
        _ => PublishError::Transient(format!(
            "LinkedIn gave an unexpected answer ({status}): {message}"
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    message: Option<String>,
    code: Option<String>,
    error_details: Option<ErrorDetails>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    #[serde(default)]
    input_errors: Vec<InputError>,
}

#[derive(Deserialize)]
struct InputError {
    code: Option<String>,
    description: Option<String>,
}

impl ApiError {
    fn input_errors(&self) -> impl Iterator<Item = &InputError> {
        self.error_details
            .iter()
            .flat_map(|d| d.input_errors.iter())
    }

    fn is_duplicate(&self) -> bool {
        self.input_errors()
            .any(|e| e.code.as_deref() == Some("DUPLICATE_POST"))
    }

    /// LinkedIn's message, with the per-field descriptions it adds for invalid input.
    fn describe(&self) -> Option<String> {
        let details: Vec<&str> = self
            .input_errors()
            .filter_map(|e| e.description.as_deref())
            .collect();
        match (&self.message, details.is_empty()) {
            (Some(m), true) => Some(m.clone()),
            (Some(m), false) => Some(format!("{m} ({})", details.join("; "))),
            (None, false) => Some(details.join("; ")),
            (None, true) => None,
        }
    }
}

/// The app that renews a channel's token: its own, else the deployment's for its login.
fn renewal_app(
    linkedin: &LinkedinConnector,
    account: &Account<'_>,
    credentials: &Credentials,
) -> Option<(String, Secret)> {
    let (id, secret) = renewal_client(
        credentials,
        &linkedin.apps,
        Network::Linkedin,
        account.channel.login(),
    )?;
    Some((id, secret?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_and_messages_are_read_from_the_error_body() {
        let e: ApiError = serde_json::from_str(
            r#"{"errorDetailType":"com.linkedin.common.error.BadRequest","message":"Content is a duplicate of urn:li:share:1","errorDetails":{"inputErrors":[{"description":"Duplicate post is detected","input":{},"code":"DUPLICATE_POST"}]},"status":422}"#,
        )
        .unwrap();
        assert!(e.is_duplicate());
        assert_eq!(
            e.describe().unwrap(),
            "Content is a duplicate of urn:li:share:1 (Duplicate post is detected)"
        );
    }
}
