//! Publishing on Bluesky: the post record with its facets and languages, photos or a video
//! uploaded right before it, follow-ups as replies, and the read-back of records under their
//! derived keys.

use std::collections::HashMap;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::record_key::record_key;
use super::xrpc::{Call, Payload, Step, refusal};
use super::{BlueskyConnector, POST_COLLECTION, Session};
use crate::domain::{Asset, MediaKind, Network};
use crate::networks::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack,
};

const MAX_IMAGES: usize = 4;
const MAX_IMAGE_BYTES: u64 = 1_000_000;

/// A created (or found) post record.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PostRef {
    pub(super) uri: String,
    pub(super) cid: String,
}

impl BlueskyConnector {
    /// Reads our post `rkey` back; `None` when the repository has no such record.
    pub(super) async fn read_post(
        &self,
        session: &Session,
        rkey: &str,
    ) -> Result<Option<PostRef>, PublishError> {
        self.read_record(session, POST_COLLECTION, rkey).await
    }

    /// Reads our record `rkey` of `collection` (`{uri, cid, value}`, as much of it as `T` takes);
    /// `None` when the repository has no such record.
    pub(super) async fn read_record<T: DeserializeOwned>(
        &self,
        session: &Session,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<T>, PublishError> {
        let call = Call {
            method: Method::GET,
            nsid: "com.atproto.repo.getRecord",
            query: vec![
                ("repo", session.did.clone()),
                ("collection", collection.to_owned()),
                ("rkey", rkey.to_owned()),
            ],
            payload: Payload::Empty,
            creates: false,
        };
        // Public records: no token needed, so a read-back never spends a login.
        let answer = self.send(&session.pds, &call, None).await?;
        if answer.ok() {
            return answer.parse::<T>().map(Some);
        }
        let error = answer.error();
        if error.error == "RecordNotFound" || answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Err(refusal(&answer, Step::Read))
    }

    /// Creates one post record under our deterministic `rkey`.
    pub(super) async fn create_post(
        &self,
        account: &Account<'_>,
        rkey: &str,
        record: Value,
    ) -> Result<PostRef, PublishError> {
        self.create_record(account, POST_COLLECTION, rkey, record, Step::Post)
            .await
    }

    /// Creates one record of `collection` under our deterministic `rkey`. A refusal is checked
    /// against the repository first: if the record is already there, an earlier attempt made it.
    pub(super) async fn create_record(
        &self,
        account: &Account<'_>,
        collection: &str,
        rkey: &str,
        record: Value,
        step: Step,
    ) -> Result<PostRef, PublishError> {
        let did = self.session(account).await?.did;
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.repo.createRecord",
            query: Vec::new(),
            payload: Payload::Json(json!({
                "repo": did,
                "collection": collection,
                "rkey": rkey,
                "record": record,
            })),
            creates: true,
        };
        let (answer, session) = self.call(account, &call).await?;
        if answer.ok() {
            return answer.parse::<PostRef>().map_err(|_| {
                PublishError::UnknownOutcome(format!(
                    "Bluesky accepted the {} but its answer could not be read; it will be checked before any retry",
                    step.noun()
                ))
            });
        }
        let refused = refusal(&answer, step);
        if matches!(
            refused,
            PublishError::RateLimited { .. } | PublishError::AuthExpired(_)
        ) {
            return Err(refused);
        }
        // The reference PDS refuses a second record under a taken key with an opaque error (its
        // repository tree rejects the key), so any refusal is checked against the repository.
        match self.read_record(&session, collection, rkey).await {
            Ok(Some(existing)) => Ok(existing),
            _ => Err(refused),
        }
    }

