//! What publishing on Meta's networks shares: the permalink of a post, follow-ups as comments,
//! and the read-back that recognises an earlier attempt by its text.

use jiff::Timestamp;
use serde_json::Value;

use super::client::{Call, Graph};
use crate::domain::Secret;
use crate::networks::{Outgoing, PublishError, Published, ReadBack};

/// The post's permalink, best effort: the post is made whether or not this answers.
pub async fn permalink(graph: &Graph, token: &Secret, id: &str) -> Option<String> {
    match graph
        .get(&[id], token, &[("fields", "permalink".to_owned())])
        .await
    {
        Ok(answer) => answer
            .get("permalink")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Err(f) => {
            tracing::warn!(network = graph.network, error = %f.error, "could not read the permalink of a published post");
            None
        }
    }
}

/// Posts each follow-up as a comment under the post; a failure is a note, since the post is made.
pub async fn comment(
    graph: &Graph,
    token: &Secret,
    post_id: &str,
    thread: &[String],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, text) in thread.iter().enumerate() {
        let which = if i == 0 {
            "the first comment".to_owned()
        } else {
            format!("comment {}", i + 1)
        };
        if let Err(f) = graph
            .post(
                Call::POST,
                &[post_id, "comments"],
                token,
                &[("message", text.clone())],
            )
            .await
        {
            notes.push(follow_up_note(graph.network, &which, &f.error));
        }
    }
    notes
}

/// A follow-up that failed, in plain words; a lost answer means it may be there after all.
pub fn follow_up_note(network: &str, which: &str, error: &PublishError) -> String {
    match error {
        PublishError::UnknownOutcome(_) => format!(
            "{which} may not have been posted: {network} did not answer. Check the post on {network}"
        ),
        other => format!("{which} was not posted: {other}"),
    }
}

/// Where an account's recent posts are listed and which fields hold their text and time.
pub struct RecentPosts<'a> {
    pub node: &'a str,
    pub edge: &'static str,
    pub text_field: &'static str,
    pub time_field: &'static str,
    pub permalink_field: Option<&'static str>,
}

/// Read-back after an unknown outcome: Meta has no idempotency key, so an earlier attempt is
/// recognised by its text among the account's posts since the attempt began.
pub async fn find_by_text(
    graph: &Graph,
    token: &Secret,
    recent: RecentPosts<'_>,
    post: &Outgoing,
    url_of: impl Fn(&str) -> Option<String>,
) -> Result<ReadBack, PublishError> {
    const MAX_PAGES: usize = 5;
    let network = graph.network;
    let wanted = normalized(&post.text);
    if wanted.is_empty() {
        return Ok(ReadBack::CannotTell(format!(
            "a post without text cannot be told apart from the account's other recent posts on {network}; check the account before publishing again"
        )));
    }
    // A minute of slack for the network's clock.
    let since = post.first_attempt_at.as_second() - 60;
    let mut fields = vec!["id", recent.text_field, recent.time_field];
    fields.extend(recent.permalink_field);
    let mut query = vec![
        ("fields", fields.join(",")),
        ("since", since.to_string()),
        ("limit", "100".to_owned()),
    ];
    let mut matches = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = graph
            .get(&[recent.node, recent.edge], token, &query)
            .await?;
        let items = page.get("data").and_then(Value::as_array);
        let mut older_seen = false;
        for item in items.into_iter().flatten() {
            let at = item
                .get(recent.time_field)
                .and_then(Value::as_str)
                .and_then(graph_time);
            if at.is_some_and(|at| at.as_second() < since) {
                older_seen = true;
                continue;
            }
            let text = item
                .get(recent.text_field)
                .and_then(Value::as_str)
                .unwrap_or("");
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            if normalized(text) == wanted {
                let link = recent
                    .permalink_field
                    .and_then(|f| item.get(f))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                matches.push((at, id.to_owned(), link));
            }
        }
        let after = page
            .pointer("/paging/cursors/after")
            .and_then(Value::as_str)
            .filter(|_| page.pointer("/paging/next").is_some());
        match after {
            Some(after) if !older_seen => {
                query.retain(|(k, _)| *k != "after");
                query.push(("after", after.to_owned()));
            }
            _ => break,
        }
    }
    // The earliest match is the earlier attempt; a later one would be the brand posting it again.
    matches.sort_by_key(|(at, _, _)| *at);
    let Some((_, id, link)) = matches.into_iter().next() else {
        return Ok(ReadBack::NotFound);
    };
    let url = link.or_else(|| url_of(&id));
    let mut found = Published::new(id, url);
    if !post.thread.is_empty() {
        found.notes.push(format!(
            "the post was found on {network} after its answer was lost; its follow-ups were not posted"
        ));
    }
    Ok(ReadBack::Found(found))
}

/// Meta may trim a text or change its line endings: compare texts the way they read.
fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Graph times look like `2024-05-01T10:00:00+0000`.
pub fn graph_time(raw: &str) -> Option<Timestamp> {
    jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", raw)
        .and_then(|t| t.to_timestamp())
        .ok()
        .or_else(|| raw.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_parse_with_and_without_a_colon_in_the_offset() {
        assert_eq!(
            graph_time("2024-05-01T10:00:00+0000"),
            "2024-05-01T10:00:00Z".parse().ok()
        );
        assert_eq!(
            graph_time("2024-05-01T10:00:00+00:00"),
            "2024-05-01T10:00:00Z".parse().ok()
        );
    }
}
