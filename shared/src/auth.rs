//! Turns an `Authorization: Bearer` JWT into the verified [`Actor`]. The application always checks
//! the token itself, even where API Gateway's JWT authorizer has already looked at it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, RwLock};

use crate::domain::{Actor, BrandId, Role, Secret};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;
/// Once keys are cached, an unknown `kid` refetches at most this often, so a flood of tokens with
/// made-up kids cannot hammer the identity provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// With no keys at all (cold start while the provider is down) every request fails, so retry
/// sooner than the refetch interval, but still not once per request.
const JWKS_RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(5);
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Real tokens are a few hundred bytes to a few KiB; anything far larger is not worth decoding.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Algorithms accepted with a key set. Never HS*: a key set is public, so an HMAC "signed" with
/// it proves nothing.
const JWKS_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Where the keys that sign tokens come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A shared secret (local runner, tests).
    Hs256(Secret),
    /// The identity provider's published JWK set.
    Jwks { url: String },
}

/// What a token must say to be accepted, and where its brand and role are found.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub key: KeySource,
    /// Literal claim name (not a path): `brand`, `custom:brand` and `https://example.com/brand`
    /// are all single keys.
    pub brand_claim: String,
    /// Literal claim name, like `brand_claim`.
    pub role_claim: String,
}

impl AuthConfig {
    pub const DEFAULT_BRAND_CLAIM: &'static str = "brand";
    pub const DEFAULT_ROLE_CLAIM: &'static str = "role";
    /// Below 256 bits an HS256 secret can be brute-forced offline from any one token.
    pub const MIN_HS256_SECRET_BYTES: usize = 32;

    /// From environment: `JWT_ISSUER`, `JWT_AUDIENCE` (required), `JWT_HS256_SECRET` or
    /// `JWT_JWKS_URL` (exactly one), `JWT_BRAND_CLAIM`, `JWT_ROLE_CLAIM` (optional).
    pub fn from_env() -> Result<Self, AuthConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        let get = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let issuer = get("JWT_ISSUER").ok_or(AuthConfigError::Missing("JWT_ISSUER"))?;
        let audience = get("JWT_AUDIENCE").ok_or(AuthConfigError::Missing("JWT_AUDIENCE"))?;
        let key = match (get("JWT_HS256_SECRET"), get("JWT_JWKS_URL")) {
            (Some(_), Some(_)) => return Err(AuthConfigError::BothKeySources),
            (None, None) => return Err(AuthConfigError::NoKeySource),
            (Some(secret), None) => {
                if secret.len() < Self::MIN_HS256_SECRET_BYTES {
                    return Err(AuthConfigError::Invalid {
                        variable: "JWT_HS256_SECRET",
                        reason: format!(
                            "is too short: it must be at least {} bytes (256 bits)",
                            Self::MIN_HS256_SECRET_BYTES
                        ),
                    });
                }
                KeySource::Hs256(Secret::new(secret))
            }
            (None, Some(url)) => {
                check_jwks_url(&url)?;
                KeySource::Jwks { url }
            }
        };
        Ok(Self {
            issuer,
            audience,
            key,
            brand_claim: get("JWT_BRAND_CLAIM")
                .unwrap_or_else(|| Self::DEFAULT_BRAND_CLAIM.to_owned()),
            role_claim: get("JWT_ROLE_CLAIM")
                .unwrap_or_else(|| Self::DEFAULT_ROLE_CLAIM.to_owned()),
        })
    }
}

/// Keys fetched over plain HTTP could be swapped in transit; loopback is allowed for local
/// identity providers and tests.
fn check_jwks_url(raw: &str) -> Result<(), AuthConfigError> {
    let invalid = |reason: &str| AuthConfigError::Invalid {
        variable: "JWT_JWKS_URL",
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(raw).map_err(|_| invalid("is not a valid URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(
            "must be an https:// URL (plain http is only allowed for localhost)",
        )),
    }
}

