//! The registry of what each network can do here: for every network, the connector behind each
//! capability it offers. Callers ask for the capability they need; a network without it answers
//! in the plain words of the coverage table.

use std::collections::HashMap;
use std::sync::Arc;

use super::connect::{ConnectAccount, OAuthApps};
use super::meta_graph::login::FacebookLogin;
use super::{
    CheckCredentials, Moderate, ParsePush, Publish, ReadInbox, ReadMetrics, ReplyTo, Subscribe,
    bluesky, facebook, instagram, linkedin, mastodon, telegram, threads, x,
};
use crate::domain::Network;
use crate::domain::coverage::{self, Capability};
use crate::outbound::OutboundClient;

// `Polling` lives in its own module so that connectors need not import the registry that
// builds them; it stays reachable here, where it used to be defined.
pub use super::polling::Polling;

/// The connectors of one network, by capability.
#[derive(Clone, Default)]
pub struct NetworkConnectors {
    pub publish: Option<Arc<dyn Publish>>,
    pub metrics: Option<Arc<dyn ReadMetrics>>,
    /// Checks credentials when they are stored (networks whose credentials a person types).
    pub check: Option<Arc<dyn CheckCredentials>>,
    /// Connects an account by OAuth.
    pub connect: Option<Arc<dyn ConnectAccount>>,
    /// Reads what people address to the brand (the inbox).
    pub inbox: Option<Arc<dyn ReadInbox>>,
    /// Answers it.
    pub reply: Option<Arc<dyn ReplyTo>>,
    /// Hides, unhides and likes comments, deletes the brand's replies.
    pub moderate: Option<Arc<dyn Moderate>>,
    /// Reads the network's verified webhook deliveries.
    pub push: Option<Arc<dyn ParsePush>>,
    /// Asks the network to push an account's activity to the deployment's webhook.
    pub subscribe: Option<Arc<dyn Subscribe>>,
}

impl NetworkConnectors {
    /// A connector offering both publishing and metrics, as every network's does today.
    pub fn publishing_and_metrics<C: Publish + ReadMetrics + 'static>(
        connector: impl Into<Arc<C>>,
    ) -> Self {
        let connector = connector.into();
        Self {
            publish: Some(connector.clone()),
            metrics: Some(connector),
            ..Self::default()
        }
    }

    /// These connectors, reading the inbox and answering it with `connector`.
    pub fn answering<C: ReadInbox + ReplyTo + 'static>(mut self, connector: Arc<C>) -> Self {
        self.inbox = Some(connector.clone());
        self.reply = Some(connector);
        self
    }

    /// These connectors, moderating with `connector`.
    pub fn moderating<C: Moderate + 'static>(mut self, connector: Arc<C>) -> Self {
        self.moderate = Some(connector);
        self
    }

    /// These connectors, reading webhook deliveries with `parser`.
    pub fn pushing<P: ParsePush + 'static>(mut self, parser: Arc<P>) -> Self {
        self.push = Some(parser);
        self
    }

    /// These connectors, subscribing accounts to the deployment's webhook with `connector`.
    pub fn subscribing<S: Subscribe + 'static>(mut self, connector: Arc<S>) -> Self {
        self.subscribe = Some(connector);
        self
    }

    /// These connectors, connecting accounts by OAuth with `connect`.
    pub fn connecting(mut self, connect: impl ConnectAccount + 'static) -> Self {
        self.connect = Some(Arc::new(connect));
        self
    }

    /// A connector that also checks the credentials a person gives.
    pub fn checking<C: Publish + ReadMetrics + CheckCredentials + 'static>(
        connector: impl Into<Arc<C>>,
    ) -> Self {
        let connector = connector.into();
        Self {
            publish: Some(connector.clone()),
            metrics: Some(connector.clone()),
            check: Some(connector),
            ..Self::default()
        }
    }

    /// The capabilities these connectors give, for checking against the coverage table.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut offered = Vec::new();
        if self.publish.is_some() {
            offered.push(Capability::Publish);
        }
        if self.metrics.is_some() {
            offered.push(Capability::Metrics);
        }
        if self.inbox.is_some() {
            offered.push(Capability::Inbox);
        }
        if self.reply.is_some() {
            offered.push(Capability::Reply);
        }
        if self.moderate.is_some() {
            offered.push(Capability::Moderation);
        }
        if self.connect.is_some() {
            offered.push(Capability::Oauth);
        }
        offered
    }
}

/// A capability a network does not offer, or one not configured in this deployment, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Every network's connectors, by capability.
#[derive(Clone, Default)]
pub struct Connectors {
    by_network: HashMap<Network, NetworkConnectors>,
}

