//! Identifiers. Brand ids come from the caller's verified identity; everything a brand owns has a ULID,
//! so ids sort by creation time and never collide across processes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A brand's id, as carried in the caller's token: 1 to 64 of `a-z 0-9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BrandId(String);

impl BrandId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "a brand id is 1 to 64 characters of lowercase letters, digits, '-' and '_'; got {raw:?}"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for BrandId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for BrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ULIDs from one process are strictly increasing, even within a millisecond, so "newest first"
/// is exact for everything one process creates.
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut guard = GENERATOR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    // Overflow needs 2^80 ids in one millisecond; fall back to a plain random id rather than fail.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(ulid::Ulid);

        impl $name {
            pub fn new() -> Self {
                Self(next_ulid())
            }

            pub fn parse(raw: &str) -> Result<Self, String> {
                ulid::Ulid::from_string(raw)
                    .map(Self)
                    .map_err(|_| format!("{raw:?} is not a valid {} id (a 26-character ULID)", $what))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(raw: &str) -> Result<Self, String> {
                Self::parse(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

ulid_id!(
    /// A post's id.
    PostId,
    "post"
);
ulid_id!(
    /// A channel's id.
    ChannelId,
    "channel"
);
ulid_id!(
    /// A media-library asset's id.
    AssetId,
    "asset"
);
ulid_id!(
    /// A KPI target's id.
    KpiId,
    "KPI"
);
ulid_id!(
    /// A watched competitor account's id.
    CompetitorId,
    "competitor"
);
ulid_id!(
    /// An outgoing webhook's id.
    WebhookId,
    "webhook"
);
ulid_id!(
    /// An inbox interaction's id (a reply, comment, mention, quote or direct message).
    InteractionId,
    "interaction"
);
ulid_id!(
    /// A reply the brand sends to an interaction.
    ReplyId,
    "reply"
);
ulid_id!(
    /// A person who interacts with the brand (the community's member record).
    PersonId,
    "person"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_ids_are_restricted_to_a_safe_alphabet() {
        assert!(BrandId::parse("acme-coffee_2").is_ok());
        for bad in ["", "Acme", "a#b", "a b", &"x".repeat(65)] {
            assert!(BrandId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn ids_made_in_one_process_increase() {
        let ids: Vec<PostId> = (0..1000).map(|_| PostId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ulid_ids_round_trip_and_reject_garbage() {
        let id = PostId::new();
        assert_eq!(PostId::parse(&id.to_string()).unwrap(), id);
        assert!(PostId::parse("not-a-ulid").unwrap_err().contains("post id"));
    }
}
