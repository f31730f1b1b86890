//! Business hours: when a brand's desk is staffed, so that response times are measured in the time
//! someone could have answered, not in wall-clock time. Also the statistics a report draws from them.

use std::fmt;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::time::parse_date;
use super::{DomainError, Validation};

/// The JSON name of business hours in a request, the root of every field an error names.
const FIELD: &str = "business_hours";

pub const MAX_INTERVALS_PER_DAY: usize = 10;
/// A year of closed days, leap years included.
pub const MAX_HOLIDAYS: usize = 366;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// The JSON name of each weekday, Monday first.
const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// A time on the brand's clock, written `HH:MM`, from `00:00` to `24:00`. `24:00` is the end of the
/// day, so that an interval can run until midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    pub const MIDNIGHT: Self = Self { minutes: 0 };
    pub const END_OF_DAY: Self = Self {
        minutes: MINUTES_PER_DAY,
    };

    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a time: times are HH:MM, from 00:00 to 24:00");
        let bytes = raw.as_bytes();
        let digit = |i: usize| {
            bytes
                .get(i)
                .filter(|b| b.is_ascii_digit())
                .map(|b| u16::from(b - b'0'))
        };
        let (5, Some(b':'), Some(h1), Some(h2), Some(m1), Some(m2)) = (
            bytes.len(),
            bytes.get(2),
            digit(0),
            digit(1),
            digit(3),
            digit(4),
        ) else {
            return Err(bad());
        };
        let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
        if minutes > 59 || hours * 60 + minutes > MINUTES_PER_DAY {
            return Err(bad());
        }
        Ok(Self {
            minutes: hours * 60 + minutes,
        })
    }

    /// Minutes since midnight, from 0 to 1440.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// The civil date and time this reading of the clock stands for on `date` (`24:00` is the
    /// midnight that starts the next day).
    fn on(self, date: Date) -> DateTime {
        if self.minutes >= MINUTES_PER_DAY {
            return date
                .tomorrow()
                .map_or(DateTime::MAX, |next| next.to_datetime(Time::midnight()));
        }
        // Both parts are below 60 and 24, so they fit the i8 that jiff asks for.
        let hour = i8::try_from(self.minutes / 60).unwrap_or(0);
        let minute = i8::try_from(self.minutes % 60).unwrap_or(0);
        date.to_datetime(Time::constant(hour, minute, 0, 0))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One stretch of opening hours within a day: from `start` (included) to `end` (excluded), both
/// on the brand's clock. Written in JSON as a pair, `["09:00", "13:00"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    start: TimeOfDay,
    end: TimeOfDay,
}

impl Interval {
    pub fn new(start: TimeOfDay, end: TimeOfDay) -> Result<Self, String> {
        if end <= start {
            return Err(
                "must end after it starts; to stay open past midnight, end at 24:00 \
                 and open the next day at 00:00"
                    .into(),
            );
        }
        Ok(Self { start, end })
    }

    /// The whole day, 00:00 to 24:00.
    pub const ALL_DAY: Self = Self {
        start: TimeOfDay::MIDNIGHT,
        end: TimeOfDay::END_OF_DAY,
    };

    pub fn start(self) -> TimeOfDay {
        self.start
    }

    pub fn end(self) -> TimeOfDay {
        self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.start, self.end).serialize(s)
    }
}

impl utoipa::PartialSchema for Interval {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let time = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"))
            .description(Some(
                "A time on the brand's clock, HH:MM from 00:00 to 24:00",
            ));
        ArrayBuilder::new()
            .items(time)
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some(
                "From (included) and until (excluded), on the brand's clock; the end is after the start",
            ))
            .examples([serde_json::json!(["09:00", "13:00"])])
            .into()
    }
}

impl utoipa::ToSchema for Interval {}

/// The opening intervals of each weekday, sorted by start and never overlapping; an empty day is
/// a closed day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WeeklyHours {
    mon: Vec<Interval>,
    tue: Vec<Interval>,
    wed: Vec<Interval>,
    thu: Vec<Interval>,
    fri: Vec<Interval>,
    sat: Vec<Interval>,
    sun: Vec<Interval>,
}

