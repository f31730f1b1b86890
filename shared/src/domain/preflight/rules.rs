//! What a network allows in a post, as data: how it counts text, how many and which media of
//! what size, alt text, hashtags, links, photo shapes and how follow-ups go out. Each network's
//! values are its entry in the coverage table (`crate::domain::coverage`).

use super::super::Network;

/// Decimal and binary megabytes, as the networks state their limits.
pub const MB: u64 = 1_000_000;
pub const MIB: u64 = 1_048_576;

/// How a network counts the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCounting {
    /// User-perceived characters (extended grapheme clusters): Bluesky.
    Graphemes,
    /// Unicode code points.
    Chars,
    /// Graphemes (as Mastodon's own validator counts), but every http(s) link counts as
    /// `url_weight` and a mention `@user@domain` only as `@user`.
    Mastodon { url_weight: usize },
    /// X's weighted count: most Latin 1, CJK and emoji 2, every URL 23, after NFC normalization.
    XWeighted,
    /// Code points, but an emoji counts as its UTF-8 byte length (Threads' documented rule).
    EmojiUtf8Bytes,
}

/// How follow-ups (`thread`) are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadSupport {
    /// As replies to the post, forming a thread.
    Replies,
    /// As the first comment under the post.
    FirstComment,
}

/// The photo shapes a network takes, as width:height ratios, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AspectRange {
    /// The tallest shape, e.g. 4:5 as `(4, 5)`.
    pub tallest: (u32, u32),
    /// The widest shape, e.g. 1.91:1 as `(191, 100)`.
    pub widest: (u32, u32),
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
    /// Photos, videos and GIFs together, where they can be mixed (a carousel or media group).
    /// Without mixing, the per-kind limits already bound the total.
    pub max_media: Option<usize>,
    pub max_image_bytes: u64,
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    /// MIME types taken for photos and GIFs.
    pub image_types: Vec<String>,
    pub video_types: Vec<String>,
    pub max_alt_text: Option<usize>,
    /// A different alt text limit for videos, where the network has one (Bluesky).
    pub max_video_alt_text: Option<usize>,
    pub max_video_seconds: Option<u64>,
    pub max_hashtags: Option<usize>,
    /// Distinct links in one post.
    pub max_links: Option<usize>,
    pub image_aspect: Option<AspectRange>,
    pub thread: ThreadSupport,
}

/// A Mastodon server's own limits (`GET /api/v2/instance` -> `configuration`). A missing field
/// keeps Mastodon's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceLimits {
    /// `statuses.max_characters`
    pub max_characters: Option<usize>,
    /// `statuses.characters_reserved_per_url`
    pub characters_reserved_per_url: Option<usize>,
    /// `statuses.max_media_attachments`
    pub max_media_attachments: Option<usize>,
    /// `media_attachments.supported_mime_types`
    pub supported_mime_types: Option<Vec<String>>,
    /// `media_attachments.image_size_limit`, in bytes
    pub image_size_limit: Option<u64>,
    /// `media_attachments.video_size_limit`, in bytes
    pub video_size_limit: Option<u64>,
    /// `media_attachments.description_limit` (Mastodon 4.4 and later)
    pub description_limit: Option<usize>,
}

/// What X (t.co) and Mastodon's default count for any link, however long.
pub const LINK_WEIGHT: usize = 23;