impl Connectors {
    pub fn new(networks: impl IntoIterator<Item = (Network, NetworkConnectors)>) -> Self {
        Self {
            by_network: networks.into_iter().collect(),
        }
    }

    /// The connector that publishes to `network`.
    pub fn publisher(&self, network: Network) -> Result<&Arc<dyn Publish>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.publish.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Publish))
    }

    /// The connector that reads `network`'s figures.
    pub fn metrics_reader(&self, network: Network) -> Result<&Arc<dyn ReadMetrics>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.metrics.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Metrics))
    }

    /// The connector that connects `network`'s accounts by OAuth.
    pub fn connector(&self, network: Network) -> Result<&Arc<dyn ConnectAccount>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.connect.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Oauth))
    }

    /// The connector that reads `network`'s inbox streams.
    pub fn inbox_reader(&self, network: Network) -> Result<&Arc<dyn ReadInbox>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.inbox.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Inbox))
    }

    /// The connector that answers on `network`.
    pub fn replier(&self, network: Network) -> Result<&Arc<dyn ReplyTo>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.reply.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Reply))
    }

    /// The connector that moderates on `network`.
    pub fn moderator(&self, network: Network) -> Result<&Arc<dyn Moderate>, Unsupported> {
        self.by_network
            .get(&network)
            .and_then(|n| n.moderate.as_ref())
            .ok_or_else(|| unsupported(network, Capability::Moderation))
    }

    /// What reads `network`'s webhook deliveries, if it pushes.
    pub fn push_parser(&self, network: Network) -> Option<&Arc<dyn ParsePush>> {
        self.by_network.get(&network).and_then(|n| n.push.as_ref())
    }

    /// What subscribes `network`'s accounts to the deployment's webhook, if it pushes.
    pub fn subscriber(&self, network: Network) -> Option<&Arc<dyn Subscribe>> {
        self.by_network
            .get(&network)
            .and_then(|n| n.subscribe.as_ref())
    }

    /// What checks `network`'s credentials when they are stored, if anything does.
    pub fn checker(&self, network: Network) -> Option<&Arc<dyn CheckCredentials>> {
        self.by_network.get(&network).and_then(|n| n.check.as_ref())
    }

    /// The same registry with `network`'s accounts subscribed to the deployment's webhook by
    /// `subscriber` (for networks registered before).
    pub fn subscribing(mut self, network: Network, subscriber: Arc<dyn Subscribe>) -> Self {
        if let Some(n) = self.by_network.get_mut(&network) {
            n.subscribe = Some(subscriber);
        }
        self
    }

    /// The same registry with `network` served by `connectors`.
    pub fn with(mut self, network: Network, connectors: NetworkConnectors) -> Self {
        self.by_network.insert(network, connectors);
        self
    }

    /// Whether anything is registered for `network` in this deployment.
    pub fn has(&self, network: Network) -> bool {
        self.by_network.contains_key(&network)
    }

    /// What is registered for `network`.
    pub fn of(&self, network: Network) -> Option<&NetworkConnectors> {
        self.by_network.get(&network)
    }
}

/// Why `capability` is not available on `network`: what the coverage table says the network
/// lacks, or, for a capability the network has, that this deployment has no connector for it.
fn unsupported(network: Network, capability: Capability) -> Unsupported {
    Unsupported(match coverage::of(network).lacks(capability) {
        Some(why) => why,
        None => format!(
            "{} is not configured here for {}",
            network.display_name(),
            capability.describe()
        ),
    })
}

/// The API base URL of every network whose address is not in the channel's settings (Mastodon's
/// instance and Bluesky's PDS are), and the web hosts of their OAuth logins. Tests and staging
/// point these at loopback fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEndpoints {
    pub x: String,
    pub linkedin: String,
    pub facebook: String,
    pub instagram: String,
    pub threads: String,
    pub telegram: String,
    /// Where people consent (and, for LinkedIn and Instagram Login, where codes are exchanged).
    pub x_web: String,
    pub linkedin_web: String,
    pub facebook_web: String,
    pub instagram_web: String,
    pub instagram_login: String,
    pub threads_web: String,
}