impl WeeklyHours {
    pub fn on(&self, day: Weekday) -> &[Interval] {
        self.slot(day)
    }

    fn slot(&self, day: Weekday) -> &Vec<Interval> {
        match day {
            Weekday::Monday => &self.mon,
            Weekday::Tuesday => &self.tue,
            Weekday::Wednesday => &self.wed,
            Weekday::Thursday => &self.thu,
            Weekday::Friday => &self.fri,
            Weekday::Saturday => &self.sat,
            Weekday::Sunday => &self.sun,
        }
    }

    fn slot_mut(&mut self, day: Weekday) -> &mut Vec<Interval> {
        match day {
            Weekday::Monday => &mut self.mon,
            Weekday::Tuesday => &mut self.tue,
            Weekday::Wednesday => &mut self.wed,
            Weekday::Thursday => &mut self.thu,
            Weekday::Friday => &mut self.fri,
            Weekday::Saturday => &mut self.sat,
            Weekday::Sunday => &mut self.sun,
        }
    }
}

/// When a brand's desk is open, on the brand's own clock: intervals for each weekday, and holidays
/// (whole local days closed whatever the weekday). A brand that set none is open all the time
/// ([`BusinessHours::always`]).
///
/// Reading one (from a request or from storage) validates it: see [`BusinessHours::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "weekly": {
        "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
        "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]], "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "17:00"]], "sat": [], "sun": []
    },
    "holidays": ["2027-04-25", "2027-06-02"]
}))]
pub struct BusinessHours {
    weekly: WeeklyHours,
    /// Local dates written YYYY-MM-DD, sorted, each once.
    #[schema(value_type = Vec<String>, format = Date)]
    holidays: Vec<Date>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self::always()
    }
}

impl BusinessHours {
    /// Open 24 hours a day, 7 days a week, with no holidays: business time is wall-clock time.
    pub fn always() -> Self {
        let all_day = vec![Interval::ALL_DAY];
        Self {
            weekly: WeeklyHours {
                mon: all_day.clone(),
                tue: all_day.clone(),
                wed: all_day.clone(),
                thu: all_day.clone(),
                fri: all_day.clone(),
                sat: all_day.clone(),
                sun: all_day,
            },
            holidays: Vec::new(),
        }
    }

    /// Reads and checks business hours written as
    /// `{"weekly": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], …, "sun": []}, "holidays": ["2027-04-25"]}`.
    ///
    /// A missing (or `null`) day is closed and missing holidays are none, but the desk must open on at
    /// least one day a week. Intervals may come in any order; they are kept sorted. Holidays are kept
    /// sorted and each once. Every problem is reported at once, under its JSON path (for example
    /// `business_hours.weekly.mon.1`).
    pub fn parse(raw: &Value) -> Result<Self, DomainError> {
        let Some(fields) = raw.as_object() else {
            return Err(DomainError::invalid(
                FIELD,
                "must be an object with weekly and holidays, such as \
                 {\"weekly\": {\"mon\": [[\"09:00\", \"18:00\"]]}, \"holidays\": []}",
            ));
        };
        let mut v = Validation::new();
        for key in fields.keys() {
            if key != "weekly" && key != "holidays" {
                v.add(
                    format!("{FIELD}.{key}"),
                    "is not part of business hours: use weekly and holidays",
                );
            }
        }
        let weekly = parse_weekly(fields.get("weekly"), &mut v);
        let holidays = parse_holidays(fields.get("holidays"), &mut v);
        v.finish()?;
        Ok(Self {
            weekly: weekly.unwrap_or_default(),
            holidays,
        })
    }

    pub fn weekly(&self) -> &WeeklyHours {
        &self.weekly
    }

    /// The holidays, sorted.
    pub fn holidays(&self) -> &[Date] {
        &self.holidays
    }

    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    /// The opening intervals of one local day: none on a holiday.
    pub fn intervals_on(&self, date: Date) -> &[Interval] {
        if self.is_holiday(date) {
            &[]
        } else {
            self.weekly.on(date.weekday())
        }
    }

