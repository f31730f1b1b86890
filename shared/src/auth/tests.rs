//! Unit tests for token verification, JWKS fetching and caching, minting and the auth configuration.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::{SignedDuration, Timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "palinsesto-api";
const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes-long";

/// A P-256 key generated once with `openssl ecparam -genkey -name prime256v1 | openssl pkcs8
/// -topk8 -nocrypt`; only ever used by these tests.
const EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc7dKVdeXu9Rr1wZ9
JI3iefXtxtLUxvpV4kooYjRG6hWhRANCAATXS/c+EmdmnKuszV5AxonK8gKurcf4
o/PfXTIeODhtID/OLhHNKTgAZr/GasMONuDk2fjF1WrWl0kTwzEdL8yw
-----END PRIVATE KEY-----";
/// The public half of `EC_PRIVATE_PEM`, as JWK coordinates.
const EC_X: &str = "10v3PhJnZpyrrM1eQMaJyvICrq3H-KPz310yHjg4bSA";
const EC_Y: &str = "P84uEc0pOABmv8Zqww424OTZ-MXVataXSRPDMR0vzLA";

fn hs256_config() -> AuthConfig {
    AuthConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        key: KeySource::Hs256(Secret::new(SECRET)),
        brand_claim: AuthConfig::DEFAULT_BRAND_CLAIM.into(),
        role_claim: AuthConfig::DEFAULT_ROLE_CLAIM.into(),
    }
}

fn hs256_verifier() -> Verifier {
    Verifier::new(
        hs256_config(),
        crate::outbound::plain_client(std::time::Duration::from_secs(10)).unwrap(),
    )
}

fn brand() -> BrandId {
    BrandId::parse("acme-coffee").unwrap()
}

fn mint(secret: &str, issuer: &str, audience: &str, valid_for: i64, now: Timestamp) -> String {
    mint_hs256(
        &Secret::new(secret),
        issuer,
        audience,
        "user-42",
        &brand(),
        Role::Editor,
        SignedDuration::from_secs(valid_for),
        now,
    )
}

/// Claims that pass every check; tests change one thing at a time.
fn good_claims() -> Map<String, Value> {
    let now = Timestamp::now().as_second();
    let Value::Object(claims) = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42",
        "brand": "acme-coffee", "role": "manager",
        "iat": now, "exp": now + 600,
    }) else {
        unreachable!()
    };
    claims
}

fn sign_hs256(claims: &Map<String, Value>) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn ec_encoding_key() -> EncodingKey {
    // The crate is built without its PEM feature, so the PKCS#8 body is decoded here.
    let body: String = EC_PRIVATE_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    EncodingKey::from_ec_der(&der)
}

fn sign_es256(kid: Option<&str>, claims: &Map<String, Value>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &ec_encoding_key()).unwrap()
}

