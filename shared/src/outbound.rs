//! The one HTTP client for every URL a tenant can influence (channel settings, competitor
//! servers; later trend sources, webhooks and media URLs): it refuses loopback, private,
//! link-local and other non-public addresses, checked on the address each connection actually
//! reached; it never uses a system proxy; it re-checks every redirect; and answers are read with
//! a size cap and a timeout.
//!
//! Three layers, each catching what the one before cannot:
//! 1. [`OutboundClient::send`] checks the URL before anything leaves (scheme, user info, IP
//!    literals such as `https://127.0.0.1`, `https://[::1]`, `https://2130706433`);
//! 2. the resolver drops refused addresses a name resolves to, so they are never dialled;
//! 3. a connector layer reads the peer address of every new connection (IP literals bypass the
//!    resolver) and drops the connection before a byte of the request is written.
//!
//! Every reqwest client Palinsesto builds gets its TLS from [`tls_config`]: rustls with the
//! aws-lc-rs provider (the one the AWS SDK and jsonwebtoken use, so one crypto library is linked
//! and reqwest's bundled ring is not) and the Mozilla root certificates compiled in
//! (webpki-roots, as reqwest's `rustls-tls` feature had). reqwest is built without a provider of
//! its own, so `reqwest::Client::new()` would panic: build clients with
//! [`OutboundClient`] for tenants' URLs and [`plain_client`] for the deployment's own.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{RequestBuilder, Response};
/// A DER certificate, for [`OutboundClient::with_extra_roots`] and [`tls_config`].
pub use rustls::pki_types::CertificateDer;

use crate::domain::OutboundPolicy;

/// A JSON answer larger than this is refused (a connector that needs more says so).
pub const JSON_ANSWER_LIMIT: usize = 2 * 1024 * 1024;
/// An error answer is only read for its message.
pub const ERROR_ANSWER_LIMIT: usize = 64 * 1024;
const MAX_REDIRECTS: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request was not sent: the address or URL is off limits. Travels inside transport errors
/// from the resolver and the connector layer, and is found again by [`CallError::from`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Why an outbound call gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing was sent: the destination is off limits.
    #[error("{0}")]
    Refused(Refusal),
    #[error("the answer was larger than {limit} bytes, so it was not read")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Http(reqwest::Error),
}

impl From<reqwest::Error> for CallError {
    fn from(e: reqwest::Error) -> Self {
        match refusal_in(&e) {
            Some(refusal) => Self::Refused(refusal),
            None => Self::Http(e),
        }
    }
}

impl CallError {
    /// The same error with any URL removed from its message (Telegram's carries the bot token).
    pub fn without_url(self) -> Self {
        match self {
            Self::Http(e) => Self::Http(e.without_url()),
            other => other,
        }
    }
}

fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<Refusal>() {
            return Some(refusal.clone());
        }
        cause = current.source();
    }
    None
}

/// How long a call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From the start of the request to the last byte of the answer.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(60),
        }
    }
}

