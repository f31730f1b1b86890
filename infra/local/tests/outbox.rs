//! Events at least once, through a real crash: `palinsesto serve` is killed (SIGKILL) while it is
//! relaying an event, and the next start relays the same event again, with the same id, without
//! making a second webhook delivery of it.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{free_port, serve_logging, token};

/// `serve` with its log at info (the relayed events are logged), private networks allowed (the
/// receiver is on loopback).
fn serve(data: &Path, port: u16) -> (Child, BufReader<ChildStdout>) {
    let (child, out, _) = serve_logging(data, port, &["--allow-private-networks"], "info");
    (child, out)
}

/// A webhook receiver that takes each request and never answers it: the relay stays in the
/// middle of delivering until it is killed. Says on `got` when a request arrived.
fn hanging_receiver() -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, got) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = tx.send(());
            held.push(stream);
        }
    });
    (url, got)
}

#[tokio::test]
async fn an_event_being_relayed_when_the_runner_is_killed_is_relayed_again_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (url, got) = hanging_receiver();

    // given a runner with a webhook whose receiver never answers
    let (mut server, _) = serve(&data, port);
    let token = token(&data);
    let http = palinsesto::outbound::plain_client(Duration::from_secs(30)).unwrap();
    let r = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": url, "events": ["post.failed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let webhook: Value = r.json().await.unwrap();
    let webhook = webhook["id"].as_str().unwrap().to_owned();

    // when a ping is written and the runner is killed while it delivers it
    let r = http
        .post(format!("{base}/v1/webhooks/{webhook}/ping"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let ping: Value = r.json().await.unwrap();
    let event = ping["event_id"].as_str().unwrap().to_owned();
    got.recv_timeout(Duration::from_secs(30))
        .expect("the relay starts delivering the ping");
    server.kill().unwrap();
    server.wait().unwrap();

    // then the next start relays the same event again, with its id
    let (mut server, mut out) = serve(&data, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut relayed_again = false;
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("domain event") && line.contains(&event) {
            relayed_again = true;
            break;
        }
    }
    assert!(
        relayed_again,
        "the ping {event} was not relayed after the restart"
    );

    // and its webhook delivery is still the one, waiting for its next attempt
    let http = palinsesto::outbound::plain_client(Duration::from_secs(30)).unwrap();
    let log: Value = http
        .get(format!("{base}/v1/webhooks/{webhook}/deliveries"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deliveries = log["items"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{log}");
    assert_eq!(deliveries[0]["event_id"], event.as_str());
    assert_eq!(deliveries[0]["state"], "pending", "{log}");
    assert!(deliveries[0]["next_attempt_at"].is_string(), "{log}");
    server.kill().unwrap();
    server.wait().unwrap();
}
