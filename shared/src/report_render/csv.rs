//! The report as CSV for a spreadsheet: its tables one under the other, each with its own header
//! row and a blank row after it, and the table's name in the first column ("section") so that a
//! filter on that column shows one table.

use std::borrow::Cow;

use super::{
    ENGAGEMENT_PER_POST_NOTE, MEASURES, Medium, NOT_AVAILABLE_NOTE, day_text, engagement_per_post,
    kpi_format, local_time, number, outcome_label, rate_basis_label, zone,
};
use crate::domain::inbox_stats::ResponseFigures;
use crate::domain::report::{Figures, Report};

/// A cell: text is the user's or ours and may need defusing; a number is ours and never does.
enum Cell {
    Text(String),
    Number(String),
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

fn figure(value: Option<f64>, decimals: usize) -> Cell {
    Cell::Number(number(value, decimals, false, Medium::Sheet))
}

fn count(value: Option<u64>) -> Cell {
    figure(value.map(|v| v as f64), 0)
}

/// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Text that a spreadsheet would run as a formula (a post excerpt starting with `=`, say) gets a
/// leading apostrophe, which the spreadsheet shows as text (OWASP "CSV injection").
fn defuse(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

struct Sheet {
    out: String,
}

impl Sheet {
    fn row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match cell {
                Cell::Text(value) => self.out.push_str(&quote(&defuse(&value))),
                Cell::Number(value) => self.out.push_str(&quote(&value)),
            }
        }
        self.out.push_str("\r\n");
    }

    /// A header row: the section column, then `columns`.
    fn header(&mut self, columns: &[&str]) {
        self.row(std::iter::once(text("section")).chain(columns.iter().map(|c| text(*c))));
    }

    fn end_section(&mut self) {
        self.out.push_str("\r\n");
    }
}

pub(super) fn render(report: &Report) -> String {
    // The byte order mark is how Excel knows a CSV file is UTF-8 (names with accents, emoji).
    let mut sheet = Sheet {
        out: String::from("\u{feff}"),
    };
    report_section(&mut sheet, report);
    figure_sections(&mut sheet, report);
    if let Some(simulated) = &report.sandbox {
        // The sandbox channels' rows, in sections of their own after the real ones.
        let mut part = Sheet { out: String::new() };
        figure_sections(&mut part, simulated);
        // Its rows say so in their first column: "sandbox channels", "sandbox kpis", ...
        for line in part.out.split_inclusive("\r\n") {
            if !line.starts_with("section,") && line != "\r\n" {
                sheet.out.push_str("sandbox ");
            }
            sheet.out.push_str(line);
        }
    }
    definitions_section(&mut sheet, report);
    sheet.out
}

/// Every section of figures, in order.
fn figure_sections(sheet: &mut Sheet, report: &Report) {
    channels_section(sheet, report);
    interactions_section(sheet, report);
    kpis_section(sheet, report);
    top_posts_section(sheet, report);
    competitors_section(sheet, report);
    days_section(sheet, report);
    community_section(sheet, report);
}

fn report_section(sheet: &mut Sheet, report: &Report) {
    let period = &report.period;
    let previous = &report.previous_period;
    sheet.header(&["item", "value"]);
    let items = [
        ("brand", report.brand_name.clone()),
        ("period", period.kind.as_str().to_owned()),
        ("first day", period.first_day.to_string()),
        ("last day", period.last_day.to_string()),
        ("time zone", zone(report).1.to_owned()),
        ("previous period first day", previous.first_day.to_string()),
        ("previous period last day", previous.last_day.to_string()),
        (
            "generated at",
            local_time(report, report.generated_at, "%Y-%m-%d %H:%M %Z"),
        ),
        ("n/a", NOT_AVAILABLE_NOTE.to_owned()),
    ];
    for (item, value) in items {
        sheet.row([text("report"), text(item), text(value)]);
    }
    sheet.end_section();
}