    /// The whole minutes (rounded down) of business time from `from` to `to`, with the brand's
    /// clock in `zone`; 0 when `to` is not after `from`.
    ///
    /// Business time is the real time that passes while the brand's clock reads a time inside an
    /// opening interval of a day that is not a holiday. So a 09:00–18:00 day is 9 hours whether or
    /// not the clocks changed that night; an interval the clocks skip (02:00–03:00 when they go
    /// forward) counts nothing, and one they repeat (02:00–03:00 when they go back) counts twice,
    /// because that hour really passes twice.
    ///
    /// The work grows with the number of local days and clock changes in the span, not its length
    /// in minutes.
    pub fn business_minutes(&self, zone: &TimeZone, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        // Between two clock changes the offset is fixed, so the clock moves exactly with real time
        // and business time there is the overlap of that stretch of clock readings with the
        // opening intervals. Summing over those stretches is what handles skipped and repeated hours.
        let mut total = SignedDuration::ZERO;
        let mut start = from;
        let mut offset = zone.to_offset(from);
        let mut changes = zone
            .following(from)
            .filter(|change| change.timestamp() > from);
        loop {
            let change = changes.next().filter(|change| change.timestamp() < to);
            let end = change.as_ref().map_or(to, |change| change.timestamp());
            total += self.open_time_between(offset.to_datetime(start), offset.to_datetime(end));
            match change {
                Some(change) => {
                    start = end;
                    offset = change.offset();
                }
                None => break,
            }
        }
        total.as_mins()
    }

    /// The time from `from` to `to` (civil, both read on a clock that does not change) that falls
    /// in opening intervals.
    fn open_time_between(&self, from: DateTime, to: DateTime) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        let mut day = from.date();
        while day <= to.date() {
            for interval in self.intervals_on(day) {
                let start = interval.start.on(day).max(from);
                let end = interval.end.on(day).min(to);
                if start < end {
                    total += end.duration_since(start);
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        total
    }
}

impl<'de> Deserialize<'de> for BusinessHours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        Self::parse(&raw).map_err(|err| serde::de::Error::custom(explain(&err)))
    }
}

