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
            route: None,
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
            // The deepest cause says why (a refused certificate, a refused connection), which is
            // what an operator needs on a first deploy.
            let mut cause: &dyn std::error::Error = err;
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!("could not connect to {} ({cause})", self.url)
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
mod tests;
