//! The guarded client's TLS, end to end: a rustls server on loopback presents certificates made
//! at run time by a test CA, and the client (private networks allowed, the test CA added to its
//! roots with `OutboundClient::with_extra_roots`) must complete an https call through the guard,
//! and refuse a certificate from a CA it does not trust or for another name before a request is
//! written. The server accepts only the post-quantum key exchange X25519MLKEM768, which ring
//! does not implement: a handshake that completes shows the client is on aws-lc-rs, the one
//! crypto provider (crate::outbound::tls_config), which the tests' own clients use too.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palinsesto::domain::OutboundPolicy;
use palinsesto::outbound::{
    CallError, CertificateDer, NameLookup, OutboundClient, Timeouts, read_text,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{ProtocolVersion, ServerConfig};

/// The body the server answers with.
const GREETING: &str = "hello over TLS";

/// A CA made for one test: its certificate, and the issuer that signs leaves with its key.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("the CA certificate"),
        }
    }

    fn certificate(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server certificate for `name`, and its key.
    fn leaf(&self, name: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("a leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("the leaf certificate");
        let key = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        (cert.der().clone(), key)
    }
}

/// What the server saw of one connection whose handshake completed.
#[derive(Debug, Clone)]
struct Seen {
    version: Option<ProtocolVersion>,
    alpn: Option<Vec<u8>>,
    request_line: String,
}

/// A TLS server on 127.0.0.1 that answers every request with 200 and [`GREETING`], and records
/// each connection whose handshake completed. Its task ends with the test's runtime.
struct TlsServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TlsServer {
    async fn start(certificate: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> TlsServer {
        // aws-lc-rs with X25519MLKEM768 as its only key exchange: see the module comment.
        let mut provider = aws_lc_rs::default_provider();
        provider.kx_groups = vec![aws_lc_rs::kx_group::X25519MLKEM768];
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .expect("the server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    // A refused certificate ends the handshake here, on the client's alert.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let (_, session) = tls.get_ref();
                    let version = session.protocol_version();
                    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let request_line = String::from_utf8_lossy(&head)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    record.lock().unwrap().push(Seen {
                        version,
                        alpn,
                        request_line,
                    });
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{GREETING}",
                        GREETING.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsServer { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Every name leads to 127.0.0.1, where the server listens (the guard still checks it).
struct Loopback;

impl NameLookup for Loopback {
    fn lookup(
        &self,
        _name: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async { Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]) })
    }
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        total: Duration::from_secs(10),
    }
}

/// The guarded client as a deployment builds it, private networks allowed, trusting `roots`
/// besides the Mozilla roots.
fn client_trusting(roots: &[CertificateDer<'static>]) -> OutboundClient {
    OutboundClient::with_extra_roots(
        OutboundPolicy::PRIVATE_ALLOWED,
        timeouts(),
        Arc::new(Loopback),
        roots,
    )
    .expect("the client builds")
}

/// The innermost message of an error's chain: what the networks' error wording shows
/// (`root_cause` in palinsesto::networks).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Sends a GET and returns the transport error it must end in.
async fn refused_get(client: &OutboundClient, url: &str) -> reqwest::Error {
    match client.send(client.get(url)).await {
        Ok(response) => panic!(
            "{url} answered {}, expected a TLS refusal",
            response.status()
        ),
        Err(CallError::Http(e)) => e,
        Err(other) => panic!("{url}: expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_https_call_through_the_guard_completes_with_a_certificate_from_a_trusted_ca() {
    let ca = TestCa::new("Palinsesto test CA");
    let (certificate, key) = ca.leaf("localhost");
    let server = TlsServer::start(certificate, key).await;
    let client = client_trusting(&[ca.certificate()]);

    let url = format!("https://localhost:{}/api/v1/instance", server.port);
    let response = client
        .send(client.get(&url))
        .await
        .unwrap_or_else(|e| panic!("the https call failed: {e}: {}", root_cause(&e)));
    assert_eq!(response.status(), 200);
    assert_eq!(read_text(response, 1024).await.expect("the body"), GREETING);

    let seen = server.seen();
    assert_eq!(seen.len(), 1, "one connection: {seen:?}");
    assert_eq!(seen[0].request_line, "GET /api/v1/instance HTTP/1.1");
    // The settings of tls_config: TLS 1.3 preferred, HTTP/1.1 by ALPN; the handshake itself
    // used X25519MLKEM768, the only group the server takes, which only aws-lc-rs offers.
    assert_eq!(seen[0].version, Some(ProtocolVersion::TLSv1_3));
    assert_eq!(seen[0].alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn a_certificate_from_a_ca_the_client_does_not_trust_is_refused_before_the_request() {
    let trusted = TestCa::new("Palinsesto test CA");
    let stranger = TestCa::new("Some other CA");
    let (certificate, key) = stranger.leaf("localhost");
    let server = TlsServer::start(certificate, key).await;
    let url = format!("https://localhost:{}/", server.port);

    for client in [
        client_trusting(&[trusted.certificate()]),
        // Only the Mozilla roots, as deployed.
        client_trusting(&[]),
    ] {
        let e = refused_get(&client, &url).await;
        assert!(e.is_connect(), "a connection error: {e:?}");
        let cause = root_cause(&e);
        assert_eq!(cause, "invalid peer certificate: UnknownIssuer", "{e:?}");
    }
    assert!(
        server.seen().is_empty(),
        "no handshake completed, no request was read"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_before_the_request() {
    let ca = TestCa::new("Palinsesto test CA");
    let (certificate, key) = ca.leaf("localhost");
    let server = TlsServer::start(certificate, key).await;
    let client = client_trusting(&[ca.certificate()]);

    // elsewhere.test leads to the same server (Loopback), which presents localhost's certificate.
    let e = refused_get(&client, &format!("https://elsewhere.test:{}/", server.port)).await;
    assert!(e.is_connect(), "a connection error: {e:?}");
    let cause = root_cause(&e);
    assert!(
        cause.starts_with(
            "invalid peer certificate: certificate not valid for name \"elsewhere.test\""
        ),
        "{cause}"
    );
    assert!(cause.contains("localhost"), "{cause}");
    assert!(server.seen().is_empty(), "no request was read");
}

#[test]
fn a_root_that_is_not_a_certificate_stops_the_client_from_building() {
    let e = OutboundClient::with_extra_roots(
        OutboundPolicy::PRIVATE_ALLOWED,
        timeouts(),
        Arc::new(Loopback),
        &[CertificateDer::from(b"not a certificate".to_vec())],
    )
    .expect_err("a bad root is a startup error");
    assert!(
        e.to_string()
            .starts_with("the HTTP client's TLS setup could not be built"),
        "{e}"
    );
}

/// The JWKS fetch runs on the same TLS setup; when the issuer's certificate is refused, the
/// reason (not just "could not connect") reaches the 503's detail and the logs.
#[tokio::test]
async fn a_refused_jwks_certificate_is_named_in_the_reason_the_keys_are_unavailable() {
    use palinsesto::auth::{AuthConfig, KeySource, Verifier};

    let stranger = TestCa::new("Some other CA");
    let (certificate, key) = stranger.leaf("localhost");
    let server = TlsServer::start(certificate, key).await;
    let verifier = Verifier::new(
        AuthConfig {
            issuer: "https://id.palinsesto.test/".into(),
            audience: "palinsesto-api".into(),
            key: KeySource::Jwks {
                url: format!("https://localhost:{}/.well-known/jwks.json", server.port),
            },
            brand_claim: AuthConfig::DEFAULT_BRAND_CLAIM.into(),
            role_claim: AuthConfig::DEFAULT_ROLE_CLAIM.into(),
        },
        palinsesto::outbound::plain_client(Duration::from_secs(5)).unwrap(),
    );
    // {"alg":"RS256","kid":"k1","typ":"JWT"} . {"sub":"someone"} . "not a signature", base64url:
    // the key set is fetched before any signature could be checked.
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiJzb21lb25lIn0.bm90IGEgc2lnbmF0dXJl";
    let refused = verifier.verify(token).await.unwrap_err();
    assert!(refused.is_unavailable(), "{refused:?}");
    let reason = refused.to_string();
    assert!(
        reason.contains("could not connect to https://localhost:")
            && reason.contains("invalid peer certificate: UnknownIssuer"),
        "{reason}"
    );
    assert!(server.seen().is_empty(), "no request was read");
}