impl Default for NetworkEndpoints {
    fn default() -> Self {
        Self {
            x: "https://api.x.com".into(),
            linkedin: "https://api.linkedin.com".into(),
            facebook: "https://graph.facebook.com/v21.0".into(),
            instagram: "https://graph.instagram.com/v21.0".into(),
            threads: "https://graph.threads.net/v1.0".into(),
            telegram: "https://api.telegram.org".into(),
            x_web: "https://x.com".into(),
            linkedin_web: "https://www.linkedin.com".into(),
            facebook_web: "https://www.facebook.com/v21.0".into(),
            instagram_web: "https://www.instagram.com".into(),
            instagram_login: "https://api.instagram.com".into(),
            threads_web: "https://threads.net".into(),
        }
    }
}

impl NetworkEndpoints {
    /// The defaults, each overridable by `X_API_BASE`, `LINKEDIN_API_BASE`, `FACEBOOK_GRAPH_BASE`,
    /// `INSTAGRAM_GRAPH_BASE`, `THREADS_API_BASE`, `TELEGRAM_API_BASE`, and for the logins
    /// `X_WEB_BASE`, `LINKEDIN_WEB_BASE`, `FACEBOOK_WEB_BASE`, `INSTAGRAM_WEB_BASE`,
    /// `INSTAGRAM_LOGIN_BASE`, `THREADS_WEB_BASE`.
    pub fn from_env() -> Self {
        let mut e = Self::default();
        for (var, field) in [
            ("X_API_BASE", &mut e.x),
            ("LINKEDIN_API_BASE", &mut e.linkedin),
            ("FACEBOOK_GRAPH_BASE", &mut e.facebook),
            ("INSTAGRAM_GRAPH_BASE", &mut e.instagram),
            ("THREADS_API_BASE", &mut e.threads),
            ("TELEGRAM_API_BASE", &mut e.telegram),
            ("X_WEB_BASE", &mut e.x_web),
            ("LINKEDIN_WEB_BASE", &mut e.linkedin_web),
            ("FACEBOOK_WEB_BASE", &mut e.facebook_web),
            ("INSTAGRAM_WEB_BASE", &mut e.instagram_web),
            ("INSTAGRAM_LOGIN_BASE", &mut e.instagram_login),
            ("THREADS_WEB_BASE", &mut e.threads_web),
        ] {
            if let Ok(value) = std::env::var(var)
                && !value.trim().is_empty()
            {
                *field = value.trim().trim_end_matches('/').to_owned();
            }
        }
        e
    }
}

