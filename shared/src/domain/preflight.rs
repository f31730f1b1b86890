//! Preflight: each network's rules for a post (text length counted the network's way, media
//! count, size and format), checked when a post is scheduled and again at publish time, with
//! every problem said in plain words.

use super::{Asset, Network};

/// How a network counts the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCounting {
    /// User-perceived characters (extended grapheme clusters): Bluesky.
    Graphemes,
    /// Unicode code points.
    Chars,
    /// Code points, but every URL counts as `url_weight` and a mention only by its local part.
    Mastodon { url_weight: usize },
    /// X's weighted count: most Latin 1, CJK and emoji 2, every URL 23, after NFC normalization.
    XWeighted,
}

/// How follow-ups (`thread`) are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadSupport {
    /// As replies to the post, forming a thread.
    Replies,
    /// As the first comment under the post.
    FirstComment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub network: Network,
    pub counting: TextCounting,
    pub max_text: usize,
    /// A lower limit when the post carries media (Telegram captions).
    pub max_text_with_media: Option<usize>,
    pub media_required: bool,
    pub max_images: usize,
    /// Videos and GIFs each count here; a post with one cannot have other media unless `mix_media`.
    pub max_videos: usize,
    pub mix_media: bool,
    pub max_image_bytes: u64,
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    pub image_types: Vec<String>,
    pub video_types: Vec<String>,
    pub max_alt_text: Option<usize>,
    pub max_video_seconds: Option<u64>,
    pub thread: ThreadSupport,
}

const MB: u64 = 1_000_000;
const MIB: u64 = 1_048_576;

fn types(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Rules {
    /// The documented defaults of each network (`../shared/reference/networks.md`).
    pub fn for_network(network: Network) -> Self {
        let common_images = types(&["image/jpeg", "image/png", "image/gif", "image/webp"]);
        let mp4 = types(&["video/mp4"]);
        let base = Rules {
            network,
            counting: TextCounting::Chars,
            max_text: 500,
            max_text_with_media: None,
            media_required: false,
            max_images: 4,
            max_videos: 1,
            mix_media: false,
            max_image_bytes: 8 * MB,
            max_gif_bytes: 8 * MB,
            max_video_bytes: 100 * MB,
            image_types: common_images.clone(),
            video_types: mp4.clone(),
            max_alt_text: None,
            max_video_seconds: None,
            thread: ThreadSupport::Replies,
        };
        match network {
            Network::Mastodon => Rules {
                counting: TextCounting::Mastodon { url_weight: 23 },
                max_image_bytes: 16 * MIB,
                max_gif_bytes: 16 * MIB,
                max_video_bytes: 103_809_024,
                video_types: types(&["video/mp4", "video/quicktime", "video/webm"]),
                max_alt_text: Some(1_500),
                ..base
            },
            Network::Bluesky => Rules {
                counting: TextCounting::Graphemes,
                max_text: 300,
                max_image_bytes: 1_000_000,
                max_gif_bytes: 1_000_000,
                max_video_bytes: 50 * MB,
                image_types: types(&["image/jpeg", "image/png", "image/webp", "image/gif"]),
                max_alt_text: Some(2_000),
                max_video_seconds: Some(180),
                ..base
            },
            Network::Linkedin => Rules {
                max_text: 3_000,
                max_images: 20,
                max_image_bytes: 36 * MB,
                max_gif_bytes: 36 * MB,
                max_video_bytes: 500 * MB,
                image_types: types(&["image/jpeg", "image/png", "image/gif"]),
                thread: ThreadSupport::FirstComment,
                ..base
            },
            Network::X => Rules {
                counting: TextCounting::XWeighted,
                max_text: 280,
                max_image_bytes: 5 * MB,
                max_gif_bytes: 15 * MB,
                max_video_bytes: 512 * MB,
                max_alt_text: Some(1_000),
                max_video_seconds: Some(140),
                ..base
            },
            Network::Facebook => Rules {
                max_text: 63_206,
                max_images: 10,
                max_image_bytes: 10 * MB,
                max_gif_bytes: 10 * MB,
                max_video_bytes: 1_000 * MB,
                thread: ThreadSupport::FirstComment,
                ..base
            },
            Network::Instagram => Rules {
                max_text: 2_200,
                media_required: true,
                max_images: 10,
                max_videos: 10,
                mix_media: true,
                max_image_bytes: 8 * MB,
                max_gif_bytes: 0,
                max_video_bytes: 300 * MB,
                image_types: types(&["image/jpeg"]),
                video_types: types(&["video/mp4", "video/quicktime"]),
                thread: ThreadSupport::FirstComment,
                ..base
            },
            Network::Threads => Rules {
                max_text: 500,
                max_images: 20,
                max_videos: 20,
                mix_media: true,
                max_image_bytes: 8 * MB,
                max_gif_bytes: 0,
                max_video_bytes: 1_000 * MB,
                image_types: types(&["image/jpeg", "image/png"]),
                video_types: types(&["video/mp4", "video/quicktime"]),
                ..base
            },
            Network::Telegram => Rules {
                max_text: 4_096,
                max_text_with_media: Some(1_024),
                max_images: 10,
                max_videos: 10,
                mix_media: true,
                max_image_bytes: 10 * MB,
                max_gif_bytes: 50 * MB,
                max_video_bytes: 50 * MB,
                image_types: types(&["image/jpeg", "image/png", "image/webp", "image/gif"]),
                video_types: types(&["video/mp4"]),
                ..base
            },
        }
    }

    /// The length of `text` as this network counts it.
    pub fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    /// Every problem of a post for this network, in plain words; empty when it can be published.
    pub fn check(&self, text: &str, thread: &[String], media: &[Asset]) -> Vec<String> {
        let mut problems = Vec::new();
        let limit = if media.is_empty() {
            self.max_text
        } else {
            self.max_text_with_media.unwrap_or(self.max_text)
        };
        let length = self.count(text);
        if length > limit {
            problems.push(format!(
                "the text is {length} characters long; the limit is {limit}"
            ));
        }
        for (i, part) in thread.iter().enumerate() {
            let length = self.count(part);
            if length > self.max_text {
                problems.push(format!(
                    "follow-up {} is {length} characters long; the limit is {}",
                    i + 1,
                    self.max_text
                ));
            }
        }
        if self.media_required && media.is_empty() {
            problems.push("this network needs at least one photo or video".into());
        }
        problems
    }
}
