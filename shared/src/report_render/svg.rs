//! Hand-written SVG charts for the HTML report: lines over days, columns per day and horizontal
//! bars, each with a title, axis labels and a text description for screen readers. Scales cope
//! with no data, all-zero data and gaps; every coordinate goes through [`at`], so no NaN is written.

use std::fmt::Write;

use unicode_segmentation::UnicodeSegmentation;

use super::{Medium, NOT_AVAILABLE, escape, number};

const WIDTH: f64 = 960.0;
const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const INK: &str = "#1f2933";
const MUTED: &str = "#616e7c";
const GRID: &str = "#e4e7eb";
const BAR: &str = "#2f5f98";

/// Colours that stay apart for colour-blind readers (Okabe and Ito), with dash patterns and marker
/// shapes so that the lines are told apart in greyscale too.
const PALETTE: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];
const DASHES: [&str; 4] = ["", "8 4", "2 4", "10 4 2 4"];

/// What every chart says about itself.
pub(super) struct Labels<'a> {
    /// Unique on the page: the chart's `<title>` and `<desc>` ids derive from it.
    pub id: &'a str,
    pub title: &'a str,
    pub x_axis: &'a str,
    pub y_axis: &'a str,
}

pub(super) struct Series {
    pub name: String,
    /// Shown under the name in the legend (say, the latest figure).
    pub note: String,
    pub values: Vec<Option<f64>>,
    /// What a point's tooltip and the description say about it; its value when empty.
    pub point_notes: Vec<String>,
}

/// A coordinate, with one decimal; a non-finite one (which the scales should never produce) is 0
/// rather than NaN, which would make the browser drop the shape.
fn at(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}")
    } else {
        "0".to_owned()
    }
}

/// `text` on one line, cut to `max` characters (graphemes) with an ellipsis.
pub(super) fn shorten(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let graphemes: Vec<&str> = line.graphemes(true).collect();
    if graphemes.len() <= max {
        line
    } else {
        format!(
            "{}\u{2026}",
            graphemes[..max.saturating_sub(1)].concat().trim_end()
        )
    }
}

/// A value axis from 0 (or below, for negative values) to a round number above the largest value.
struct Axis {
    low: f64,
    high: f64,
    step: f64,
    decimals: usize,
}

impl Axis {
    fn new(values: impl IntoIterator<Item = f64>, whole: bool) -> Self {
        let (mut low, mut high) = (0.0_f64, 0.0_f64);
        for value in values.into_iter().filter(|v| v.is_finite()) {
            low = low.min(value);
            high = high.max(value);
        }
        let span = high - low;
        let step = if span > 0.0 && span.is_finite() {
            let raw = span / 4.0;
            let magnitude = 10_f64.powf(raw.log10().floor());
            let nice = match raw / magnitude {
                f if f <= 1.0 => 1.0,
                f if f <= 2.0 => 2.0,
                f if f <= 5.0 => 5.0,
                _ => 10.0,
            };
            nice * magnitude
        } else {
            1.0
        };
        let step = if whole { step.max(1.0) } else { step };
        let low = (low / step).floor() * step;
        let mut high = (high / step).ceil() * step;
        if high <= low {
            high = low + step;
        }
        let decimals = if step >= 1.0 {
            0
        } else {
            (-step.log10().floor()).clamp(0.0, 6.0) as usize
        };
        Self {
            low,
            high,
            step,
            decimals,
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let count = ((self.high - self.low) / self.step)
            .round()
            .clamp(1.0, 20.0) as usize;
        (0..=count)
            .map(|i| self.low + i as f64 * self.step)
            .collect()
    }

    /// Where `value` falls between `start` (at `low`) and `end` (at `high`).
    fn place(&self, value: f64, start: f64, end: f64) -> f64 {
        start + (value - self.low) / (self.high - self.low) * (end - start)
    }

    fn label(&self, value: f64) -> String {
        number(Some(value), self.decimals, false, Medium::Page)
    }
}

/// The `<svg>` start tag, with its title and description for assistive technology.
fn open(out: &mut String, labels: &Labels, height: f64, description: &str) {
    let id = escape(labels.id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {} {}\" \
         width=\"100%\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         font-family=\"{FONT}\" font-size=\"14\" fill=\"{INK}\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        at(WIDTH),
        at(height),
        escape(labels.title),
        escape(description),
    );
    let _ = write!(
        out,
        "<text x=\"0\" y=\"18\" font-size=\"16\" font-weight=\"600\">{}</text>",
        escape(labels.title)
    );
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
        at(x),
        at(y),
        escape(content)
    );
}

fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
    let _ = write!(
        out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\"/>",
        at(x1),
        at(y1),
        at(x2),
        at(y2)
    );
}

/// The message drawn in a plot area when there is nothing to draw.
fn no_data(out: &mut String, center: (f64, f64)) {
    text(
        out,
        center.0,
        center.1,
        "middle",
        &format!(" fill=\"{MUTED}\" font-style=\"italic\""),
        "No figures available for this period",
    );
}

/// Horizontal grid lines and their labels for a vertical value axis.
fn value_grid(out: &mut String, axis: &Axis, left: f64, right: f64, top: f64, bottom: f64) {
    for tick in axis.ticks() {
        let y = axis.place(tick, bottom, top);
        let stroke = if tick == 0.0 { MUTED } else { GRID };
        line(out, (left, y), (right, y), stroke);
        text(
            out,
            left - 8.0,
            y + 4.0,
            "end",
            &format!(" fill=\"{MUTED}\" font-size=\"13\""),
            &axis.label(tick),
        );
    }
}

fn axis_titles(out: &mut String, labels: &Labels, plot: (f64, f64, f64, f64), height: f64) {
    let (left, right, top, bottom) = plot;
    let middle = (top + bottom) / 2.0;
    let _ = write!(
        out,
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\" \
         fill=\"{MUTED}\" font-size=\"13\">{}</text>",
        at(middle),
        escape(labels.y_axis)
    );
    text(
        out,
        (left + right) / 2.0,
        height - 6.0,
        "middle",
        &format!(" fill=\"{MUTED}\" font-size=\"13\""),
        labels.x_axis,
    );
}

/// The value of a point as the description and tooltip say it.
fn point_text(label: &str, value: Option<f64>, note: Option<&String>, decimals: usize) -> String {
    match note.filter(|n| !n.is_empty()) {
        Some(note) => format!("{label}: {note}"),
        None => format!("{label}: {}", number(value, decimals, false, Medium::Page)),
    }
}

/// A marker of the shape of series `index`.
fn marker(out: &mut String, index: usize, x: f64, y: f64, colour: &str, tooltip: &str) {
    let tooltip = format!("<title>{}</title>", escape(tooltip));
    let _ = match index % 4 {
        0 => write!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{colour}\">{tooltip}</circle>",
            at(x),
            at(y)
        ),
        1 => write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"{colour}\">{tooltip}</rect>",
            at(x - 4.0),
            at(y - 4.0)
        ),
        2 => write!(
            out,
            "<path d=\"M{} {}L{} {}L{} {}Z\" fill=\"{colour}\">{tooltip}</path>",
            at(x),
            at(y - 5.5),
            at(x + 5.0),
            at(y + 4.0),
            at(x - 5.0),
            at(y + 4.0)
        ),
        _ => write!(
            out,
            "<path d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"#fff\" stroke=\"{colour}\" \
             stroke-width=\"2\">{tooltip}</path>",
            at(x),
            at(y - 5.5),
            at(x + 5.5),
            at(y),
            at(x),
            at(y + 5.5),
            at(x - 5.5),
            at(y)
        ),
    };
}

