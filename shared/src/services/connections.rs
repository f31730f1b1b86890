//! Connecting a channel by OAuth (`domain::connection`): a start link a manager's frontend
//! opens, the browser bound to the flow by a cookie, the network's consent, a callback that
//! never changes the channel but leaves a pending connection (one candidate per account the
//! login gives, each sealed on its own), and the same person's confirmation, which stores the
//! chosen candidate's sealed credentials as they are (nothing here opens them) and fills in the
//! settings naming the account. Each network's side is its `ConnectAccount` connector; Bluesky
//! and Telegram keep typed credentials, checked when stored.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{Ports, ServiceError, check_version};
use crate::domain::audit::{AuditEntry, action};
use crate::domain::channel::ConnectedAccount;
use crate::domain::channel::ReconnectReason;
use crate::domain::connection::{
    Candidate, ConnectionTask, ConnectionWork, DeletionRecord, FLOW_LIFETIME, FlowStart, FlowState,
    GrantOwner, GrantedChannel, OAuthApp, Outcome, PENDING_LIFETIME, PendingConnection, WATCH,
    new_secret, pkce_challenge, secret_hash,
};
use crate::domain::coverage::{self, Capability};
use crate::domain::{Actor, ChannelId, Credentials, DomainError, Network, Permission, Secret};
use crate::domain_events::DomainEvent;
use crate::networks::connect::{Authorize, Exchange, OAuthApps};
use crate::networks::mastodon::oauth::MastodonOAuth;
use crate::networks::meta_graph::signed_request;
use crate::outbound::OutboundClient;
use crate::store::Store;
use crate::store::audit::audit_write;
use crate::store::outbox::outbox_write;

/// How long a callback may take in all (the network's token and account calls included).
const CALLBACK_BUDGET: Duration = Duration::from_secs(25);

/// Where the flow's pages are: this deployment's own origin (start links, the callback) and
/// the brand's frontend, where the browser lands with the outcome.
#[derive(Debug, Clone, Default)]
pub struct ConnectSettings {
    /// `https://api.example.com`: start links and the callback are under it.
    pub public_base: Option<String>,
    /// Where the browser is sent after the callback, with `?outcome=...&connection=...`.
    /// Without one, this deployment's own `/oauth/done` page says the outcome.
    pub frontend_url: Option<String>,
}

impl ConnectSettings {
    /// The browser lands on the frontend with a pending connection's id: only on the brand's
    /// own frontend, one of the origins the API answers (`cors_origins`).
    pub fn check_frontend(&self, cors_origins: &[String]) -> Result<(), String> {
        let Some(frontend) = &self.frontend_url else {
            return Ok(());
        };
        let allowed = cors_origins
            .iter()
            .map(|o| o.trim())
            .any(|o| o == "*" || frontend == o || frontend.starts_with(&format!("{o}/")));
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "FRONTEND_URL {frontend} is not on one of the allowed origins (CORS_ALLOWED_ORIGINS)"
            ))
        }
    }
}

/// A start link for the frontend to open.
#[derive(Debug, Clone)]
pub struct StartLink {
    pub start_url: String,
    pub expires_at: jiff::Timestamp,
}

/// Where the browser goes from the start link, and the cookie to set on the way.
#[derive(Debug, Clone)]
pub struct Opened {
    pub location: String,
    pub cookie: String,
}

/// What the network's redirect brought back.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// The person's choice.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub connection: String,
    pub account_id: Option<String>,
    pub replace_account: bool,
}

#[derive(Clone)]
pub struct ConnectionService {
    ports: Ports,
    /// Registers Palinsesto on Mastodon instances (the other networks' apps are the
    /// deployment's).
    mastodon: MastodonOAuth,
    apps: OAuthApps,
    settings: Arc<ConnectSettings>,
}

/// The OAuth client a flow uses: Palinsesto's app on the instance (Mastodon), or the
/// deployment's app for the network and login.
struct FlowApp {
    client_id: String,
    client_secret: Secret,
    scopes: Vec<String>,
}