fn channels_section(sheet: &mut Sheet, report: &Report) {
    let mut columns: Vec<String> = vec!["channel".into(), "network".into()];
    for measure in &MEASURES {
        columns.push(measure.label.into());
        columns.push(format!("{} (previous)", measure.label));
        if measure.change.is_some() {
            columns.push(format!("{} change", measure.label));
            columns.push(format!("{} change %", measure.label));
        }
    }
    columns.push("Engagement rate basis".into());
    sheet.header(&columns.iter().map(String::as_str).collect::<Vec<_>>());

    for channel in std::iter::once(&report.total).chain(&report.channels) {
        let mut cells = vec![
            text("channels"),
            text(channel.name.as_str()),
            text(
                channel
                    .network
                    .map_or("all", crate::domain::Network::display_name),
            ),
        ];
        for measure in &MEASURES {
            cells.push(figure((measure.value)(&channel.current), measure.decimals));
            cells.push(figure((measure.value)(&channel.previous), measure.decimals));
            if let Some(change) = measure.change {
                let delta = change(&channel.change);
                cells.push(figure(delta.absolute, measure.decimals));
                cells.push(figure(delta.percent, 1));
            }
        }
        cells.push(text(rate_basis_label(
            channel.current.engagement_rate_basis,
        )));
        sheet.row(cells);
    }
    sheet.end_section();
}

