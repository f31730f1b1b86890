//! A media-library asset as the rest of the system sees it: what it is, how big, and where its
//! bytes live. The intake pipeline creates assets; posts reference them by id.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::preflight::Rules;
use super::{AssetId, DomainError, Network, Validation};

pub const MAX_TAGS: usize = 30;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_TITLE_CHARS: usize = 200;
/// A sanity bound only: each network's own (lower) limit is checked in `networks`.
pub const MAX_ALT_TEXT_CHARS: usize = 5_000;
/// S3 allows 1,024 bytes per key; the rest of the key needs some of them.
pub const MAX_FILENAME_BYTES: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Gif,
    Video,
}

impl MediaKind {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "image" => Ok(Self::Image),
            "gif" => Ok(Self::Gif),
            "video" => Ok(Self::Video),
            other => Err(format!(
                "unknown type {other:?}: expected image, gif or video"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Processing,
    Ready,
    Rejected,
}

impl AssetStatus {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "processing" => Ok(Self::Processing),
            "ready" => Ok(Self::Ready),
            "rejected" => Ok(Self::Rejected),
            other => Err(format!(
                "unknown status {other:?}: expected ready, rejected or processing"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub kind: MediaKind,
    /// The sniffed MIME type, e.g. `image/jpeg`.
    pub content_type: String,
    pub size: u64,
    /// As the picture is shown (after EXIF orientation or a video's rotation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub alt_text: Option<String>,
    /// Where the bytes are in the bucket, e.g. `library/{brand}/{id}.jpg` (`quarantine/...` when
    /// rejected).
    pub object_key: String,
    pub status: AssetStatus,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(flatten)]
    pub details: AssetDetails,
}

/// What the media library knows beyond what publishing needs: where the file came from, how
/// people find it, and which networks can take it. Stored flat beside the asset's other fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetDetails {
    /// The name it was uploaded with.
    pub filename: String,
    /// SHA-256 of the bytes, lowercase hex; `None` when the file was refused before it was read.
    pub sha256: Option<String>,
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// `thumbnails/{brand}/{id}.jpg`, for photos and GIFs.
    pub thumbnail_key: Option<String>,
    /// The `incoming/...` key the file arrived under.
    pub source_key: String,
    /// The subject of whoever asked for the upload URL; `None` for a file dropped straight into
    /// the bucket.
    pub uploaded_by: Option<String>,
    pub rejection: Option<AssetRejection>,
    /// Per network, whether a post carrying just this asset passes its documented rules.
    pub networks: BTreeMap<Network, NetworkFit>,
    /// EXIF orientation 1-8, where the photo has one.
    pub orientation: Option<u8>,
    /// `mp4`, `mov` or `webm`.
    pub container: Option<String>,
    pub video_codec: Option<String>,
    pub frame_rate: Option<f64>,
    /// Things worth knowing that were no reason to refuse the file.
    pub notes: Vec<String>,
}

/// Why the library refused a file: a stable code and the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssetRejection {
    pub code: String,
    pub reason: String,
}

/// Whether a network takes the asset, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NetworkFit {
    pub ok: bool,
    pub problems: Vec<String>,
}

impl Asset {
    /// Per network, the problems of a post carrying only this asset under the network's
    /// documented rules (a Mastodon server may differ; preflight asks it when scheduling).
    /// Empty unless the asset is ready: a rejected file fits nowhere for its own reason.
    pub fn fit_networks(&self, networks: &[Network]) -> BTreeMap<Network, NetworkFit> {
        if self.status != AssetStatus::Ready {
            return BTreeMap::new();
        }
        networks
            .iter()
            .map(|&network| {
                let problems =
                    Rules::for_network(network).check("", &[], std::slice::from_ref(self));
                let fit = NetworkFit {
                    ok: problems.is_empty(),
                    problems,
                };
                (network, fit)
            })
            .collect()
    }
}

/// An incoming object's claim on an asset id, so that every retry of its intake (a redelivered
/// event, a crash half-way) works on the same asset and the same object keys. Written when an
/// upload URL is handed out, or on first sight of a file dropped straight into the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeTicket {
    pub asset_id: AssetId,
    /// The `incoming/...` key the file is (or will be) under.
    pub key: String,
    pub uploaded_by: Option<String>,
    pub created_at: Timestamp,
    /// Set when the file turned out to be one the library already has, so whoever asked for the
    /// upload can be pointed at that asset.
    #[serde(default)]
    pub duplicate_of: Option<AssetId>,
}

/// The editable description of an asset, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetEdit {
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub alt_text: Option<String>,
}

impl AssetEdit {
    /// Trims every value; an empty title or alt text means none; repeated tags are kept once.
    pub fn parse(
        title: Option<&str>,
        tags: &[String],
        alt_text: Option<&str>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let title = optional_text(&mut v, "title", title, MAX_TITLE_CHARS);
        let alt_text = optional_text(&mut v, "alt_text", alt_text, MAX_ALT_TEXT_CHARS);
        if tags.len() > MAX_TAGS {
            v.add("tags", format!("an asset can have at most {MAX_TAGS} tags"));
        }
        let mut kept: Vec<String> = Vec::new();
        for (i, raw) in tags.iter().enumerate() {
            let tag = raw.trim();
            let chars = tag.chars().count();
            if chars == 0 || chars > MAX_TAG_CHARS {
                v.add(
                    format!("tags.{i}"),
                    format!("a tag is 1 to {MAX_TAG_CHARS} characters"),
                );
            } else if !kept.iter().any(|t| t == tag) {
                kept.push(tag.to_owned());
            }
        }
        v.finish()?;
        Ok(Self {
            title,
            tags: kept,
            alt_text,
        })
    }
}

fn optional_text(v: &mut Validation, field: &str, raw: Option<&str>, max: usize) -> Option<String> {
    let text = raw.map(str::trim).filter(|t| !t.is_empty())?;
    if text.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
        return None;
    }
    Some(text.to_owned())
}

/// Checks a file name for use as the last part of an object key: one name, no folders, no
/// control characters. Spaces and any script are fine.
pub fn parse_filename(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if name.len() > MAX_FILENAME_BYTES {
        return Err(format!(
            "the file name is longer than {MAX_FILENAME_BYTES} bytes"
        ));
    }
    if name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err("the file name must be a name, not a path".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the file name contains control characters".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_trimmed_and_bounded() {
        let edit = AssetEdit::parse(
            Some("  Autumn menu "),
            &["menu".into(), " menu ".into(), "food".into()],
            Some("  "),
        )
        .unwrap();
        assert_eq!(edit.title.as_deref(), Some("Autumn menu"));
        assert_eq!(edit.tags, ["menu", "food"]);
        assert_eq!(edit.alt_text, None);
        let Err(DomainError::Invalid(errors)) =
            AssetEdit::parse(Some(&"x".repeat(201)), &["".into()], None)
        else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "tags.0"]);
    }

    #[test]
    fn file_names_are_names_not_paths() {
        assert_eq!(
            parse_filename(" Caffè latte 1.jpg ").unwrap(),
            "Caffè latte 1.jpg"
        );
        for bad in [
            "",
            "..",
            "a/b.jpg",
            "a\\b.jpg",
            "a\u{0}.jpg",
            &"x".repeat(256),
        ] {
            assert!(parse_filename(bad).is_err(), "{bad:?}");
        }
    }
}