/// Why the token verification settings could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{0} is not set; token verification needs it")]
    Missing(&'static str),
    #[error(
        "both JWT_HS256_SECRET and JWT_JWKS_URL are set; set exactly one (a shared secret, or the identity provider's key set URL)"
    )]
    BothKeySources,
    #[error(
        "neither JWT_HS256_SECRET nor JWT_JWKS_URL is set; set exactly one (a shared secret, or the identity provider's key set URL)"
    )]
    NoKeySource,
    #[error("{variable} {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
}

/// Why a token was refused. Every variant but [`AuthError::KeysUnavailable`] is the caller's
/// problem (401); that one is ours or the identity provider's (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was not issued by {expected}")]
    WrongIssuer { expected: String },
    #[error("the token is not for this API (audience)")]
    WrongAudience,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token is signed with {0:?}, which this API does not accept")]
    AlgorithmNotAccepted(String),
    #[error("the token was signed with a key this API does not know")]
    UnknownKey,
    #[error("the token uses critical header extensions ({0}) this API does not understand")]
    UnsupportedCritical(String),
    #[error("the token has no {0:?} claim")]
    MissingClaim(String),
    #[error("the token's {claim:?} claim is not valid: {reason}")]
    InvalidClaim { claim: String, reason: String },
    /// Carries [`Role::parse`]'s own words ("unknown role ...").
    #[error("{0}")]
    InvalidRole(String),
    #[error("the signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// True when the token could not be checked at all (the key set is unreachable), as opposed
    /// to checked and refused: answer 503, not 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable(_))
    }
}

/// Verifies tokens. Build once per process and share it in an `Arc`.
#[derive(Debug)]
pub struct Verifier {
    issuer: String,
    audience: String,
    brand_claim: String,
    role_claim: String,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    Hs256(DecodingKey),
    Jwks(JwksCache),
}

impl Verifier {
    pub fn new(config: AuthConfig, http: reqwest::Client) -> Self {
        let keys = match config.key {
            KeySource::Hs256(secret) => {
                Keys::Hs256(DecodingKey::from_secret(secret.expose().as_bytes()))
            }
            KeySource::Jwks { url } => Keys::Jwks(JwksCache::new(url, http)),
        };
        Self {
            issuer: config.issuer,
            audience: config.audience,
            brand_claim: config.brand_claim,
            role_claim: config.role_claim,
            keys,
        }
    }

    /// `token` is the part after `Bearer `.
    pub async fn verify(&self, token: &str) -> Result<Actor, AuthError> {
        let header = peek_header(token)?;
        // Checked before any key is looked up, so a token with a disallowed algorithm never
        // causes a key set fetch.
        let alg = Algorithm::from_str(&header.alg)
            .map_err(|_| AuthError::AlgorithmNotAccepted(header.alg.clone()))?;
        let claims = match &self.keys {
            Keys::Hs256(key) => {
                if alg != Algorithm::HS256 {
                    return Err(AuthError::AlgorithmNotAccepted(header.alg));
                }
                self.decode(token, alg, key)?
            }
            Keys::Jwks(jwks) => {
                if !JWKS_ALGORITHMS.contains(&alg) {
                    return Err(AuthError::AlgorithmNotAccepted(header.alg));
                }
                let key = jwks.key_for(header.kid.as_deref()).await?;
                // The key, not the token, decides the algorithm: a token must not be able to
                // ask for RS256 verification with an EC key, or PS256 with an RS256-only key.
                if !key.algorithms.contains(&alg) {
                    return Err(AuthError::AlgorithmNotAccepted(header.alg));
                }
                self.decode(token, alg, &key.key)?
            }
        };
        self.actor(&claims)
    }

