//! The preflight benchmark: how long each network's rules take to check adversarial texts of
//! 64 KiB (the most text a post or follow-up may hold, `MAX_TEXT_BYTES`) and 100 KB, and the
//! largest post the API takes (a full text and follow-ups up to the request body limit). The
//! inputs are the shapes that made the old link trimming quadratic (one link followed by a long
//! run of closing parentheses and other punctuation) and others that stress the rest of the
//! counting (many links, mentions, emoji, combining marks, hashtags).
//!
//! `cargo bench -p palinsesto --bench preflight`
//!
//! Each cell is `Rules::check(text, thread, &[])` for one network's documented rules, run until
//! 0.3 s have passed (at least once, at most 100 times); the cell shows the median. The last column
//! is a digest of every problem the rules returned for that row (each names the count over the
//! limit), so a run before and after a change to the counting shows whether any result changed.
//! Prints markdown tables for docs/benchmarks.md. Without `--bench` (as under
//! `cargo test --all-targets`) it runs each check once, on the inputs at 2 KB and the largest
//! posts at full size, which takes a second in a debug build.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use palinsesto::domain::Network;
use palinsesto::domain::post::{MAX_TEXT_BYTES, MAX_THREAD_PARTS};
use palinsesto::domain::preflight::Rules;
use palinsesto::http::ApiSettings;

const KB: usize = 1_000;
const CELL_TIME: Duration = Duration::from_millis(300);
const CELL_MAX_RUNS: usize = 100;
/// Room left in the request body for everything around the texts: the field names, quotes,
/// brackets and one channel id.
const JSON_ROOM: usize = 256;

/// One adversarial shape, made at any size.
struct Shape {
    name: &'static str,
    make: fn(usize) -> String,
}

/// `head` followed by `unit` repeated until the text is `size` bytes (or just under, when `unit`
/// does not divide what is left).
fn fill(head: &str, unit: &str, size: usize) -> String {
    let mut text = String::with_capacity(size);
    text.push_str(head);
    while text.len() + unit.len() <= size {
        text.push_str(unit);
    }
    text
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "one link, then `)` to the end",
        make: |n| fill("http://a.co/x", ")", n),
    },
    Shape {
        name: "one link, then a third `(` and two thirds `)`",
        make: |n| {
            let rest = n - "http://a.co/".len();
            let mut text = fill("http://a.co/", "(", "http://a.co/".len() + rest / 3);
            while text.len() < n {
                text.push(')');
            }
            text
        },
    },
    Shape {
        name: "one link, then `).` to the end",
        make: |n| fill("http://a.co/x", ").", n),
    },
    Shape {
        name: "one link, then `.,;:!?)` to the end",
        make: |n| fill("http://a.co/", ".,;:!?)", n),
    },
    Shape {
        name: "one link, then balanced `()` to the end",
        make: |n| fill("http://a.co/", "()", n),
    },
    Shape {
        name: "`http://`, then `.,;:!?)(` to the end (no host)",
        make: |n| fill("http://", ".,;:!?)(", n),
    },
    Shape {
        name: "`http://` repeated (no host)",
        make: |n| fill("", "http://", n),
    },
    Shape {
        name: "short links `http://a.co ` repeated",
        make: |n| fill("", "http://a.co ", n),
    },
    Shape {
        name: "`.` repeated",
        make: |n| fill("", ".", n),
    },
    Shape {
        name: "mentions `@a@b.co ` repeated",
        make: |n| fill("", "@a@b.co ", n),
    },
    Shape {
        name: "hashtags `#a ` repeated",
        make: |n| fill("", "#a ", n),
    },
    Shape {
        name: "family emoji (ZWJ sequence) repeated",
        make: |n| {
            fill(
                "",
                "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}",
                n,
            )
        },
    },
    Shape {
        name: "`e` + combining acute repeated",
        make: |n| fill("", "e\u{301}", n),
    },
];

/// A post: its text and follow-ups.
struct Post {
    text: String,
    thread: Vec<String>,
}

/// The largest post the API takes made of one text shape: a full text, then follow-ups until the
/// request body (as JSON) would pass the API's limit. Returns the post and its body's length.
fn largest_post(make: fn(usize) -> String) -> (Post, usize) {
    let body_limit = ApiSettings::default().max_body_bytes;
    let text = make(MAX_TEXT_BYTES);
    let mut room = body_limit - JSON_ROOM - text.len();
    let mut thread = Vec::new();
    // Each follow-up costs its bytes and three of JSON (two quotes and a comma).
    while thread.len() < MAX_THREAD_PARTS && room > 64 {
        let part = make(MAX_TEXT_BYTES.min(room - 3));
        // The API refuses an empty follow-up.
        if part.is_empty() {
            break;
        }
        room -= part.len() + 3;
        thread.push(part);
    }
    let body = serde_json::json!({
        "text": text,
        "thread": thread,
        "channels": ["01JDQ0000000000000000000CH"],
    })
    .to_string();
    assert!(
        body.len() <= body_limit,
        "the largest post's body is {} bytes, over the API's {body_limit}",
        body.len()
    );
    (Post { text, thread }, body.len())
}

