//! X's webhook deliveries, checked before this by their `x-twitter-webhooks-signature`
//! ("sha256=" + base64 HMAC-SHA256 of the body keyed by the consumer secret). Two shapes
//! (xdevplatform/docs, read 2026-12-06):
//! - Account Activity API: `{"for_user_id", "tweet_create_events": [v1.1 Tweet objects]}`
//!   (x-api/account-activity/introduction.mdx), posts, replies, mentions and quotes alike;
//! - X Activity API: `{"data": {"event_type", "filter": {"user_id"}, "payload": Post, "includes"}}`
//!   with `post.mention.create`, `post.reply.create`, `post.quote.create` and `post.create`
//!   (the brand's own) (x-api/activity/event-payloads.mdx).
//!
//! Both become the reads' v2 shape and the reads' mapping, so a post has one id however it came.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::XConnector;
use super::inbox::{Brand, Heard, Includes, hear};
use crate::domain::inbox::InteractionKind;
use crate::networks::{ParsePush, Pushed};

impl ParsePush for XConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let body: Value =
            serde_json::from_slice(body).map_err(|e| format!("the X delivery is not JSON: {e}"))?;
        if let Some(user) = body.get("for_user_id").and_then(Value::as_str) {
            return Ok(vec![account_activity(user, &body)]);
        }
        if let Some(event) = body.get("data").filter(|d| d.get("event_type").is_some()) {
            return Ok(activity_event(event).into_iter().collect());
        }
        Err(
            "the X delivery is neither an Account Activity event (for_user_id) nor an X Activity API event (data.event_type)"
                .into(),
        )
    }
}

fn add(pushed: &mut Pushed, heard: Option<Heard>) {
    match heard {
        Some(Heard::Found(found)) => pushed.found.push(*found),
        Some(Heard::Native(native)) => pushed.native.push(native),
        None => {}
    }
}

/// An Account Activity delivery: its `tweet_create_events`; other events are skipped.
fn account_activity(user: &str, body: &Value) -> Pushed {
    let mut pushed = Pushed {
        account: user.to_owned(),
        ..Pushed::default()
    };
    let brand = Brand {
        user_id: user,
        recent: &[],
    };
    for tweet in body
        .get("tweet_create_events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some((post, includes)) = as_v2(tweet) else {
            continue;
        };
        // A post that neither answers, quotes nor names the brand is not for it (its own posts,
        // someone's reply to another person in the brand's thread is read by the poll).
        let named = post["entities"]["mentions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["id"].as_str() == Some(user));
        let answers = post["in_reply_to_user_id"].as_str() == Some(user);
        let quotes = includes
            .tweets
            .iter()
            .any(|t| t["author_id"].as_str() == Some(user));
        let own = post["author_id"].as_str() == Some(user);
        if own || named || answers || quotes {
            add(&mut pushed, hear(&post, &includes, &brand, None, tweet));
        }
    }
    pushed
}

/// A v1.1 Tweet object in the v2 Post shape the reads get, with its author and quoted post as
/// `includes`.
fn as_v2(tweet: &Value) -> Option<(Value, Includes)> {
    let id = tweet["id_str"].as_str()?;
    let user = &tweet["user"];
    let author = user["id_str"].as_str()?;
    let created_at =
        Timestamp::strptime("%a %b %d %H:%M:%S %z %Y", tweet["created_at"].as_str()?).ok()?;
    let text = tweet["extended_tweet"]["full_text"]
        .as_str()
        .or_else(|| tweet["text"].as_str())
        .unwrap_or_default();
    let mut references = Vec::new();
    if let Some(parent) = tweet["in_reply_to_status_id_str"].as_str() {
        references.push(json!({"type": "replied_to", "id": parent}));
    }
    let mut tweets = Vec::new();
    if let Some(quoted) = tweet["quoted_status_id_str"].as_str() {
        references.push(json!({"type": "quoted", "id": quoted}));
        if let Some(quoted_author) = tweet["quoted_status"]["user"]["id_str"].as_str() {
            tweets.push(json!({"id": quoted, "author_id": quoted_author}));
        }
    }
    let mentions: Vec<Value> = tweet["extended_tweet"]["entities"]["user_mentions"]
        .as_array()
        .or_else(|| tweet["entities"]["user_mentions"].as_array())
        .into_iter()
        .flatten()
        .map(|m| json!({"id": m["id_str"], "username": m["screen_name"]}))
        .collect();
    let mut post = json!({
        "id": id,
        "author_id": author,
        "text": text,
        "created_at": created_at.to_string(),
        "referenced_tweets": references,
        "entities": {"mentions": mentions},
    });
    if let Some(to) = tweet["in_reply_to_user_id_str"].as_str() {
        post["in_reply_to_user_id"] = json!(to);
    }
    let users = vec![json!({
        "id": author,
        "username": user["screen_name"],
        "name": user["name"],
        "public_metrics": {"followers_count": user["followers_count"]},
    })];
    Some((post, Includes { users, tweets }))
}

/// An X Activity API event: the post events that concern the brand; others are skipped.
fn activity_event(event: &Value) -> Option<Pushed> {
    let user = event.pointer("/filter/user_id")?.as_str()?;
    let mut pushed = Pushed {
        account: user.to_owned(),
        ..Pushed::default()
    };
    let kind = match event.get("event_type")?.as_str()? {
        "post.mention.create" => Some(InteractionKind::Mention),
        "post.reply.create" => Some(InteractionKind::Reply),
        "post.quote.create" => Some(InteractionKind::Quote),
        // The brand's own posts: its replies are native responses.
        "post.create" => None,
        _ => return Some(pushed),
    };
    let post = event.get("payload")?;
    let includes: Includes = event
        .get("includes")
        .and_then(|i| serde_json::from_value(i.clone()).ok())
        .unwrap_or_default();
    let brand = Brand {
        user_id: user,
        recent: &[],
    };
    add(&mut pushed, hear(post, &includes, &brand, kind, post));
    Some(pushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_activity_mention_reads_like_the_mentions_timeline() {
        let body = json!({"for_user_id": "1", "user_has_blocked": "false", "tweet_create_events": [{
            "created_at": "Mon May 19 14:01:46 +0000 2025", "id_str": "300", "text": "hey @acme",
            "user": {"id_str": "2", "screen_name": "ada", "name": "Ada", "followers_count": 5},
            "entities": {"user_mentions": [{"id_str": "1", "screen_name": "acme"}]}
        }]});
        let x = XConnector::new(
            crate::outbound::OutboundClient::new(crate::domain::OutboundPolicy::PUBLIC_ONLY)
                .expect("a client"),
            "https://api.x.com",
        );
        let pushed = x.parse(body.to_string().as_bytes()).expect("parsed");
        assert_eq!(pushed[0].account, "1");
        let found = &pushed[0].found[0];
        assert_eq!(found.external_id, "300");
        assert_eq!(found.kind, InteractionKind::Mention);
        assert_eq!(found.author.handle, "@ada");
        assert_eq!(found.created_at.to_string(), "2025-05-19T14:01:46Z");
    }
}
