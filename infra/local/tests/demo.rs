//! `palinsesto serve --demo` as a newcomer runs it: on a fresh folder it makes the brand
//! demo-sandbox with a month of history, so the calendar and a weekly report with figures are
//! there at once; a second `--demo` refuses to overwrite it, and `--demo --reset` makes it again.

mod support;

use std::process::{Command, Stdio};

use serde_json::Value;
use support::{BIN, free_port, interrupt, serve_with, token_for};

const BRAND: &str = "demo-sandbox";

async fn get(http: &reqwest::Client, url: String, token: &str) -> Value {
    let r = http.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn serve_demo_shows_a_calendar_and_a_report_with_figures_and_refuses_to_overwrite_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = palinsesto::outbound::plain_client(std::time::Duration::from_secs(30)).unwrap();

    // given a fresh folder, `serve --demo` says what it made and what to open
    let (mut server, printed) = serve_with(&data, port, &["--demo"]);
    let ready = printed
        .iter()
        .find(|l| l.starts_with("The demo brand \"demo-sandbox\" is ready"))
        .unwrap_or_else(|| panic!("{printed:?}"));
    assert!(ready.contains("weekly reports"), "{ready}");
    assert!(
        printed
            .iter()
            .any(|l| l.contains("token --brand demo-sandbox --role owner")),
        "{printed:?}"
    );
    let calendar_line = printed
        .iter()
        .find(|l| l.contains("/v1/calendar?from="))
        .unwrap_or_else(|| panic!("{printed:?}"));
    let calendar_url = calendar_line
        .split('"')
        .find(|part| part.starts_with("http://"))
        .unwrap()
        .to_owned();
    let token = token_for(&data, BRAND);

    // then the last week's report has figures, in the sandbox's own section
    let report = get(&http, format!("{base}/v1/reports?period=week"), &token).await;
    assert!(
        report["channels"].as_array().unwrap().is_empty(),
        "no real channel: {report}"
    );
    let simulated = &report["sandbox"];
    assert_eq!(
        simulated["channels"].as_array().unwrap().len(),
        3,
        "{report}"
    );
    let total = &simulated["total"]["current"];
    assert!(total["posts_published"].as_u64().unwrap() >= 5, "{total}");
    assert!(total["views"].as_u64().unwrap() > 0, "{total}");
    assert!(total["engagement"].as_u64().unwrap() > 0, "{total}");
    assert_eq!(simulated["kpis"].as_array().unwrap().len(), 3, "{report}");
    assert_eq!(simulated["competitors"][0]["name"], "Rival Roasters");
    assert!(!simulated["top_posts"].as_array().unwrap().is_empty());

    // and the page shows the sandbox's figures first, not an empty section of real channels
    let page = http
        .get(format!("{base}/v1/reports?period=week&format=html"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sandbox (simulated)"));
    assert!(page.contains("id=\"sandbox-summary\""));
    assert!(
        !page.contains("id=\"summary\""),
        "no empty summary of real channels"
    );

    // and the calendar shows the month published and the two weeks ahead scheduled
    let calendar = get(&http, calendar_url, &token).await;
    let statuses: Vec<String> = calendar["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["posts"].as_array().unwrap().iter())
        .map(|p| p["status"].as_str().unwrap().to_owned())
        .collect();
    let count = |s: &str| statuses.iter().filter(|x| *x == s).count();
    assert!(count("published") >= 20, "{statuses:?}");
    assert!(count("scheduled") >= 10, "{statuses:?}");
    let in_review = get(&http, format!("{base}/v1/posts?status=in_review"), &token).await;
    assert_eq!(in_review["items"].as_array().unwrap().len(), 3);
    let assets = get(&http, format!("{base}/v1/assets"), &token).await;
    assert_eq!(assets["items"].as_array().unwrap().len(), 3);
    interrupt(&mut server);

    // when `--demo` runs again on the same folder, it refuses and says how to start over
    let again = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--demo",
            "--data",
        ])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success());
    let why = String::from_utf8_lossy(&again.stderr);
    assert!(
        why.contains("already has data") && why.contains("--reset"),
        "{why}"
    );
    // and nothing it had was touched
    let (mut server, _) = serve_with(&data, port, &[]);
    let http = palinsesto::outbound::plain_client(std::time::Duration::from_secs(30)).unwrap();
    let in_review = get(&http, format!("{base}/v1/posts?status=in_review"), &token).await;
    assert_eq!(in_review["items"].as_array().unwrap().len(), 3);
    interrupt(&mut server);

    // and with --reset it erases the brand and makes it again, once
    let (mut server, printed) = serve_with(&data, port, &["--demo", "--reset"]);
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("Erased the brand demo-sandbox")),
        "{printed:?}"
    );
    let http = palinsesto::outbound::plain_client(std::time::Duration::from_secs(30)).unwrap();
    let in_review = get(&http, format!("{base}/v1/posts?status=in_review"), &token).await;
    assert_eq!(in_review["items"].as_array().unwrap().len(), 3);
    let assets = get(&http, format!("{base}/v1/assets"), &token).await;
    assert_eq!(assets["items"].as_array().unwrap().len(), 3);
    interrupt(&mut server);
}
