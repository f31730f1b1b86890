//! Publishing on Mastodon: media uploads and the server's processing of them, statuses sent with
//! an idempotency key, follow-ups as a chain of replies, and the read-back after a lost answer.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde_json::{Value, json};

use super::MastodonConnector;
use super::client::{Call, decode, instance_url, refused};
use super::read_back::{Status, comparable, created_at, missing_replies, strip_html};
use super::rules::RULES_TTL;
use crate::domain::preflight::Rules;
use crate::domain::{Asset, MediaKind, Network, Secret};
use crate::networks::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack,
};

#[derive(Deserialize)]
struct MediaAttachment {
    id: String,
}

#[async_trait]
impl Publish for MastodonConnector {
    fn network(&self) -> Network {
        Network::Mastodon
    }

    async fn rules(&self, account: &Account<'_>) -> Result<Rules, PublishError> {
        let base = instance_url(account)?;
        let cached = self
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&base)
            .cloned();
        if let Some((read_at, rules)) = &cached
            && read_at.elapsed() < RULES_TTL
        {
            return Ok(rules.clone());
        }
        match self
            .fetch_rules(&base, account.credentials().get("access_token"))
            .await
        {
            Ok(rules) => {
                self.rules
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(base, (Instant::now(), rules.clone()));
                Ok(rules)
            }
            // Limits from a few minutes ago beat refusing to check a post at all.
            Err(e) => cached.map(|(_, rules)| rules).ok_or(e),
        }
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let mut media_ids = Vec::with_capacity(post.media.len());
        for asset in &post.media {
            media_ids.push(self.upload(ctx, &base, token, asset).await?);
        }
        let root = self
            .create_status(
                &base,
                token,
                &post.key,
                json!({"status": post.text, "media_ids": media_ids, "visibility": "public"}),
            )
            .await?;
        let mut published = Published::new(root.id.clone(), root.url.clone());
        published.notes = self.post_thread(&base, token, post, root.id).await;
        Ok(published)
    }

    // Re-sending the status with the same Idempotency-Key would return the original if there is
    // one, but it CREATES the status if there is none (and the key is only kept about an hour):
    // that is a publish, not a read. So the read-back looks at the account's own recent statuses
    // for one made since the first attempt (less a minute of clock skew) whose text, with
    // Mastodon's HTML taken off, and number of media match. A retry after NotFound still carries
    // the same key, so even a status this misses is not posted twice within the hour.
    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let recent = self
            .own_statuses_since(&base, token, post.first_attempt_at)
            .await?;

        let wanted = comparable(&post.text);
        let root = recent
            .iter()
            .filter(|s| {
                s.in_reply_to_id.is_none()
                    && s.media_attachments.len() == post.media.len()
                    && comparable(&strip_html(&s.content)) == wanted
            })
            // The oldest match is the original; a later one would be someone posting it by hand.
            .min_by_key(|s| created_at(s));
        let Some(root) = root else {
            return Ok(ReadBack::NotFound);
        };
        let mut found = Published::new(root.id.clone(), root.url.clone());
        found.notes = missing_replies(&recent, &root.id, &post.thread);
        Ok(ReadBack::Found(found))
    }
}