/// The counters engagement is made of, and reach and clicks, for whoever wants to check a sum.
fn interactions_section(sheet: &mut Sheet, report: &Report) {
    type Counter = (&'static str, fn(&Figures) -> Option<u64>);
    const COUNTERS: [Counter; 7] = [
        ("Reach", |f| f.reach),
        ("Likes", |f| f.likes),
        ("Reposts", |f| f.reposts),
        ("Replies", |f| f.replies),
        ("Quotes", |f| f.quotes),
        ("Saves", |f| f.saves),
        ("Clicks", |f| f.clicks),
    ];
    let mut columns = vec!["channel".to_owned(), "network".to_owned()];
    for (label, _) in COUNTERS {
        columns.push(label.to_owned());
        columns.push(format!("{label} (previous)"));
    }
    sheet.header(&columns.iter().map(String::as_str).collect::<Vec<_>>());
    for channel in std::iter::once(&report.total).chain(&report.channels) {
        let mut cells = vec![
            text("interactions"),
            text(channel.name.as_str()),
            text(
                channel
                    .network
                    .map_or("all", crate::domain::Network::display_name),
            ),
        ];
        for (_, value) in COUNTERS {
            cells.push(count(value(&channel.current)));
            cells.push(count(value(&channel.previous)));
        }
        sheet.row(cells);
    }
    sheet.end_section();
}

fn kpis_section(sheet: &mut Sheet, report: &Report) {
    sheet.header(&[
        "KPI",
        "scope",
        "met when",
        "target",
        "actual",
        "outcome",
        "difference",
        "difference %",
    ]);
    for kpi in &report.kpis {
        let (decimals, _) = kpi_format(kpi.metric);
        sheet.row([
            text("KPIs"),
            text(kpi.metric.label()),
            text(kpi.scope.as_str()),
            text(kpi.direction.as_str().replace('_', " ")),
            figure(Some(kpi.target), decimals),
            figure(kpi.actual, decimals),
            text(outcome_label(kpi.outcome)),
            figure(kpi.difference, decimals),
            figure(kpi.difference_percent, 1),
        ]);
    }
    sheet.end_section();
}

fn top_posts_section(sheet: &mut Sheet, report: &Report) {
    sheet.header(&[
        "rank",
        "channel",
        "network",
        "published at",
        "excerpt",
        "engagement",
        "views",
        "link",
    ]);
    for (rank, post) in report.top_posts.iter().enumerate() {
        sheet.row([
            text("top posts"),
            Cell::Number((rank + 1).to_string()),
            text(post.channel_name.as_str()),
            text(post.network.display_name()),
            text(local_time(report, post.published_at, "%Y-%m-%d %H:%M")),
            text(post.excerpt.as_str()),
            count(post.engagement),
            count(post.views),
            text(post.url.clone().unwrap_or_default()),
        ]);
    }
    sheet.end_section();
}

/// The brand's channels first, then the competitors, with the same columns.
fn competitors_section(sheet: &mut Sheet, report: &Report) {
    sheet.header(&[
        "account",
        "whose",
        "network",
        "handle",
        "followers",
        "follower growth",
        "posts published",
        "engagement",
        "engagement per post",
    ]);
    for channel in &report.channels {
        let figures = &channel.current;
        sheet.row([
            text("competitors"),
            text(channel.name.as_str()),
            text("brand"),
            text(
                channel
                    .network
                    .map_or("", crate::domain::Network::display_name),
            ),
            text(""),
            count(figures.followers_end),
            figure(figures.follower_growth.map(|g| g as f64), 0),
            count(Some(figures.posts_published)),
            count(figures.engagement),
            figure(engagement_per_post(figures), 1),
        ]);
    }
    for competitor in &report.competitors {
        sheet.row([
            text("competitors"),
            text(competitor.name.as_str()),
            text("competitor"),
            text(competitor.network.display_name()),
            text(competitor.handle.as_str()),
            count(competitor.followers_end),
            figure(competitor.follower_growth.map(|g| g as f64), 0),
            count(competitor.posts_published),
            count(competitor.engagement),
            figure(competitor.engagement_per_post, 1),
        ]);
    }
    sheet.end_section();
}

/// One row per local day, with each channel's followers at the end of that day.
fn days_section(sheet: &mut Sheet, report: &Report) {
    let mut columns = vec![
        "date".to_owned(),
        "weekday".to_owned(),
        "posts published".to_owned(),
        "engagement".to_owned(),
        "views".to_owned(),
    ];
    for series in &report.followers {
        columns.push(format!("followers: {}", series.name));
    }
    sheet.header(&columns.iter().map(String::as_str).collect::<Vec<_>>());
    for (i, day) in report.days.iter().enumerate() {
        let mut cells = vec![
            text("days"),
            text(day.date.to_string()),
            text(day_text(day.date, "%A")),
            count(Some(day.posts_published)),
            count(day.engagement),
            count(day.views),
        ];
        for series in &report.followers {
            cells.push(count(series.followers.get(i).copied().flatten()));
        }
        sheet.row(cells);
    }
    sheet.end_section();
}

/// The community's figures per channel (then all channels), and per day. Shares are percentages.
fn community_section(sheet: &mut Sheet, report: &Report) {
    let community = &report.community;
    let Some(total) = &community.total else {
        return;
    };
    type Column = (&'static str, fn(&ResponseFigures) -> Option<f64>, usize);
    const COLUMNS: [Column; 7] = [
        ("interactions", |f| Some(f.interactions as f64), 0),
        ("needing an answer", |f| Some(f.needing_answer as f64), 0),
        ("answered", |f| Some(f.answered as f64), 0),
        ("response rate %", |f| f.response_rate.map(|r| r * 100.0), 1),
        (
            "median first response (business minutes)",
            |f| f.first_response_median_minutes,
            1,
        ),
        (
            "p90 first response (business minutes)",
            |f| f.first_response_p90_minutes,
            1,
        ),
        ("within target %", |f| f.within_target.map(|r| r * 100.0), 1),
    ];
    let mut columns = vec!["channel".to_owned(), "network".to_owned()];
    for (label, _, _) in COLUMNS {
        columns.push(label.to_owned());
        columns.push(format!("{label} (previous)"));
    }
    columns.push("target minutes".to_owned());
    sheet.header(&columns.iter().map(String::as_str).collect::<Vec<_>>());
    for row in std::iter::once(total).chain(&community.channels) {
        let mut cells = vec![
            text("community"),
            text(row.name.as_str()),
            text(
                row.network
                    .map_or("all", crate::domain::Network::display_name),
            ),
        ];
        for (_, value, decimals) in COLUMNS {
            cells.push(figure(value(&row.current), decimals));
            cells.push(figure(value(&row.previous), decimals));
        }
        cells.push(figure(Some(f64::from(community.target_minutes)), 0));
        sheet.row(cells);
    }
    sheet.end_section();
    sheet.header(&["date", "received", "answered"]);
    for day in &community.days {
        sheet.row([
            text("community days"),
            text(day.date.to_string()),
            count(Some(day.received)),
            count(Some(day.answered)),
        ]);
    }
    sheet.end_section();
}

fn definitions_section(sheet: &mut Sheet, report: &Report) {
    sheet.header(&["figure", "how it is computed"]);
    for definition in &report.definitions {
        sheet.row([
            text("definitions"),
            text(definition.figure.as_str()),
            text(definition.how.as_str()),
        ]);
    }
    sheet.row([
        text("definitions"),
        text("Engagement per post (brand)"),
        text(ENGAGEMENT_PER_POST_NOTE),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report_render::sample::sample_report;

    /// An RFC 4180 reader, enough to check that what was written reads back as written.
    fn parse(csv: &str) -> Vec<Vec<String>> {
        let mut rows = vec![];
        let mut row = vec![];
        let mut field = String::new();
        let mut chars = csv.trim_start_matches('\u{feff}').chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        assert!(!quoted, "unterminated quoted field");
        rows
    }

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn hostile_excerpts_read_back_intact_and_never_run_as_formulas() {
        let mut report = sample_report();
        report.top_posts[0].excerpt = "Cheap, \"fresh\"\nbeans, \r\n <b>now</b>".into();
        report.top_posts[1].excerpt = "=HYPERLINK(\"http://evil\")".into();
        let rows = parse(&render(&report));
        let posts: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "top posts").collect();
        assert_eq!(posts[0][5], "Cheap, \"fresh\"\nbeans, \r\n <b>now</b>");
        assert_eq!(posts[1][5], "'=HYPERLINK(\"http://evil\")");
        // Every row of a section has as many fields as its header.
        let mut width = 0;
        for row in rows.iter().filter(|r| r.len() > 1) {
            if row[0] == "section" {
                width = row.len();
            } else {
                assert_eq!(row.len(), width, "{row:?}");
            }
        }
    }

    #[test]
    fn the_community_rows_and_kpi_directions_are_in_the_sheet() {
        let rows = parse(&render(&sample_report()));
        let all = rows
            .iter()
            .find(|r| r[0] == "community" && r[1] == "All channels")
            .expect("the community total row");
        // interactions, previous; needing an answer, previous; answered, previous; rate, previous.
        assert_eq!(
            &all[3..11],
            ["21", "17", "20", "17", "17", "8", "85.0", "47.1"]
        );
        let days: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "community days").collect();
        assert_eq!(days.len(), 7);
        let kpi = rows
            .iter()
            .find(|r| r[0] == "KPIs" && r[1].starts_with("Median first response"))
            .expect("the response time KPI");
        assert_eq!(kpi[3], "at most");
    }

    #[test]
    fn missing_figures_are_na_and_negative_numbers_stay_numbers() {
        let mut report = sample_report();
        report.channels[0].current.views = None;
        report.channels[0].current.follower_growth = Some(-12);
        let rows = parse(&render(&report));
        let header = rows.iter().find(|r| r[0] == "section" && r[1] == "channel");
        let header = header.expect("the channels header");
        let column = |name: &str| header.iter().position(|c| c == name).unwrap();
        let row = rows
            .iter()
            .find(|r| r[0] == "channels" && r[1] == defuse(&report.channels[0].name))
            .unwrap();
        assert_eq!(row[column("Views")], "n/a");
        assert_eq!(row[column("Follower growth")], "-12");
        assert!(!render(&report).contains("NaN"));
    }
}