impl ConnectionService {
    pub fn new(
        ports: Ports,
        http: OutboundClient,
        apps: OAuthApps,
        settings: ConnectSettings,
    ) -> Self {
        Self {
            ports,
            mastodon: MastodonOAuth::new(http),
            apps,
            settings: Arc::new(settings),
        }
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    fn public_base(&self) -> Result<&str, ServiceError> {
        self.settings.public_base.as_deref().ok_or_else(|| {
            DomainError::InvalidState(
                "connecting by OAuth is not set up in this deployment: its public URL (PUBLIC_BASE_URL) is not configured"
                    .into(),
            )
            .into()
        })
    }

    /// Where the browser lands after the callback.
    pub fn landing(&self, outcome: Outcome, connection: Option<&str>) -> String {
        let base = match (&self.settings.frontend_url, &self.settings.public_base) {
            (Some(frontend), _) => frontend.clone(),
            (None, Some(own)) => format!("{own}/oauth/done"),
            (None, None) => "/oauth/done".to_owned(),
        };
        let mut url = format!(
            "{base}{}outcome={}",
            if base.contains('?') { '&' } else { '?' },
            outcome.as_str()
        );
        if let Some(id) = connection {
            url.push_str("&connection=");
            url.push_str(id);
        }
        url
    }

    /// `POST /v1/channels/{id}/connect`: a one-time start link, valid 15 minutes. `login` picks
    /// among the network's logins (a LinkedIn member or organization, Instagram through
    /// Instagram or Facebook Login); the channel's own, or the network's default, otherwise.
    pub async fn start(
        &self,
        actor: &Actor,
        id: &ChannelId,
        login: Option<&str>,
    ) -> Result<StartLink, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let channel = self
            .store()
            .get_channel(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let network = channel.network;
        if let Some(why) = coverage::of(network).lacks(Capability::Oauth) {
            return Err(DomainError::InvalidState(format!(
                "{why}; store its credentials with PUT /v1/channels/{id}/credentials"
            ))
            .into());
        }
        self.ports
            .connectors
            .connector(network)
            .map_err(|e| DomainError::InvalidState(e.0))?;
        let login = match login {
            Some(l) if network.logins().contains(&l) => Some(l.to_owned()),
            Some(l) => {
                let why = if network.logins().is_empty() {
                    format!("{} has one login: leave it out", network.display_name())
                } else {
                    format!("{l:?} is not one of {}", network.logins().join(", "))
                };
                return Err(DomainError::invalid("login", why).into());
            }
            None => channel.login().map(str::to_owned),
        };
        let instance = channel
            .endpoint()
            .map_err(DomainError::InvalidState)?
            .map(|e| e.as_str().to_owned());
        if network == Network::Mastodon && instance.is_none() {
            return Err(DomainError::InvalidState("the channel names no server".into()).into());
        }
        if network != Network::Mastodon {
            // Said now, to the manager, rather than on a broken page in the browser.
            self.apps
                .for_login(network, login.as_deref())
                .map_err(DomainError::InvalidState)?;
        }
        let base = self.public_base()?;
        let now = self.ports.clock.now();
        let expires_at = now + FLOW_LIFETIME;
        let token = new_secret();
        let start = FlowStart {
            brand: actor.brand.clone(),
            channel: *id,
            user: actor.subject.clone(),
            network,
            instance,
            login,
            expires_at,
        };
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::CHANNEL_CONNECT_STARTED,
                format!("channel/{id}"),
                now,
                json!({"network": network.as_str(), "login": start.login}),
            ),
        )?;
        self.store()
            .put_flow_start(&secret_hash(&token), &start, vec![audit])
            .await?;
        Ok(StartLink {
            start_url: format!("{base}/oauth/start/{token}"),
            expires_at,
        })
    }

    /// `GET /oauth/start/{token}`: spends the start link, makes the state, the cookie and the
    /// PKCE verifier, and says where the browser goes to consent.
    pub async fn open(&self, token: &str) -> Result<Opened, ServiceError> {
        let now = self.ports.clock.now();
        let start = self
            .store()
            .take_flow_start(&secret_hash(token), now)
            .await?
            .ok_or(ServiceError::NotFound(
                "connect link (used or expired: start again)",
            ))?;
        let base = self.public_base()?.to_owned();
        let redirect_uri = format!("{base}/oauth/callback/{}", start.network.as_str());
        let connector = self
            .ports
            .connectors
            .connector(start.network)
            .map_err(|e| DomainError::InvalidState(e.0))?;
        let app = self.flow_app(&start, &redirect_uri, &base).await?;
        let instance = start.instance.as_deref();
        let verifier = connector.uses_pkce(instance).await.then(new_secret);
        let (state, cookie) = (new_secret(), new_secret());
        let location = connector
            .authorize_url(&Authorize {
                instance,
                client_id: &app.client_id,
                redirect_uri: &redirect_uri,
                scopes: &app.scopes,
                state: &state,
                pkce_challenge: verifier.as_deref().map(pkce_challenge).as_deref(),
                login: start.login.as_deref(),
            })
            .map_err(|e| DomainError::InvalidState(e.to_string()))?;
        let flow = FlowState {
            start,
            cookie_hash: secret_hash(&cookie),
            pkce_verifier: verifier,
            client_id: app.client_id,
            redirect_uri,
            scopes: app.scopes,
        };
        self.store()
            .put_flow_state(&secret_hash(&state), &flow)
            .await?;
        Ok(Opened { location, cookie })
    }

    /// The client a flow uses, and the scopes it asks for.
    async fn flow_app(
        &self,
        start: &FlowStart,
        redirect_uri: &str,
        website: &str,
    ) -> Result<FlowApp, ServiceError> {
        if let Some(instance) = start.instance.as_deref()
            && start.network == Network::Mastodon
        {
            let app = self.mastodon_app(instance, redirect_uri, website).await?;
            return Ok(FlowApp {
                client_id: app.client_id,
                client_secret: Secret::new(app.client_secret),
                scopes: app.scopes,
            });
        }
        let (_, app) = self
            .apps
            .for_login(start.network, start.login.as_deref())
            .map_err(DomainError::InvalidState)?;
        Ok(FlowApp {
            client_id: app.client_id.clone(),
            client_secret: app.client_secret.clone(),
            scopes: coverage::of(start.network)
                .all_scopes(start.login.as_deref())
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The app registered on `instance` for this deployment's callback, registered now if
    /// there is none yet (or the deployment's address changed since).
    async fn mastodon_app(
        &self,
        instance: &str,
        redirect_uri: &str,
        website: &str,
    ) -> Result<OAuthApp, ServiceError> {
        if let Some(app) = self.store().get_oauth_app(instance).await?
            && app.redirect_uri == redirect_uri
        {
            return Ok(app);
        }
        let now = self.ports.clock.now();
        let app = self
            .mastodon
            .register_app(instance, redirect_uri, website, now)
            .await
            .map_err(|e| {
                DomainError::InvalidState(format!(
                    "Palinsesto could not register itself on {instance}: {e}"
                ))
            })?;
        Ok(self.store().replace_oauth_app(instance, &app).await?)
    }

    /// The app a callback exchanges its code with: the one the flow began with, or none (the
    /// Mastodon app was registered again, or the deployment's app changed, since).
    async fn exchange_app(&self, flow: &FlowState) -> Result<Option<FlowApp>, ServiceError> {
        let start = &flow.start;
        let app = match (start.network, start.instance.as_deref()) {
            (Network::Mastodon, Some(instance)) => {
                self.store()
                    .get_oauth_app(instance)
                    .await?
                    .map(|app| FlowApp {
                        client_id: app.client_id,
                        client_secret: Secret::new(app.client_secret),
                        scopes: app.scopes,
                    })
            }
            _ => self
                .apps
                .for_login(start.network, start.login.as_deref())
                .ok()
                .map(|(_, app)| FlowApp {
                    client_id: app.client_id.clone(),
                    client_secret: app.client_secret.clone(),
                    scopes: flow.scopes.clone(),
                }),
        };
        Ok(app.filter(|app| app.client_id == flow.client_id))
    }

    /// `GET /oauth/callback/{network}`: the outcome, and the pending connection when there is
    /// one. Never changes a channel; never says more than a code to the browser.
    pub async fn callback(
        &self,
        network: &str,
        params: CallbackParams,
        cookie: Option<&str>,
    ) -> (Outcome, Option<String>) {
        match tokio::time::timeout(CALLBACK_BUDGET, self.finish_flow(network, params, cookie)).await
        {
            Ok(Ok(pending)) => (Outcome::Pending, Some(pending)),
            Ok(Err(outcome)) => (outcome, None),
            Err(_) => {
                tracing::warn!(network, "a connection callback ran out of time");
                (Outcome::Failed, None)
            }
        }
    }

    async fn finish_flow(
        &self,
        network: &str,
        params: CallbackParams,
        cookie: Option<&str>,
    ) -> Result<String, Outcome> {
        let now = self.ports.clock.now();
        let store = self.store();
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            // Never the code or the state: only what failed.
            tracing::warn!(network, error = %e, "a connection callback failed {what}");
            Outcome::Failed
        };
        let state = params.state.as_deref().ok_or(Outcome::Expired)?;
        let hash = secret_hash(state);
        let (flow, version) = store
            .get_flow_state(&hash, now)
            .await
            .map_err(|e| failed("reading its state", &e))?
            .ok_or(Outcome::Expired)?;
        // The browser that started the flow, and no other, brings the state back.
        if cookie.map(secret_hash).as_deref() != Some(flow.cookie_hash.as_str()) {
            return Err(Outcome::WrongBrowser);
        }
        if network != flow.start.network.as_str() {
            return Err(Outcome::Mismatch);
        }
        if !store
            .spend_flow_state(&hash, version)
            .await
            .map_err(|e| failed("spending its state", &e))?
        {
            return Err(Outcome::Expired);
        }
        if params.error.is_some() {
            return Err(Outcome::Denied);
        }
        let code = params.code.as_deref().ok_or(Outcome::Failed)?;
        let start = &flow.start;
        let app = self
            .exchange_app(&flow)
            .await
            .map_err(|e| failed("reading the app", &e))?
            .ok_or(Outcome::Mismatch)?;
        let connector = self
            .ports
            .connectors
            .connector(start.network)
            .map_err(|e| failed("finding the network", &e))?;
        let found = connector
            .exchange(&Exchange {
                instance: start.instance.as_deref(),
                client_id: &app.client_id,
                client_secret: &app.client_secret,
                redirect_uri: &flow.redirect_uri,
                code,
                pkce_verifier: flow.pkce_verifier.as_deref(),
                login: start.login.as_deref(),
                scopes: &flow.scopes,
                now,
            })
            .await
            .map_err(|e| failed("exchanging the code", &e))?;
        let channel = store
            .get_channel(&start.brand, &start.channel)
            .await
            .map_err(|e| failed("reading the channel", &e))?
            .ok_or(Outcome::Expired)?;
        // The channel moved to another server since the flow began: these are not for it.
        if channel
            .endpoint()
            .ok()
            .flatten()
            .map(|e| e.as_str().to_owned())
            != start.instance
        {
            return Err(Outcome::Mismatch);
        }
        let app_name = self
            .apps
            .for_login(start.network, start.login.as_deref())
            .ok()
            .map(|(name, _)| name);
        let mut candidates = Vec::new();
        for account in found {
            let credentials = Credentials::connected(start.network, account.credentials)
                .bind_to(&channel)
                .map_err(|e| failed("binding the credentials", &e))?;
            // Each account's tokens sealed on their own, under the channel.
            let sealed = store
                .seal_credentials(&start.brand, &start.channel, &credentials)
                .await
                .map_err(|e| failed("sealing the token", &e))?;
            candidates.push(Candidate {
                account_id: account.id,
                handle: account.handle,
                name: account.name,
                avatar: account.avatar,
                scopes: account.scopes,
                sealed,
                settings: account.settings.into_iter().collect(),
                expires_at: account.expires_at,
                renewable: account.renewable,
                grant: account
                    .owner
                    .zip(app_name)
                    .map(|(user_id, app)| GrantOwner {
                        app: app.to_owned(),
                        user_id,
                    }),
            });
        }
        let pending = PendingConnection {
            id: ulid::Ulid::new().to_string(),
            channel: start.channel,
            user: start.user.clone(),
            network: start.network,
            instance: start.instance.clone(),
            candidates,
            created_at: now,
            expires_at: now + PENDING_LIFETIME,
        };
        store
            .put_pending_connection(&start.brand, &pending)
            .await
            .map_err(|e| failed("keeping the pending connection", &e))?;
        Ok(pending.id)
    }

    /// `GET /v1/channels/{id}/connect/{connection}`: the accounts a callback found.
    pub async fn pending(
        &self,
        actor: &Actor,
        channel: &ChannelId,
        connection: &str,
    ) -> Result<PendingConnection, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let (pending, _) = self.load_pending(actor, channel, connection).await?;
        Ok(pending)
    }

    async fn load_pending(
        &self,
        actor: &Actor,
        channel: &ChannelId,
        connection: &str,
    ) -> Result<(PendingConnection, u64), ServiceError> {
        let now = self.ports.clock.now();
        self.store()
            .get_pending_connection(&actor.brand, connection, now)
            .await?
            .filter(|(p, _)| p.channel == *channel)
            .ok_or(ServiceError::NotFound("pending connection"))
    }

    /// `POST /v1/channels/{id}/connect/confirm`: the person who connected picks the account; its
    /// sealed credentials become the channel's, in one write with the audit entry.
    pub async fn confirm(
        &self,
        actor: &Actor,
        id: &ChannelId,
        confirmation: Confirmation,
        expected: Option<u64>,
    ) -> Result<crate::domain::Channel, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let expected = expected.ok_or(ServiceError::VersionRequired("channel"))?;
        let (pending, pending_version) = self
            .load_pending(actor, id, &confirmation.connection)
            .await?;
        if pending.user != actor.subject {
            return Err(DomainError::Forbidden(
                "only the person who connected the account may confirm it".into(),
            )
            .into());
        }
        let candidate = match &confirmation.account_id {
            Some(account) => pending
                .candidates
                .iter()
                .find(|c| &c.account_id == account)
                .ok_or_else(|| {
                    DomainError::invalid("account_id", "is not one of the accounts found")
                })?,
            None if pending.candidates.len() == 1 => &pending.candidates[0],
            None => {
                return Err(DomainError::invalid(
                    "account_id",
                    "the login gave several accounts: choose one",
                )
                .into());
            }
        };
        let mut channel = self
            .store()
            .get_channel(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        check_version(Some(expected), channel.version, "channel")?;
        if channel
            .endpoint()
            .ok()
            .flatten()
            .map(|e| e.as_str().to_owned())
            != pending.instance
        {
            return Err(DomainError::InvalidState(
                "the channel moved to another server since this connection began: connect it again"
                    .into(),
            )
            .into());
        }
        if let Some(current) = &channel.account
            && current.id != candidate.account_id
            && !confirmation.replace_account
        {
            return Err(DomainError::InvalidState(format!(
                "the channel is connected to {} and this login is {}: send \"replace_account\": true to connect it to the other account",
                current.handle, candidate.handle
            ))
            .into());
        }
        let now = self.ports.clock.now();
        let replaced = channel
            .account
            .as_ref()
            .is_some_and(|a| a.id != candidate.account_id);
        channel.credentials_stored(now);
        for (key, value) in &candidate.settings {
            channel.settings.insert(key.clone(), value.clone());
        }
        channel.account = Some(ConnectedAccount {
            id: candidate.account_id.clone(),
            handle: candidate.handle.clone(),
            scopes: candidate.scopes.clone(),
            expires_at: candidate.expires_at,
            renewable: candidate.renewable,
        });
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::CHANNEL_CONNECTED,
                format!("channel/{id}"),
                now,
                json!({
                    "network": channel.network.as_str(),
                    "account_id": candidate.account_id,
                    "handle": candidate.handle,
                    "scopes": candidate.scopes,
                    "replaced_account": replaced,
                }),
            ),
        )?;
        let spent = Store::pending_connection_spent(&actor.brand, &pending.id, pending_version);
        // The worker renews the access ahead of its expiry, or warns before it runs out.
        let watch = match candidate.expires_at {
            Some(at) => Store::connection_work_write(
                &actor.brand,
                &ConnectionWork::watch(*id, at, candidate.renewable),
            )?,
            None => Store::connection_work_done(&actor.brand, id, WATCH),
        };
        let mut also = vec![spent, audit, watch];
        also.extend(self.ports.inbox_stream_writes(&actor.brand, &channel)?);
        // The connection worker subscribes the account to the network's webhook.
        also.extend(super::subscriptions::wanted_write(&self.ports, &actor.brand, &channel).await?);
        // The person's deauthorize and data-deletion callbacks find the channel by its grant.
        if let Some(grant) = &candidate.grant {
            also.push(Store::granted_channel_write(
                grant,
                &GrantedChannel {
                    brand: actor.brand.clone(),
                    channel: *id,
                    connected_at: now,
                },
            )?);
        }
        Ok(self
            .store()
            .put_sealed_credentials_with(&actor.brand, &channel, expected, &candidate.sealed, also)
            .await?)
    }

    /// `DELETE /v1/channels/{id}/connection`: the channel stops using its connection at once
    /// (it needs a new one before it publishes again); the connection worker revokes its tokens
    /// at the network where the network allows, then forgets them. Answers the channel.
    pub async fn disconnect(
        &self,
        actor: &Actor,
        id: &ChannelId,
        expected: Option<u64>,
    ) -> Result<crate::domain::Channel, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let mut channel = self
            .store()
            .get_channel(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        check_version(expected, channel.version, "channel")?;
        let Some(stored_at) = channel.credentials_updated_at else {
            return Err(DomainError::InvalidState(
                "the channel is not connected: there is nothing to disconnect".into(),
            )
            .into());
        };
        let now = self.ports.clock.now();
        let version = channel.version;
        let account = channel.account.take();
        channel.credentials_updated_at = None;
        channel.needs_reconnect(ReconnectReason::Disconnected, now);
        let work = ConnectionWork {
            channel: *id,
            task: ConnectionTask::Disconnect {
                requested_by: actor.subject.clone(),
                stored_at: Some(stored_at),
            },
            due: now,
            attempts: 0,
        };
        let audit = audit_write(
            &actor.brand,
            &AuditEntry::new(
                actor,
                action::CHANNEL_DISCONNECTED,
                format!("channel/{id}"),
                now,
                json!({
                    "network": channel.network.as_str(),
                    "account_id": account.as_ref().map(|a| a.id.clone()),
                    "handle": account.as_ref().map(|a| a.handle.clone()),
                }),
            ),
        )?;
        Ok(self
            .store()
            .put_channel_with(
                &actor.brand,
                &channel,
                version,
                [
                    Store::connection_work_write(&actor.brand, &work)?,
                    Store::connection_work_done(&actor.brand, id, WATCH),
                    audit,
                ]
                .into_iter()
                // Nothing more is taken in from its webhook; the worker undoes the
                // subscription at the network before it revokes the tokens.
                .chain(super::subscriptions::lookups_done(self.store(), &actor.brand, id).await?)
                .collect(),
            )
            .await?)
    }

    /// Meta's deauthorize callback (`app`: `facebook`, `instagram` or `threads`): the person
    /// removed the app from their account. Every channel they connected through it stops using
    /// the connection: its tokens are forgotten and it needs a reconnect. The number of channels.
    pub async fn meta_deauthorized(
        &self,
        app: &str,
        signed_request: &str,
    ) -> Result<usize, ServiceError> {
        let grant = self.verify_meta(app, signed_request)?;
        self.forget_grant(&grant).await
    }

    /// Meta's data-deletion callback: as a deauthorization, and what was done is kept for 90
    /// days at the status URL Meta shows the person. The status URL and its confirmation code.
    pub async fn meta_data_deletion(
        &self,
        app: &str,
        signed_request: &str,
    ) -> Result<(String, String), ServiceError> {
        let grant = self.verify_meta(app, signed_request)?;
        let channels = self.forget_grant(&grant).await?;
        let code = ulid::Ulid::new().to_string();
        self.store()
            .put_deletion_record(&DeletionRecord {
                code: code.clone(),
                app: grant.app,
                channels,
                at: self.ports.clock.now(),
            })
            .await?;
        let base = self.public_base()?;
        Ok((format!("{base}/oauth/meta/deletion/{code}"), code))
    }

    /// `GET /oauth/meta/deletion/{code}`: what a data deletion did.
    pub async fn deletion_status(&self, code: &str) -> Result<DeletionRecord, ServiceError> {
        self.store()
            .get_deletion_record(code)
            .await?
            .ok_or(ServiceError::NotFound("data deletion request"))
    }

    /// The person a `signed_request` names, once its signature holds with the app's secret.
    fn verify_meta(&self, app: &str, signed_request: &str) -> Result<GrantOwner, ServiceError> {
        if !META_APPS.contains(&app) {
            return Err(ServiceError::NotFound("callback"));
        }
        let secret = self.apps.get(app).ok_or(ServiceError::NotFound(
            "callback (this deployment has no such app)",
        ))?;
        let request = signed_request::verify(signed_request, secret.client_secret.expose())
            .map_err(|why| {
                tracing::warn!(app, why, "a Meta callback's signed_request was refused");
                ServiceError::BadSignature(format!("the signed_request was refused: {why}"))
            })?;
        Ok(GrantOwner {
            app: app.to_owned(),
            user_id: request.user_id,
        })
    }

    /// Stops every channel connected through `grant` (and still on that connection).
    async fn forget_grant(&self, grant: &GrantOwner) -> Result<usize, ServiceError> {
        let store = self.store();
        let mut stopped = 0;
        for granted in store.granted_channels(grant).await? {
            let done = Store::granted_channel_done(grant, &granted);
            let channel = store.get_channel(&granted.brand, &granted.channel).await?;
            let Some(mut channel) = channel.filter(|c| {
                c.credentials_updated_at == Some(granted.connected_at) && c.account.is_some()
            }) else {
                // Gone, or connected again since: only the lookup is left to forget.
                store.items().write(vec![done]).await?;
                continue;
            };
            let now = self.ports.clock.now();
            let version = channel.version;
            channel.account = None;
            channel.credentials_updated_at = None;
            channel.needs_reconnect(ReconnectReason::AuthExpired, now);
            let event = DomainEvent::channel_needs_reconnect(
                &granted.brand,
                &channel,
                "the person who connected it removed Palinsesto from their account",
                now,
            );
            match store
                .put_channel_without_credentials(
                    &granted.brand,
                    &channel,
                    version,
                    [
                        done,
                        outbox_write(&event)?,
                        Store::connection_work_done(&granted.brand, &granted.channel, WATCH),
                    ]
                    .into_iter()
                    // Its webhook deliveries are no longer taken in.
                    .chain(
                        super::subscriptions::lookups_done(store, &granted.brand, &granted.channel)
                            .await?,
                    )
                    .collect(),
                )
                .await
            {
                Ok(_) => stopped += 1,
                // Changed meanwhile: Meta calls again if it must; the channel is looked at anew.
                Err(crate::store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stopped)
    }
}

/// The apps whose deauthorize and data-deletion callbacks Palinsesto serves.
pub const META_APPS: [&str; 3] = ["facebook", "instagram", "threads"];
