//! Rendering a [`Report`]'s figures for the client: JSON for programs, CSV for spreadsheets, and a
//! self-contained HTML page (inline CSS and SVG charts) to read on screen or print at A4.
//!
//! The figures are computed elsewhere; here `None` is always written "n/a", never 0. Numbers,
//! labels and escaping are written by the one function of this module that owns each rule.

mod csv;
mod html;
#[cfg(any(test, feature = "test-fixtures"))]
pub mod sample;
mod svg;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::domain::KpiMetric;
use crate::domain::report::{Change, Delta, Figures, KpiOutcome, Period, RateBasis, Report};

/// A way to render a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Csv,
    Html,
}

impl Format {
    /// In the order a server prefers them when a client accepts several equally.
    pub const ALL: [Format; 3] = [Self::Json, Self::Html, Self::Csv];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv",
            Self::Html => "text/html",
        }
    }

    /// The `Content-Type` header of a rendered report.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8; header=present",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// A `format=` query value: `json`, `csv` or `html`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| format!("{raw:?} is not a report format: use json, csv or html"))
    }

    /// The format an HTTP `Accept` header value asks for (RFC 9110 §12.5.1): the highest q-value
    /// wins, a more specific media range outranks a wildcard, and equal ones go to the server's
    /// order (JSON first). An empty header accepts anything, so JSON. `None`: nothing acceptable.
    pub fn from_accept(header: &str) -> Option<Format> {
        if header.trim().is_empty() {
            return Some(Self::Json);
        }
        let ranges: Vec<MediaRange> = header.split(',').filter_map(MediaRange::parse).collect();
        let mut best: Option<(Format, u16, u8)> = None;
        for format in Self::ALL {
            let (kind, sub) = format.media_type().split_once('/').unwrap_or_default();
            // The most specific range that matches decides this format's q-value.
            let Some(range) = ranges
                .iter()
                .filter(|r| r.matches(kind, sub))
                .max_by_key(|r| r.specificity)
            else {
                continue;
            };
            if range.quality == 0 {
                continue;
            }
            // Strictly better only: on a tie the format earlier in `ALL` stays.
            let better = match best {
                None => true,
                Some((_, quality, specificity)) => {
                    (range.quality, range.specificity) > (quality, specificity)
                }
            };
            if better {
                best = Some((format, range.quality, range.specificity));
            }
        }
        best.map(|(format, _, _)| format)
    }

    /// The format a request asks for: its `format=` value if it has one, else its `Accept` header,
    /// else JSON.
    pub fn negotiate(query: Option<&str>, accept: Option<&str>) -> Result<Self, String> {
        match (query, accept) {
            (Some(raw), _) => Self::parse(raw),
            (None, Some(header)) => Self::from_accept(header).ok_or_else(|| {
                format!(
                    "none of the report formats is acceptable to {header:?}: \
                     accept application/json, text/csv or text/html"
                )
            }),
            (None, None) => Ok(Self::Json),
        }
    }
}

/// One entry of an `Accept` header, q-value in thousandths.
struct MediaRange {
    kind: String,
    sub: String,
    quality: u16,
    /// 0 for `*/*`, 1 for `type/*`, 2 for `type/subtype`.
    specificity: u8,
}

impl MediaRange {
    /// `None` for an entry that is not a media range or has an invalid q-value: it is ignored.
    fn parse(entry: &str) -> Option<Self> {
        let mut parts = entry.split(';');
        let (kind, sub) = parts.next()?.trim().split_once('/')?;
        let (kind, sub) = (
            kind.trim().to_ascii_lowercase(),
            sub.trim().to_ascii_lowercase(),
        );
        if kind.is_empty() || sub.is_empty() || (kind == "*" && sub != "*") {
            return None;
        }
        let mut quality = 1000;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                quality = parse_quality(value.trim())?;
            }
        }
        let specificity = match (kind.as_str(), sub.as_str()) {
            ("*", _) => 0,
            (_, "*") => 1,
            _ => 2,
        };
        Some(Self {
            kind,
            sub,
            quality,
            specificity,
        })
    }

    fn matches(&self, kind: &str, sub: &str) -> bool {
        (self.kind == "*" || self.kind == kind) && (self.sub == "*" || self.sub == sub)
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_quality(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        // A report holds only strings, numbers and dates, which always serialise.
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default(),
        Format::Csv => csv::render(report),
        Format::Html => html::render(report),
    }
}