    fn decode(
        &self,
        token: &str,
        alg: Algorithm,
        key: &DecodingKey,
    ) -> Result<Map<String, Value>, AuthError> {
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|err| self.explain(err))
    }

    fn explain(&self, err: jsonwebtoken::errors::Error) -> AuthError {
        match err.into_kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer {
                expected: self.issuer.clone(),
            },
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            // A key that cannot verify (bad JWK components) is indistinguishable, for the
            // caller, from a signature that does not match.
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => AuthError::BadSignature,
            ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
            ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim {
                claim,
                reason: "it has the wrong type".to_owned(),
            },
            _ => AuthError::Malformed,
        }
    }

    fn actor(&self, claims: &Map<String, Value>) -> Result<Actor, AuthError> {
        let subject = string_claim(claims, "sub")?;
        if subject.is_empty() {
            return Err(AuthError::InvalidClaim {
                claim: "sub".to_owned(),
                reason: "it is empty".to_owned(),
            });
        }
        let brand = BrandId::parse(string_claim(claims, &self.brand_claim)?).map_err(|reason| {
            AuthError::InvalidClaim {
                claim: self.brand_claim.clone(),
                reason,
            }
        })?;
        let role =
            Role::parse(string_claim(claims, &self.role_claim)?).map_err(AuthError::InvalidRole)?;
        Ok(Actor {
            subject: subject.to_owned(),
            brand,
            role,
        })
    }

    #[cfg(test)]
    fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        if let Keys::Jwks(jwks) = &mut self.keys {
            jwks.refetch_interval = interval;
        }
        self
    }
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(AuthError::MissingClaim(name.to_owned())),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(AuthError::InvalidClaim {
            claim: name.to_owned(),
            reason: "it is not a string".to_owned(),
        }),
    }
}

/// The header fields needed before choosing a key. Read by hand because `jsonwebtoken::Header`
/// cannot even represent `"alg": "none"`, and that deserves a clearer answer than "malformed".
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<Vec<String>>,
}

fn peek_header(token: &str) -> Result<PeekedHeader, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed)?;
    let header: PeekedHeader = serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood or the token rejected;
    // this verifier understands none.
    if let Some(crit) = &header.crit {
        return Err(AuthError::UnsupportedCritical(crit.join(", ")));
    }
    Ok(header)
}

/// One usable key from the provider's set, with the algorithms it may verify.
#[derive(Debug)]
struct JwksKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

impl JwksKey {
    /// `None` for keys this verifier must not or cannot use (encryption keys, symmetric keys,
    /// curves or algorithms outside the allow-list).
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
            return None;
        }
        let fits_key: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => JWKS_ALGORITHMS
                .iter()
                .copied()
                .filter(|alg| alg.family() == AlgorithmFamily::Rsa)
                .collect(),
            AlgorithmParameters::EllipticCurve(params) => match params.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return None,
            },
            AlgorithmParameters::OctetKey(_) | AlgorithmParameters::OctetKeyPair(_) => {
                return None;
            }
        };
        let algorithms = match jwk.common.key_algorithm {
            // A key that names its algorithm is pinned to it.
            Some(named) => {
                let named = Algorithm::from_str(&named.to_string()).ok()?;
                if !fits_key.contains(&named) {
                    return None;
                }
                vec![named]
            }
            None => fits_key,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(Self {
            kid: jwk.common.key_id.clone(),
            algorithms,
            key,
        })
    }
}

#[derive(Debug)]
struct JwksCache {
    url: String,
    http: reqwest::Client,
    keys: RwLock<Vec<Arc<JwksKey>>>,
    /// Held while fetching, so concurrent misses wait for one fetch instead of each starting one.
    refresh: Mutex<RefreshState>,
    refetch_interval: Duration,
}

#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_failure: Option<String>,
}

