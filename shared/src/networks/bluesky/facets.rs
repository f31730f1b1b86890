//! Bluesky facets: the links, mentions and hashtags of a text at their UTF-8 byte ranges, found
//! the way Bluesky's own apps find them, with mentions resolved to DIDs.

use std::collections::HashMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use super::xrpc::{Call, Payload};
use super::{BlueskyConnector, service_url};
use crate::networks::Account;

const MAX_TAG_GRAPHEMES: usize = 64;

impl BlueskyConnector {
    /// Facets for the links, hashtags and mentions of `text`; a mention whose handle does not
    /// resolve stays plain text and is reported in `notes`.
    pub(super) async fn facets(
        &self,
        account: &Account<'_>,
        text: &str,
        resolved: &mut HashMap<String, Option<String>>,
        notes: &mut Vec<String>,
    ) -> Vec<Value> {
        let mut facets = Vec::new();
        for span in spans(text) {
            let feature = match &span.kind {
                SpanKind::Link(uri) => json!({"$type": "app.bsky.richtext.facet#link", "uri": uri}),
                SpanKind::Tag(tag) => json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
                SpanKind::Mention(handle) => {
                    let did = match resolved.get(handle) {
                        Some(did) => did.clone(),
                        None => {
                            let did = self.resolve_handle(account, handle).await;
                            if did.is_none() {
                                notes.push(format!(
                                    "@{handle} was left as plain text: Bluesky could not find that handle"
                                ));
                            }
                            resolved.insert(handle.clone(), did.clone());
                            did
                        }
                    };
                    match did {
                        Some(did) => {
                            json!({"$type": "app.bsky.richtext.facet#mention", "did": did})
                        }
                        None => continue,
                    }
                }
            };
            facets.push(json!({
                "index": {"byteStart": span.start, "byteEnd": span.end},
                "features": [feature],
            }));
        }
        facets
    }

    async fn resolve_handle(&self, account: &Account<'_>, handle: &str) -> Option<String> {
        let call = Call {
            method: Method::GET,
            nsid: "com.atproto.identity.resolveHandle",
            query: vec![("handle", handle.to_owned())],
            payload: Payload::Empty,
            creates: false,
        };
        #[derive(Deserialize)]
        struct Resolved {
            did: String,
        }
        let base = match self.session(account).await {
            Ok(session) => session.pds,
            Err(_) => service_url(account),
        };
        let answer = self.send(&base, &call, None).await.ok()?;
        if !answer.ok() {
            return None;
        }
        answer
            .parse::<Resolved>()
            .ok()
            .map(|r| r.did)
            .filter(|did| did.starts_with("did:"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SpanKind {
    Link(String),
    Tag(String),
    Mention(String),
}

/// A link, hashtag or mention at UTF-8 byte offsets `start..end` of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: SpanKind,
}

/// Finds links, hashtags and mentions the way Bluesky's own apps do: each starts a word (or
/// follows an opening parenthesis) and loses trailing punctuation.
fn spans(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    for (word_start, word) in words(text) {
        let (start, word) = match word.strip_prefix('(') {
            Some(rest) => (word_start + 1, rest),
            None => (word_start, word),
        };
        if let Some(link) = link_in(word) {
            found.push(Span {
                start,
                end: start + link.len(),
                kind: SpanKind::Link(link.to_owned()),
            });
        } else if let Some(rest) = word.strip_prefix('@') {
            if let Some(handle) = handle_in(rest) {
                found.push(Span {
                    start,
                    end: start + 1 + handle.len(),
                    kind: SpanKind::Mention(handle.to_ascii_lowercase()),
                });
            }
        } else if let Some((sign, rest)) = word
            .strip_prefix('#')
            .map(|r| (1, r))
            .or_else(|| word.strip_prefix('＃').map(|r| ('＃'.len_utf8(), r)))
            && let Some(tag) = tag_in(rest)
        {
            found.push(Span {
                start,
                end: start + sign + tag.len(),
                kind: SpanKind::Tag(tag.to_owned()),
            });
        }
    }
    found
}

/// Maximal runs of non-whitespace, with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &text[s..]));
    }
    words
}

fn link_in(word: &str) -> Option<&str> {
    let rest = word
        .strip_prefix("https://")
        .or_else(|| word.strip_prefix("http://"))?;
    let mut link = word;
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        // A closing parenthesis belongs to the link only if the link opened one.
        let trimmed = match trimmed.strip_suffix(')') {
            Some(t) if t.matches('(').count() < trimmed.matches(')').count() => t,
            _ => trimmed,
        };
        if trimmed.len() == link.len() {
            break;
        }
        link = trimmed;
    }
    let host_len = link.len() - (word.len() - rest.len());
    (host_len > 0 && !rest.starts_with(['/', '.'])).then_some(link)
}

/// A handle (a domain name of at least two labels) at the start of `rest`.
fn handle_in(rest: &str) -> Option<&str> {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    let handle = rest[..end].trim_end_matches('.');
    let labels: Vec<&str> = handle.split('.').collect();
    let valid = handle.len() <= 253
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        && labels
            .last()
            .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_alphabetic()));
    valid.then_some(handle)
}

/// A hashtag's tag (without `#`) at the start of `rest`.
fn tag_in(rest: &str) -> Option<&str> {
    // `#️⃣` (keycap) is an emoji, not a tag.
    if rest.starts_with('\u{fe0f}') {
        return None;
    }
    let tag =
        rest.trim_end_matches(|c: char| c.is_ascii_punctuation() || "…。、！？«»“”‘’".contains(c));
    let meaningful = tag.chars().any(|c| !c.is_ascii_digit());
    (meaningful && tag.graphemes(true).count() <= MAX_TAG_GRAPHEMES).then_some(tag)
}
#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(usize, usize, SpanKind)> {
        spans(text)
            .into_iter()
            .map(|s| (s.start, s.end, s.kind))
            .collect()
    }

    #[test]
    fn offsets_are_utf8_bytes_after_non_ascii_text() {
        let text = "Caffè ☕ #autunno https://example.com";
        let found = kinds(text);
        assert_eq!(
            found,
            vec![
                (11, 19, SpanKind::Tag("autunno".into())),
                (20, 39, SpanKind::Link("https://example.com".into())),
            ]
        );
        assert_eq!(&text.as_bytes()[11..19], "#autunno".as_bytes());
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_links_tags_or_handles() {
        let text = "See (https://example.com/a_(b)) and https://x.it/p. #tag! @ana.bsky.social.";
        let found = kinds(text);
        assert_eq!(
            found,
            vec![
                (5, 30, SpanKind::Link("https://example.com/a_(b)".into())),
                (36, 50, SpanKind::Link("https://x.it/p".into())),
                (52, 56, SpanKind::Tag("tag".into())),
                (58, 74, SpanKind::Mention("ana.bsky.social".into())),
            ]
        );
    }

    #[test]
    fn not_every_hash_or_at_sign_is_a_facet() {
        assert!(kinds("#123 #️⃣ mail me@example.com @nodot https:// a#b").is_empty());
    }
}