    async fn upload(
        &self,
        account: &Account<'_>,
        asset: &Asset,
        bytes: Bytes,
        what: &str,
    ) -> Result<Value, PublishError> {
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.repo.uploadBlob",
            query: Vec::new(),
            payload: Payload::Bytes {
                bytes,
                content_type: asset.content_type.clone(),
            },
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(match refusal(&answer, Step::Upload) {
                PublishError::InvalidMedia(message) => {
                    PublishError::InvalidMedia(format!("{what}: {message}"))
                }
                other => other,
            });
        }
        #[derive(Deserialize)]
        struct Uploaded {
            blob: Value,
        }
        // The blob reference goes into the post exactly as Bluesky returned it.
        Ok(answer.parse::<Uploaded>()?.blob)
    }

    /// The post's embed; uploads happen here, right before the record is created, because
    /// Bluesky deletes blobs that no record references within minutes.
    pub(super) async fn embed(
        &self,
        ctx: &PublishContext<'_>,
        media: &[Asset],
    ) -> Result<Option<Value>, PublishError> {
        let Some(first) = media.first() else {
            return Ok(None);
        };
        if first.kind == MediaKind::Video {
            let bytes = ctx.media.read(first, 0..first.size).await?;
            let blob = self.upload(&ctx.account, first, bytes, "the video").await?;
            let mut embed = json!({"$type": "app.bsky.embed.video", "video": blob});
            if let Some(alt) = first.alt_text.as_deref().filter(|a| !a.is_empty()) {
                embed["alt"] = json!(alt);
            }
            if let Some(ratio) = aspect_ratio(first) {
                embed["aspectRatio"] = ratio;
            }
            return Ok(Some(embed));
        }
        let mut images = Vec::with_capacity(media.len());
        for (i, asset) in media.iter().enumerate() {
            let what = format!("photo {}", i + 1);
            let bytes = ctx.media.read(asset, 0..asset.size).await?;
            check_image_size(&what, bytes.len() as u64)?;
            let blob = self.upload(&ctx.account, asset, bytes, &what).await?;
            // `alt` is required by the lexicon: an empty string says "no description".
            let mut image = json!({"image": blob, "alt": asset.alt_text.as_deref().unwrap_or("")});
            if let Some(ratio) = aspect_ratio(asset) {
                image["aspectRatio"] = ratio;
            }
            images.push(image);
        }
        Ok(Some(
            json!({"$type": "app.bsky.embed.images", "images": images}),
        ))
    }

    pub(super) async fn record(
        &self,
        account: &Account<'_>,
        text: &str,
        resolved: &mut HashMap<String, Option<String>>,
        notes: &mut Vec<String>,
    ) -> Value {
        let mut record = json!({
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": Timestamp::now().to_string(),
        });
        let facets = self.facets(account, text, resolved, notes).await;
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        let langs = languages(account);
        if !langs.is_empty() {
            record["langs"] = json!(langs);
        }
        record
    }
}