/// A suggested file name, e.g. for `Content-Disposition`: `acme-report-2027-03-01-to-2027-03-07.csv`.
pub fn file_name(report: &Report, format: Format) -> String {
    let mut slug = String::new();
    for c in report.brand_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "brand" } else { slug };
    format!(
        "{slug}-report-{}-to-{}.{}",
        report.period.first_day,
        report.period.last_day,
        format.extension()
    )
}

/// How a figure that is `None` is written.
pub(crate) const NOT_AVAILABLE: &str = "n/a";

/// What "n/a" means, printed wherever it may appear.
pub(crate) const NOT_AVAILABLE_NOTE: &str = "Not available: the network does not report this \
    figure, or there were no snapshots to compute it from. It is not the same as 0.";

/// How the brand's engagement per post, which this module works out, is computed.
pub(crate) const ENGAGEMENT_PER_POST_NOTE: &str = "For the brand's channels: engagement in the \
    period divided by the posts published in it (competitors: engagement on the posts they \
    published in the period, divided by those posts).";

/// Where a number is written: a spreadsheet wants `-1234.5` to read it back as a number, a person
/// reads `−1,234.5` more easily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Medium {
    Sheet,
    Page,
}

/// The one number formatter: `decimals` places, a `+` on positive values when `signed`, and
/// "n/a" for a missing or non-finite value (so no NaN ever reaches a client).
pub(crate) fn number(value: Option<f64>, decimals: usize, signed: bool, medium: Medium) -> String {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return NOT_AVAILABLE.to_owned();
    };
    let digits = format!("{:.*}", decimals, value.abs());
    let is_zero = digits.bytes().all(|b| b == b'0' || b == b'.');
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits.as_str(), None),
    };
    let mut out = String::with_capacity(digits.len() + 8);
    if !is_zero {
        match (value < 0.0, medium) {
            (true, Medium::Sheet) => out.push('-'),
            (true, Medium::Page) => out.push('\u{2212}'),
            (false, _) if signed => out.push('+'),
            _ => {}
        }
    }
    for (i, digit) in whole.chars().enumerate() {
        if medium == Medium::Page && i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// The one escaper of text put into HTML or SVG, in element content or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in HTML or XML text.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Which figure of a channel row a [`Measure`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    PostsPublished,
    Views,
    Engagement,
    EngagementRate,
    FollowersStart,
    FollowersEnd,
    FollowerGrowth,
}

/// The figures a channel row shows, each with its label, decimals and where its change is.
#[derive(Clone, Copy)]
pub(crate) struct Measure {
    pub key: Key,
    pub label: &'static str,
    pub short_label: &'static str,
    pub decimals: usize,
    /// A percentage (its change is shown in percentage points).
    pub is_rate: bool,
    /// A gain or a loss, shown with its sign.
    pub signed: bool,
    pub value: fn(&Figures) -> Option<f64>,
    /// `None`: the report gives no change for it (followers at the start or end of a period).
    pub change: Option<fn(&Change) -> Delta>,
}

impl Measure {
    /// The change as a person reads it: percentage points for a rate, else percent, or the
    /// absolute change when the previous value was 0.
    pub fn change_text(&self, delta: Delta, medium: Medium) -> String {
        match (self.is_rate, delta.percent, delta.absolute) {
            (true, _, Some(points)) => format!("{} pp", number(Some(points), 2, true, medium)),
            (false, Some(percent), _) => format!("{}%", number(Some(percent), 1, true, medium)),
            (false, None, Some(absolute)) => number(Some(absolute), self.decimals, true, medium),
            _ => NOT_AVAILABLE.to_owned(),
        }
    }
}

fn count(value: Option<u64>) -> Option<f64> {
    value.map(|v| v as f64)
}