/// Every problem of a failed parse on one line, for the places (like stored data) that only have
/// room for a message.
fn explain(err: &DomainError) -> String {
    match err {
        DomainError::Invalid(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The weekly hours, or `None` when a problem was recorded in `v`.
fn parse_weekly(raw: Option<&Value>, v: &mut Validation) -> Option<WeeklyHours> {
    let field = format!("{FIELD}.weekly");
    let days = match raw {
        None | Some(Value::Null) => &serde_json::Map::new(),
        Some(Value::Object(days)) => days,
        Some(_) => {
            v.add(
                field,
                "must be an object with the intervals of each day, such as \
                 {\"mon\": [[\"09:00\", \"13:00\"], [\"14:00\", \"18:00\"]], \"sat\": []}",
            );
            return None;
        }
    };
    let mut ok = true;
    for key in days.keys() {
        if !DAYS.iter().any(|(name, _)| name == key) {
            v.add(
                format!("{field}.{key}"),
                "is not a day: use mon, tue, wed, thu, fri, sat or sun",
            );
            ok = false;
        }
    }
    let mut weekly = WeeklyHours::default();
    for (name, day) in DAYS {
        match parse_day(&format!("{field}.{name}"), days.get(name), v) {
            Some(intervals) => *weekly.slot_mut(day) = intervals,
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if DAYS.iter().all(|(_, day)| weekly.on(*day).is_empty()) {
        v.add(
            field,
            "must open on at least one day a week (leave business hours out to be open all the time)",
        );
        return None;
    }
    Some(weekly)
}

/// One day's intervals, sorted by start, or `None` when a problem was recorded in `v`.
fn parse_day(field: &str, raw: Option<&Value>, v: &mut Validation) -> Option<Vec<Interval>> {
    let items = match raw {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.add(
                field,
                "must be a list of intervals such as [[\"09:00\", \"13:00\"], [\"14:00\", \"18:00\"]], \
                 or [] when closed",
            );
            return None;
        }
    };
    if items.len() > MAX_INTERVALS_PER_DAY {
        v.add(
            field,
            format!(
                "must have at most {MAX_INTERVALS_PER_DAY} intervals a day (it has {})",
                items.len()
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut intervals = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match parse_interval(&format!("{field}.{i}"), item, v) {
            Some(interval) => intervals.push((i, interval)),
            None => ok = false,
        }
    }
    intervals.sort_by_key(|(_, interval)| interval.start);
    // The interval that reaches furthest so far: each later one must start at or after its end.
    let mut furthest: Option<Interval> = None;
    for &(i, interval) in &intervals {
        if let Some(earlier) = furthest
            && interval.start < earlier.end
        {
            v.add(
                format!("{field}.{i}"),
                format!("intervals must not overlap (this one overlaps {earlier})"),
            );
            ok = false;
        }
        if furthest.is_none_or(|earlier| interval.end > earlier.end) {
            furthest = Some(interval);
        }
    }
    ok.then(|| {
        intervals
            .into_iter()
            .map(|(_, interval)| interval)
            .collect()
    })
}

fn parse_interval(field: &str, raw: &Value, v: &mut Validation) -> Option<Interval> {
    let Some([start, end]) = raw.as_array().map(Vec::as_slice) else {
        v.add(
            field,
            "must be a pair of times such as [\"09:00\", \"13:00\"]",
        );
        return None;
    };
    let start = v.check(&format!("{field}.0"), parse_time(start));
    let end = v.check(&format!("{field}.1"), parse_time(end));
    v.check(field, Interval::new(start?, end?))
}

fn parse_time(raw: &Value) -> Result<TimeOfDay, String> {
    match raw {
        Value::String(text) => TimeOfDay::parse(text),
        other => Err(format!(
            "{other} is not a time: times are HH:MM, from 00:00 to 24:00"
        )),
    }
}

fn parse_holidays(raw: Option<&Value>, v: &mut Validation) -> Vec<Date> {
    let field = format!("{FIELD}.holidays");
    let items = match raw {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.add(
                field,
                "must be a list of dates written YYYY-MM-DD, such as [\"2027-04-25\"]",
            );
            return Vec::new();
        }
    };
    if items.len() > MAX_HOLIDAYS {
        v.add(
            field,
            format!(
                "must list at most {MAX_HOLIDAYS} holidays (it has {})",
                items.len()
            ),
        );
        return Vec::new();
    }
    let mut dates: Vec<Date> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let parsed = match item {
                Value::String(text) => parse_date(text),
                other => Err(format!("{other} is not a date written YYYY-MM-DD")),
            };
            v.check(&format!("{field}.{i}"), parsed)
        })
        .collect();
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// The middle of the values (the mean of the two middle ones when there is an even number of
/// them); `None` when there are none. Sorts `values`.
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid] as f64
    } else {
        (values[mid - 1] as f64 + values[mid] as f64) / 2.0
    })
}

/// The `p`th percentile (`p` from 0 to 100) by the nearest-rank method: the smallest of the values
/// that at least `p`% of them are at or below. With `n` values sorted, that is the one at rank
/// ⌈p × n / 100⌉ counted from 1 (rank 1 for `p` = 0), so the answer is always one of the values,
/// never an interpolation. `None` when there are no values or `p` is above 100. Sorts `values`.
pub fn percentile(values: &mut [i64], p: u8) -> Option<f64> {
    if values.is_empty() || p > 100 {
        return None;
    }
    values.sort_unstable();
    let rank = (usize::from(p) * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1] as f64)
}

