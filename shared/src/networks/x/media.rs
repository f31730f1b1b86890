//! X's chunked media upload: initialize, append the segments, finalize, wait while X processes
//! the media, then set its alt text.

use std::time::Instant;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde_json::json;

use super::client::{Data, Session, Step, parse};
use super::{XConnector, endpoint};
use crate::domain::{Asset, MediaKind};
use crate::networks::{MediaFiles, PublishError};

impl XConnector {
    pub(super) async fn upload(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        asset: &Asset,
        position: usize,
    ) -> Result<String, PublishError> {
        let category = match asset.kind {
            MediaKind::Image => "tweet_image",
            MediaKind::Gif => "tweet_gif",
            MediaKind::Video => "tweet_video",
        };
        let init = json!({
            "media_type": asset.content_type,
            "total_bytes": asset.size,
            "media_category": category,
        });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::MEDIA_INITIALIZE)).json(&init)
            })
            .await?;
        let media_id = parse::<Data<MediaState>>(response, Step::Media)
            .await?
            .data
            .id;

        let mut offset = 0;
        let mut segment = 0u32;
        while offset < asset.size {
            let end = (offset + self.chunk_size).min(asset.size);
            let chunk = media.read(asset, offset..end).await?;
            if chunk.is_empty() {
                return Err(PublishError::InvalidMedia(format!(
                    "media {position} ({}) is shorter in the library than its recorded size of {} bytes",
                    asset.id, asset.size
                )));
            }
            let length = chunk.len() as u64;
            session
                .send(Step::Media, |http| {
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    );
                    let part = Part::stream_with_length(chunk.clone(), length)
                        .file_name("media")
                        .headers(headers);
                    let form = Form::new()
                        .text("segment_index", segment.to_string())
                        .part("media", part);
                    http.post(self.url(&endpoint::media_append(&media_id)))
                        .multipart(form)
                })
                .await?;
            offset += length;
            segment += 1;
        }

        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(&endpoint::media_finalize(&media_id)))
            })
            .await?;
        let finalized = parse::<Data<MediaState>>(response, Step::Media).await?;
        if let Some(processing) = finalized.data.processing_info {
            self.wait_until_processed(session, &media_id, processing, position)
                .await?;
        }

        if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            let body = json!({"id": media_id, "metadata": {"alt_text": {"text": alt}}});
            session
                .send(Step::Media, |http| {
                    http.post(self.url(endpoint::MEDIA_METADATA)).json(&body)
                })
                .await?;
        }
        Ok(media_id)
    }

    async fn wait_until_processed(
        &self,
        session: &mut Session<'_>,
        media_id: &str,
        mut processing: ProcessingInfo,
        position: usize,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        loop {
            match processing.state.as_str() {
                "succeeded" => return Ok(()),
                "failed" => {
                    let reason = processing
                        .error
                        .and_then(|e| e.message.or(e.name))
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(PublishError::InvalidMedia(format!(
                        "X could not process media {position}: {reason}"
                    )));
                }
                _ => {}
            }
            // X says when to look again; never hammer it, never sleep for minutes on one answer.
            let wait = self.poll_second * processing.check_after_secs.unwrap_or(1).clamp(1, 60);
            if started.elapsed() + wait > self.poll_max_wait {
                return Err(PublishError::Transient(format!(
                    "X was still processing media {position} after {} s; publishing will be tried again",
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            let response = session
                .send(Step::Media, |http| {
                    http.get(self.url(endpoint::MEDIA_STATUS))
                        .query(&[("command", "STATUS"), ("media_id", media_id)])
                })
                .await?;
            let status = parse::<Data<MediaState>>(response, Step::Media).await?;
            processing = status.data.processing_info.unwrap_or(ProcessingInfo {
                state: "succeeded".into(),
                check_after_secs: None,
                error: None,
            });
        }
    }
}

#[derive(Deserialize)]
struct MediaState {
    id: String,
    processing_info: Option<ProcessingInfo>,
}

#[derive(Deserialize)]
struct ProcessingInfo {
    state: String,
    check_after_secs: Option<u32>,
    error: Option<ProcessingError>,
}

#[derive(Deserialize)]
struct ProcessingError {
    name: Option<String>,
    message: Option<String>,
}
