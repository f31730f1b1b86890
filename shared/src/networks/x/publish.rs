//! Publishing on X: the post with its media, follow-ups as a chain of replies, and the read-back
//! that recognises an earlier attempt among the account's recent posts by its text.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use super::client::{Created, Data, Session, Step, parse};
use super::{XConnector, endpoint};
use crate::domain::Network;
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

/// How far before the first attempt the read-back looks, for clock skew between us and X.
const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_PAGE: u32 = 20;
const READ_BACK_PAGES: usize = 5;

impl XConnector {
    pub(super) async fn create_tweet(
        &self,
        session: &mut Session<'_>,
        text: &str,
        media_ids: &[String],
        in_reply_to: Option<&str>,
    ) -> Result<String, PublishError> {
        let mut body = json!({ "text": text });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        if let Some(parent) = in_reply_to {
            body["reply"] = json!({ "in_reply_to_tweet_id": parent });
        }
        let response = session
            .send(Step::Create, |http| {
                http.post(self.url(endpoint::TWEETS)).json(&body)
            })
            .await?;
        Ok(parse::<Data<Created>>(response, Step::Create)
            .await?
            .data
            .id)
    }

    pub(super) async fn user_id(&self, session: &mut Session<'_>) -> Result<String, PublishError> {
        let channel = session.account.channel;
        let key = format!("{}@{:?}", channel.id, channel.credentials_updated_at);
        if let Some(id) = self.cached_user_id(&key) {
            return Ok(id);
        }
        let response = session
            .send(Step::Read, |http| http.get(self.url(endpoint::USERS_ME)))
            .await?;
        let id = parse::<Data<Created>>(response, Step::Read).await?.data.id;
        if let Ok(mut ids) = self.user_ids.lock() {
            ids.insert(key, id.clone());
        }
        Ok(id)
    }

    fn cached_user_id(&self, key: &str) -> Option<String> {
        self.user_ids.lock().ok()?.get(key).cloned()
    }
}

pub(super) fn tweet_url(id: &str) -> String {
    format!("https://x.com/i/web/status/{id}")
}

#[async_trait]
impl Publish for XConnector {
    fn network(&self) -> Network {
        Network::X
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let mut media_ids = Vec::with_capacity(post.media.len());
        for (i, asset) in post.media.iter().enumerate() {
            media_ids.push(self.upload(&mut session, ctx.media, asset, i + 1).await?);
        }
        let id = self
            .create_tweet(&mut session, &post.text, &media_ids, None)
            .await?;
        let mut published = Published::new(id.clone(), Some(tweet_url(&id)));

        let mut parent = id;
        for (i, reply) in post.thread.iter().enumerate() {
            match self
                .create_tweet(&mut session, reply, &[], Some(&parent))
                .await
            {
                Ok(reply_id) => parent = reply_id,
                Err(e) => {
                    // Each reply hangs on the one before it: after a gap the rest would be out of order.
                    published
                        .notes
                        .push(follow_up_note(i + 1, post.thread.len(), &e));
                    break;
                }
            }
        }
        published.notes.append(&mut session.notes);
        Ok(published)
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let user_id = self.user_id(&mut session).await?;
        let since = post
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(post.first_attempt_at);
        // X wants whole seconds in start_time.
        let since = Timestamp::from_second(since.as_second()).unwrap_or(since);
        let start_time = since.to_string();
        let max_results = READ_BACK_PAGE.to_string();

        let mut page_token: Option<String> = None;
        for _ in 0..READ_BACK_PAGES {
            let response = session
                .send(Step::Read, |http| {
                    let mut query = vec![
                        ("max_results", max_results.as_str()),
                        ("start_time", start_time.as_str()),
                    ];
                    if let Some(token) = &page_token {
                        query.push(("pagination_token", token.as_str()));
                    }
                    http.get(self.url(&endpoint::user_tweets(&user_id)))
                        .query(&query)
                })
                .await?;
            let timeline = parse::<Timeline>(response, Step::Read).await?;
            if let Some(tweet) = timeline
                .data
                .iter()
                .find(|t| same_text(&t.text, &post.text))
            {
                let mut found = Published::new(tweet.id.clone(), Some(tweet_url(&tweet.id)));
                if !post.thread.is_empty() {
                    found.notes.push(format!(
                        "the post was found on X, but its {} follow-up(s) were not posted because the answer to the post itself was lost; add them by hand if they are still wanted",
                        post.thread.len()
                    ));
                }
                found.notes.append(&mut session.notes);
                return Ok(ReadBack::Found(found));
            }
            match timeline.meta.next_token {
                Some(token) => page_token = Some(token),
                None => return Ok(ReadBack::NotFound),
            }
        }
        Ok(ReadBack::CannotTell(format!(
            "the account posted more than {} times on X since {start_time}; check by hand whether the post was made",
            READ_BACK_PAGE as usize * READ_BACK_PAGES
        )))
    }
}

