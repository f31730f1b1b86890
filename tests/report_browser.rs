//! The HTML report in a real browser: headless Chromium renders the sample report to a screenshot
//! and to a PDF, which are kept under `target/test-artifacts/` for a person to look at, and checked
//! here for being a real page (colours, ink, the charts' bars) and more than one printed page. The
//! screenshot is of the page served over HTTP with the API's security headers, so a Content
//! Security Policy that blocked any of it would show.
//!
//! Chromium comes from `PALINSESTO_CHROMIUM`, else `/usr/bin/chromium`; `infra/test/all.sh`
//! installs it. Without it the test fails: a report nobody has seen rendered is not tested.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palinsesto::report_render::{Format, render, sample::sample_report};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;
const TIMEOUT: Duration = Duration::from_secs(120);
/// The chart bars' colour (svg.rs `BAR`).
const BAR: [u8; 3] = [0x2f, 0x5f, 0x98];

fn chromium() -> PathBuf {
    let path = std::env::var_os("PALINSESTO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium is not at {} (set PALINSESTO_CHROMIUM to another path): run infra/test/all.sh, \
         which installs it",
        path.display()
    );
    path
}

/// `target/test-artifacts`, in the target directory Cargo builds into.
fn artifacts() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// The sample report as HTML, also kept in the artifacts.
fn html() -> String {
    let html = render(&sample_report(), Format::Html);
    std::fs::write(artifacts().join("report.html"), &html).expect("keep the report page");
    html
}

/// The sample report as an HTML file in `dir`, and its `file://` URL.
fn page(dir: &Path) -> String {
    let path = dir.join("report.html");
    std::fs::write(&path, html()).expect("write the report page");
    format!("file://{}", path.display())
}

/// Serves the sample report on a loopback port with the headers the API sends with every HTML
/// answer (its Content-Security-Policy), as `GET /v1/reports?format=html` does; returns its URL.
fn served_page() -> String {
    let html = html();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let url = format!("http://{}/report.html", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/report.html",
                    axum::routing::get(move || {
                        let html = html.clone();
                        async move { axum::response::Html(html) }
                    }),
                )
                .layer(axum::middleware::map_response(
                    palinsesto::http::security::security_headers,
                ));
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("serve the page");
        });
    });
    url
}

/// Runs Chromium headless with `output_flag` (the screenshot or PDF flag) on `url`; kills it and
/// all its helper processes if it takes longer than [`TIMEOUT`]. Returns its log, which has the
/// page's console messages (a Content Security Policy violation among them).
fn run_chromium(dir: &Path, output_flag: &str, url: &str) -> String {
    let profile = tempfile::tempdir_in(dir).expect("a fresh profile directory");
    let log_path = dir.join(format!(
        "chromium-{}.log",
        output_flag
            .trim_start_matches('-')
            .split('=')
            .next()
            .unwrap_or("run")
    ));
    let log = File::create(&log_path).expect("chromium log");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--no-pdf-header-footer",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(output_flag)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("chromium log"))
        .stderr(log)
        // Its own process group, so that a timeout ends the renderer and GPU helpers too.
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took more than {TIMEOUT:?} and was killed; its output:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}); its output:\n{log}"
    );
    log
}

#[test]
fn the_report_renders_as_a_full_page_with_its_charts() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = served_page();
    let shot = dir.path().join("report.png");
    let log = run_chromium(
        dir.path(),
        &format!("--screenshot={}", shot.display()),
        &url,
    );
    assert!(
        !log.contains("Content Security Policy"),
        "the API's Content-Security-Policy blocks part of the report:\n{log}"
    );
    let bytes = std::fs::read(&shot).expect("chromium wrote no screenshot");
    std::fs::write(artifacts().join("report.png"), &bytes).expect("keep the screenshot");

    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG's pixels");
    assert_eq!((frame.width, frame.height), (WIDTH, HEIGHT));
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };

    let mut colours = HashSet::new();
    let (mut not_white, mut ink, mut bars) = (0usize, 0usize, 0usize);
    for pixel in pixels[..frame.buffer_size()].chunks_exact(channels) {
        let rgb = [pixel[0], pixel[1], pixel[2]];
        colours.insert(rgb);
        if rgb.iter().any(|&c| c < 245) {
            not_white += 1;
        }
        if rgb.iter().map(|&c| c as u32).sum::<u32>() < 3 * 110 {
            ink += 1;
        }
        if rgb == BAR {
            bars += 1;
        }
    }
    let total = (WIDTH * HEIGHT) as usize;
    assert!(colours.len() > 500, "only {} colours", colours.len());
    assert!(
        not_white * 100 > total * 12,
        "only {not_white} of {total} pixels are not white"
    );
    assert!(
        ink * 1000 > total * 5,
        "only {ink} of {total} pixels are text"
    );
    assert!(bars > 5_000, "the charts' bars cover only {bars} pixels");
}

#[test]
fn the_report_prints_on_several_a4_pages() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = page(dir.path());
    let pdf_path = dir.path().join("report.pdf");
    run_chromium(
        dir.path(),
        &format!("--print-to-pdf={}", pdf_path.display()),
        &url,
    );
    let pdf = std::fs::read(&pdf_path).expect("chromium wrote no PDF");
    std::fs::write(artifacts().join("report.pdf"), &pdf).expect("keep the PDF");

    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf.len() > 20_000, "a PDF of only {} bytes", pdf.len());
    // Page objects: "/Type /Page" not followed by "s" (that is the page tree).
    let text = String::from_utf8_lossy(&pdf);
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(at, m)| !text[at + m.len()..].starts_with('s'))
        .count();
    // The cover, the charts and the top posts each start a page (`section.new-page`).
    assert!(pages >= 3, "the report printed on {pages} page(s)");
    // A4 is 595 × 842 points.
    assert!(
        text.contains("/MediaBox [0 0 595") || text.contains("/MediaBox [0 0 594"),
        "the pages are not A4"
    );
}
