//! Opaque pagination cursors. A cursor carries only sort keys; the partition always comes from the
//! caller's brand, and a cursor whose keys are not of the expected kind is refused, so editing a
//! cursor can never reach another brand's items.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::StartAfter;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    pub fn encode(after: &StartAfter) -> Self {
        let json = serde_json::to_vec(after).expect("a StartAfter always serializes");
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes a cursor and checks its sort key is one of `sk_prefix`, so only the kind of item
    /// the listing returns can be a starting point.
    pub fn decode(raw: &str, sk_prefix: &str) -> Result<StartAfter, String> {
        let invalid = || {
            "the cursor is not valid: pass back the next_cursor of a previous page unchanged"
                .to_owned()
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let after: StartAfter = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let plausible = |k: &str| k.len() <= 256 && !k.contains('\0');
        if !after.sk.starts_with(sk_prefix)
            || !plausible(&after.sk)
            || !after.index_sk.as_deref().is_none_or(plausible)
        {
            return Err(invalid());
        }
        Ok(after)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_keys() {
        let after = StartAfter {
            sk: "P#01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            index_sk: None,
        };
        let c = Cursor::encode(&after);
        assert_eq!(Cursor::decode(c.as_str(), "P#").unwrap(), after);
        assert!(Cursor::decode(c.as_str(), "CH#").is_err());
        assert!(Cursor::decode("!!!", "P#").is_err());
        let forged = Cursor::encode(&StartAfter {
            sk: "BRAND".into(),
            index_sk: None,
        });
        assert!(Cursor::decode(forged.as_str(), "P#").is_err());
    }
}