/// Looks names up; the system resolver in production, a table in tests.
pub trait NameLookup: Send + Sync {
    fn lookup(
        &self,
        name: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The operating system's resolver (through tokio's blocking pool).
pub struct SystemLookup;

impl NameLookup for SystemLookup {
    fn lookup(
        &self,
        name: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The guarded client. It dereferences to the `reqwest::Client` it wraps, to build requests;
/// send them with [`OutboundClient::send`] (a lint forbids `RequestBuilder::send` in this crate).
#[derive(Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

impl std::fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundClient")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Deref for OutboundClient {
    type Target = reqwest::Client;
    fn deref(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The client could not be built (a bad root certificate, a bad setting): a startup error,
/// never ignored.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the HTTP client could not be built: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the HTTP client's TLS setup could not be built: {0}")]
    Tls(#[from] rustls::Error),
}

/// The TLS setup of every client: the aws-lc-rs provider, TLS 1.3 and 1.2, the Mozilla roots
/// (webpki-roots) plus `extra_roots`, HTTP/1.1 announced by ALPN (reqwest is built without
/// HTTP/2). The same settings reqwest's `rustls-tls` feature made, on the other provider.
pub fn tls_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, BuildError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for root in extra_roots {
        roots.add(root.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client for the deployment's own endpoints, never a tenant's URL (the JWT issuer's key set):
/// the TLS of [`tls_config`], `total` as each call's time limit, and no address guard (the
/// identity provider may be on a private network).
pub fn plain_client(total: Duration) -> Result<reqwest::Client, BuildError> {
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(&[])?)
        .timeout(total)
        .build()?)
}

impl OutboundClient {
    pub fn new(policy: OutboundPolicy) -> Result<Self, BuildError> {
        Self::with(policy, Timeouts::default(), Arc::new(SystemLookup))
    }

    pub fn with(
        policy: OutboundPolicy,
        timeouts: Timeouts,
        lookup: Arc<dyn NameLookup>,
    ) -> Result<Self, BuildError> {
        Self::with_extra_roots(policy, timeouts, lookup, &[])
    }

    /// [`OutboundClient::with`], trusting `extra_roots` besides the Mozilla roots: the tests'
    /// own CA (tests/tls.rs). A deployment has no setting for it.
    pub fn with_extra_roots(
        policy: OutboundPolicy,
        timeouts: Timeouts,
        lookup: Arc<dyn NameLookup>,
        extra_roots: &[CertificateDer<'static>],
    ) -> Result<Self, BuildError> {
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(Refusal(format!("more than {MAX_REDIRECTS} redirects")));
            }
            match policy.check_target(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(Refusal(format!("a redirect to a URL that {why}"))),
            }
        });
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(extra_roots)?)
            .no_proxy()
            .redirect(redirect)
            .dns_resolver(Arc::new(GuardedResolver { policy, lookup }))
            .connector_layer(AddressGuardLayer { policy })
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .user_agent(concat!("palinsesto/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, policy })
    }

    pub fn policy(&self) -> OutboundPolicy {
        self.policy
    }

    /// Sends the request, after checking its URL: nothing leaves for a refused one.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, CallError> {
        let request = request.build()?;
        if let Err(why) = self.policy.check_target(request.url()) {
            return Err(CallError::Refused(Refusal(format!("the URL {why}"))));
        }
        Ok(self.http.execute(request).await?)
    }
}

/// Reads an answer's body, refusing one larger than `limit` bytes (read in chunks, so an
/// endless answer costs at most `limit` bytes of memory).
pub async fn read_body(mut response: Response, limit: usize) -> Result<Bytes, CallError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(CallError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(CallError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// [`read_body`] as text (invalid UTF-8 replaced).
pub async fn read_text(response: Response, limit: usize) -> Result<String, CallError> {
    let body = read_body(response, limit).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The start of an error answer, for its message; empty when it cannot be read.
pub async fn read_error_text(response: Response) -> String {
    read_text(response, ERROR_ANSWER_LIMIT)
        .await
        .unwrap_or_default()
}

/// Resolves names, then drops the refused addresses: a name with only refused addresses fails.
struct GuardedResolver {
    policy: OutboundPolicy,
    lookup: Arc<dyn NameLookup>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let lookup = self.lookup.lookup(name.as_str().to_owned());
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found = lookup.await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| match policy.refusal(*ip) {
                    Some(why) => {
                        refused.get_or_insert(why);
                        false
                    }
                    None => true,
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let why = match refused {
                    Some(why) => {
                        format!("{name} resolves to {why}, which Palinsesto never connects to")
                    }
                    None => format!("{name} has no address"),
                };
                return Err(Box::new(Refusal(why)) as BoxError);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Checks the peer of every new connection before the request is written to it.
#[derive(Clone)]
struct AddressGuardLayer {
    policy: OutboundPolicy,
}

impl<S> tower::Layer<S> for AddressGuardLayer {
    type Service = AddressGuard<S>;
    fn layer(&self, inner: S) -> AddressGuard<S> {
        AddressGuard {
            inner,
            policy: self.policy,
        }
    }
}

#[derive(Clone)]
struct AddressGuard<S> {
    inner: S,
    policy: OutboundPolicy,
}

impl<S, R> tower::Service<R> for AddressGuard<S>
where
    S: tower::Service<R, Error = BoxError>,
    S::Response: Connection + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let policy = self.policy;
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let conn = connecting.await?;
            let mut extras = http::Extensions::new();
            conn.connected().get_extras(&mut extras);
            // Without the peer address nothing is known about where this goes: refuse.
            let Some(peer) = extras.get::<HttpInfo>().map(|i| i.remote_addr().ip()) else {
                return Err(Box::new(Refusal(
                    "the connection's address could not be checked".into(),
                )) as BoxError);
            };
            if let Some(why) = policy.refusal(peer) {
                return Err(Box::new(Refusal(format!(
                    "{peer} is {why}, which Palinsesto never connects to"
                ))) as BoxError);
            }
            // The scheme (https, plain http only where private networks are allowed) is
            // checked on the URL before sending and at every redirect hop.
            Ok(conn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_found_inside_a_boxed_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] BoxError);
        let e = Outer(Box::new(Refusal("no".into())));
        assert_eq!(refusal_in(&e), Some(Refusal("no".into())));
    }
}
