//! Time rules: instants are UTC, a brand lives in one IANA time zone, and "a day" always means the
//! brand's local day (which lasts 23 or 25 hours across a DST change).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

/// An IANA time zone name that this build's time zone database knows (for example `Europe/Rome`).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match TimeZone::get(raw) {
            Ok(_) if !raw.is_empty() => Ok(Self(raw.to_owned())),
            _ => Err(format!(
                "{raw:?} is not a known IANA time zone (for example \"Europe/Rome\")"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> TimeZone {
        // Validated on construction, so the lookup cannot fail afterwards.
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }

    /// The UTC instants where the local day `date` begins and where the day after `last` begins.
    /// The start of a day is its first existing local instant, which DST gaps can move past midnight.
    pub fn day_bounds(&self, first: Date, last: Date) -> Result<(Timestamp, Timestamp), String> {
        let tz = self.zone();
        let start = first
            .to_zoned(tz.clone())
            .map_err(|e| e.to_string())?
            .start_of_day()
            .map_err(|e| e.to_string())?;
        let after = last
            .checked_add(1.day())
            .map_err(|e| e.to_string())?
            .to_zoned(tz)
            .map_err(|e| e.to_string())?
            .start_of_day()
            .map_err(|e| e.to_string())?;
        Ok((start.timestamp(), after.timestamp()))
    }

    /// The brand-local calendar date of an instant.
    pub fn local_date(&self, at: Timestamp) -> Date {
        at.to_zoned(self.zone()).date()
    }

    pub fn local(&self, at: Timestamp) -> Zoned {
        at.to_zoned(self.zone())
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A calendar date written `YYYY-MM-DD`.
pub type LocalDate = Date;

pub fn parse_date(raw: &str) -> Result<Date, String> {
    raw.parse::<Date>()
        .map_err(|_| format!("{raw:?} is not a date written YYYY-MM-DD"))
}

/// Parses an RFC 3339 instant (with `Z` or an offset) and drops sub-second precision: posts are
/// scheduled to the second.
pub fn parse_instant(raw: &str) -> Result<Timestamp, String> {
    let at: Timestamp = raw.parse().map_err(|_| {
        format!("{raw:?} is not an RFC 3339 date and time such as 2027-03-28T09:00:00+02:00")
    })?;
    Ok(truncate_to_second(at))
}

pub fn truncate_to_second(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_zones_are_rejected_in_plain_words() {
        assert!(TimeZoneName::parse("Europe/Rome").is_ok());
        let err = TimeZoneName::parse("Mars/Olympus").unwrap_err();
        assert!(err.contains("not a known IANA time zone"), "{err}");
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn spring_forward_day_in_rome_lasts_23_hours() {
        let rome = TimeZoneName::parse("Europe/Rome").unwrap();
        let day = parse_date("2027-03-28").unwrap();
        let (start, end) = rome.day_bounds(day, day).unwrap();
        assert_eq!(start.to_string(), "2027-03-27T23:00:00Z");
        assert_eq!(end.to_string(), "2027-03-28T22:00:00Z");
    }

    #[test]
    fn instants_are_truncated_to_the_second() {
        let at = parse_instant("2027-03-28T09:00:00.750+02:00").unwrap();
        assert_eq!(at.to_string(), "2027-03-28T07:00:00Z");
        assert!(parse_instant("tomorrow").is_err());
    }
}
