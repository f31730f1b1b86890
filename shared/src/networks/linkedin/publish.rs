//! Publishing on LinkedIn: the post with its commentary in "little text", follow-ups as
//! comments, and the read-back among the author's recent posts.

use async_trait::async_trait;
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::json;
use unicode_normalization::UnicodeNormalization;

use super::client::{Session, Step, parse};
use super::{LinkedinConnector, endpoint};
use crate::domain::Network;
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_PAGE: usize = 20;
const READ_BACK_PAGES: usize = 5;

impl LinkedinConnector {
    async fn comment(
        &self,
        session: &mut Session<'_>,
        author: &str,
        post_urn: &str,
        text: &str,
    ) -> Result<(), PublishError> {
        // Comments carry plain text with attributes, not little text, so they are not escaped.
        let body = json!({
            "actor": author,
            "object": post_urn,
            "message": { "text": text },
        });
        session
            .send(Step::Create, |http| {
                http.post(self.url(&endpoint::comments(post_urn)))
                    .json(&body)
            })
            .await?;
        Ok(())
    }
}

fn post_url(urn: &str) -> String {
    format!("https://www.linkedin.com/feed/update/{urn}/")
}

/// Escapes text for LinkedIn's "little text" format (the `commentary` of a post). Unescaped, any
/// of these characters silently cuts the post short while the API reports success.
pub fn little_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|'
                | '{'
                | '}'
                | '@'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '*'
                | '_'
                | '~'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[async_trait]
impl Publish for LinkedinConnector {
    fn network(&self) -> Network {
        Network::Linkedin
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let author = ctx.account.setting("author")?;
        let mut session = Session::open(self, &ctx.account).await?;
        let content = self
            .content(&mut session, ctx.media, author, &post.media)
            .await?;
        let mut body = json!({
            "author": author,
            "commentary": little_text(&post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        if let Some(content) = content {
            body["content"] = content;
        }
        let response = session
            .send(Step::Create, |http| {
                http.post(self.url(endpoint::POSTS)).json(&body)
            })
            .await?;
        // The new post's URN comes only in this header; without it the post exists but is unnamed.
        let urn = response
            .headers()
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                PublishError::UnknownOutcome(
                    "LinkedIn accepted the post but did not say its id; it will be checked before any retry"
                        .into(),
                )
            })?;
        let mut published = Published::new(urn.clone(), Some(post_url(&urn)));

        for (i, text) in post.thread.iter().enumerate() {
            if let Err(e) = self.comment(&mut session, author, &urn, text).await {
                published
                    .notes
                    .push(comment_note(i + 1, post.thread.len(), &e));
                break;
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
        let author = ctx.account.setting("author")?;
        let mut session = Session::open(self, &ctx.account).await?;
        let since = post
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(post.first_attempt_at)
            .as_millisecond();
        let count = READ_BACK_PAGE.to_string();

        for page in 0..READ_BACK_PAGES {
            let start = (page * READ_BACK_PAGE).to_string();
            let response = session
                .send(Step::Read, |http| {
                    http.get(self.url(endpoint::POSTS))
                        .header("X-RestLi-Method", "FINDER")
                        .query(&[
                            ("author", author),
                            ("q", "author"),
                            ("count", count.as_str()),
                            ("start", start.as_str()),
                            ("sortBy", "CREATED"),
                        ])
                })
                .await?;
            let found = parse::<Elements>(response, Step::Read).await?;
            if let Some(hit) = found.elements.iter().find(|p| {
                p.created_at.is_none_or(|at| at >= since)
                    && same_commentary(p.commentary.as_deref().unwrap_or_default(), &post.text)
            }) {
                let mut published = Published::new(hit.id.clone(), Some(post_url(&hit.id)));
                if !post.thread.is_empty() {
                    published.notes.push(format!(
                        "the post was found on LinkedIn, but its {} comment(s) were not posted because the answer to the post itself was lost; add them by hand if they are still wanted",
                        post.thread.len()
                    ));
                }
                published.notes.append(&mut session.notes);
                return Ok(ReadBack::Found(published));
            }
            // Newest first: a page ending before the window, or a short page, ends the search.
            let passed_window = found
                .elements
                .iter()
                .any(|p| p.created_at.is_some_and(|at| at < since));
            if passed_window || found.elements.len() < READ_BACK_PAGE {
                return Ok(ReadBack::NotFound);
            }
        }
        Ok(ReadBack::CannotTell(format!(
            "the account made more than {} LinkedIn posts since the first attempt; check by hand whether the post was made",
            READ_BACK_PAGE * READ_BACK_PAGES
        )))
    }
}

/// Whether a post's commentary, as LinkedIn returns it, is the text we sent (escaped, or as
/// written should LinkedIn return it unescaped).
fn same_commentary(shown: &str, sent: &str) -> bool {
    let shown: String = shown.trim().nfc().collect();
    let sent: String = sent.trim().nfc().collect();
    shown == little_text(&sent) || shown == sent
}

fn comment_note(number: usize, total: usize, e: &PublishError) -> String {
    let skipped = if number < total {
        format!("; the {} after it were not posted either", total - number)
    } else {
        String::new()
    };
    match e {
        PublishError::UnknownOutcome(_) => format!(
            "comment {number} of {total} may or may not have been posted (LinkedIn's answer was lost); check the post on LinkedIn{skipped}"
        ),
        e => format!("comment {number} of {total} was not posted: {e}{skipped}"),
    }
}

#[derive(Deserialize)]
struct Elements {
    #[serde(default)]
    elements: Vec<PostElement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostElement {
    id: String,
    commentary: Option<String>,
    /// Milliseconds since the epoch.
    created_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_character_is_escaped() {
        assert_eq!(
            little_text(r"\|{}@[]()<>#*_~"),
            r"\\\|\{\}\@\[\]\(\)\<\>\#\*\_\~"
        );
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let text = "Ciao! Prezzi: 10€ - 20% off, domani alle 9:30. Emoji 🎉 & \"quotes\"\nnew line";
        assert_eq!(little_text(text), text);
        assert_eq!(little_text(""), "");
    }

    #[test]
    fn a_launch_post_is_escaped_as_linkedin_expects() {
        assert_eq!(
            little_text("Launch (beta) #news @acme"),
            r"Launch \(beta\) \#news \@acme"
        );
        // A backslash already in the text is itself escaped, never taken as an escape.
        assert_eq!(little_text(r"C:\path (x)"), r"C:\\path \(x\)");
    }

    #[test]
    fn commentary_matches_in_escaped_or_plain_form() {
        let sent = "Launch (beta) #news";
        assert!(same_commentary(r"Launch \(beta\) \#news", sent));
        assert!(same_commentary(sent, sent));
        assert!(!same_commentary(r"Launch \(beta\)", sent));
    }
}