/// Ordinary copy with a link in parentheses in every sentence.
fn prose(n: usize) -> String {
    fill(
        "",
        "Read the full story at https://example.com/news/2026/launch (details: https://example.com/faq). ",
        n,
    )
}

/// FNV-1a over everything the rules returned, so two runs can be compared by one number.
struct Digest(u64);

impl Digest {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self.add_separator();
    }

    fn add_separator(&mut self) {
        self.0 = self.0.rotate_left(5) ^ 0xff;
    }
}

/// Times `Rules::check` for one network and notes the problems of its first run in `digest` (they
/// name every count over a limit, so the digest changes when a count does). A slow cell runs once.
fn time_cell(rules: &Rules, post: &Post, digest: &mut Digest, max_runs: usize) -> Duration {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.is_empty() || (started.elapsed() < CELL_TIME && times.len() < max_runs) {
        let at = Instant::now();
        let problems =
            std::hint::black_box(rules.check(std::hint::black_box(&post.text), &post.thread, &[]));
        times.push(at.elapsed());
        if times.len() == 1 {
            for problem in &problems {
                digest.add(problem.as_bytes());
            }
        }
    }
    times.sort();
    times[times.len() / 2]
}

fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.3}")
    }
}

fn row(label: &str, bytes: usize, post: &Post, max_runs: usize) -> (String, Duration) {
    let mut digest = Digest::new();
    let mut cells = Vec::new();
    let mut slowest = Duration::ZERO;
    for network in Network::ALL {
        let rules = Rules::for_network(network);
        let time = time_cell(&rules, post, &mut digest, max_runs);
        slowest = slowest.max(time);
        cells.push(millis(time));
    }
    let line = format!(
        "| {label} | {} | {} | `{:016x}` |",
        thousands(bytes),
        cells.join(" | "),
        digest.0
    );
    (line, slowest)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn header(first: &str) {
    let names: Vec<&str> = Network::ALL.iter().map(|n| n.as_str()).collect();
    println!(
        "| {first} | bytes | {} | results digest |",
        names
            .iter()
            .map(|n| format!("{n}, ms"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|---|{}---|", "---|".repeat(names.len()));
}

fn main() -> ExitCode {
    let timed = std::env::args().any(|a| a == "--bench");
    let max_runs = if timed { CELL_MAX_RUNS } else { 1 };
    let sizes: &[usize] = if timed {
        &[MAX_TEXT_BYTES, 100 * KB]
    } else {
        &[2 * KB]
    };
    let started = Instant::now();
    if timed {
        println!(
            "Each cell: median time of `Rules::check` (text only, no media) for that network's \
             documented rules."
        );
        println!();
    }
    header("text");
    let mut slowest = Duration::ZERO;
    for size in sizes {
        for shape in SHAPES {
            let post = Post {
                text: (shape.make)(*size),
                thread: Vec::new(),
            };
            let (line, time) = row(shape.name, post.text.len(), &post, max_runs);
            slowest = slowest.max(time);
            println!("{line}");
        }
    }
    println!();
    header("largest post the API takes");
    let posts = [
        Shape {
            name: "one link then `)` to the end, in every part",
            make: SHAPES[0].make,
        },
        Shape {
            name: "one link then `.,;:!?)`, in every part",
            make: SHAPES[3].make,
        },
        Shape {
            name: "prose with two links a sentence",
            make: prose,
        },
    ];
    for Shape { name, make } in posts {
        let (post, body) = largest_post(make);
        let label = format!(
            "{name}: text {} B + {} follow-ups ({} B of JSON)",
            thousands(post.text.len()),
            post.thread.len(),
            thousands(body)
        );
        let bytes = post.text.len() + post.thread.iter().map(String::len).sum::<usize>();
        let (line, time) = row(&label, bytes, &post, max_runs);
        slowest = slowest.max(time);
        println!("{line}");
    }
    println!();
    if timed {
        println!(
            "Slowest cell: {} ms; whole run {:.1} s.",
            millis(slowest),
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("preflight benchmark: time it with `cargo bench -p palinsesto --bench preflight`");
    }
    ExitCode::SUCCESS
}
