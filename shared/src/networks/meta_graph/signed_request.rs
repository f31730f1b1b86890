//! Meta's `signed_request` (the deauthorize and data-deletion callbacks of Facebook Login,
//! Instagram and Threads apps): `{signature}.{payload}`, both base64url without padding, the
//! signature an HMAC-SHA256 of the encoded payload keyed by the app secret, the payload JSON with
//! `algorithm: "HMAC-SHA256"`, `issued_at` and `user_id` (the app-scoped id of the person).
//! Checked in constant time before the payload is read.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// What a verified request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub user_id: String,
    pub issued_at: Option<i64>,
}

/// Verifies `raw` with `app_secret` and reads it; the reason in plain words when it is refused.
pub fn verify(raw: &str, app_secret: &str) -> Result<SignedRequest, String> {
    let (signature, payload) = raw
        .trim()
        .split_once('.')
        .ok_or("a signed_request is {signature}.{payload}")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| "the signature is not base64url")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| "the app secret cannot key an HMAC")?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| "the signature does not match the app secret")?;
    #[derive(Deserialize)]
    struct Payload {
        algorithm: String,
        #[serde(default)]
        issued_at: Option<i64>,
        user_id: serde_json::Value,
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the payload is not base64url")?;
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|e| format!("the payload is not readable: {e}"))?;
    if !payload.algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(format!("unexpected algorithm {}", payload.algorithm));
    }
    let user_id = match payload.user_id {
        serde_json::Value::String(s) if !s.is_empty() => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("the payload names no user".into()),
    };
    Ok(SignedRequest {
        user_id,
        issued_at: payload.issued_at,
    })
}

/// Signs `payload` as Meta does (tests and the fakes' counterpart).
pub fn sign(payload: &serde_json::Value, app_secret: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(payload.as_bytes());
    format!(
        "{}.{payload}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_signed_with_the_app_secret_is_read_and_any_other_is_refused() {
        let payload =
            json!({"algorithm": "HMAC-SHA256", "issued_at": 1_765_000_000, "user_id": "10158"});
        let signed = sign(&payload, "app-secret");
        assert_eq!(
            verify(&signed, "app-secret"),
            Ok(SignedRequest {
                user_id: "10158".into(),
                issued_at: Some(1_765_000_000)
            })
        );
        assert!(verify(&signed, "another-secret").is_err());
        let (sig, _) = signed.split_once('.').unwrap();
        let forged =
            URL_SAFE_NO_PAD.encode(json!({"algorithm": "HMAC-SHA256", "user_id": "1"}).to_string());
        assert!(verify(&format!("{sig}.{forged}"), "app-secret").is_err());
        assert!(verify("no-dot", "app-secret").is_err());
        let other = sign(&json!({"algorithm": "plain", "user_id": "1"}), "app-secret");
        assert!(verify(&other, "app-secret").is_err());
    }
}