fn follow_up_note(number: usize, total: usize, e: &PublishError) -> String {
    let skipped = if number < total {
        format!("; the {} after it were not posted either", total - number)
    } else {
        String::new()
    };
    match e {
        PublishError::UnknownOutcome(_) => format!(
            "follow-up {number} of {total} may or may not have been posted (X's answer was lost); check the thread on X{skipped}"
        ),
        e => format!("follow-up {number} of {total} was not posted: {e}{skipped}"),
    }
}

/// Whether a post shown on X is the one we sent. X shows URLs as t.co links, appends one for
/// attached media, and HTML-escapes `& < >`; so every URL shown stands for any run of non-space
/// characters, a trailing shown URL may be extra, and both sides are NFC-normalized.
pub fn same_text(shown: &str, sent: &str) -> bool {
    let shown = shown
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let shown = normalize(&shown);
    let sent: Vec<char> = normalize(sent).chars().collect();
    let mut pattern = url_pattern(&shown);
    if matches(&pattern, &sent) {
        return true;
    }
    if pattern.last() == Some(&Piece::Url) {
        pattern.pop();
        if let Some(Piece::Text(last)) = pattern.last_mut() {
            while last.last().is_some_and(|c| c.is_whitespace()) {
                last.pop();
            }
            if last.is_empty() {
                pattern.pop();
            }
        }
        return matches(&pattern, &sent);
    }
    false
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").trim().nfc().collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<char>),
    Url,
}

fn url_pattern(shown: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut rest = shown;
    while !rest.is_empty() {
        if rest.starts_with("https://") || rest.starts_with("http://") {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Url);
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[end..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                text.push(c);
            }
            rest = chars.as_str();
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

fn matches(pattern: &[Piece], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Piece::Text(literal), rest)) => {
            text.starts_with(literal) && matches(rest, &text[literal.len()..])
        }
        Some((Piece::Url, rest)) => {
            let run = text.iter().take_while(|c| !c.is_whitespace()).count();
            (1..=run).any(|n| matches(rest, &text[n..]))
        }
    }
}

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<TimelineTweet>,
    #[serde(default)]
    meta: TimelineMeta,
}

#[derive(Deserialize)]
struct TimelineTweet {
    id: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize, Default)]
struct TimelineMeta {
    next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_matches_itself_and_not_another() {
        assert!(same_text("Hello world", "Hello world"));
        assert!(!same_text("Hello world", "Hello world!"));
        assert!(!same_text("Hello", "Hello world"));
    }

    #[test]
    fn shortened_urls_and_escaped_entities_still_match() {
        let sent = "Launch & <news>: https://example.com/a?b=1 and example.org/x";
        let shown = "Launch &amp; &lt;news&gt;: https://t.co/abc123 and https://t.co/def456";
        assert!(same_text(shown, sent));
    }

    #[test]
    fn a_trailing_media_link_is_allowed() {
        assert!(same_text("Photo day https://t.co/pic", "Photo day"));
        assert!(same_text("https://t.co/pic", ""));
        assert!(!same_text("Photo day https://t.co/pic", "Photo night"));
    }

    #[test]
    fn a_url_stands_only_for_non_space_text() {
        assert!(!same_text("see https://t.co/x now", "see two words now"));
        assert!(same_text(
            "see https://t.co/x.",
            "see https://example.com/page."
        ));
    }

    #[test]
    fn normalization_forms_are_equal() {
        // "é" precomposed versus "e" + combining acute.
        assert!(same_text("caf\u{e9}", "cafe\u{301}"));
        assert!(same_text("  line\r\nnext ", "line\nnext"));
    }
}
