//! The report as one self-contained HTML5 page for the client: inline CSS for screen and A4 print,
//! inline SVG charts, no scripts and no external resources. Every piece of text from the report
//! goes through [`escape`]: channel names and post excerpts are user text.

use std::fmt::Write;

use super::svg::{self, Labels, Series};
use super::{
    ENGAGEMENT_PER_POST_NOTE, Key, MEASURES, Measure, Medium, NOT_AVAILABLE, NOT_AVAILABLE_NOTE,
    day_text, engagement_per_post, escape, kpi_format, local_time, number, period_text, zone,
};
use crate::domain::inbox_stats::ResponseFigures;
use crate::domain::report::{
    ChannelFigures, CommunityRow, Delta, KpiOutcome, KpiStatus, RateBasis, Report,
};

const STYLE: &str = r#"
:root {
  --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee4; --soft: #f3f5f8;
  --accent: #2f5f98; --up: #17693a; --down: #b42318;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0; color: var(--ink); background: #e9edf2;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1120px; margin: 24px auto; padding: 40px 48px 48px; background: #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
header.cover { display: flex; justify-content: space-between; align-items: flex-end; gap: 24px;
  border-bottom: 3px solid var(--accent); padding-bottom: 18px; }
.eyebrow { margin: 0; color: var(--accent); font-size: 12px; font-weight: 700;
  letter-spacing: .09em; text-transform: uppercase; }
h1 { margin: 2px 0 4px; font-size: 32px; line-height: 1.15; }
.period { margin: 0; font-size: 19px; }
.meta { margin: 0; color: var(--muted); font-size: 13px; text-align: right; }
.meta p { margin: 0; }
h2 { margin: 36px 0 14px; padding-bottom: 6px; font-size: 19px; border-bottom: 1px solid var(--line); }
.lead { margin: -6px 0 14px; color: var(--muted); font-size: 14px; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; }
.card { padding: 14px 16px; border: 1px solid var(--line); border-top: 4px solid var(--accent);
  border-radius: 6px; }
.card h3 { margin: 0 0 4px; color: var(--muted); font-size: 12px; font-weight: 700;
  letter-spacing: .05em; text-transform: uppercase; }
.card .value { margin: 0; font-size: 28px; font-weight: 700; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.card .previous { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.change { font-weight: 700; white-space: nowrap; }
.change.up { color: var(--up); }
.change.down { color: var(--down); }
.change.flat { color: var(--muted); }
.na, .days { color: var(--muted); font-style: italic; font-weight: 400; }
.nowrap { white-space: nowrap; }
table { width: 100%; border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { color: var(--muted); font-size: 11.5px; font-weight: 700; letter-spacing: .04em;
  text-transform: uppercase; vertical-align: bottom; border-bottom: 2px solid var(--ink); }
.num { text-align: right; white-space: nowrap; }
td small, th small, td .change { display: block; font-size: 12px; }
td small, th small { color: var(--muted); font-weight: 400; }
thead th.num { white-space: normal; }
tbody th { overflow-wrap: anywhere; }
tr.total > * { font-weight: 700; background: var(--soft); border-top: 2px solid var(--ink); }
tr.group th { padding-top: 14px; background: var(--soft); font-size: 13px; }
tr.brand td:first-child { font-weight: 700; }
.tag { display: inline-block; margin-left: 6px; padding: 0 6px; border: 1px solid var(--accent);
  border-radius: 4px; color: var(--accent); font-size: 11px; font-weight: 700; vertical-align: 1px; }
.badge { display: inline-block; padding: 1px 9px; border: 1px solid; border-radius: 999px;
  font-size: 12px; font-weight: 700; white-space: nowrap; }
.badge.met { color: var(--up); background: #e8f5ed; }
.badge.missed { color: var(--down); background: #fdeceb; }
.badge.na { color: var(--muted); background: var(--soft); font-style: normal; }
.excerpt { margin: 0; white-space: pre-line; overflow-wrap: anywhere; }
a { color: var(--accent); }
figure { margin: 6px 0 18px; }
figcaption { color: var(--muted); font-size: 12.5px; }
svg.chart { display: block; max-width: 100%; height: auto; }
dl.definitions { display: grid; grid-template-columns: minmax(160px, 240px) 1fr; gap: 8px 24px; margin: 0; }
dl.definitions dt { font-weight: 700; }
dl.definitions dd { margin: 0; }
footer { margin-top: 32px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 12.5px; }
footer p { margin: 0 0 4px; }
@media screen and (max-width: 860px) {
  main { margin: 0; padding: 20px; }
  header.cover { display: block; }
  .meta { text-align: left; margin-top: 10px; }
  .cards { grid-template-columns: repeat(2, 1fr); }
  .table-wrap { overflow-x: auto; }
}
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { background: #fff; font-size: 9.5pt; }
  main { max-width: none; margin: 0; padding: 0; box-shadow: none; }
  h1 { font-size: 22pt; }
  h2 { font-size: 13pt; margin-top: 18pt; break-after: avoid; page-break-after: avoid; }
  .lead { break-after: avoid; page-break-after: avoid; }
  .card { padding: 8pt 9pt; }
  .card .value { font-size: 17pt; }
  .lead, figcaption, footer { font-size: 8.5pt; }
  table { font-size: 8.5pt; }
  tbody th { min-width: 12em; }
  th, td { padding: 4pt 4pt; }
  thead { display: table-header-group; }
  tr, .card, figure, dl.definitions > div, .cards { break-inside: avoid; page-break-inside: avoid; }
  section.new-page { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
"#;

pub(super) fn render(report: &Report) -> String {
    let brand = escape(&report.brand_name);
    let period = escape(&period_text(&report.period));
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <title>{brand}: social media report, {period}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n"
    );
    cover(&mut page, report);
    // A brand with only sandbox channels (the demo) is not shown an empty page of its own first.
    let only_simulated = report.sandbox.is_some()
        && report.channels.is_empty()
        && report.competitors.is_empty()
        && report.kpis.is_empty();
    if !only_simulated {
        figures(&mut page, report);
    }
    if let Some(simulated) = &report.sandbox {
        sandbox(&mut page, simulated);
    }
    definitions(&mut page, report);
    footer(&mut page, report);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// Every figure of a report, in order: summary, channels, KPI targets, charts, top posts,
/// competitors.
fn figures(page: &mut String, report: &Report) {
    summary(page, report);
    channels(page, report);
    kpis(page, report);
    page.push_str(
        "<section class=\"new-page\" aria-labelledby=\"trends\">\
         <h2 id=\"trends\">Over the period</h2>",
    );
    followers_chart(page, report);
    engagement_chart(page, report);
    page.push_str("</section>\n");
    top_posts(page, report);
    competitors(page, report);
    community(page, report);
}

/// The sandbox channels' own section, after everything real: the same tables and charts, their
/// element ids prefixed so they stay unique on the page.
fn sandbox(page: &mut String, simulated: &Report) {
    page.push_str(
        "<section class=\"new-page sandbox\" aria-labelledby=\"sandbox\">\
         <h2 id=\"sandbox\">Sandbox (simulated)</h2>\
         <p class=\"lead\">Channels on Palinsesto's sandbox network: their audience is simulated, \
         so their figures are shown here only, never in the brand's totals, targets or comparisons.</p>\
         </section>\n",
    );
    let mut part = String::new();
    figures(&mut part, simulated);
    page.push_str(
        &part
            .replace(" id=\"", " id=\"sandbox-")
            .replace("aria-labelledby=\"", "aria-labelledby=\"sandbox-")
            .replace("All channels together", "The sandbox channels together"),
    );
}

/// A figure as page HTML: "n/a" set apart so it is never read as a number.
fn figure(value: Option<f64>, decimals: usize, signed: bool, unit: &str) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(_) => format!(
            "{}{}",
            number(value, decimals, signed, Medium::Page),
            escape(unit)
        ),
        None => format!("<span class=\"na\" title=\"not available\">{NOT_AVAILABLE}</span>"),
    }
}

fn measure_value(measure: &Measure, channel: &ChannelFigures) -> String {
    let unit = if measure.is_rate { "%" } else { "" };
    figure(
        (measure.value)(&channel.current),
        measure.decimals,
        measure.signed,
        unit,
    )
}

/// A change with an arrow, a sign and a colour: the sign alone is enough in greyscale.
fn change(measure: &Measure, delta: Delta) -> String {
    let text = measure.change_text(delta, Medium::Page);
    if text == NOT_AVAILABLE {
        return format!("<span class=\"change na\">change {NOT_AVAILABLE}</span>");
    }
    let direction = delta.absolute.or(delta.percent).unwrap_or(0.0);
    let rounded_zero = !text.contains(|c: char| c.is_ascii_digit() && c != '0');
    let (class, arrow, words) = if rounded_zero {
        ("flat", "\u{25a0}", "no change")
    } else if direction > 0.0 {
        ("up", "\u{25b2}", "up")
    } else {
        ("down", "\u{25bc}", "down")
    };
    format!(
        "<span class=\"change {class}\" title=\"{words} on the previous period\">\
         <span aria-hidden=\"true\">{arrow}</span> {}</span>",
        escape(&text)
    )
}

fn rate_basis(basis: Option<RateBasis>) -> &'static str {
    match basis {
        Some(RateBasis::Views) => "of views",
        Some(RateBasis::Followers) => "of followers",
        None => "",
    }
}

fn cover(page: &mut String, report: &Report) {
    let kind = match report.period.kind {
        crate::domain::PeriodKind::Week => "Weekly",
        crate::domain::PeriodKind::Fortnight => "Fortnightly",
    };
    let (_, zone_name) = zone(report);
    let _ = writeln!(
        page,
        "<header class=\"cover\"><div>\
         <p class=\"eyebrow\">{kind} social media report</p>\
         <h1>{}</h1>\
         <p class=\"period\">{} <span class=\"days\">({} to {})</span></p>\
         </div><div class=\"meta\">\
         <p>Compared with {}</p>\
         <p>Days and times in {}</p>\
         <p>Prepared {}</p>\
         </div></header>",
        escape(&report.brand_name),
        escape(&period_text(&report.period)),
        escape(&day_text(report.period.first_day, "%A")),
        escape(&day_text(report.period.last_day, "%A")),
        escape(&period_text(&report.previous_period)),
        escape(zone_name),
        escape(&local_time(
            report,
            report.generated_at,
            "%-d %B %Y, %H:%M %Z"
        )),
    );
}

fn summary(page: &mut String, report: &Report) {
    page.push_str(
        "<section aria-labelledby=\"summary\"><h2 id=\"summary\">At a glance</h2>\
         <p class=\"lead\">All channels together, against the previous period.</p>\
         <div class=\"cards\">",
    );
    for measure in MEASURES.iter().filter(|m| m.change.is_some()) {
        let total = &report.total;
        let delta = measure.change.map(|c| c(&total.change)).unwrap_or_default();
        let unit = if measure.is_rate { "%" } else { "" };
        let label = measure.label.trim_end_matches(" (%)");
        let _ = write!(
            page,
            "<div class=\"card\"><h3>{}</h3><p class=\"value\">{}</p>\
             <p class=\"previous\">{}<br>previous: {}</p></div>",
            escape(label),
            measure_value(measure, total),
            change(measure, delta),
            figure(
                (measure.value)(&total.previous),
                measure.decimals,
                measure.signed,
                unit
            ),
        );
    }
    page.push_str("</div></section>\n");
}

fn channels(page: &mut String, report: &Report) {
    page.push_str(
        "<section aria-labelledby=\"channels\"><h2 id=\"channels\">Channels</h2>\
         <p class=\"lead\">Each figure with its change on the previous period.</p>\
         <div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Channel</th>",
    );
    // Followers at the start go under those at the end, which saves a column at A4.
    let measures = || MEASURES.iter().filter(|m| m.key != Key::FollowersStart);
    for measure in measures() {
        let _ = write!(
            page,
            "<th scope=\"col\" class=\"num\">{}</th>",
            escape(measure.short_label)
        );
    }
    page.push_str("</tr></thead><tbody>");
    let rows = report
        .channels
        .iter()
        .map(|c| (c, ""))
        .chain([(&report.total, " class=\"total\"")]);
    for (channel, class) in rows {
        let network = channel
            .network
            .map_or("All networks", crate::domain::Network::display_name);
        let _ = write!(
            page,
            "<tr{class}><th scope=\"row\">{}<small>{}</small></th>",
            escape(&channel.name),
            escape(network)
        );
        for measure in measures() {
            let _ = write!(
                page,
                "<td class=\"num\">{}",
                measure_value(measure, channel)
            );
            if measure.key == Key::EngagementRate {
                let basis = rate_basis(channel.current.engagement_rate_basis);
                if !basis.is_empty() {
                    let _ = write!(page, "<small>{basis}</small>");
                }
            }
            if measure.key == Key::FollowersEnd {
                let start = channel.current.followers_start.map(|s| s as f64);
                let _ = write!(page, "<small>from {}</small>", figure(start, 0, false, ""));
            }
            if let Some(delta) = measure.change {
                page.push_str(&change(measure, delta(&channel.change)));
            }
            page.push_str("</td>");
        }
        page.push_str("</tr>");
    }
    page.push_str("</tbody></table></div></section>\n");
}

fn day_labels(report: &Report) -> Vec<String> {
    report
        .days
        .iter()
        .map(|d| day_text(d.date, "%a %-d"))
        .collect()
}

/// Followers gained since each channel's first count of the period, so that channels of very
/// different sizes share one readable scale; the counts themselves are in the legend and tooltips.
fn followers_chart(page: &mut String, report: &Report) {
    let series: Vec<Series> = report
        .followers
        .iter()
        .map(|s| {
            let baseline = s.followers.iter().flatten().next().copied();
            let values = s
                .followers
                .iter()
                .map(|v| v.zip(baseline).map(|(v, b)| v as f64 - b as f64))
                .collect::<Vec<_>>();
            let point_notes = s
                .followers
                .iter()
                .zip(&values)
                .map(|(count, gained)| {
                    format!(
                        "{} followers ({} since the first count)",
                        number(count.map(|c| c as f64), 0, false, Medium::Page),
                        number(*gained, 0, true, Medium::Page)
                    )
                })
                .collect();
            let last = s.followers.iter().rev().flatten().next().copied();
            Series {
                name: s.name.clone(),
                note: format!(
                    "{} \u{b7} {} followers",
                    s.network.display_name(),
                    number(last.map(|l| l as f64), 0, false, Medium::Page)
                ),
                values,
                point_notes,
            }
        })
        .collect();
    let chart = svg::lines(
        &Labels {
            id: "chart-followers",
            title: "Followers gained since the start of the period",
            x_axis: "Day",
            y_axis: "Followers gained",
        },
        &day_labels(report),
        &series,
    );
    let _ = writeln!(
        page,
        "<figure>{chart}<figcaption>Each line starts from the channel's first follower count of \
         the period; a gap is a day without a count. The legend gives each channel's latest \
         count.</figcaption></figure>"
    );
}

fn kpi_figure(kpi: &KpiStatus, value: Option<f64>, signed: bool) -> String {
    let (decimals, unit) = kpi_format(kpi.metric);
    figure(value, decimals, signed, unit)
}

fn kpis(page: &mut String, report: &Report) {
    let count = |outcome| report.kpis.iter().filter(|k| k.outcome == outcome).count();
    let _ = write!(
        page,
        "<section aria-labelledby=\"kpis\"><h2 id=\"kpis\">KPI targets</h2>\
         <p class=\"lead\">{} of {} targets met, {} missed, {} not available.</p>",
        count(KpiOutcome::Met),
        report.kpis.len(),
        count(KpiOutcome::Missed),
        count(KpiOutcome::NotAvailable),
    );
    if report.kpis.is_empty() {
        page.push_str("<p>No KPI targets are set for this period.</p></section>\n");
        return;
    }
    page.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">KPI</th>\
         <th scope=\"col\">Scope</th><th scope=\"col\" class=\"num\">Target</th>\
         <th scope=\"col\" class=\"num\">Actual</th><th scope=\"col\" class=\"num\">Difference</th>\
         <th scope=\"col\">Result</th></tr></thead><tbody>",
    );
    for kpi in &report.kpis {
        let (class, badge) = match kpi.outcome {
            KpiOutcome::Met => ("met", "\u{2713} Met"),
            KpiOutcome::Missed => ("missed", "\u{2717} Missed"),
            KpiOutcome::NotAvailable => ("na", "\u{2013} n/a"),
        };
        let percent = match kpi.difference_percent.filter(|p| p.is_finite()) {
            Some(p) => format!("<small>{}%</small>", number(Some(p), 1, true, Medium::Page)),
            None => String::new(),
        };
        let _ = write!(
            page,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{} {}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}{percent}</td>\
             <td><span class=\"badge {class}\">{badge}</span></td></tr>",
            escape(kpi.metric.label()),
            escape(&kpi.scope),
            kpi.direction.symbol(),
            kpi_figure(kpi, Some(kpi.target), false),
            kpi_figure(kpi, kpi.actual, false),
            kpi_figure(kpi, kpi.difference, true),
        );
    }
    page.push_str("</tbody></table></div></section>\n");
}

/// A share (0 to 1) as a percentage.
fn share(value: Option<f64>) -> String {
    figure(value.map(|v| v * 100.0), 1, false, "%")
}

/// A count, as page HTML.
fn whole(n: usize) -> String {
    figure(Some(n as f64), 0, false, "")
}

fn minutes(value: Option<f64>) -> String {
    figure(value, 0, false, " min")
}

/// The community section: interactions received, how many were answered and how fast.
fn community(page: &mut String, report: &Report) {
    let community = &report.community;
    let Some(total) = &community.total else {
        return;
    };
    let (now, before) = (&total.current, &total.previous);
    let _ = write!(
        page,
        "<section class=\"new-page\" aria-labelledby=\"community\"><h2 id=\"community\">Community</h2>\
         <p class=\"lead\">What people said to the brand (replies, comments, mentions, quotes, \
         direct messages) and how the brand answered. First response in business minutes; \
         target {} min.</p><div class=\"cards\">",
        community.target_minutes
    );
    type Card = (&'static str, fn(&ResponseFigures) -> String);
    let cards: [Card; 4] = [
        ("Interactions", |f| whole(f.interactions)),
        ("Response rate", |f| share(f.response_rate)),
        ("Median first response", |f| {
            minutes(f.first_response_median_minutes)
        }),
        ("Answered within target", |f| share(f.within_target)),
    ];
    for (label, value) in cards {
        let _ = write!(
            page,
            "<div class=\"card\"><h3>{label}</h3><p class=\"value\">{}</p>\
             <p class=\"previous\">previous: {}</p></div>",
            value(now),
            value(before),
        );
    }
    page.push_str("</div>");
    if community.partial {
        page.push_str(
            "<p class=\"lead\">More interactions were received than a report reads: these \
             figures cover the earliest ones.</p>",
        );
    }
    page.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Channel</th>\
         <th scope=\"col\" class=\"num\">Interactions</th>\
         <th scope=\"col\" class=\"num\">Needing an answer</th>\
         <th scope=\"col\" class=\"num\">Answered</th>\
         <th scope=\"col\" class=\"num\">Response rate</th>\
         <th scope=\"col\" class=\"num\">Median first response</th>\
         <th scope=\"col\" class=\"num\">90th percentile</th>\
         <th scope=\"col\" class=\"num\">Within target</th></tr></thead><tbody>",
    );
    let rows = community
        .channels
        .iter()
        .map(|c| (c, ""))
        .chain([(total, " class=\"total\"")]);
    for (row, class) in rows {
        community_row(page, row, class);
    }
    page.push_str("</tbody></table></div>");
    if !community.key_members.is_empty() {
        page.push_str(
            "<h3>Key members</h3><div class=\"table-wrap\"><table><thead><tr>\
             <th scope=\"col\">Person</th><th scope=\"col\">Network</th>\
             <th scope=\"col\" class=\"num\">Interactions</th></tr></thead><tbody>",
        );
        for m in &community.key_members {
            let _ = write!(
                page,
                "<tr><th scope=\"row\">{}<small>{}</small></th><td>{}</td>\
                 <td class=\"num\">{}</td></tr>",
                escape(&m.name),
                escape(&m.handle),
                escape(m.network.display_name()),
                whole(usize::try_from(m.interactions).unwrap_or(usize::MAX)),
            );
        }
        page.push_str("</tbody></table></div>");
    }
    let series = |name: &str, value: fn(&crate::domain::report::CommunityDay) -> u64| Series {
        name: name.to_owned(),
        note: String::new(),
        values: community
            .days
            .iter()
            .map(|d| Some(value(d) as f64))
            .collect(),
        point_notes: Vec::new(),
    };
    let chart = svg::lines(
        &Labels {
            id: "chart-community",
            title: "Interactions received and answered per day",
            x_axis: "Day",
            y_axis: "Interactions",
        },
        &day_labels(report),
        &[
            series("Received", |d| d.received),
            series("Answered", |d| d.answered),
        ],
    );
    let _ = writeln!(
        page,
        "<figure>{chart}<figcaption>Interactions received each day on all channels, and how \
         many of them the brand has answered.</figcaption></figure></section>"
    );
}

fn community_row(page: &mut String, row: &CommunityRow, class: &str) {
    let network = row
        .network
        .map_or("All networks", crate::domain::Network::display_name);
    let (f, p) = (&row.current, &row.previous);
    let _ = write!(
        page,
        "<tr{class}><th scope=\"row\">{}<small>{}</small></th>\
         <td class=\"num\">{}<small>previous {}</small></td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}<small>previous {}</small></td>\
         <td class=\"num\">{}<small>previous {}</small></td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td></tr>",
        escape(&row.name),
        escape(network),
        whole(f.interactions),
        whole(p.interactions),
        whole(f.needing_answer),
        whole(f.answered),
        share(f.response_rate),
        share(p.response_rate),
        minutes(f.first_response_median_minutes),
        minutes(p.first_response_median_minutes),
        minutes(f.first_response_p90_minutes),
        share(f.within_target),
    );
}

fn engagement_chart(page: &mut String, report: &Report) {
    let values: Vec<Option<f64>> = report
        .days
        .iter()
        .map(|d| d.engagement.map(|e| e as f64))
        .collect();
    let chart = svg::columns(
        &Labels {
            id: "chart-engagement",
            title: "Engagement per day, all channels",
            x_axis: "Day",
            y_axis: "Engagement",
        },
        &day_labels(report),
        &values,
    );
    let _ = writeln!(
        page,
        "<figure>{chart}<figcaption>Likes, reposts, replies, quotes and saves gained each day \
         on all channels.</figcaption></figure>"
    );
}

/// A post's link, only when it is a web address (never `javascript:` and the like).
fn post_link(url: Option<&str>) -> String {
    match url {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => format!(
            "<small><a href=\"{}\" rel=\"noopener noreferrer\">View post \u{2197}</a></small>",
            escape(url)
        ),
        _ => String::new(),
    }
}

fn top_posts(page: &mut String, report: &Report) {
    page.push_str(
        "<section class=\"new-page\" aria-labelledby=\"top-posts\">\
         <h2 id=\"top-posts\">Top posts</h2>",
    );
    if report.top_posts.is_empty() {
        page.push_str("<p>No posts were published in this period.</p></section>\n");
        return;
    }
    let labels: Vec<String> = report
        .top_posts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}. {}: {}", i + 1, p.network.display_name(), p.excerpt))
        .collect();
    let values: Vec<Option<f64>> = report
        .top_posts
        .iter()
        .map(|p| p.engagement.map(|e| e as f64))
        .collect();
    let chart = svg::bars(
        &Labels {
            id: "chart-top-posts",
            title: "Engagement gained in the period, per post",
            x_axis: "Engagement",
            y_axis: "Post",
        },
        &labels,
        &values,
    );
    let _ = write!(page, "<figure>{chart}</figure>");
    page.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\" class=\"num\">#</th>\
         <th scope=\"col\">Post</th><th scope=\"col\">Channel</th><th scope=\"col\">Published</th>\
         <th scope=\"col\" class=\"num\">Engagement</th><th scope=\"col\" class=\"num\">Views</th>\
         </tr></thead><tbody>",
    );
    for (rank, post) in report.top_posts.iter().enumerate() {
        let _ = write!(
            page,
            "<tr><td class=\"num\">{}</td><td><p class=\"excerpt\">{}</p>{}</td>\
             <td>{}<small>{}</small></td><td class=\"nowrap\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            rank + 1,
            escape(&post.excerpt),
            post_link(post.url.as_deref()),
            escape(&post.channel_name),
            escape(post.network.display_name()),
            escape(&local_time(report, post.published_at, "%a %-d %b, %H:%M")),
            figure(post.engagement.map(|e| e as f64), 0, false, ""),
            figure(post.views.map(|v| v as f64), 0, false, ""),
        );
    }
    page.push_str("</tbody></table></div></section>\n");
}

/// The brand's channels and the competitors in one table, grouped by network, same columns.
fn competitors(page: &mut String, report: &Report) {
    page.push_str(
        "<section aria-labelledby=\"competitors\"><h2 id=\"competitors\">Competitors</h2>\
         <p class=\"lead\">Your channels beside the competitors on each network.</p>",
    );
    if report.competitors.is_empty() {
        page.push_str("<p>No competitors are followed.</p></section>\n");
        return;
    }
    page.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Account</th>\
         <th scope=\"col\" class=\"num\">Followers</th>\
         <th scope=\"col\" class=\"num\">Follower growth</th>\
         <th scope=\"col\" class=\"num\">Posts</th>\
         <th scope=\"col\" class=\"num\">Engagement per post</th></tr></thead>",
    );
    let mut networks = Vec::new();
    let brand_networks = report.channels.iter().filter_map(|c| c.network);
    for network in brand_networks.chain(report.competitors.iter().map(|c| c.network)) {
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    let row = |page: &mut String, name: &str, detail: &str, cells: [String; 4], brand: bool| {
        let (class, tag) = if brand {
            (" class=\"brand\"", "<span class=\"tag\">You</span>")
        } else {
            ("", "")
        };
        let _ = write!(page, "<tr{class}><td>{}{tag}", escape(name));
        if !detail.is_empty() {
            let _ = write!(page, "<small>{}</small>", escape(detail));
        }
        page.push_str("</td>");
        for cell in cells {
            let _ = write!(page, "<td class=\"num\">{cell}</td>");
        }
        page.push_str("</tr>");
    };
    for network in networks {
        let _ = write!(
            page,
            "<tbody><tr class=\"group\"><th colspan=\"5\" scope=\"rowgroup\">{}</th></tr>",
            escape(network.display_name())
        );
        for channel in report
            .channels
            .iter()
            .filter(|c| c.network == Some(network))
        {
            let f = &channel.current;
            let cells = [
                figure(f.followers_end.map(|v| v as f64), 0, false, ""),
                figure(f.follower_growth.map(|g| g as f64), 0, true, ""),
                figure(Some(f.posts_published as f64), 0, false, ""),
                figure(engagement_per_post(f), 1, false, ""),
            ];
            row(page, &channel.name, "", cells, true);
        }
        for competitor in report.competitors.iter().filter(|c| c.network == network) {
            let cells = [
                figure(competitor.followers_end.map(|v| v as f64), 0, false, ""),
                figure(competitor.follower_growth.map(|g| g as f64), 0, true, ""),
                figure(competitor.posts_published.map(|v| v as f64), 0, false, ""),
                figure(competitor.engagement_per_post, 1, false, ""),
            ];
            row(page, &competitor.name, &competitor.handle, cells, false);
        }
        page.push_str("</tbody>");
    }
    let _ = writeln!(
        page,
        "</table></div><p class=\"lead\" style=\"margin-top:8px\">{}</p></section>",
        escape(ENGAGEMENT_PER_POST_NOTE)
    );
}

fn definitions(page: &mut String, report: &Report) {
    page.push_str(
        "<section aria-labelledby=\"definitions\">\
         <h2 id=\"definitions\">How each figure is computed</h2><dl class=\"definitions\">",
    );
    for definition in &report.definitions {
        let _ = write!(
            page,
            "<div style=\"display:contents\"><dt>{}</dt><dd>{}</dd></div>",
            escape(&definition.figure),
            escape(&definition.how)
        );
    }
    let _ = writeln!(
        page,
        "<div style=\"display:contents\"><dt>Engagement per post</dt><dd>{}</dd></div>\
         </dl></section>",
        escape(ENGAGEMENT_PER_POST_NOTE),
    );
}

fn footer(page: &mut String, report: &Report) {
    let _ = writeln!(
        page,
        "<footer><p id=\"note-na\"><strong>{}</strong> \u{2014} {}</p><p>{}, {}. Prepared {}.</p></footer>",
        NOT_AVAILABLE,
        escape(NOT_AVAILABLE_NOTE),
        escape(&report.brand_name),
        escape(&period_text(&report.period)),
        escape(&local_time(
            report,
            report.generated_at,
            "%-d %B %Y, %H:%M %Z"
        )),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report_render::sample::sample_report;

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut report = sample_report();
        let hostile = "<script>alert(\"x\")</script> & 'quotes'";
        report.brand_name = hostile.into();
        report.top_posts[0].excerpt = hostile.into();
        report.top_posts[0].url = Some("javascript:alert(1)".into());
        report.channels[0].name = hostile.into();
        report.followers[0].name = hostile.into();
        report.competitors[0].handle = hostile.into();
        report.definitions[0].how = hostile.into();
        let page = render(&report);
        assert!(!page.contains("<script"), "a script tag got through");
        assert!(!page.contains("javascript:"));
        assert!(
            page.contains(
                "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;"
            )
        );
    }

    #[test]
    fn missing_figures_are_na_never_zero_and_the_note_says_so() {
        let mut report = sample_report();
        report.total.current.views = None;
        let page = render(&report);
        assert!(page.contains("<span class=\"na\" title=\"not available\">n/a</span>"));
        assert!(page.contains("It is not the same as 0."));
        assert!(!page.contains("NaN"));
        let views_card = page.split("<h3>Views</h3>").nth(1).unwrap();
        assert!(views_card.starts_with(
            "<p class=\"value\"><span class=\"na\" title=\"not available\">n/a</span>"
        ));
    }

    #[test]
    fn an_empty_report_still_renders_without_nan() {
        let mut report = sample_report();
        report.channels.clear();
        report.kpis.clear();
        report.top_posts.clear();
        report.competitors.clear();
        for day in &mut report.days {
            day.engagement = None;
        }
        for series in &mut report.followers {
            series.followers.iter_mut().for_each(|f| *f = None);
        }
        let page = render(&report);
        assert!(!page.contains("NaN"));
        assert!(page.contains("No figures available for this period"));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = render(&sample_report());
        for external in ["<script", "<link", "src=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains("@media print"));
    }

    #[test]
    fn the_community_section_shows_answers_and_response_times_with_target_directions() {
        let page = render(&sample_report());
        assert!(page.contains("<h2 id=\"community\">Community</h2>"));
        assert!(page.contains("target 60 min"));
        // All channels: 17 of 20 needing an answer, median 41 minutes (sample figures).
        assert!(page.contains("85.0%"), "response rate");
        assert!(page.contains("41 min"), "median first response");
        assert!(page.contains("chart-community"));
        // Response times are met at most at the target, the rest at least.
        assert!(page.contains("\u{2264} 60.0 min"));
        assert!(page.contains("\u{2265} 90.00%"));
    }
}
