//! The brand's audit log: every security-relevant action is recorded with who, when, what and
//! the route it came through, in the same write as the change; owners and managers read it with
//! filters and cursor pages; another brand's log does not exist.

use palinsesto_system_tests::app::{Client, Reply, TestApp};
use serde_json::{Value, json};

/// A post action with the ETag of the previous answer.
async fn act(c: &Client, path: &str, previous: &Reply) -> Reply {
    let r = c.action(path, Some(&previous.etag())).await;
    assert_eq!(r.status.as_u16(), 200, "{path}: {}", r.body);
    r
}

async fn audit(c: &Client, query: &str) -> Vec<Value> {
    let r = c.get(&format!("/v1/audit{query}")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_security_relevant_action_is_recorded_with_who_when_what_and_route() {
    // given a brand that needs approval, its channel and a post in review
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", true).await;
    let manager = app.client("acme", "manager");
    let editor = app.client("acme", "editor");
    let ch = app.channel("acme").await;
    let r = manager
        .put(
            &format!("/v1/channels/{ch}/credentials"),
            json!({"access_token": "sup3r-s3cret"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let draft = editor
        .post("/v1/posts", json!({"text": "Autumn menu", "channels": [ch], "publish_at": "2027-02-01T09:00:00+01:00"}))
        .await;
    let post = draft.body["id"].as_str().unwrap().to_owned();
    let p = |action: &str| format!("/v1/posts/{post}/{action}");

    // when it is rejected, approved, scheduled, unscheduled, published now and cancelled
    let submitted = act(&editor, &p("submit"), &draft).await;
    let rejected = act(&manager, &p("reject"), &submitted).await;
    let submitted = act(&editor, &p("submit"), &rejected).await;
    let approved = act(&manager, &p("approve"), &submitted).await;
    let scheduled = act(&manager, &p("schedule"), &approved).await;
    let unscheduled = act(&manager, &p("unschedule"), &scheduled).await;
    let now = act(&manager, &p("publish-now"), &unscheduled).await;
    act(&manager, &p("cancel"), &now).await;
    // and the channel is disabled, moved to another server, and deleted
    let current = manager.get(&format!("/v1/channels/{ch}")).await;
    let disabled = manager
        .patch(
            &format!("/v1/channels/{ch}"),
            json!({"status": "disabled"}),
            Some(&current.etag()),
        )
        .await;
    assert_eq!(disabled.status.as_u16(), 200, "{}", disabled.body);
    let moved = manager
        .patch(
            &format!("/v1/channels/{ch}"),
            json!({"settings": {"instance_url": "https://other.example"}}),
            Some(&disabled.etag()),
        )
        .await;
    assert_eq!(moved.status.as_u16(), 200, "{}", moved.body);
    let r = manager
        .delete(&format!("/v1/channels/{ch}"), Some(&moved.etag()))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    // and a webhook is made, changed, pinged and deleted, and the owner turns approval off
    let hook = manager
        .post(
            "/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["post.failed"]}),
        )
        .await;
    let hook_id = hook.body["id"].as_str().unwrap().to_owned();
    let changed = manager
        .patch(
            &format!("/v1/webhooks/{hook_id}"),
            json!({"active": false}),
            Some(&hook.etag()),
        )
        .await;
    manager
        .action(&format!("/v1/webhooks/{hook_id}/ping"), None)
        .await;
    manager
        .delete(&format!("/v1/webhooks/{hook_id}"), Some(&changed.etag()))
        .await;
    let owner = app.client("acme", "owner");
    let profile = owner.get("/v1/brand").await;
    let r = owner
        .patch(
            "/v1/brand",
            json!({"approval_required": false}),
            Some(&profile.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);

    // then the log holds each, newest first, with who did it and through which route
    let entries = audit(&manager, "?limit=200").await;
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["route"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("brand.updated", "owner@acme", "PATCH /v1/brand"),
        (
            "webhook.deleted",
            "manager@acme",
            "DELETE /v1/webhooks/{id}",
        ),
        (
            "webhook.pinged",
            "manager@acme",
            "POST /v1/webhooks/{id}/ping",
        ),
        ("webhook.updated", "manager@acme", "PATCH /v1/webhooks/{id}"),
        ("webhook.created", "manager@acme", "POST /v1/webhooks"),
        (
            "channel.deleted",
            "manager@acme",
            "DELETE /v1/channels/{id}",
        ),
        (
            "channel.endpoint_changed",
            "manager@acme",
            "PATCH /v1/channels/{id}",
        ),
        ("channel.updated", "manager@acme", "PATCH /v1/channels/{id}"),
        (
            "post.cancelled",
            "manager@acme",
            "POST /v1/posts/{id}/cancel",
        ),
        (
            "post.publish_now",
            "manager@acme",
            "POST /v1/posts/{id}/publish-now",
        ),
        (
            "post.unscheduled",
            "manager@acme",
            "POST /v1/posts/{id}/unschedule",
        ),
        (
            "post.scheduled",
            "manager@acme",
            "POST /v1/posts/{id}/schedule",
        ),
        (
            "post.approved",
            "manager@acme",
            "POST /v1/posts/{id}/approve",
        ),
        (
            "post.rejected",
            "manager@acme",
            "POST /v1/posts/{id}/reject",
        ),
        (
            "channel.credentials_replaced",
            "manager@acme",
            "PUT /v1/channels/{id}/credentials",
        ),
        ("channel.created", "manager@acme", "POST /v1/channels"),
        ("brand.updated", "owner@acme", "PUT /v1/brand"),
    ];
    assert_eq!(seen, expected);
    // each names what it was done to and when, and never a secret
    let credentials = &entries[14];
    assert_eq!(credentials["target"], format!("channel/{ch}"));
    assert_eq!(credentials["role"], "manager");
    assert!(
        credentials["at"]
            .as_str()
            .unwrap()
            .starts_with("2027-01-15T10:00:00")
    );
    let all = serde_json::to_string(&entries).unwrap();
    assert!(!all.contains("sup3r-s3cret"), "{all}");
    assert!(!all.contains("whsec_"), "{all}");
    assert_eq!(entries[0]["details"]["approval_required"], false);

    // and the filters narrow it
    let approvals = audit(&manager, "?action=post.approved").await;
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["target"], format!("post/{post}"));
    assert_eq!(audit(&manager, "?actor=owner@acme").await.len(), 2);
    assert_eq!(
        audit(&manager, &format!("?target=channel/{ch}"))
            .await
            .len(),
        5
    );
    assert!(
        audit(&manager, "?from=2027-01-16T00:00:00Z")
            .await
            .is_empty()
    );
    assert_eq!(
        audit(
            &manager,
            "?from=2027-01-15T00:00:00Z&to=2027-01-16T00:00:00Z"
        )
        .await
        .len(),
        expected.len()
    );
    let r = manager.get("/v1/audit?action=post.exploded").await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
}

#[tokio::test]
async fn the_log_is_read_in_cursor_pages_by_managers_and_owners_of_the_brand_only() {
    // given a brand with a few recorded actions
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("other", "Europe/Rome", false).await;
    for _ in 0..3 {
        app.channel("acme").await;
    }
    let manager = app.client("acme", "manager");

    // when it is read two at a time
    let first = manager.get("/v1/audit?limit=2").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = manager
        .get(&format!("/v1/audit?limit=2&cursor={cursor}"))
        .await;

    // then the pages hold every entry once, newest first
    let ids: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["items"].as_array().unwrap())
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        4,
        "the brand's profile and three channels: {} then {}",
        first.body,
        second.body
    );
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(ids, sorted);
    assert!(second.body["next_cursor"].is_null());
    assert_eq!(
        manager
            .get("/v1/audit?cursor=bm90LWEtY3Vyc29y")
            .await
            .status
            .as_u16(),
        422
    );

    // and another brand's people see only their own log, and below manager nobody reads it
    let theirs = audit(&app.client("other", "owner"), "").await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["target"], "brand/other");
    for role in ["viewer", "editor"] {
        let r = app.client("acme", role).get("/v1/audit").await;
        assert_eq!(r.status.as_u16(), 403, "{role}: {}", r.body);
    }
    assert_eq!(audit(&app.client("acme", "owner"), "").await.len(), 4);
}
