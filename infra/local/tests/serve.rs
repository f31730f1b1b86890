//! The `palinsesto` binary as a newcomer uses it: serve on a fresh folder, mint a token, write,
//! Ctrl-C, start again, and find everything still there.

mod support;

use std::process::Command;

use support::{BIN, free_port, interrupt, serve, token};

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
