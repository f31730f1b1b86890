//! How a webhook delivery is signed, and how a receiver checks it (docs/webhooks.md shows the
//! same steps in Python). The header is
//! `Palinsesto-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
//! webhook's secret exactly as it was shown (`whsec_...`). The timestamp is inside the signed
//! bytes, so a receiver that refuses old timestamps refuses replays.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Palinsesto-Signature";
/// How old a signature a receiver should still accept (and how far in the future).
pub const TOLERANCE: SignedDuration = SignedDuration::from_mins(5);
const SECRET_PREFIX: &str = "whsec_";

/// A new random signing secret, as it is shown to the brand once.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed: expected t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error(
        "the signature's timestamp is {0} seconds away from now, more than allowed: a replay or a wrong clock"
    )]
    OutsideTolerance(i64),
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a delivery as a receiver does: the header's form, its timestamp within `tolerance` of
/// `now`, then the HMAC in constant time. Any `v1=` entry may match (several appear while a
/// secret is being rotated).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", hex)) => candidates.push(decode_hex(hex).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, candidates.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let skew = now.as_second().saturating_sub(timestamp);
    if skew.unsigned_abs() > tolerance.as_secs().unsigned_abs() {
        return Err(SignatureError::OutsideTolerance(skew));
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|c| expected.clone().verify_slice(c).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"01J","type":"post.published"}"#;

    #[test]
    fn a_receiver_accepts_what_was_signed_and_nothing_else() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_") && secret.len() > 40);
        let now: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        let header = sign(&secret, now.as_second(), BODY);
        assert_eq!(verify(&secret, &header, BODY, now, TOLERANCE), Ok(()));
        // Another body, another secret.
        assert_eq!(
            verify(&secret, &header, b"{}", now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&new_secret(), &header, BODY, now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace(
            &format!("t={}", now.as_second()),
            &format!("t={}", now.as_second() + 1),
        );
        assert_eq!(
            verify(&secret, &moved, BODY, now, TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_replay_after_the_tolerance_is_refused() {
        let secret = new_secret();
        let sent: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        let header = sign(&secret, sent.as_second(), BODY);
        let later = sent + SignedDuration::from_mins(6);
        assert_eq!(
            verify(&secret, &header, BODY, later, TOLERANCE),
            Err(SignatureError::OutsideTolerance(360))
        );
        assert_eq!(
            verify(
                &secret,
                &header,
                BODY,
                sent + SignedDuration::from_mins(4),
                TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let now: Timestamp = "2027-01-15T11:00:00Z".parse().unwrap();
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(
                verify("whsec_x", header, BODY, now, TOLERANCE),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }
}