fn jwk_set(kid: &str) -> String {
    json!({ "keys": [
        // A key this verifier must skip without rejecting the whole set.
        { "kty": "RSA", "use": "enc", "kid": "encryption", "n": "AQAB", "e": "AQAB" },
        { "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "x": EC_X, "y": EC_Y },
    ]})
    .to_string()
}

/// A loopback HTTP server that answers every request with the next body in `bodies` (the
/// last one repeats) after `delay`, and counts the requests.
struct KeySetServer {
    url: String,
    fetches: Arc<AtomicUsize>,
}

impl KeySetServer {
    async fn start(bodies: Vec<String>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let body = bodies[n.min(bodies.len() - 1)].clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&buf[..read]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn jwks_verifier(url: &str) -> Verifier {
    let config = AuthConfig {
        key: KeySource::Jwks { url: url.into() },
        ..hs256_config()
    };
    Verifier::new(
        config,
        crate::outbound::plain_client(std::time::Duration::from_secs(10)).unwrap(),
    )
}

#[tokio::test]
async fn a_minted_token_round_trips_into_the_actor() {
    // given
    let token = mint(SECRET, ISSUER, AUDIENCE, 600, Timestamp::now());
    // when
    let actor = hs256_verifier().verify(&token).await.unwrap();
    // then
    assert_eq!(
        actor,
        Actor {
            subject: "user-42".into(),
            brand: brand(),
            role: Role::Editor,
            route: None,
        }
    );
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    // given a token that expired well beyond the leeway
    let an_hour_ago = Timestamp::now() - SignedDuration::from_hours(1);
    let token = mint(SECRET, ISSUER, AUDIENCE, 600, an_hour_ago);
    // when
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    // then
    assert_eq!(err, AuthError::Expired);
    assert_eq!(err.to_string(), "the token has expired");
}

#[tokio::test]
async fn a_token_just_past_expiry_is_accepted_within_the_leeway() {
    let token = mint(
        SECRET,
        ISSUER,
        AUDIENCE,
        600,
        Timestamp::now() - SignedDuration::from_secs(630),
    );
    assert!(hs256_verifier().verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let mut claims = good_claims();
    claims.insert("nbf".into(), json!(Timestamp::now().as_second() + 300));
    let err = hs256_verifier()
        .verify(&sign_hs256(&claims))
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::NotYetValid);
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let token = mint(
        SECRET,
        "https://evil.example.com",
        AUDIENCE,
        600,
        Timestamp::now(),
    );
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the token was not issued by https://id.example.com"
    );
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let token = mint(SECRET, ISSUER, "another-api", 600, Timestamp::now());
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    assert_eq!(err, AuthError::WrongAudience);
    assert_eq!(err.to_string(), "the token is not for this API (audience)");
}

#[tokio::test]
async fn an_audience_array_containing_this_api_is_accepted() {
    let mut claims = good_claims();
    claims.insert("aud".into(), json!(["another-api", AUDIENCE]));
    assert!(hs256_verifier().verify(&sign_hs256(&claims)).await.is_ok());
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let token = mint(
        "another-secret-that-is-also-32-bytes-long",
        ISSUER,
        AUDIENCE,
        600,
        Timestamp::now(),
    );
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    assert_eq!(err, AuthError::BadSignature);
    assert_eq!(err.to_string(), "the token's signature is not valid");
}

#[tokio::test]
async fn a_token_without_brand_is_refused() {
    let mut claims = good_claims();
    claims.remove("brand");
    let err = hs256_verifier()
        .verify(&sign_hs256(&claims))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the token has no \"brand\" claim");
}

#[tokio::test]
async fn a_token_with_an_invalid_brand_id_is_refused() {
    let mut claims = good_claims();
    claims.insert("brand".into(), json!("Acme Coffee"));
    let err = hs256_verifier()
        .verify(&sign_hs256(&claims))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidClaim { ref claim, .. } if claim == "brand"));
}

#[tokio::test]
async fn a_token_with_an_unknown_role_is_refused() {
    let mut claims = good_claims();
    claims.insert("role".into(), json!("admin"));
    let err = hs256_verifier()
        .verify(&sign_hs256(&claims))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("unknown role \"admin\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_token_without_subject_is_refused() {
    let mut claims = good_claims();
    claims.remove("sub");
    let err = hs256_verifier()
        .verify(&sign_hs256(&claims))
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::MissingClaim("sub".into()));
}

#[tokio::test]
async fn custom_claim_names_are_literal_keys_not_paths() {
    // given claim names with a colon and with dots and slashes, as Cognito and Auth0 use
    let config = AuthConfig {
        brand_claim: "custom:brand".into(),
        role_claim: "https://example.com/role".into(),
        ..hs256_config()
    };
    let verifier = Verifier::new(
        config,
        crate::outbound::plain_client(std::time::Duration::from_secs(10)).unwrap(),
    );
    let mut claims = good_claims();
    claims.remove("brand");
    claims.remove("role");
    claims.insert("custom:brand".into(), json!("acme-coffee"));
    claims.insert("https://example.com/role".into(), json!("owner"));
    // when
    let actor = verifier.verify(&sign_hs256(&claims)).await.unwrap();
    // then
    assert_eq!(actor.brand, brand());
    assert_eq!(actor.role, Role::Owner);
    // and the default names no longer count
    let err = verifier
        .verify(&sign_hs256(&good_claims()))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the token has no \"custom:brand\" claim");
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    // given `alg: none` with an empty signature, the classic bypass
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(good_claims()).to_string());
    let token = format!("{header}.{payload}.");
    // when
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    // then
    assert_eq!(err, AuthError::AlgorithmNotAccepted("none".into()));
}