/// Every network's connectors, sharing one guarded HTTP client; `apps` are the deployment's
/// OAuth apps, which renew tokens of channels connected through them.
pub fn standard_connectors(
    http: OutboundClient,
    endpoints: &NetworkEndpoints,
    polling: Polling,
    apps: &OAuthApps,
) -> Connectors {
    let (i, w) = (polling.interval, polling.max_wait);
    let e = endpoints;
    let subscribers: [(Network, Arc<dyn Subscribe>); 3] = [
        (
            Network::Linkedin,
            Arc::new(
                linkedin::LinkedinConnector::new(http.clone(), e.linkedin.clone())
                    .with_oauth_base(e.linkedin_web.clone())
                    .with_apps(apps.clone()),
            ),
        ),
        (
            Network::X,
            Arc::new(x::XConnector::new(http.clone(), e.x.clone()).with_apps(apps.clone())),
        ),
        (
            Network::Telegram,
            Arc::new(telegram::TelegramConnector::new(
                http.clone(),
                e.telegram.clone(),
            )),
        ),
    ];
    let connectors = Connectors::new([
        (Network::Mastodon, {
            let mastodon =
                Arc::new(mastodon::MastodonConnector::new(http.clone()).with_polling(i, w));
            NetworkConnectors::publishing_and_metrics::<mastodon::MastodonConnector>(
                mastodon.clone(),
            )
            .answering(mastodon.clone())
            .moderating(mastodon)
            .connecting(mastodon::oauth::MastodonOAuth::new(http.clone()))
        }),
        (Network::Bluesky, {
            let bluesky = Arc::new(bluesky::BlueskyConnector::new(http.clone()));
            NetworkConnectors::checking::<bluesky::BlueskyConnector>(bluesky.clone())
                .answering(bluesky.clone())
                .moderating(bluesky)
        }),
        (Network::Linkedin, {
            let linkedin = Arc::new(
                linkedin::LinkedinConnector::new(http.clone(), e.linkedin.clone())
                    .with_oauth_base(e.linkedin_web.clone())
                    .with_apps(apps.clone())
                    .with_polling(i, w),
            );
            NetworkConnectors::publishing_and_metrics::<linkedin::LinkedinConnector>(
                linkedin.clone(),
            )
            .answering(linkedin.clone())
            .moderating(linkedin.clone())
            .pushing(linkedin)
            .connecting(linkedin::oauth::LinkedinOAuth::new(
                http.clone(),
                &e.linkedin_web,
                &e.linkedin,
            ))
        }),
        (Network::X, {
            let x = Arc::new(
                x::XConnector::new(http.clone(), e.x.clone())
                    .with_apps(apps.clone())
                    .with_polling(i, w),
            );
            NetworkConnectors::publishing_and_metrics::<x::XConnector>(x.clone())
                .answering(x.clone())
                .moderating(x.clone())
                .pushing(x)
                .connecting(x::oauth::XOAuth::new(http.clone(), &e.x_web, &e.x))
        }),
        (Network::Facebook, {
            let facebook = Arc::new(facebook::FacebookConnector::new(
                http.clone(),
                e.facebook.clone(),
            ));
            NetworkConnectors::publishing_and_metrics::<facebook::FacebookConnector>(
                facebook.clone(),
            )
            .answering(facebook.clone())
            .moderating(facebook.clone())
            .pushing(facebook.clone())
            .subscribing(facebook)
            .connecting(facebook::oauth::FacebookOAuth::new(FacebookLogin::new(
                http.clone(),
                &e.facebook_web,
                &e.facebook,
                facebook::NETWORK,
            )))
        }),
        (Network::Instagram, {
            let instagram = Arc::new(
                instagram::InstagramConnector::new(http.clone(), e.instagram.clone())
                    .with_facebook_login(e.facebook.clone())
                    .with_polling(i, w),
            );
            NetworkConnectors::publishing_and_metrics::<instagram::InstagramConnector>(
                instagram.clone(),
            )
            .answering(instagram.clone())
            .moderating(instagram.clone())
            .pushing(instagram.clone())
            .subscribing(instagram)
            .connecting(instagram::oauth::InstagramOAuth::new(
                http.clone(),
                &instagram::oauth::InstagramLogins {
                    instagram_web: &e.instagram_web,
                    instagram_login_api: &e.instagram_login,
                    instagram_graph: &e.instagram,
                    facebook_web: &e.facebook_web,
                    facebook_graph: &e.facebook,
                },
            ))
        }),
        (Network::Threads, {
            let threads = Arc::new(
                threads::ThreadsConnector::new(http.clone(), e.threads.clone()).with_polling(i, w),
            );
            NetworkConnectors::publishing_and_metrics::<threads::ThreadsConnector>(threads.clone())
                .answering(threads.clone())
                .moderating(threads.clone())
                .pushing(threads.clone())
                .subscribing(threads)
                .connecting(threads::oauth::ThreadsOAuth::new(
                    http.clone(),
                    &e.threads_web,
                    &e.threads,
                ))
        }),
        (Network::Telegram, {
            let telegram = Arc::new(telegram::TelegramConnector::new(http, e.telegram.clone()));
            NetworkConnectors::checking::<telegram::TelegramConnector>(telegram.clone())
                .answering(telegram.clone())
                .moderating(telegram.clone())
                .pushing(telegram)
        }),
    ]);
    subscribers
        .into_iter()
        .fold(connectors, |c, (network, s)| c.subscribing(network, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OutboundPolicy;

    /// The registry serves exactly what the coverage table says each network offers, so the API
    /// (`GET /v1/networks`), the docs and the behaviour cannot disagree.
    #[test]
    fn the_registry_offers_what_the_coverage_table_says() {
        let http = OutboundClient::new(OutboundPolicy::PUBLIC_ONLY).expect("a client");
        let connectors = standard_connectors(
            http,
            &NetworkEndpoints::default(),
            Polling::default(),
            &OAuthApps::default(),
        );
        for network in Network::ALL.into_iter().filter(|n| !n.is_simulated()) {
            let registered = connectors.of(network).map(|n| n.capabilities());
            let table: Vec<Capability> = coverage::of(network)
                .capabilities()
                .into_iter()
                .filter(|c| {
                    matches!(
                        c,
                        Capability::Publish
                            | Capability::Metrics
                            | Capability::Oauth
                            | Capability::Inbox
                            | Capability::Reply
                            | Capability::Moderation
                    )
                })
                .collect();
            assert_eq!(registered, Some(table), "{network:?}");
        }
    }

    #[test]
    fn a_capability_a_network_lacks_is_refused_from_the_table() {
        let none = Connectors::default();
        let Err(why) = none.publisher(Network::Mastodon) else {
            panic!("nothing is registered");
        };
        assert_eq!(why.0, "Mastodon is not configured here for publishing");
    }
}
