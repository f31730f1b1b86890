//! Queue slots: a channel's weekly posting times in the brand's local time (e.g. Mon/Wed/Fri
//! 09:00 Europe/Rome). "Queue this post" takes the next free slot. Local times are resolved to
//! instants per day, so a slot keeps its wall-clock time across DST changes; a time that does not
//! exist on a spring-forward day moves forward by the gap, a repeated one takes its first instance.

use jiff::civil::{Date, Time, Weekday};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::TimeZoneName;

pub const MAX_SLOTS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueSlot {
    /// mon, tue, wed, thu, fri, sat or sun.
    pub day: String,
    /// Local time, HH:MM (24-hour).
    pub time: String,
}

impl QueueSlot {
    pub fn parse(day: &str, time: &str) -> Result<Self, String> {
        weekday(day)?;
        local_time(time)?;
        Ok(Self {
            day: day.to_owned(),
            time: time.to_owned(),
        })
    }

    fn resolved(&self) -> Option<(Weekday, Time)> {
        Some((weekday(&self.day).ok()?, local_time(&self.time).ok()?))
    }
}

fn weekday(raw: &str) -> Result<Weekday, String> {
    Ok(match raw {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        other => {
            return Err(format!(
                "unknown day {other:?}: expected mon, tue, wed, thu, fri, sat or sun"
            ));
        }
    })
}

fn local_time(raw: &str) -> Result<Time, String> {
    let bad = || format!("{raw:?} is not a time written HH:MM");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// The instants of `slots` strictly after `after`, for the next `days` local days, in order,
/// without repeats.
pub fn upcoming(
    slots: &[QueueSlot],
    zone: &TimeZoneName,
    after: Timestamp,
    days: i32,
) -> Vec<Timestamp> {
    let tz = zone.zone();
    let start: Date = zone.local_date(after);
    let mut out = Vec::new();
    for offset in 0..days {
        let Ok(date) = start.checked_add(offset.days()) else {
            break;
        };
        for (day, time) in slots.iter().filter_map(QueueSlot::resolved) {
            if date.weekday() != day {
                continue;
            }
            // `compatible`: a time skipped by DST moves forward by the gap; a repeated time takes
            // its first (earlier) instance.
            let Ok(at) = tz.to_ambiguous_zoned(date.to_datetime(time)).compatible() else {
                continue;
            };
            let at = at.timestamp();
            if at > after {
                out.push(at);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome() -> TimeZoneName {
        TimeZoneName::parse("Europe/Rome").unwrap()
    }

    fn slot(day: &str, time: &str) -> QueueSlot {
        QueueSlot::parse(day, time).unwrap()
    }

    #[test]
    fn slots_are_validated_in_plain_words() {
        assert!(QueueSlot::parse("mon", "09:00").is_ok());
        assert!(
            QueueSlot::parse("monday", "09:00")
                .unwrap_err()
                .contains("unknown day")
        );
        assert!(
            QueueSlot::parse("mon", "9:00")
                .unwrap_err()
                .contains("HH:MM")
        );
        assert!(QueueSlot::parse("mon", "24:00").is_err());
    }

    #[test]
    fn a_slot_keeps_its_local_time_across_the_spring_change() {
        // Sunday 2027-03-28: Rome moves from +01:00 to +02:00.
        let slots = [
            slot("sat", "09:00"),
            slot("sun", "09:00"),
            slot("mon", "09:00"),
        ];
        let at = upcoming(&slots, &rome(), "2027-03-27T00:00:00Z".parse().unwrap(), 3);
        let got: Vec<String> = at.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "2027-03-27T08:00:00Z",
                "2027-03-28T07:00:00Z",
                "2027-03-29T07:00:00Z"
            ]
        );
    }

    #[test]
    fn a_time_skipped_by_dst_moves_forward_by_the_gap() {
        // 02:30 does not exist in Rome on 2027-03-28: it becomes 03:30 CEST (01:30 UTC).
        let at = upcoming(
            &[slot("sun", "02:30")],
            &rome(),
            "2027-03-27T00:00:00Z".parse().unwrap(),
            2,
        );
        assert_eq!(at[0].to_string(), "2027-03-28T01:30:00Z");
        assert_eq!(rome().local(at[0]).time().to_string(), "03:30:00");
    }

    #[test]
    fn a_time_repeated_by_dst_is_taken_once_at_its_first_instance() {
        // 02:30 happens twice in Rome on 2026-10-25 (CEST, then CET).
        let at = upcoming(
            &[slot("sun", "02:30")],
            &rome(),
            "2026-10-24T00:00:00Z".parse().unwrap(),
            2,
        );
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].to_string(), "2026-10-25T00:30:00Z");
    }

    #[test]
    fn only_slots_after_the_start_are_offered() {
        let after: Timestamp = "2027-01-04T08:00:00Z".parse().unwrap(); // Monday 09:00 in Rome
        let at = upcoming(
            &[slot("mon", "09:00"), slot("mon", "18:00")],
            &rome(),
            after,
            8,
        );
        let got: Vec<String> = at.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "2027-01-04T17:00:00Z",
                "2027-01-11T08:00:00Z",
                "2027-01-11T17:00:00Z"
            ]
        );
    }
}
