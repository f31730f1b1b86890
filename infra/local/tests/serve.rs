//! The `palinsesto` binary as a newcomer uses it: serve on a fresh folder, mint a token, write,
//! Ctrl-C, start again, and find everything still there.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_palinsesto");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `palinsesto serve` and waits for its "listening" line; returns the child and what it printed.
fn serve(data: &Path, port: u16) -> (Child, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim_end().to_owned());
        if line.starts_with("Press Ctrl-C") {
            return (child, lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not say it was ready: {lines:?}");
}

fn token(data: &Path) -> String {
    let out = Command::new(BIN)
        .args(["token", "--brand", "demo", "--role", "owner", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Alone on standard output, so `TOKEN=$(palinsesto token ...)` works.
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    stdout.trim().to_owned()
}

fn interrupt(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "Ctrl-C must be a clean exit, got {exit}");
}

#[tokio::test]
async fn a_fresh_folder_serves_the_demo_brand_and_ctrl_c_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let port = free_port();
    let http = palinsesto::outbound::plain_client(std::time::Duration::from_secs(30)).unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let (mut server, printed) = serve(&data, port);
    assert!(
        printed
            .iter()
            .any(|l| l.contains("Created the demo brand \"demo\"")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains("token --brand demo --role owner")),
        "{printed:?}"
    );
    let token = token(&data);
    let brand: serde_json::Value = http
        .get(format!("{base}/v1/brand"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(brand["id"], "demo");

    // Write a burst of posts, then interrupt right after the last answer.
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = http
            .post(format!("{base}/v1/posts"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"text": format!("post {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    interrupt(&mut server);

    // Start again on the same folder: no new demo brand, the old token still works, every post is there.
    let (mut server, printed) = serve(&data, port);
    assert!(
        !printed.iter().any(|l| l.contains("Created the demo brand")),
        "{printed:?}"
    );
    // A new client: the old one's pooled connections died with the first server.
    let http = palinsesto::outbound::plain_client(std::time::Duration::from_secs(30)).unwrap();
    for id in &ids {
        let r = http
            .get(format!("{base}/v1/posts/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "post {id} was lost");
    }
    interrupt(&mut server);
}

#[test]
fn a_bad_role_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["token", "--brand", "demo", "--role", "admin", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role \"admin\""));
    assert!(out.stdout.is_empty());
}