/// The share of the values at or below `target`, from 0.0 (none) to 1.0 (all); `None` when there
/// are no values.
pub fn share_within(values: &[i64], target: i64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let within = values.iter().filter(|&&value| value <= target).count();
    Some(within as f64 / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The fixture: a desk in Rome, Monday to Friday 09:00-13:00 and 14:00-18:00 (8 hours, 480
    // minutes, a day), closed on the Italian holidays of 2027. Easter 2027 is Sunday 28 March, the
    // night the clocks go forward, so Easter Monday (29 March) is a weekday holiday right after it;
    // All Saints (Monday 1 November) comes the day after the clocks go back. Liberation Day
    // (25 April) falls on a Sunday, a day the desk is closed anyway.
    //
    // Rome is CET (UTC+1) in winter and CEST (UTC+2) from 2027-03-28T01:00Z (02:00 CET becomes
    // 03:00 CEST) to 2027-10-31T01:00Z (03:00 CEST becomes 02:00 CET).
    fn rome_desk() -> BusinessHours {
        let day = json!([["09:00", "13:00"], ["14:00", "18:00"]]);
        BusinessHours::parse(&json!({
            "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": [], "sun": []},
            "holidays": [
                "2027-01-01", "2027-01-06", "2027-03-29", "2027-04-25", "2027-05-01", "2027-06-02",
                "2027-08-15", "2027-11-01", "2027-12-08", "2027-12-25", "2027-12-26"
            ]
        }))
        .unwrap()
    }

    fn rome() -> TimeZone {
        TimeZone::get("Europe/Rome").unwrap()
    }

    fn utc(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn minutes(hours: &BusinessHours, from: &str, to: &str) -> i64 {
        hours.business_minutes(&rome(), utc(from), utc(to))
    }

    /// The field and message of every problem in a failed parse.
    fn problems(raw: Value) -> Vec<(String, String)> {
        let DomainError::Invalid(errors) = BusinessHours::parse(&raw).unwrap_err() else {
            panic!("expected a validation error");
        };
        errors.into_iter().map(|e| (e.field, e.message)).collect()
    }

    fn message_for(problems: &[(String, String)], field: &str) -> String {
        problems
            .iter()
            .find(|(f, _)| f == field)
            .unwrap_or_else(|| panic!("no problem with {field} in {problems:?}"))
            .1
            .clone()
    }

    #[test]
    fn a_span_that_starts_before_opening_counts_from_opening() {
        // Monday 2027-03-01, 07:00 to 10:15 CET: closed until 09:00, then 09:00-10:15 = 75.
        assert_eq!(
            minutes(&rome_desk(), "2027-03-01T06:00:00Z", "2027-03-01T09:15:00Z"),
            75
        );
    }

    #[test]
    fn a_span_that_starts_in_the_lunch_break_counts_from_the_afternoon() {
        // Wednesday 2027-03-03, 13:20 to 15:05 CET: closed until 14:00, then 14:00-15:05 = 65.
        assert_eq!(
            minutes(&rome_desk(), "2027-03-03T12:20:00Z", "2027-03-03T14:05:00Z"),
            65
        );
        // 11:30 to 13:45 CET: 11:30-13:00 = 90, then the break.
        assert_eq!(
            minutes(&rome_desk(), "2027-03-03T10:30:00Z", "2027-03-03T12:45:00Z"),
            90
        );
    }

    #[test]
    fn clocks_going_forward_over_an_easter_weekend() {
        // From Thursday 2027-03-25 12:00 CET (11:00Z) to Wednesday 2027-03-31 09:30 CEST (07:30Z):
        //   Thu 25: 12:00-13:00 = 60, 14:00-18:00 = 240        →  300
        //   Fri 26: a full day                                   →  480
        //   Sat 27, Sun 28 (clocks go forward): closed           →    0
        //   Mon 29: Easter Monday, a holiday                     →    0
        //   Tue 30: a full day                                   →  480
        //   Wed 31: 09:00-09:30 CEST = 30                        →   30
        //                                                 total   1290
        // (Reading 07:30Z as CET would give 08:30, before opening, and 1260.)
        assert_eq!(
            minutes(&rome_desk(), "2027-03-25T11:00:00Z", "2027-03-31T07:30:00Z"),
            1290
        );
    }

    #[test]
    fn clocks_going_back_over_a_weekend_and_all_saints() {
        // From Friday 2027-10-29 16:00 CEST (14:00Z) to Tuesday 2027-11-02 11:00 CET (10:00Z):
        //   Fri 29: 16:00-18:00 = 120                            →  120
        //   Sat 30, Sun 31 (clocks go back): closed              →    0
        //   Mon 1 November: All Saints, a holiday                →    0
        //   Tue 2: 09:00-11:00 CET = 120                         →  120
        //                                                 total    240
        // (Reading 10:00Z as CEST would give 12:00 and 300.)
        assert_eq!(
            minutes(&rome_desk(), "2027-10-29T14:00:00Z", "2027-11-02T10:00:00Z"),
            240
        );
    }

    #[test]
    fn a_whole_month_counts_its_working_days() {
        // March 2027, from 1 March 00:00 CET (2027-02-28T23:00Z) to 1 April 00:00 CEST
        // (2027-03-31T22:00Z). 1 March is a Monday: four whole weeks to the 28th give 20 weekdays,
        // then Mon 29, Tue 30, Wed 31 make 23; less Easter Monday, 22 days × 480 = 10560.
        assert_eq!(
            minutes(&rome_desk(), "2027-02-28T23:00:00Z", "2027-03-31T22:00:00Z"),
            10_560
        );
    }

    #[test]
    fn an_empty_or_backwards_span_has_no_business_time() {
        let desk = rome_desk();
        assert_eq!(
            minutes(&desk, "2027-03-03T10:00:00Z", "2027-03-03T10:00:00Z"),
            0
        );
        assert_eq!(
            minutes(&desk, "2027-03-03T12:00:00Z", "2027-03-03T10:00:00Z"),
            0
        );
    }

    #[test]
    fn minutes_are_whole_and_rounded_down() {
        let desk = rome_desk();
        // 09:00:00 to 09:01:59.999 CET: 119.999 seconds → 1 minute.
        assert_eq!(
            minutes(&desk, "2027-03-03T08:00:00Z", "2027-03-03T08:01:59.999Z"),
            1
        );
        // 12:59:30 to 14:00:45 CET: 30 seconds before lunch + 45 after = 75 seconds → 1 minute.
        assert_eq!(
            minutes(&desk, "2027-03-03T11:59:30Z", "2027-03-03T13:00:45Z"),
            1
        );
    }

    #[test]
    fn a_day_of_nine_hours_stays_nine_hours_when_the_clocks_change() {
        let day = json!([["09:00", "18:00"]]);
        let every_day = BusinessHours::parse(&json!({"weekly": {
            "mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day
        }}))
        .unwrap();
        // Sunday 2027-03-28 lasts 23 hours (2027-03-27T23:00Z to 2027-03-28T22:00Z), Sunday
        // 2027-10-31 lasts 25 (2027-10-30T22:00Z to 2027-10-31T23:00Z); both open 9 × 60 = 540.
        assert_eq!(
            minutes(&every_day, "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"),
            540
        );
        assert_eq!(
            minutes(&every_day, "2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z"),
            540
        );
    }

    #[test]
    fn hours_the_clocks_skip_or_repeat_count_what_really_passes() {
        let sunday = |interval: Value| {
            BusinessHours::parse(&json!({"weekly": {"sun": [interval]}})).unwrap()
        };
        // The whole of each weekend, so only the interval limits the count.
        let spring = ("2027-03-26T23:00:00Z", "2027-03-28T22:00:00Z");
        let autumn = ("2027-10-29T22:00:00Z", "2027-10-31T23:00:00Z");

        // 28 March, 02:00-04:00: the clock jumps from 02:00 to 03:00, so only 03:00-04:00 CEST
        // (01:00Z-02:00Z) passes: 60.
        let gap = sunday(json!(["02:00", "04:00"]));
        assert_eq!(minutes(&gap, spring.0, spring.1), 60);
        // 02:15-02:45 never shows on the clock that night: 0.
        let inside = sunday(json!(["02:15", "02:45"]));
        assert_eq!(minutes(&inside, spring.0, spring.1), 0);
        // 01:30-02:30: 01:30-02:00 CET passes, then the clock reads 03:00: 30.
        let across = sunday(json!(["01:30", "02:30"]));
        assert_eq!(minutes(&across, spring.0, spring.1), 30);

        // 31 October, 02:00-03:00: the clock shows it twice, first in CEST (00:00Z-01:00Z), then
        // in CET (01:00Z-02:00Z): 120.
        let fold = sunday(json!(["02:00", "03:00"]));
        assert_eq!(minutes(&fold, autumn.0, autumn.1), 120);
        // A span that ends in the middle of the second pass, 02:30 CET (01:30Z): 60 + 30 = 90.
        assert_eq!(minutes(&fold, autumn.0, "2027-10-31T01:30:00Z"), 90);
    }

    #[test]
    fn always_open_is_wall_clock_time() {
        let always = BusinessHours::always();
        assert_eq!(BusinessHours::default(), always);
        // The 23-hour and the 25-hour days of 2027 in Rome.
        assert_eq!(
            minutes(&always, "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"),
            23 * 60
        );
        assert_eq!(
            minutes(&always, "2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z"),
            25 * 60
        );
        // Any span, across both changes, with seconds: exactly the elapsed minutes, rounded down.
        let (from, to) = (utc("2027-03-27T22:30:30Z"), utc("2027-11-02T03:07:10Z"));
        assert_eq!(
            always.business_minutes(&rome(), from, to),
            to.duration_since(from).as_mins()
        );
        // A zone without clock changes.
        assert_eq!(always.business_minutes(&TimeZone::UTC, from, to), 315_636);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let found = problems(json!({
            "weekly": {
                "mon": [["09:00", "13:00"], ["12:00", "18:00"]],
                "tue": [["18:00", "09:00"]],
                "wed": [["9:00", "13:00"], ["14:00", "24:01"]],
                "thu": "all day",
                "fri": [["09:00"]],
                "funday": []
            },
            "holidays": ["2027-02-30", 5],
            "timezone": "Europe/Rome"
        }));
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        let mut sorted = fields.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [
                "business_hours.holidays.0",
                "business_hours.holidays.1",
                "business_hours.timezone",
                "business_hours.weekly.fri.0",
                "business_hours.weekly.funday",
                "business_hours.weekly.mon.1",
                "business_hours.weekly.thu",
                "business_hours.weekly.tue.0",
                "business_hours.weekly.wed.0.0",
                "business_hours.weekly.wed.1.1",
            ]
        );
        assert_eq!(
            message_for(&found, "business_hours.weekly.mon.1"),
            "intervals must not overlap (this one overlaps 09:00-13:00)"
        );
        assert!(
            message_for(&found, "business_hours.weekly.tue.0")
                .starts_with("must end after it starts")
        );
        assert_eq!(
            message_for(&found, "business_hours.weekly.wed.0.0"),
            "\"9:00\" is not a time: times are HH:MM, from 00:00 to 24:00"
        );
        assert!(message_for(&found, "business_hours.weekly.wed.1.1").contains("times are HH:MM"));
        assert!(message_for(&found, "business_hours.weekly.thu").starts_with("must be a list"));
        assert!(message_for(&found, "business_hours.weekly.fri.0").starts_with("must be a pair"));
        assert!(message_for(&found, "business_hours.weekly.funday").starts_with("is not a day"));
        assert!(message_for(&found, "business_hours.holidays.0").contains("YYYY-MM-DD"));
        assert_eq!(
            message_for(&found, "business_hours.holidays.1"),
            "5 is not a date written YYYY-MM-DD"
        );
    }

    #[test]
    fn limits_and_a_week_with_no_opening_are_refused() {
        let eleven: Vec<Value> = (0..11)
            .map(|h| json!([format!("{:02}:00", h), format!("{:02}:30", h)]))
            .collect();
        let found = problems(json!({"weekly": {"mon": eleven}}));
        assert_eq!(
            found,
            [(
                "business_hours.weekly.mon".to_owned(),
                "must have at most 10 intervals a day (it has 11)".to_owned()
            )]
        );

        let many: Vec<String> = (0..367).map(|_| "2027-04-25".to_owned()).collect();
        let found = problems(json!({"weekly": {"mon": [["09:00", "18:00"]]}, "holidays": many}));
        assert_eq!(
            found,
            [(
                "business_hours.holidays".to_owned(),
                "must list at most 366 holidays (it has 367)".to_owned()
            )]
        );

        let closed = problems(json!({"weekly": {"mon": [], "sat": null}}));
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, "business_hours.weekly");
        assert!(
            closed[0]
                .1
                .starts_with("must open on at least one day a week")
        );

        assert_eq!(problems(json!([]))[0].0, "business_hours");
    }

    #[test]
    fn touching_intervals_and_midnight_are_fine() {
        let hours = BusinessHours::parse(&json!({"weekly": {
            "fri": [["14:00", "24:00"], ["00:00", "09:00"], ["09:00", "14:00"]]
        }}))
        .unwrap();
        // Kept sorted by start.
        let starts: Vec<String> = hours
            .weekly()
            .on(Weekday::Friday)
            .iter()
            .map(|i| i.start().to_string())
            .collect();
        assert_eq!(starts, ["00:00", "09:00", "14:00"]);
        // Friday 2027-03-05 is open all day: 24 × 60 = 1440, and nothing on Saturday.
        assert_eq!(
            minutes(&hours, "2027-03-04T23:00:00Z", "2027-03-06T23:00:00Z"),
            1440
        );
    }

    #[test]
    fn it_is_written_and_read_back_in_the_same_shape() {
        let desk = BusinessHours::parse(&json!({
            "weekly": {"mon": [["14:00", "18:00"], ["09:00", "13:00"]]},
            "holidays": ["2027-06-02", "2027-04-25", "2027-06-02"]
        }))
        .unwrap();
        let written = serde_json::to_value(&desk).unwrap();
        assert_eq!(
            written,
            json!({
                "weekly": {
                    "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
                    "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []
                },
                "holidays": ["2027-04-25", "2027-06-02"]
            })
        );
        let read: BusinessHours = serde_json::from_value(written).unwrap();
        assert_eq!(read, desk);
        let always: BusinessHours =
            serde_json::from_value(serde_json::to_value(BusinessHours::always()).unwrap()).unwrap();
        assert_eq!(always, BusinessHours::always());

        let err = serde_json::from_value::<BusinessHours>(
            json!({"weekly": {"tue": [["18:00", "09:00"]]}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("business_hours.weekly.tue.0: must end after it starts"),
            "{err}"
        );
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7.0));
        assert_eq!(median(&mut [30, 10, 20]), Some(20.0));
        // Sorted 10, 20, 30, 45: (20 + 30) / 2 = 25.
        assert_eq!(median(&mut [45, 10, 30, 20]), Some(25.0));
    }

    #[test]
    fn percentile_uses_the_nearest_rank() {
        // Sorted 15, 20, 35, 40, 50 (n = 5):
        //   p30: ⌈0.30 × 5⌉ = ⌈1.5⌉ = rank 2 → 20
        //   p40: ⌈0.40 × 5⌉ = 2                → 20
        //   p50: ⌈2.5⌉ = 3                     → 35
        //   p90: ⌈4.5⌉ = 5                     → 50
        //   p100: 5 → 50; p0: rank 1 → 15
        let mut values = [50, 15, 40, 20, 35];
        assert_eq!(percentile(&mut values, 30), Some(20.0));
        assert_eq!(percentile(&mut values, 40), Some(20.0));
        assert_eq!(percentile(&mut values, 50), Some(35.0));
        assert_eq!(percentile(&mut values, 90), Some(50.0));
        assert_eq!(percentile(&mut values, 100), Some(50.0));
        assert_eq!(percentile(&mut values, 0), Some(15.0));
        // 1..=10, p90: ⌈0.9 × 10⌉ = 9 → 9.
        let mut ten: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut ten, 90), Some(9.0));
        assert_eq!(percentile(&mut [], 90), None);
        assert_eq!(percentile(&mut values, 101), None);
    }

    #[test]
    fn share_within_counts_values_at_or_below_the_target() {
        // 5, 10 and 30 are within 30 minutes; 60 is not: 3 / 4.
        assert_eq!(share_within(&[60, 5, 30, 10], 30), Some(0.75));
        assert_eq!(share_within(&[60], 30), Some(0.0));
        assert_eq!(share_within(&[], 30), None);
    }
}