#[async_trait]
impl Publish for BlueskyConnector {
    fn network(&self) -> Network {
        Network::Bluesky
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        check_media(&post.media)?;
        let account = &ctx.account;
        let session = self.session(account).await?;
        let mut notes = Vec::new();
        let mut resolved = HashMap::new();

        let mut record = self
            .record(account, &post.text, &mut resolved, &mut notes)
            .await;
        if let Some(embed) = self.embed(ctx, &post.media).await? {
            record["embed"] = embed;
        }
        let root_rkey = record_key(&post.key, 0);
        let root = self.create_post(account, &root_rkey, record).await?;

        let mut parent = root.clone();
        for (i, text) in post.thread.iter().enumerate() {
            let part = i + 1;
            let rkey = record_key(&post.key, part);
            let mut record = self.record(account, text, &mut resolved, &mut notes).await;
            record["reply"] = json!({
                "root": {"uri": root.uri, "cid": root.cid},
                "parent": {"uri": parent.uri, "cid": parent.cid},
            });
            let made = match self.create_post(account, &rkey, record).await {
                Err(PublishError::UnknownOutcome(why)) => {
                    // Replies have no read-back of their own later: look now.
                    match self.session(account).await {
                        Ok(session) => match self.read_post(&session, &rkey).await {
                            Ok(Some(found)) => Ok(found),
                            _ => Err(PublishError::UnknownOutcome(why)),
                        },
                        Err(_) => Err(PublishError::UnknownOutcome(why)),
                    }
                }
                other => other,
            };
            match made {
                Ok(reply) => parent = reply,
                Err(e) => {
                    notes.push(unposted_follow_ups(part, post.thread.len(), &e.to_string()));
                    break;
                }
            }
        }
        Ok(Published {
            remote_id: root.uri,
            url: Some(post_url(&session.did, &root_rkey)),
            notes,
        })
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let session = self.session(&ctx.account).await?;
        let root_rkey = record_key(&post.key, 0);
        let Some(root) = self.read_post(&session, &root_rkey).await? else {
            return Ok(ReadBack::NotFound);
        };
        let mut published = Published::new(root.uri, Some(post_url(&session.did, &root_rkey)));
        // The attempt that made the post lost its answer before its thread: say which
        // follow-ups are missing, since finding the post ends this target's publishing.
        for part in 1..=post.thread.len() {
            match self.read_post(&session, &record_key(&post.key, part)).await {
                Ok(Some(_)) => continue,
                Ok(None) => published.notes.push(unposted_follow_ups(
                    part,
                    post.thread.len(),
                    "the first attempt's answer was lost before the thread was posted",
                )),
                Err(e) => published.notes.push(format!(
                    "could not check whether follow-up {part} was posted: {e}"
                )),
            }
            break;
        }
        Ok(ReadBack::Found(published))
    }
}

fn unposted_follow_ups(from: usize, total: usize, why: &str) -> String {
    if from == total {
        format!("follow-up {from} was not posted: {why}")
    } else {
        format!("follow-ups {from} to {total} were not posted: {why}")
    }
}

/// The `langs` setting: up to three comma-separated language tags, e.g. `it,en`.
fn languages(account: &Account<'_>) -> Vec<String> {
    account
        .channel
        .settings
        .get("langs")
        .and_then(Value::as_str)
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn post_url(did: &str, rkey: &str) -> String {
    // The DID, unlike the handle, never changes, so the link keeps working.
    format!("https://bsky.app/profile/{did}/post/{rkey}")
}

fn aspect_ratio(asset: &Asset) -> Option<Value> {
    match (asset.width, asset.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => Some(json!({"width": w, "height": h})),
        _ => None,
    }
}

fn check_image_size(what: &str, size: u64) -> Result<(), PublishError> {
    if size > MAX_IMAGE_BYTES {
        return Err(PublishError::InvalidMedia(format!(
            "{what} is {size} bytes; Bluesky takes photos of at most {MAX_IMAGE_BYTES} bytes (1 MB)"
        )));
    }
    Ok(())
}

/// What Bluesky's embeds can carry: up to four photos, or one mp4 video.
pub(super) fn check_media(media: &[Asset]) -> Result<(), PublishError> {
    let videos = media.iter().filter(|a| a.kind == MediaKind::Video).count();
    if videos > 0 {
        if media.len() > 1 {
            return Err(PublishError::InvalidMedia(
                "a Bluesky post carries either photos or one video, not both or several videos"
                    .into(),
            ));
        }
        if media[0].content_type != "video/mp4" {
            return Err(PublishError::InvalidMedia(format!(
                "Bluesky takes videos as mp4; this one is {}",
                media[0].content_type
            )));
        }
        return Ok(());
    }
    if media.len() > MAX_IMAGES {
        return Err(PublishError::InvalidMedia(format!(
            "a Bluesky post carries at most {MAX_IMAGES} photos; this one has {}",
            media.len()
        )));
    }
    for (i, asset) in media.iter().enumerate() {
        check_image_size(&format!("photo {}", i + 1), asset.size)?;
    }
    Ok(())
}