pub(crate) const MEASURES: [Measure; 7] = [
    Measure {
        key: Key::PostsPublished,
        label: "Posts published",
        short_label: "Posts",
        decimals: 0,
        is_rate: false,
        signed: false,
        value: |f| Some(f.posts_published as f64),
        change: Some(|c| c.posts_published),
    },
    Measure {
        key: Key::Views,
        label: "Views",
        short_label: "Views",
        decimals: 0,
        is_rate: false,
        signed: false,
        value: |f| count(f.views),
        change: Some(|c| c.views),
    },
    Measure {
        key: Key::Engagement,
        label: "Engagement",
        short_label: "Engagement",
        decimals: 0,
        is_rate: false,
        signed: false,
        value: |f| count(f.engagement),
        change: Some(|c| c.engagement),
    },
    Measure {
        key: Key::EngagementRate,
        label: "Engagement rate (%)",
        short_label: "Eng. rate",
        decimals: 2,
        is_rate: true,
        signed: false,
        value: |f| f.engagement_rate,
        change: Some(|c| c.engagement_rate),
    },
    Measure {
        key: Key::FollowersStart,
        label: "Followers at start",
        short_label: "Followers at start",
        decimals: 0,
        is_rate: false,
        signed: false,
        value: |f| count(f.followers_start),
        change: None,
    },
    Measure {
        key: Key::FollowersEnd,
        label: "Followers at end",
        short_label: "Followers",
        decimals: 0,
        is_rate: false,
        signed: false,
        value: |f| count(f.followers_end),
        change: None,
    },
    Measure {
        key: Key::FollowerGrowth,
        label: "Follower growth",
        short_label: "Growth",
        decimals: 0,
        is_rate: false,
        signed: true,
        value: |f| f.follower_growth.map(|g| g as f64),
        change: Some(|c| c.follower_growth),
    },
];

/// Interactions per post published, for setting the brand's channels beside competitors (whose
/// figure the report carries). Not available when nothing was published or engagement is unknown.
pub(crate) fn engagement_per_post(figures: &Figures) -> Option<f64> {
    let engagement = figures.engagement?;
    (figures.posts_published > 0).then(|| engagement as f64 / figures.posts_published as f64)
}

/// How a KPI's figures are written: decimals and the unit after them (a page shows the unit; a
/// sheet's column name says it).
pub(crate) fn kpi_format(metric: KpiMetric) -> (usize, &'static str) {
    match metric {
        m if m.is_percentage() => (2, "%"),
        KpiMetric::FirstResponseMedianMinutes => (1, " min"),
        _ => (0, ""),
    }
}

pub(crate) fn outcome_label(outcome: KpiOutcome) -> &'static str {
    match outcome {
        KpiOutcome::Met => "met",
        KpiOutcome::Missed => "missed",
        KpiOutcome::NotAvailable => NOT_AVAILABLE,
    }
}

pub(crate) fn rate_basis_label(basis: Option<RateBasis>) -> &'static str {
    match basis {
        Some(RateBasis::Views) => "views",
        Some(RateBasis::Followers) => "followers",
        None => NOT_AVAILABLE,
    }
}

/// The report's time zone; UTC if the name is unknown to this build (then the page says UTC).
pub(crate) fn zone(report: &Report) -> (TimeZone, &str) {
    match TimeZone::get(&report.time_zone) {
        Ok(zone) => (zone, report.time_zone.as_str()),
        Err(_) => (TimeZone::UTC, "UTC"),
    }
}

/// An instant in the report's time zone, as `strftime` `pattern` writes it.
pub(crate) fn local_time(report: &Report, at: Timestamp, pattern: &str) -> String {
    at.to_zoned(zone(report).0).strftime(pattern).to_string()
}

pub(crate) fn day_text(date: Date, pattern: &str) -> String {
    date.strftime(pattern).to_string()
}