#[tokio::test]
async fn garbage_is_malformed() {
    for token in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig"] {
        let err = hs256_verifier().verify(token).await.unwrap_err();
        assert_eq!(err, AuthError::Malformed, "{token:?}");
    }
}

#[tokio::test]
async fn a_token_with_a_critical_extension_is_refused() {
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp-ext".into()]);
    let token = jsonwebtoken::encode(
        &header,
        &good_claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let err = hs256_verifier().verify(&token).await.unwrap_err();
    assert_eq!(err, AuthError::UnsupportedCritical("exp-ext".into()));
}

#[tokio::test]
async fn a_token_signed_by_the_key_set_is_accepted() {
    // given
    let server = KeySetServer::start(vec![jwk_set("key-1")], Duration::ZERO).await;
    let verifier = jwks_verifier(&server.url);
    // when
    let actor = verifier
        .verify(&sign_es256(Some("key-1"), &good_claims()))
        .await
        .unwrap();
    // then
    assert_eq!(actor.role, Role::Manager);
    assert_eq!(server.fetches(), 1);
    // and the keys are cached
    verifier
        .verify(&sign_es256(Some("key-1"), &good_claims()))
        .await
        .unwrap();
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn concurrent_first_requests_fetch_the_key_set_once() {
    let server = KeySetServer::start(vec![jwk_set("key-1")], Duration::from_millis(100)).await;
    let verifier = Arc::new(jwks_verifier(&server.url));
    let token = sign_es256(Some("key-1"), &good_claims());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (verifier, token) = (verifier.clone(), token.clone());
        tasks.spawn(async move { verifier.verify(&token).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_interval() {
    // given keys fetched moments ago
    let server = KeySetServer::start(vec![jwk_set("key-1")], Duration::ZERO).await;
    let verifier = jwks_verifier(&server.url);
    verifier
        .verify(&sign_es256(Some("key-1"), &good_claims()))
        .await
        .unwrap();
    // when many tokens name keys nobody published
    for n in 0..20 {
        let kid = format!("made-up-{n}");
        let err = verifier
            .verify(&sign_es256(Some(&kid), &good_claims()))
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::UnknownKey);
    }
    // then the identity provider was not asked again within the interval
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_rotated_in_key_is_picked_up_by_one_refetch_after_the_interval() {
    // given the provider publishes "old" first and "new" afterwards
    let server = KeySetServer::start(vec![jwk_set("old"), jwk_set("new")], Duration::ZERO).await;
    let verifier =
        jwks_verifier(&server.url).with_jwks_refetch_interval(Duration::from_millis(300));
    let token = sign_es256(Some("new"), &good_claims());
    // when the token arrives before the rotation is visible
    assert_eq!(verifier.verify(&token).await, Err(AuthError::UnknownKey));
    assert_eq!(verifier.verify(&token).await, Err(AuthError::UnknownKey));
    assert_eq!(server.fetches(), 1);
    // then, once the interval has passed, one refetch finds it
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(verifier.verify(&token).await.is_ok());
    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_token_without_kid_uses_the_only_key() {
    let server = KeySetServer::start(vec![jwk_set("key-1")], Duration::ZERO).await;
    let verifier = jwks_verifier(&server.url);
    assert!(
        verifier
            .verify(&sign_es256(None, &good_claims()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_hs256_token_is_refused_in_key_set_mode_without_fetching() {
    // given an attacker who signs HS256 with whatever they think the key is
    let server = KeySetServer::start(vec![jwk_set("key-1")], Duration::ZERO).await;
    let verifier = jwks_verifier(&server.url);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-1".into());
    let token = jsonwebtoken::encode(
        &header,
        &good_claims(),
        &EncodingKey::from_secret(EC_X.as_bytes()),
    )
    .unwrap();
    // when
    let err = verifier.verify(&token).await.unwrap_err();
    // then
    assert_eq!(err, AuthError::AlgorithmNotAccepted("HS256".into()));
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn a_token_signed_by_a_key_outside_the_set_is_refused() {
    // given the set publishes another real P-256 key (generated once with openssl) under the
    // kid the token names
    let other = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": "key-1",
        "x": "Pt4xzKf8Izvsfjrb_S1sATO8OYGpLtyF7OmzqCUjoas",
        "y": "id2ysv2jtw3Q2KqVDYV5rBQqLMdWZWcoAyLJ_649-yQ" }]})
    .to_string();
    let server = KeySetServer::start(vec![other], Duration::ZERO).await;
    // when
    let err = jwks_verifier(&server.url)
        .verify(&sign_es256(Some("key-1"), &good_claims()))
        .await
        .unwrap_err();
    // then
    assert_eq!(err, AuthError::BadSignature);
}

#[tokio::test]
async fn an_unreachable_key_set_is_unavailable_not_unauthorized() {
    // given a port nothing listens on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let verifier = jwks_verifier(&url);
    let token = sign_es256(Some("key-1"), &good_claims());
    // when
    let err = verifier.verify(&token).await.unwrap_err();
    // then
    assert!(err.is_unavailable(), "{err}");
    assert!(
        err.to_string()
            .starts_with("the signing keys could not be fetched: "),
        "{err}"
    );
    // and an immediate retry reports the same without another attempt
    assert!(verifier.verify(&token).await.unwrap_err().is_unavailable());
    assert!(!AuthError::Expired.is_unavailable());
}

#[test]
fn the_verifier_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Verifier>();
}

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn config_from_environment_reads_defaults_and_overrides() {
    let config = AuthConfig::from_vars(vars(&[
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        (
            "JWT_JWKS_URL",
            "https://id.example.com/.well-known/jwks.json",
        ),
        ("JWT_BRAND_CLAIM", "custom:brand"),
    ]))
    .unwrap();
    assert_eq!(config.brand_claim, "custom:brand");
    assert_eq!(config.role_claim, "role");
    assert!(matches!(config.key, KeySource::Jwks { .. }));
}

#[test]
fn config_errors_name_the_variable() {
    let base = [("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", AUDIENCE)];
    let err = AuthConfig::from_vars(vars(&base[1..])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "JWT_ISSUER is not set; token verification needs it"
    );

    let err = AuthConfig::from_vars(vars(&base)).unwrap_err();
    assert_eq!(err, AuthConfigError::NoKeySource);

    let both = [
        base[0],
        base[1],
        ("JWT_HS256_SECRET", SECRET),
        ("JWT_JWKS_URL", "https://id.example.com/jwks.json"),
    ];
    assert_eq!(
        AuthConfig::from_vars(vars(&both)).unwrap_err(),
        AuthConfigError::BothKeySources
    );

    let short = [base[0], base[1], ("JWT_HS256_SECRET", "short")];
    assert!(
        AuthConfig::from_vars(vars(&short))
            .unwrap_err()
            .to_string()
            .starts_with("JWT_HS256_SECRET is too short")
    );

    let plain_http = [
        base[0],
        base[1],
        ("JWT_JWKS_URL", "http://id.example.com/jwks.json"),
    ];
    assert!(
        AuthConfig::from_vars(vars(&plain_http))
            .unwrap_err()
            .to_string()
            .starts_with("JWT_JWKS_URL must be an https:// URL")
    );
}
