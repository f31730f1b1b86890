//! Mastodon's read-back after a lost answer: the account's recent statuses, and their HTML
//! reduced to text comparable with what was sent.

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::MastodonConnector;
use crate::domain::Secret;
use crate::networks::PublishError;

/// Mastodon's largest page of account statuses.
const PAGE: usize = 40;
/// A read-back looks at most this many pages: the window is minutes, not the account's history.
const MAX_PAGES: usize = 5;

/// A status as the server shows it: what publishing answers and what the read-back compares.
#[derive(Deserialize)]
pub(super) struct Status {
    pub(super) id: String,
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) content: String,
    /// Kept as text: one odd timestamp must not make the whole page unreadable.
    #[serde(default)]
    pub(super) created_at: Option<String>,
    #[serde(default)]
    pub(super) in_reply_to_id: Option<String>,
    #[serde(default)]
    pub(super) media_attachments: Vec<Value>,
    #[serde(default)]
    pub(super) reblog: Option<Value>,
}

/// The account a token acts as.
#[derive(Deserialize)]
pub(super) struct Me {
    pub(super) id: String,
}

impl MastodonConnector {
    /// The account the token acts as.
    pub(super) async fn me(&self, base: &str, token: &Secret) -> Result<Me, PublishError> {
        self.read(
            token,
            self.http
                .get(format!("{base}/api/v1/accounts/verify_credentials")),
        )
        .await
    }

    /// The brand's own statuses made since a minute before `first_attempt_at` (clock skew):
    /// what a read-back looks through.
    pub(super) async fn own_statuses_since(
        &self,
        base: &str,
        token: &Secret,
        first_attempt_at: Timestamp,
    ) -> Result<Vec<Status>, PublishError> {
        let since = first_attempt_at
            .checked_sub(jiff::SignedDuration::from_mins(1))
            .unwrap_or(first_attempt_at);
        let me = self.me(base, token).await?;
        self.recent_statuses(base, token, &me.id, since).await
    }

    /// The account's statuses made since `since`, newest first.
    pub(super) async fn recent_statuses(
        &self,
        base: &str,
        token: &Secret,
        account_id: &str,
        since: Timestamp,
    ) -> Result<Vec<Status>, PublishError> {
        let mut recent: Vec<Status> = Vec::new();
        let mut max_id: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("limit", PAGE.to_string()),
                ("exclude_reblogs", "true".to_owned()),
            ];
            if let Some(id) = &max_id {
                query.push(("max_id", id.clone()));
            }
            let request = self
                .http
                .get(format!("{base}/api/v1/accounts/{account_id}/statuses"))
                .query(&query);
            let page: Vec<Status> = self.read(token, request).await?;
            let full = page.len() >= PAGE;
            let reached_older = page
                .last()
                .and_then(created_at)
                .is_none_or(|oldest| oldest < since);
            max_id = page.last().map(|s| s.id.clone());
            recent.extend(
                page.into_iter()
                    .filter(|s| s.reblog.is_none() && created_at(s).is_some_and(|t| t >= since)),
            );
            if !full || reached_older {
                break;
            }
        }
        Ok(recent)
    }
}

pub(super) fn created_at(status: &Status) -> Option<Timestamp> {
    status.created_at.as_deref()?.parse().ok()
}

/// Notes for the follow-ups of a found post that are not on Mastodon: an earlier attempt can
/// have lost its answer after the post but before its thread.
pub(super) fn missing_replies(recent: &[Status], root_id: &str, thread: &[String]) -> Vec<String> {
    let mut parent = root_id.to_owned();
    for (i, text) in thread.iter().enumerate() {
        let wanted = comparable(text);
        let reply = recent.iter().find(|s| {
            s.in_reply_to_id.as_deref() == Some(parent.as_str())
                && comparable(&strip_html(&s.content)) == wanted
        });
        match reply {
            Some(reply) => parent = reply.id.clone(),
            None => {
                return vec![format!(
                    "the post was made, but follow-ups {} to {} of its thread are not on Mastodon; add them by hand",
                    i + 1,
                    thread.len()
                )];
            }
        }
    }
    Vec::new()
}

/// The visible text of a status's HTML `content`: tags removed, paragraphs and line breaks as
/// whitespace, entities decoded. Mastodon keeps a link's full text across its hidden spans.
pub(super) fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&decode_entities(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if tag == "p" || tag == "br" {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(&decode_entities(rest));
    text
}

fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &tail[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text reduced to what survives Mastodon's rendering: whitespace collapsed, and a remote mention
/// `@user@server` shown as `@user` (Mastodon displays only the local part).
pub(super) fn comparable(text: &str) -> String {
    text.split_whitespace()
        .map(|word| {
            let Some(at) = word.get(1..).and_then(|w| w.find('@')).map(|i| i + 1) else {
                return word.to_owned();
            };
            if !word.starts_with('@') {
                return word.to_owned();
            }
            let domain_end = word[at + 1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
                .map_or(word.len(), |i| at + 1 + i);
            // A sentence's full stop after the server name is not part of it.
            let domain_end = at + 1 + word[at + 1..domain_end].trim_end_matches('.').len();
            format!("{}{}", &word[..at], &word[domain_end..])
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_html_reads_back_as_the_text_that_was_sent() {
        let html = "<p>Caffè &amp; cornetto at 8 — <a href=\"https://example.com/menu?x=1\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"\">example.com/menu?x=1</span><span class=\"invisible\"></span></a></p><p>see you <span class=\"h-card\"><a href=\"https://other.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>.<br />it&#39;s <a href=\"https://m.example/tags/coffee\" class=\"mention hashtag\" rel=\"tag\">#<span>coffee</span></a></p>";
        let sent = "Caffè & cornetto at 8 — https://example.com/menu?x=1\n\nsee you @bob@other.example.\nit's #coffee";
        assert_eq!(comparable(&strip_html(html)), comparable(sent));
        assert_ne!(comparable(&strip_html(html)), comparable("something else"));
    }
}