impl JwksCache {
    fn new(url: String, http: reqwest::Client) -> Self {
        Self {
            url,
            http,
            keys: RwLock::new(Vec::new()),
            refresh: Mutex::new(RefreshState::default()),
            refetch_interval: JWKS_REFETCH_INTERVAL,
        }
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<Arc<JwksKey>, AuthError> {
        if let Some(key) = find_key(&self.keys.read().await, kid) {
            return Ok(key);
        }
        let mut refresh = self.refresh.lock().await;
        // Whoever held the lock before us may have just fetched the key we need.
        let have_keys = {
            let keys = self.keys.read().await;
            if let Some(key) = find_key(&keys, kid) {
                return Ok(key);
            }
            !keys.is_empty()
        };
        if let Some(last) = refresh.last_attempt {
            let wait = if have_keys {
                self.refetch_interval
            } else {
                JWKS_RETRY_WITHOUT_KEYS
            };
            if last.elapsed() < wait {
                return Err(match &refresh.last_failure {
                    Some(reason) => AuthError::KeysUnavailable(reason.clone()),
                    None => AuthError::UnknownKey,
                });
            }
        }
        refresh.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(fetched) => {
                tracing::info!(url = %self.url, keys = fetched.len(), "fetched the token signing keys");
                refresh.last_failure = None;
                let found = find_key(&fetched, kid);
                *self.keys.write().await = fetched;
                found.ok_or(AuthError::UnknownKey)
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "could not fetch the token signing keys");
                refresh.last_failure = Some(reason.clone());
                Err(AuthError::KeysUnavailable(reason))
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Arc<JwksKey>>, String> {
        /// A key set is a few kilobytes; a provider's answer larger than this is not one.
        const JWKS_ANSWER_LIMIT: usize = 256 * 1024;
        #[derive(Deserialize)]
        struct KeySet {
            keys: Vec<Value>,
        }
        // The identity provider's URL is the deployment's own setting, never a tenant's, and may
        // be on a private network (a self-hosted provider): not the guarded client. Its answer is
        // still read with a size cap.
        #[allow(clippy::disallowed_methods)]
        let response = self
            .http
            .get(&self.url)
            .timeout(JWKS_FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|err| self.describe(&err))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "the identity provider answered {status} for {}",
                self.url
            ));
        }
        let body = crate::outbound::read_body(response, JWKS_ANSWER_LIMIT)
            .await
            .map_err(|err| match err {
                crate::outbound::CallError::Http(e) => self.describe(&e),
                other => format!("the key set at {} could not be read: {other}", self.url),
            })?;
        let set: KeySet = serde_json::from_slice(&body)
            .map_err(|_| format!("the answer from {} is not a JWK set", self.url))?;
        // Parsed one by one: a single key of a type this crate does not model must not make
        // the whole set unusable.
        let keys: Vec<Arc<JwksKey>> = set
            .keys
            .into_iter()
            .filter_map(|raw| serde_json::from_value::<Jwk>(raw).ok())
            .filter_map(|jwk| JwksKey::from_jwk(&jwk))
            .map(Arc::new)
            .collect();
        if keys.is_empty() {
            return Err(format!(
                "the key set at {} has no usable signing keys",
                self.url
            ));
        }
        Ok(keys)
    }

    fn describe(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            format!(
                "{} did not answer within {} s",
                self.url,
                JWKS_FETCH_TIMEOUT.as_secs()
            )
        } else if err.is_connect() {
            format!("could not connect to {}", self.url)
        } else if err.is_decode() {
            format!("the answer from {} is not a JWK set", self.url)
        } else {
            format!("the request to {} failed: {err}", self.url)
        }
    }
}

fn find_key(keys: &[Arc<JwksKey>], kid: Option<&str>) -> Option<Arc<JwksKey>> {
    match kid {
        Some(kid) => keys
            .iter()
            .find(|key| key.kid.as_deref() == Some(kid))
            .cloned(),
        // A token without `kid` is only unambiguous when the provider publishes a single key.
        None => match keys {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

/// Signs an HS256 token (local runner and tests) with the default claim names `brand` and `role`.
#[allow(clippy::too_many_arguments)]
pub fn mint_hs256(
    secret: &Secret,
    issuer: &str,
    audience: &str,
    subject: &str,
    brand: &BrandId,
    role: Role,
    valid_for: jiff::SignedDuration,
    now: jiff::Timestamp,
) -> String {
    let issued_at = now.as_second();
    let claims = json!({
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        AuthConfig::DEFAULT_BRAND_CLAIM: brand.as_str(),
        AuthConfig::DEFAULT_ROLE_CLAIM: role.as_str(),
        "iat": issued_at,
        "exp": issued_at.saturating_add(valid_for.as_secs()),
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .expect("HS256 signing of a JSON object with a byte secret cannot fail")
}

#[cfg(test)]
mod tests {
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
        Verifier::new(hs256_config(), reqwest::Client::new())
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
        Verifier::new(config, reqwest::Client::new())
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
                role: Role::Editor
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
        let verifier = Verifier::new(config, reqwest::Client::new());
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
        let server =
            KeySetServer::start(vec![jwk_set("old"), jwk_set("new")], Duration::ZERO).await;
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
}