/// `1–7 March 2027`, `25 February – 3 March 2027`, `28 December 2026 – 3 January 2027`.
pub(crate) fn period_text(period: &Period) -> String {
    let (first, last) = (period.first_day, period.last_day);
    let first_text = if first.year() != last.year() {
        day_text(first, "%-d %B %Y")
    } else if first.month() != last.month() {
        day_text(first, "%-d %B")
    } else {
        day_text(first, "%-d")
    };
    let separator = if first.month() == last.month() && first.year() == last.year() {
        "\u{2013}"
    } else {
        " \u{2013} "
    };
    format!("{first_text}{separator}{}", day_text(last, "%-d %B %Y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_highest_quality_then_the_most_specific() {
        assert_eq!(
            Format::from_accept("text/html;q=0.9, text/csv"),
            Some(Format::Csv)
        );
        assert_eq!(Format::from_accept("*/*"), Some(Format::Json));
        assert_eq!(Format::from_accept(""), Some(Format::Json));
        assert_eq!(Format::from_accept("image/png"), None);
        assert_eq!(Format::from_accept("text/plain, image/*;q=0.5"), None);
        assert_eq!(
            Format::from_accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some(Format::Html)
        );
        assert_eq!(Format::from_accept("text/*"), Some(Format::Html));
        assert_eq!(
            Format::from_accept("Text/CSV ; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_accept("application/json;q=0, */*;q=0.1"),
            Some(Format::Html)
        );
        assert_eq!(Format::from_accept("text/html, */*"), Some(Format::Html));
        // An invalid q-value makes its range ignored, not accepted at full quality.
        assert_eq!(Format::from_accept("text/csv;q=2"), None);
        assert_eq!(Format::from_accept("text/csv;q=0.333"), Some(Format::Csv));
        assert_eq!(Format::from_accept("text/csv;q=0.3333"), None);
    }

    #[test]
    fn a_format_value_wins_over_the_accept_header() {
        assert_eq!(Format::parse("CSV"), Ok(Format::Csv));
        assert!(Format::parse("pdf").is_err());
        assert_eq!(
            Format::negotiate(Some("html"), Some("text/csv")),
            Ok(Format::Html)
        );
        assert_eq!(Format::negotiate(None, Some("text/csv")), Ok(Format::Csv));
        assert_eq!(Format::negotiate(None, None), Ok(Format::Json));
        assert!(Format::negotiate(None, Some("image/png")).is_err());
        for format in Format::ALL {
            assert!(format.content_type().starts_with(format.media_type()));
        }
    }

    #[test]
    fn numbers_are_grouped_for_people_and_plain_for_sheets_and_never_nan() {
        assert_eq!(number(Some(1234567.0), 0, false, Medium::Page), "1,234,567");
        assert_eq!(number(Some(1234567.0), 0, false, Medium::Sheet), "1234567");
        assert_eq!(
            number(Some(-1234.567), 2, true, Medium::Page),
            "\u{2212}1,234.57"
        );
        assert_eq!(number(Some(-1234.567), 2, true, Medium::Sheet), "-1234.57");
        assert_eq!(number(Some(12.0), 1, true, Medium::Page), "+12.0");
        assert_eq!(number(Some(-0.001), 1, true, Medium::Page), "0.0");
        assert_eq!(number(Some(999.0), 0, false, Medium::Page), "999");
        assert_eq!(number(None, 0, false, Medium::Page), "n/a");
        assert_eq!(number(Some(f64::NAN), 0, false, Medium::Sheet), "n/a");
        assert_eq!(number(Some(f64::INFINITY), 0, false, Medium::Page), "n/a");
    }

    #[test]
    fn periods_are_written_as_people_write_them() {
        let period = |first: Date, last: Date| Period {
            kind: crate::domain::PeriodKind::Week,
            first_day: first,
            last_day: last,
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
        };
        use jiff::civil::date;
        assert_eq!(
            period_text(&period(date(2027, 3, 1), date(2027, 3, 7))),
            "1\u{2013}7 March 2027"
        );
        assert_eq!(
            period_text(&period(date(2027, 2, 25), date(2027, 3, 3))),
            "25 February \u{2013} 3 March 2027"
        );
        assert_eq!(
            period_text(&period(date(2026, 12, 28), date(2027, 1, 3))),
            "28 December 2026 \u{2013} 3 January 2027"
        );
    }

    #[test]
    fn file_names_are_safe_slugs() {
        let mut report = sample::sample_report();
        report.brand_name = "Caffè \"Nord\" / Süd".into();
        assert_eq!(
            file_name(&report, Format::Csv),
            "caff-nord-s-d-report-2027-03-01-to-2027-03-07.csv"
        );
    }
}