/// One line per series over `x_labels` (days); a missing value breaks its line.
pub(super) fn lines(labels: &Labels, x_labels: &[String], series: &[Series]) -> String {
    let height = 340.0;
    let (left, right, top, bottom) = (72.0, WIDTH - 280.0, 44.0, height - 58.0);
    let axis = Axis::new(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        true,
    );
    let any = series.iter().any(|s| s.values.iter().any(Option::is_some));
    let slots = x_labels.len().max(1);
    let x_of = |i: usize| {
        if slots == 1 {
            (left + right) / 2.0
        } else {
            left + 12.0 + i as f64 * (right - left - 24.0) / (slots - 1) as f64
        }
    };

    let mut description = String::new();
    for s in series {
        let points: Vec<String> = x_labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let value = s.values.get(i).copied().flatten();
                point_text(label, value, s.point_notes.get(i), axis.decimals)
            })
            .collect();
        let _ = write!(description, "{}: {}. ", s.name, points.join("; "));
    }
    if !any {
        description = "No figures available for this period.".to_owned();
    }

    let mut out = String::new();
    open(&mut out, labels, height, description.trim_end());
    value_grid(&mut out, &axis, left, right, top, bottom);
    for (i, label) in x_labels.iter().enumerate() {
        text(
            &mut out,
            x_of(i),
            bottom + 20.0,
            "middle",
            &format!(" fill=\"{MUTED}\" font-size=\"13\""),
            label,
        );
    }
    axis_titles(&mut out, labels, (left, right, top, bottom), height);
    if !any {
        no_data(&mut out, ((left + right) / 2.0, (top + bottom) / 2.0));
    }

    for (index, s) in series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let dash = DASHES[index % DASHES.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for i in 0..x_labels.len() {
            match s.values.get(i).copied().flatten().filter(|v| v.is_finite()) {
                Some(value) => {
                    let command = if pen_down { 'L' } else { 'M' };
                    let y = axis.place(value, bottom, top);
                    let _ = write!(path, "{command}{} {}", at(x_of(i)), at(y));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let dash = if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray=\"{dash}\"")
            };
            let _ = write!(
                out,
                "<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
                 stroke-linejoin=\"round\"{dash}/>"
            );
        }
        for (i, label) in x_labels.iter().enumerate() {
            if let Some(value) = s.values.get(i).copied().flatten().filter(|v| v.is_finite()) {
                let tip = point_text(label, Some(value), s.point_notes.get(i), axis.decimals);
                let tip = format!("{}, {tip}", s.name);
                marker(
                    &mut out,
                    index,
                    x_of(i),
                    axis.place(value, bottom, top),
                    colour,
                    &tip,
                );
            }
        }

        // The legend, to the right of the plot.
        let y = top + 8.0 + index as f64 * 46.0;
        let x = right + 24.0;
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" \
             stroke-width=\"2.5\"{}/>",
            at(x),
            at(y),
            at(x + 30.0),
            at(y),
            if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray=\"{dash}\"")
            }
        );
        marker(&mut out, index, x + 15.0, y, colour, &s.name);
        text(
            &mut out,
            x + 40.0,
            y + 4.5,
            "start",
            " font-weight=\"600\"",
            &shorten(&s.name, 24),
        );
        if !s.note.is_empty() {
            text(
                &mut out,
                x + 40.0,
                y + 22.0,
                "start",
                &format!(" fill=\"{MUTED}\" font-size=\"13\""),
                &shorten(&s.note, 30),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One column per x label (days), from zero; a missing value is written "n/a" in its place.
pub(super) fn columns(labels: &Labels, x_labels: &[String], values: &[Option<f64>]) -> String {
    let height = 320.0;
    let (left, right, top, bottom) = (72.0, WIDTH - 12.0, 44.0, height - 58.0);
    let axis = Axis::new(values.iter().flatten().copied(), true);
    let any = values.iter().any(Option::is_some);
    let slot = (right - left) / x_labels.len().max(1) as f64;
    let zero = axis.place(0.0, bottom, top);

    let description = if any {
        x_labels
            .iter()
            .enumerate()
            .map(|(i, label)| point_text(label, values.get(i).copied().flatten(), None, 0))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        "No figures available for this period.".to_owned()
    };

    let mut out = String::new();
    open(&mut out, labels, height, &description);
    value_grid(&mut out, &axis, left, right, top, bottom);
    axis_titles(&mut out, labels, (left, right, top, bottom), height);
    if !any {
        no_data(&mut out, ((left + right) / 2.0, (top + bottom) / 2.0));
    }
    for (i, label) in x_labels.iter().enumerate() {
        let middle = left + (i as f64 + 0.5) * slot;
        text(
            &mut out,
            middle,
            bottom + 20.0,
            "middle",
            &format!(" fill=\"{MUTED}\" font-size=\"13\""),
            label,
        );
        let value = values.get(i).copied().flatten().filter(|v| v.is_finite());
        let Some(value) = value else {
            if any {
                text(
                    &mut out,
                    middle,
                    zero - 8.0,
                    "middle",
                    &format!(" fill=\"{MUTED}\" font-style=\"italic\""),
                    NOT_AVAILABLE,
                );
            }
            continue;
        };
        let y = axis.place(value, bottom, top);
        let width = (slot * 0.62).min(64.0);
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{BAR}\" rx=\"2\">\
             <title>{}</title></rect>",
            at(middle - width / 2.0),
            at(y.min(zero)),
            at(width),
            at((zero - y).abs()),
            escape(&point_text(label, Some(value), None, 0))
        );
        text(
            &mut out,
            middle,
            y.min(zero) - 6.0,
            "middle",
            " font-size=\"13\" font-weight=\"600\"",
            &number(Some(value), 0, false, Medium::Page),
        );
    }
    out.push_str("</svg>");
    out
}

/// One horizontal bar per label, longest first as given, from zero.
pub(super) fn bars(labels: &Labels, bar_labels: &[String], values: &[Option<f64>]) -> String {
    let row = 34.0;
    let (left, right, top) = (330.0, WIDTH - 70.0, 40.0);
    let bottom = top + row * bar_labels.len().max(1) as f64;
    let height = bottom + 52.0;
    let axis = Axis::new(values.iter().flatten().copied(), true);
    let any = values.iter().any(Option::is_some);
    let zero = axis.place(0.0, left, right);

    let description = if any {
        bar_labels
            .iter()
            .enumerate()
            .map(|(i, label)| point_text(label, values.get(i).copied().flatten(), None, 0))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        "No figures available for this period.".to_owned()
    };

    let mut out = String::new();
    open(&mut out, labels, height, &description);
    for tick in axis.ticks() {
        let x = axis.place(tick, left, right);
        line(
            &mut out,
            (x, top),
            (x, bottom),
            if tick == 0.0 { MUTED } else { GRID },
        );
        text(
            &mut out,
            x,
            bottom + 18.0,
            "middle",
            &format!(" fill=\"{MUTED}\" font-size=\"13\""),
            &axis.label(tick),
        );
    }
    text(
        &mut out,
        (left + right) / 2.0,
        height - 6.0,
        "middle",
        &format!(" fill=\"{MUTED}\" font-size=\"13\""),
        labels.x_axis,
    );
    if !any {
        no_data(&mut out, ((left + right) / 2.0, (top + bottom) / 2.0));
    }
    for (i, label) in bar_labels.iter().enumerate() {
        let middle = top + (i as f64 + 0.5) * row;
        text(
            &mut out,
            left - 10.0,
            middle + 4.5,
            "end",
            "",
            &shorten(label, 42),
        );
        let Some(value) = values.get(i).copied().flatten().filter(|v| v.is_finite()) else {
            text(
                &mut out,
                zero + 8.0,
                middle + 4.5,
                "start",
                &format!(" fill=\"{MUTED}\" font-style=\"italic\""),
                NOT_AVAILABLE,
            );
            continue;
        };
        let x = axis.place(value, left, right);
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{BAR}\" rx=\"2\">\
             <title>{}</title></rect>",
            at(x.min(zero)),
            at(middle - row * 0.3),
            at((x - zero).abs()),
            at(row * 0.6),
            escape(&point_text(label, Some(value), None, 0))
        );
        text(
            &mut out,
            x.max(zero) + 8.0,
            middle + 4.5,
            "start",
            " font-weight=\"600\"",
            &number(Some(value), 0, false, Medium::Page),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: Labels = Labels {
        id: "t",
        title: "A <chart>",
        x_axis: "Day",
        y_axis: "Count",
    };

    fn days(n: usize) -> Vec<String> {
        (1..=n).map(|d| format!("Day {d}")).collect()
    }

    fn series(values: Vec<Option<f64>>) -> Series {
        Series {
            name: "Mastodon".into(),
            note: String::new(),
            values,
            point_notes: vec![],
        }
    }

    fn assert_clean(svg: &str) {
        for bad in ["NaN", "\"inf", " inf", "-inf"] {
            assert!(!svg.contains(bad), "{bad} in {svg}");
        }
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"t-title\">A &lt;chart&gt;</title>"));
    }

    #[test]
    fn charts_without_data_say_so_and_write_no_nan() {
        for values in [vec![], vec![None; 7], vec![Some(0.0); 7]] {
            let n = values.len();
            let svg = lines(&LABELS, &days(n), &[series(values.clone())]);
            assert_clean(&svg);
            let svg = columns(&LABELS, &days(n), &values);
            assert_clean(&svg);
            let svg = bars(&LABELS, &days(n), &values);
            assert_clean(&svg);
        }
        assert!(columns(&LABELS, &days(3), &[None; 3]).contains("No figures available"));
        assert_clean(&lines(&LABELS, &[], &[]));
        assert_clean(&lines(&LABELS, &days(1), &[series(vec![Some(5.0)])]));
    }

    #[test]
    fn missing_values_break_lines_and_show_na_in_columns() {
        let svg = lines(
            &LABELS,
            &days(4),
            &[series(vec![Some(1.0), Some(2.0), None, Some(4.0)])],
        );
        let path = svg.split("<path d=\"").nth(1).unwrap();
        let path = path.split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        let svg = columns(&LABELS, &days(3), &[Some(3.0), None, Some(0.0)]);
        assert!(svg.contains(">n/a</text>"));
        assert_clean(&svg);
    }

    #[test]
    fn axes_end_on_round_numbers_and_include_zero() {
        let axis = Axis::new([3.0, 1234.0], true);
        assert_eq!((axis.low, axis.high, axis.step), (0.0, 1500.0, 500.0));
        let axis = Axis::new([-30.0, 12.0], true);
        assert_eq!((axis.low, axis.high), (-40.0, 20.0));
        let axis = Axis::new([0.0, 0.0], true);
        assert_eq!((axis.low, axis.high), (0.0, 1.0));
        let axis = Axis::new([0.3], false);
        assert_eq!(axis.decimals, 1);
        assert_eq!(axis.label(0.30000000000000004), "0.3");
        let axis = Axis::new([f64::NAN, f64::INFINITY], true);
        assert_eq!((axis.low, axis.high), (0.0, 1.0));
    }

    #[test]
    fn labels_are_shortened_by_graphemes_on_one_line() {
        assert_eq!(shorten("a\nb  c", 10), "a b c");
        assert_eq!(shorten("abcdefgh", 5), "abcd\u{2026}");
        assert_eq!(shorten("🇮🇹🇮🇹🇮🇹", 2), "🇮🇹\u{2026}");
    }
}