impl MastodonConnector {
    pub(super) async fn upload(
        &self,
        ctx: &PublishContext<'_>,
        base: &str,
        token: &Secret,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let bytes = ctx.media.read(asset, 0..asset.size).await?;
        let length = bytes.len() as u64;
        let file = Part::stream_with_length(reqwest::Body::from(bytes), length)
            .file_name(file_name(asset))
            .mime_str(&asset.content_type)
            .map_err(|_| {
                PublishError::InvalidMedia(format!(
                    "asset {} has the content type {:?}, which is not a valid media type",
                    asset.id, asset.content_type
                ))
            })?;
        let mut form = Form::new().part("file", file);
        if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            form = form.text("description", alt.to_owned());
        }
        let mut request = self
            .http
            .post(format!("{base}/api/v2/media"))
            .bearer_auth(token.expose())
            .multipart(form);
        if let Some(timeout) = upload_timeout(length) {
            request = request.timeout(timeout);
        }
        let (status, headers, body) = self.exchange(Call::Upload, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Upload, status, &headers, &body));
        }
        let media: MediaAttachment = decode(Call::Upload, &body)?;
        if status == StatusCode::ACCEPTED {
            self.wait_until_processed(base, token, asset, &media.id)
                .await?;
        }
        Ok(media.id)
    }

    /// Polls an upload the server is still processing (video, GIF) until it is ready; a status
    /// referring to unprocessed media is refused.
    async fn wait_until_processed(
        &self,
        base: &str,
        token: &Secret,
        asset: &Asset,
        media_id: &str,
    ) -> Result<(), PublishError> {
        let deadline = tokio::time::Instant::now() + self.max_wait;
        loop {
            tokio::time::sleep(self.poll_interval).await;
            let request = self
                .http
                .get(format!("{base}/api/v1/media/{media_id}"))
                .bearer_auth(token.expose());
            let answer = match self.exchange(Call::Processing, request).await {
                Ok((status, headers, body)) => match status.as_u16() {
                    200 => return Ok(()),
                    206 => Ok(()),
                    _ => Err(refused(Call::Processing, status, &headers, &body)),
                },
                Err(e) => Err(e),
            };
            match answer {
                // One failed poll does not undo the processing: keep asking until the deadline.
                Err(PublishError::Transient(_)) | Ok(()) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PublishError::Transient(format!(
                    "Mastodon was still processing {} {} after {} s; publishing will be tried again",
                    kind_name(asset.kind),
                    asset.id,
                    self.max_wait.as_secs()
                )));
            }
        }
    }

    pub(super) async fn create_status(
        &self,
        base: &str,
        token: &Secret,
        idempotency_key: &str,
        body: Value,
    ) -> Result<Status, PublishError> {
        let request = self
            .http
            .post(format!("{base}/api/v1/statuses"))
            .bearer_auth(token.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(&body);
        let (status, headers, text) = self.exchange(Call::Status, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Status, status, &headers, &text));
        }
        decode(Call::Status, &text)
    }

    /// Posts the follow-ups as a chain of replies. A failure ends the chain (a later reply would
    /// answer the wrong status) and becomes a note: the post itself is published.
    async fn post_thread(
        &self,
        base: &str,
        token: &Secret,
        post: &Outgoing,
        root_id: String,
    ) -> Vec<String> {
        let mut parent = root_id;
        let total = post.thread.len();
        for (i, text) in post.thread.iter().enumerate() {
            let key = reply_key(&post.key, i);
            let body = json!({"status": text, "in_reply_to_id": parent, "visibility": "public"});
            let mut outcome = self.create_status(base, token, &key, body.clone()).await;
            // Each reply has its own idempotency key, so asking once more after a lost answer or
            // a server error returns the reply if it was made instead of posting it twice.
            if matches!(
                outcome,
                Err(PublishError::UnknownOutcome(_) | PublishError::Transient(_))
            ) {
                outcome = self.create_status(base, token, &key, body).await;
            }
            match outcome {
                Ok(reply) => parent = reply.id,
                Err(e) => {
                    let mut notes = vec![match e {
                        PublishError::UnknownOutcome(_) => format!(
                            "Mastodon did not confirm follow-up {} of {total}; check the thread on Mastodon",
                            i + 1
                        ),
                        e => format!("follow-up {} of {total} was not posted: {e}", i + 1),
                    }];
                    if i + 1 < total {
                        notes.push(format!(
                            "follow-ups {} to {total} were not posted, so that the thread stays in order",
                            i + 2
                        ));
                    }
                    return notes;
                }
            }
        }
        Vec::new()
    }
}

fn reply_key(key: &str, index: usize) -> String {
    format!("{key}-reply-{}", index + 1)
}

/// The shared client's timeout suits small requests; a 99 MB video at a modest uplink needs longer.
fn upload_timeout(bytes: u64) -> Option<Duration> {
    const SMALL: u64 = 8 * 1_048_576;
    const BYTES_PER_SECOND: u64 = 512 * 1024;
    (bytes > SMALL).then(|| Duration::from_secs(60 + bytes / BYTES_PER_SECOND))
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Gif => "GIF",
        MediaKind::Video => "video",
    }
}

/// Mastodon checks the file name's extension against the content type.
fn file_name(asset: &Asset) -> String {
    let subtype = asset
        .content_type
        .split(';')
        .next()
        .and_then(|t| t.split('/').nth(1))
        .unwrap_or("bin")
        .trim();
    let extension = match subtype {
        "jpeg" => "jpg",
        "quicktime" => "mov",
        "svg+xml" => "svg",
        other => other,
    };
    format!("{}.{extension}", asset.id)
}
