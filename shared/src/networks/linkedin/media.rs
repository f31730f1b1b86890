//! LinkedIn's upload flows: an image in one PUT, a video in the parts LinkedIn asks for and then
//! finalized and waited on, and the post's `content` that carries them.

use std::time::Instant;

use serde::Deserialize;
use serde_json::json;

use super::client::{Session, Step, parse};
use super::{LinkedinConnector, endpoint};
use crate::domain::{Asset, MediaKind};
use crate::networks::{MediaFiles, PublishError};

impl LinkedinConnector {
    async fn upload_image(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let body = json!({ "initializeUploadRequest": { "owner": author } });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::IMAGES_INITIALIZE)).json(&body)
            })
            .await?;
        let upload = parse::<Wrapped<ImageUpload>>(response, Step::Media)
            .await?
            .value;
        let bytes = media.read(asset, 0..asset.size).await?;
        session
            .send(Step::Media, |http| {
                http.put(&upload.upload_url)
                    .header(reqwest::header::CONTENT_TYPE, asset.content_type.as_str())
                    .body(bytes.clone())
            })
            .await?;
        Ok(upload.image)
    }

    async fn upload_video(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let body = json!({
            "initializeUploadRequest": {
                "owner": author,
                "fileSizeBytes": asset.size,
                "uploadCaptions": false,
                "uploadThumbnail": false,
            }
        });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::VIDEOS_INITIALIZE)).json(&body)
            })
            .await?;
        let upload = parse::<Wrapped<VideoUpload>>(response, Step::Media)
            .await?
            .value;

        let mut etags = Vec::with_capacity(upload.upload_instructions.len());
        for (i, part) in upload.upload_instructions.iter().enumerate() {
            if part.last_byte < part.first_byte || part.last_byte >= asset.size {
                return Err(PublishError::Transient(format!(
                    "LinkedIn asked for bytes {}-{} of a {}-byte video",
                    part.first_byte, part.last_byte, asset.size
                )));
            }
            let bytes = media
                .read(asset, part.first_byte..part.last_byte + 1)
                .await?;
            if bytes.len() as u64 != part.last_byte + 1 - part.first_byte {
                return Err(PublishError::InvalidMedia(format!(
                    "the video {} is shorter in the library than its recorded size of {} bytes",
                    asset.id, asset.size
                )));
            }
            let response = session
                .send(Step::Media, |http| {
                    http.put(&part.upload_url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(bytes.clone())
                })
                .await?;
            // finalizeUpload names every part by the ETag its upload answered with.
            let etag = response
                .headers()
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| {
                    PublishError::Transient(format!(
                        "LinkedIn did not confirm part {} of the video upload (no ETag)",
                        i + 1
                    ))
                })?;
            etags.push(etag);
        }

        let body = json!({
            "finalizeUploadRequest": {
                "video": upload.video,
                "uploadToken": upload.upload_token,
                "uploadedPartIds": etags,
            }
        });
        session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::VIDEOS_FINALIZE)).json(&body)
            })
            .await?;
        self.wait_until_available(session, &upload.video).await?;
        Ok(upload.video)
    }

    async fn wait_until_available(
        &self,
        session: &mut Session<'_>,
        video: &str,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        loop {
            let response = session
                .send(Step::Media, |http| {
                    http.get(self.url(&endpoint::video(video)))
                })
                .await?;
            let state = parse::<VideoState>(response, Step::Media).await?;
            match state.status.as_str() {
                "AVAILABLE" => return Ok(()),
                "PROCESSING_FAILED" => {
                    return Err(PublishError::InvalidMedia(format!(
                        "LinkedIn could not process the video: {}",
                        state
                            .processing_failure_reason
                            .unwrap_or_else(|| "no reason given".into())
                    )));
                }
                _ => {}
            }
            if started.elapsed() + self.poll_interval > self.poll_max_wait {
                return Err(PublishError::Transient(format!(
                    "LinkedIn was still processing the video after {} s; publishing will be tried again",
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The post's `content`: one image or video as `media`, several images as `multiImage`.
    pub(super) async fn content(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        author: &str,
        assets: &[Asset],
    ) -> Result<Option<serde_json::Value>, PublishError> {
        match assets {
            [] => Ok(None),
            [video] if video.kind == MediaKind::Video => {
                let id = self.upload_video(session, media, author, video).await?;
                Ok(Some(json!({ "media": { "id": id } })))
            }
            _ if assets.iter().any(|a| a.kind == MediaKind::Video) => {
                Err(PublishError::InvalidMedia(
                    "a LinkedIn post carries one video or up to 20 images, not both".into(),
                ))
            }
            [image] => {
                let id = self.upload_image(session, media, author, image).await?;
                Ok(Some(json!({ "media": with_alt(id, image) })))
            }
            images => {
                let mut uploaded = Vec::with_capacity(images.len());
                for image in images {
                    let id = self.upload_image(session, media, author, image).await?;
                    uploaded.push(with_alt(id, image));
                }
                Ok(Some(json!({ "multiImage": { "images": uploaded } })))
            }
        }
    }
}

fn with_alt(id: String, asset: &Asset) -> serde_json::Value {
    match asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(alt) => json!({ "id": id, "altText": alt }),
        None => json!({ "id": id }),
    }
}

#[derive(Deserialize)]
/// LinkedIn wraps action results in `{"value": ...}`.
struct Wrapped<T> {
    value: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageUpload {
    upload_url: String,
    image: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoUpload {
    video: String,
    #[serde(default)]
    upload_instructions: Vec<UploadPart>,
    #[serde(default)]
    upload_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadPart {
    upload_url: String,
    first_byte: u64,
    last_byte: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoState {
    #[serde(default)]
    status: String,
    processing_failure_reason: Option<String>,
}
