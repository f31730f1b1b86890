//! Preflight: each network's rules for a post (text counted the network's way, media counts,
//! sizes, formats), checked at scheduling and again at publish time, every problem in plain words.

use std::collections::BTreeSet;
use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use super::{Asset, AssetStatus, MediaKind, Network};

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

const MB: u64 = 1_000_000;
const MIB: u64 = 1_048_576;
/// What X (t.co) and Mastodon's default count for any link, however long.
const LINK_WEIGHT: usize = 23;

fn types(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Rules {
    /// The documented defaults of each network (`../shared/reference/networks.md`); figures that
    /// source marks unconfirmed, or does not give, say so here.
    pub fn for_network(network: Network) -> Self {
        let base = Rules {
            network,
            counting: TextCounting::Chars,
            max_text: 500,
            max_text_with_media: None,
            media_required: false,
            max_images: 4,
            max_videos: 1,
            mix_media: false,
            max_media: None,
            max_image_bytes: 8 * MB,
            max_gif_bytes: 8 * MB,
            max_video_bytes: 100 * MB,
            image_types: types(&["image/jpeg", "image/png", "image/gif", "image/webp"]),
            video_types: types(&["video/mp4"]),
            max_alt_text: None,
            max_video_alt_text: None,
            max_video_seconds: None,
            max_hashtags: None,
            max_links: None,
            image_aspect: None,
            thread: ThreadSupport::Replies,
        };
        match network {
            Network::Mastodon => Rules {
                counting: TextCounting::Mastodon {
                    url_weight: LINK_WEIGHT,
                },
                // Mastodon's "16 MB" is 16.megabytes in Rails, i.e. binary.
                max_image_bytes: 16 * MIB,
                max_gif_bytes: 16 * MIB,
                max_video_bytes: 103_809_024,
                // Mastodon's own defaults (MediaAttachment); an instance's list replaces them.
                image_types: types(&[
                    "image/jpeg",
                    "image/png",
                    "image/gif",
                    "image/heic",
                    "image/heif",
                    "image/webp",
                    "image/avif",
                ]),
                video_types: types(&["video/webm", "video/mp4", "video/quicktime", "video/ogg"]),
                max_alt_text: Some(1_500),
                ..base
            },
            Network::Bluesky => Rules {
                counting: TextCounting::Graphemes,
                max_text: 300,
                max_image_bytes: 1_000_000,
                max_gif_bytes: 1_000_000,
                // The lexicon allows 100 MB, the PDS docs say 50 MB: the lower until tested, so a
                // wrong guess is told at scheduling rather than failing at publish time.
                max_video_bytes: 50 * MB,
                // Unconfirmed: the lexicon takes any image/*; these are what the app view renders.
                image_types: types(&["image/jpeg", "image/png", "image/webp", "image/gif"]),
                // Unconfirmed: the images lexicon sets no limit; 2,000 is the official app's.
                max_alt_text: Some(2_000),
                max_video_alt_text: Some(1_000),
                // Unconfirmed: 3 minutes per Bluesky's announcements, not networks.md.
                max_video_seconds: Some(180),
                ..base
            },
            Network::Linkedin => Rules {
                // Unconfirmed (widely cited).
                max_text: 3_000,
                max_images: 20,
                // Unconfirmed: LinkedIn documents a pixel count, not a file size.
                max_image_bytes: 36 * MB,
                max_gif_bytes: 36 * MB,
                // Unconfirmed.
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
                // Unconfirmed: none of the Facebook figures are in networks.md.
                max_text: 63_206,
                max_images: 10,
                max_image_bytes: 10 * MB,
                max_gif_bytes: 10 * MB,
                max_video_bytes: 1_000 * MB,
                thread: ThreadSupport::FirstComment,
                ..base
            },
            Network::Instagram => Rules {
                // Unconfirmed: caption length, hashtags, carousel size and aspect ratio.
                max_text: 2_200,
                max_hashtags: Some(30),
                media_required: true,
                max_images: 10,
                max_videos: 10,
                mix_media: true,
                max_media: Some(10),
                max_image_bytes: 8 * MB,
                // Never reached: GIFs are refused by format (JPEG only).
                max_gif_bytes: 0,
                // Unconfirmed.
                max_video_bytes: 300 * MB,
                image_types: types(&["image/jpeg"]),
                video_types: types(&["video/mp4", "video/quicktime"]),
                image_aspect: Some(AspectRange {
                    tallest: (4, 5),
                    widest: (191, 100),
                }),
                thread: ThreadSupport::FirstComment,
                ..base
            },
            Network::Threads => Rules {
                counting: TextCounting::EmojiUtf8Bytes,
                max_text: 500,
                // Meta's Threads docs: more than 5 links fail the post (from 22 December 2025).
                max_links: Some(5),
                // Unconfirmed: carousel size, sizes and formats.
                max_images: 20,
                max_videos: 20,
                mix_media: true,
                max_media: Some(20),
                max_image_bytes: 8 * MB,
                // Never reached: GIFs are refused by format.
                max_gif_bytes: 0,
                max_video_bytes: 1_000 * MB,
                image_types: types(&["image/jpeg", "image/png"]),
                video_types: types(&["video/mp4", "video/quicktime"]),
                ..base
            },
            Network::Telegram => Rules {
                // Unconfirmed whether Telegram counts code points or UTF-16 units.
                max_text: 4_096,
                max_text_with_media: Some(1_024),
                // A media group holds 2 to 10 items of any mix.
                max_images: 10,
                max_videos: 10,
                mix_media: true,
                max_media: Some(10),
                max_image_bytes: 10 * MB,
                max_gif_bytes: 50 * MB,
                max_video_bytes: 50 * MB,
                image_types: types(&["image/jpeg", "image/png", "image/webp", "image/gif"]),
                ..base
            },
        }
    }

    /// Mastodon's rules adjusted to one server's configuration. Zero or empty values are ignored:
    /// they are a broken answer, not a real limit, and the server still judges at publish time.
    pub fn mastodon_instance(limits: InstanceLimits) -> Self {
        let mut rules = Self::for_network(Network::Mastodon);
        if let Some(n) = limits.max_characters.filter(|n| *n > 0) {
            rules.max_text = n;
        }
        if let Some(url_weight) = limits.characters_reserved_per_url {
            rules.counting = TextCounting::Mastodon { url_weight };
        }
        if let Some(n) = limits.max_media_attachments.filter(|n| *n > 0) {
            rules.max_images = n;
            rules.max_videos = rules.max_videos.min(n);
        }
        if let Some(list) = limits.supported_mime_types.filter(|l| !l.is_empty()) {
            let of_kind = |prefix: &str| -> Vec<String> {
                list.iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| t.starts_with(prefix))
                    .collect()
            };
            rules.image_types = of_kind("image/");
            rules.video_types = of_kind("video/");
        }
        if let Some(bytes) = limits.image_size_limit.filter(|b| *b > 0) {
            rules.max_image_bytes = bytes;
            // Mastodon takes a GIF as an image upload, then converts it.
            rules.max_gif_bytes = bytes;
        }
        if let Some(bytes) = limits.video_size_limit.filter(|b| *b > 0) {
            rules.max_video_bytes = bytes;
        }
        if let Some(n) = limits.description_limit.filter(|n| *n > 0) {
            rules.max_alt_text = Some(n);
        }
        rules
    }

    /// The most the text may count, with or without media attached.
    pub fn text_limit(&self, with_media: bool) -> usize {
        match self.max_text_with_media {
            Some(limit) if with_media => limit,
            _ => self.max_text,
        }
    }

    /// The length of `text` as this network counts it.
    pub fn count(&self, text: &str) -> usize {
        match self.counting {
            TextCounting::Graphemes => text.graphemes(true).count(),
            TextCounting::Chars => text.chars().count(),
            TextCounting::Mastodon { url_weight } => mastodon_length(text, url_weight),
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::EmojiUtf8Bytes => text
                .graphemes(true)
                .map(|g| {
                    if is_emoji(g) {
                        g.len()
                    } else {
                        g.chars().count()
                    }
                })
                .sum(),
        }
    }

    /// Every problem of a post for this network, in plain words; empty when it can be published.
    pub fn check(&self, text: &str, thread: &[String], media: &[Asset]) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_text(text, media, &mut problems);
        self.check_thread(thread, &mut problems);
        self.check_media_counts(media, &mut problems);
        self.check_each_media(media, &mut problems);
        problems
    }

    fn name(&self) -> &'static str {
        network_name(self.network)
    }

    /// Why a count differs from what the user sees, where the network counts its own way.
    fn counting_note(&self) -> String {
        match self.counting {
            TextCounting::Graphemes | TextCounting::Chars => String::new(),
            TextCounting::Mastodon { url_weight } => {
                format!(" as Mastodon counts them (each link counts {url_weight})")
            }
            TextCounting::XWeighted => format!(
                " as X counts them (each link counts {LINK_WEIGHT}, emoji and CJK characters 2)"
            ),
            TextCounting::EmojiUtf8Bytes => format!(
                " as {} counts them (an emoji counts as 2 to 4, more for combined ones)",
                self.name()
            ),
        }
    }

    fn check_text(&self, text: &str, media: &[Asset], problems: &mut Vec<String>) {
        let name = self.name();
        if text.trim().is_empty() && media.is_empty() && !self.media_required {
            problems.push("the post has no text and no media".into());
        }
        let limit = self.text_limit(!media.is_empty());
        let length = self.count(text);
        if length > limit {
            let is_caption = limit < self.max_text;
            let subject = if is_caption { "caption" } else { "text" };
            let mut problem = format!(
                "the {subject} is {} characters long{}; {name} allows {}",
                thousands(length as u64),
                self.counting_note(),
                thousands(limit as u64)
            );
            if is_caption {
                problem.push_str(&format!(
                    " with media attached ({} without)",
                    thousands(self.max_text as u64)
                ));
            }
            problems.push(problem);
        }
        if let Some(max) = self.max_hashtags {
            let tags = count_hashtags(text);
            if tags > max {
                problems.push(format!("the text has {tags} hashtags; {name} allows {max}"));
            }
        }
        self.check_links("the text", text, problems);
    }

    fn check_links(&self, subject: &str, text: &str, problems: &mut Vec<String>) {
        let Some(max) = self.max_links else { return };
        let distinct: BTreeSet<&str> = find_urls(text)
            .into_iter()
            .filter_map(|r| text.get(r))
            .collect();
        if distinct.len() > max {
            problems.push(format!(
                "{subject} has {} links; {} allows {max}",
                distinct.len(),
                self.name()
            ));
        }
    }

    fn check_thread(&self, thread: &[String], problems: &mut Vec<String>) {
        for (i, part) in thread.iter().enumerate() {
            let subject = format!("follow-up {}", i + 1);
            if part.trim().is_empty() {
                problems.push(format!("{subject} is empty"));
                continue;
            }
            let length = self.count(part);
            if length > self.max_text {
                problems.push(format!(
                    "{subject} is {} characters long{}; {} allows {}",
                    thousands(length as u64),
                    self.counting_note(),
                    self.name(),
                    thousands(self.max_text as u64)
                ));
            }
            self.check_links(&subject, part, problems);
        }
    }

    fn check_media_counts(&self, media: &[Asset], problems: &mut Vec<String>) {
        let name = self.name();
        if media.is_empty() {
            if self.media_required {
                problems.push(format!("{name} needs at least one photo or video"));
            }
            return;
        }
        let count = |kind: MediaKind| media.iter().filter(|a| a.kind == kind).count();
        let (photos, videos, gifs) = (
            count(MediaKind::Image),
            count(MediaKind::Video),
            count(MediaKind::Gif),
        );
        let moving = videos + gifs;
        let mut within_kinds = true;
        if photos > self.max_images {
            within_kinds = false;
            problems.push(if self.max_images == 0 {
                format!("{name} doesn't take photos")
            } else {
                format!(
                    "the post has {photos} photos; {name} takes at most {} per post",
                    self.max_images
                )
            });
        }
        if moving > self.max_videos {
            within_kinds = false;
            let noun = match (videos, gifs) {
                (_, 0) => "videos",
                (0, _) => "GIFs",
                _ => "videos and GIFs",
            };
            problems.push(if self.max_videos == 0 {
                format!("{name} doesn't take videos or GIFs")
            } else {
                format!(
                    "the post has {moving} {noun}; {name} takes at most {} per post",
                    self.max_videos
                )
            });
        }
        if !self.mix_media && moving > 0 && photos > 0 {
            within_kinds = false;
            let one = if videos > 0 { "a video" } else { "a GIF" };
            problems.push(format!(
                "{name} can't combine photos with {one} in one post"
            ));
        }
        // Only when each kind is within its own limit, so one excess is not reported twice.
        if let Some(max) = self.max_media
            && within_kinds
            && media.len() > max
        {
            problems.push(format!(
                "the post has {} photos and videos; {name} takes at most {max} per post",
                media.len()
            ));
        }
    }

    fn check_each_media(&self, media: &[Asset], problems: &mut Vec<String>) {
        let name = self.name();
        let (mut photos, mut videos, mut gifs) = (0, 0, 0);
        for asset in media {
            // Numbered per kind, as a manager sees them: "photo 2" is the second photo.
            let (label, per, limit, accepted) = match asset.kind {
                MediaKind::Image => {
                    photos += 1;
                    (
                        format!("photo {photos}"),
                        "image",
                        self.max_image_bytes,
                        &self.image_types,
                    )
                }
                MediaKind::Gif => {
                    gifs += 1;
                    (
                        format!("GIF {gifs}"),
                        "GIF",
                        self.max_gif_bytes,
                        &self.image_types,
                    )
                }
                MediaKind::Video => {
                    videos += 1;
                    (
                        format!("video {videos}"),
                        "video",
                        self.max_video_bytes,
                        &self.video_types,
                    )
                }
            };
            match asset.status {
                AssetStatus::Ready => {}
                AssetStatus::Processing => problems.push(format!(
                    "{label} is still being processed; wait until it is ready"
                )),
                AssetStatus::Rejected => problems.push(format!(
                    "{label} was rejected by the media library; choose another file"
                )),
            }
            let content_type = mime_essence(&asset.content_type);
            if !accepted.iter().any(|t| mime_essence(t) == content_type) {
                problems.push(self.format_problem(&label, asset.kind, &content_type, accepted));
            } else if asset.size > limit {
                // Size only matters for a format the network takes at all.
                let (size, limit) = sizes_apart(asset.size, limit);
                problems.push(format!(
                    "{label} ({size}) is over {} {limit} limit per {per}",
                    possessive(name)
                ));
            }
            if asset.kind == MediaKind::Video
                && let (Some(max), Some(ms)) = (self.max_video_seconds, asset.duration_ms)
                && ms > max.saturating_mul(1_000)
            {
                // Rounded up, so a video just over the limit never reads as equal to it.
                problems.push(format!(
                    "{label} is {} long; {name} takes videos up to {}",
                    human_duration(ms.div_ceil(1_000)),
                    human_duration(max)
                ));
            }
            let alt_limit = match asset.kind {
                MediaKind::Video => self.max_video_alt_text.or(self.max_alt_text),
                MediaKind::Image | MediaKind::Gif => self.max_alt_text,
            };
            if let (Some(max), Some(alt)) = (alt_limit, asset.alt_text.as_deref()) {
                let length = match self.counting {
                    TextCounting::Graphemes => alt.graphemes(true).count(),
                    _ => alt.chars().count(),
                };
                if length > max {
                    problems.push(format!(
                        "the alt text of {label} is {} characters long; {name} allows {}",
                        thousands(length as u64),
                        thousands(max as u64)
                    ));
                }
            }
            if asset.kind == MediaKind::Image
                && let Some(problem) = self.aspect_problem(&label, asset)
            {
                problems.push(problem);
            }
        }
    }

    fn format_problem(
        &self,
        label: &str,
        kind: MediaKind,
        content_type: &str,
        accepted: &[String],
    ) -> String {
        let name = self.name();
        let accepted_names: Vec<String> = {
            let mut seen = Vec::new();
            for t in accepted {
                let n = format_name(&mime_essence(t)).map_or_else(|| t.clone(), |(n, _)| n.into());
                if !seen.contains(&n) {
                    seen.push(n);
                }
            }
            seen
        };
        if accepted_names.is_empty() {
            let plural = match kind {
                MediaKind::Image => "photos",
                MediaKind::Gif => "GIFs",
                MediaKind::Video => "videos",
            };
            return format!("{label} can't be posted: {name} takes no {plural}");
        }
        let what = match format_name(content_type) {
            Some((format, article)) => {
                let noun = if content_type.starts_with("video/") {
                    "video"
                } else if content_type.starts_with("image/") {
                    "image"
                } else {
                    "file"
                };
                format!("is {article} {format} {noun}")
            }
            None if content_type.is_empty() => "is of an unknown type".into(),
            None => format!("is of type {content_type}"),
        };
        let list = match accepted_names.as_slice() {
            [only] => format!("{only} only"),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
            [] => String::new(),
        };
        format!("{label} {what}; {name} takes {list}")
    }

    fn aspect_problem(&self, label: &str, asset: &Asset) -> Option<String> {
        let range = self.image_aspect?;
        let (width, height) = (u64::from(asset.width?), u64::from(asset.height?));
        if width == 0 || height == 0 {
            return None;
        }
        let (tw, th) = (u64::from(range.tallest.0), u64::from(range.tallest.1));
        let (ww, wh) = (u64::from(range.widest.0), u64::from(range.widest.1));
        // width/height < tw/th, cross-multiplied to stay in integers.
        let shape = if width * th < height * tw {
            "too tall"
        } else if width * wh > height * ww {
            "too wide"
        } else {
            return None;
        };
        Some(format!(
            "{label} ({width}×{height}) is {shape}; {} takes photos from {} portrait to {} landscape",
            self.name(),
            ratio(range.tallest),
            ratio(range.widest)
        ))
    }
}

/// The network as a manager names it.
fn network_name(network: Network) -> &'static str {
    match network {
        Network::Mastodon => "Mastodon",
        Network::Bluesky => "Bluesky",
        Network::Linkedin => "LinkedIn",
        Network::X => "X",
        Network::Facebook => "Facebook",
        Network::Instagram => "Instagram",
        Network::Threads => "Threads",
        Network::Telegram => "Telegram",
    }
}

fn possessive(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

/// `image/JPEG; q=1` -> `image/jpeg`.
fn mime_essence(raw: &str) -> String {
    raw.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The name a manager knows a format by, with its article.
fn format_name(mime: &str) -> Option<(&'static str, &'static str)> {
    Some(match mime {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => ("JPEG", "a"),
        "image/png" => ("PNG", "a"),
        "image/gif" => ("GIF", "a"),
        "image/webp" => ("WebP", "a"),
        "image/heic" => ("HEIC", "a"),
        "image/heif" => ("HEIF", "a"),
        "image/avif" => ("AVIF", "an"),
        "image/tiff" => ("TIFF", "a"),
        "image/bmp" => ("BMP", "a"),
        "image/svg+xml" => ("SVG", "an"),
        "video/mp4" => ("MP4", "an"),
        "video/quicktime" => ("MOV", "a"),
        "video/webm" => ("WebM", "a"),
        "video/ogg" => ("Ogg", "an"),
        "video/x-msvideo" => ("AVI", "an"),
        "video/x-matroska" => ("MKV", "an"),
        "video/x-m4v" => ("M4V", "an"),
        "video/mpeg" => ("MPEG", "an"),
        "video/3gpp" => ("3GP", "a"),
        _ => return None,
    })
}

/// `(4, 5)` -> `4:5`; `(191, 100)` -> `1.91:1`.
fn ratio((w, h): (u32, u32)) -> String {
    match h {
        10 => format!("{}:1", decimal(u128::from(w), 1)),
        100 => format!("{}:1", decimal(u128::from(w), 2)),
        _ => format!("{w}:{h}"),
    }
}

/// `4096` -> `4,096`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// `scaled` is a number times 10^`decimals`; trailing zeros are dropped (`1.50` -> `1.5`).
fn decimal(scaled: u128, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    let whole = scaled / scale;
    let fraction = format!("{:0width$}", scaled % scale, width = decimals as usize);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Bytes in decimal units (1 MB = 1,000,000 bytes, as the networks write their limits).
fn human_size(bytes: u64, decimals: u32) -> String {
    let scale = 10u128.pow(decimals);
    for (unit, name) in [(1_000_000_000u64, "GB"), (MB, "MB"), (1_000, "KB")] {
        let unit = u128::from(unit);
        let scaled = (u128::from(bytes) * scale + unit / 2) / unit;
        if scaled >= scale {
            return format!("{} {name}", decimal(scaled, decimals));
        }
    }
    format!("{} bytes", thousands(bytes))
}

/// A size and a limit written precisely enough to tell them apart: a file just over a limit
/// must never read as equal to it.
fn sizes_apart(size: u64, limit: u64) -> (String, String) {
    for decimals in 1..=3 {
        let (s, l) = (human_size(size, decimals), human_size(limit, decimals));
        if s != l {
            return (s, l);
        }
    }
    (
        format!("{} bytes", thousands(size)),
        format!("{} bytes", thousands(limit)),
    )
}

/// `140` -> `2 min 20 s`.
fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3_600, seconds % 3_600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

/// Byte ranges of the http(s) links in `text`, close to how Mastodon and X (twitter-text) find
/// them: a scheme not glued to a word, a dotted host, then a path whose trailing punctuation
/// belongs to the sentence. X also links bare domains (`acme.com`); those are not found here, so
/// a text near X's limit with one can still be refused at publish time.
///
/// Linear in the text's length: the scan moves forward only; a host is read once, by the scheme
/// just before it (a host has no `:`, so no other scheme starts inside it); a path is read once
/// and trimmed in linear time (`url_end`), and the scan resumes after the link, so it reads
/// again only the trimmed punctuation, where no scheme can start (it holds no letter).
fn find_urls(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut urls = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let scheme = if starts_with_ignore_case(rest, b"https://") {
            8
        } else if starts_with_ignore_case(rest, b"http://") {
            7
        } else {
            i += 1;
            continue;
        };
        // An ASCII byte is always a char boundary in UTF-8, so `i` is one here.
        let glued = text
            .get(..i)
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '@' | '$' | '#' | '＠' | '＃'));
        let host_start = i + scheme;
        match (!glued).then(|| url_end(text, host_start)).flatten() {
            Some(end) => {
                urls.push(i..end);
                i = end;
            }
            None => i = host_start,
        }
    }
    urls
}

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Where a link whose host starts at `host_start` ends, or `None` when no valid host follows.
fn url_end(text: &str, host_start: usize) -> Option<usize> {
    let after = text.get(host_start..)?;
    let host_len = after
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .map_or(after.len(), |(at, _)| at);
    let host = after[..host_len].trim_end_matches(['.', '-']);
    let tld = host.rsplit('.').next().unwrap_or_default();
    let valid_host = host.contains('.')
        && !host.split('.').any(str::is_empty)
        && (tld.starts_with("xn--")
            || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)));
    if !valid_host {
        return None;
    }
    let mut end = host_start + host.len();
    let rest = &text[end..];
    if let Some(port) = rest.strip_prefix(':') {
        let digits = port.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            end += 1 + digits;
        }
    }
    let rest = &text[end..];
    if !rest.starts_with(['/', '?', '#']) {
        return Some(end);
    }
    let path_len = rest
        .char_indices()
        .find(|(_, c)| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}')
        })
        .map_or(rest.len(), |(at, _)| at);
    Some(trim_link_end(&text[..end + path_len], host_start, end))
}

/// Where a link really ends, given `url`, the text up to the end of its path: a link ends on a
/// character that can end one; `.` `,` `!` `?` and an unbalanced `)` are the sentence's. A `)` is
/// balanced when what is left of the link from `host_start` (after the scheme) has at least as
/// many `(` as `)`. Nothing before `path_start` is trimmed.
///
/// Linear in the length of `url`: both parentheses are counted once, then lowered as each
/// character is trimmed off, so each step is O(1). (Recounting what was left at every step made
/// it quadratic: a link followed by 64 KiB of `)` took 10 s per network.) Bytes can be counted
/// for characters: in UTF-8 an ASCII byte is only ever that ASCII character.
fn trim_link_end(mut url: &str, host_start: usize, path_start: usize) -> usize {
    let after_scheme = &url.as_bytes()[host_start..];
    let mut opens = after_scheme.iter().filter(|b| **b == b'(').count();
    let mut closes = after_scheme.iter().filter(|b| **b == b')').count();
    while url.len() > path_start {
        let Some(last) = url.chars().next_back() else {
            break;
        };
        let balanced_paren = last == ')' && opens >= closes;
        if last.is_alphanumeric()
            || matches!(last, '/' | '=' | '_' | '#' | '+' | '-' | '&')
            || balanced_paren
        {
            break;
        }
        match last {
            '(' => opens -= 1,
            ')' => closes -= 1,
            _ => {}
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url.len()
}

/// The parts of `text` around the given (sorted, non-overlapping) ranges.
fn outside<'t>(text: &'t str, ranges: &[Range<usize>]) -> Vec<&'t str> {
    let mut parts = Vec::with_capacity(ranges.len() + 1);
    let mut from = 0;
    for r in ranges {
        parts.push(text.get(from..r.start).unwrap_or_default());
        from = r.end;
    }
    parts.push(text.get(from..).unwrap_or_default());
    parts
}

/// Mastodon's StatusLengthValidator: links become a fixed-length placeholder, `@user@domain`
/// becomes `@user`, then graphemes are counted.
fn mastodon_length(text: &str, url_weight: usize) -> usize {
    let urls = find_urls(text);
    // One `x` per link keeps the mention rule seeing a word character where the link was (as
    // Mastodon's `xxx…` placeholder does) without building a string of `url_weight` characters.
    let countable = outside(text, &urls).join("x");
    let graphemes = fold_mentions(&countable).graphemes(true).count();
    graphemes
        .saturating_sub(urls.len())
        .saturating_add(urls.len().saturating_mul(url_weight))
}

/// Ruby's `[[:word:]]`, close enough: letters, digits and the underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte length of the longest `P+([.-]+P+)*` at the start of `s`.
fn dotted_run(s: &str, part: impl Fn(char) -> bool) -> usize {
    let run = |from: usize| -> usize {
        s[from..]
            .char_indices()
            .find(|(_, c)| !part(*c))
            .map_or(s.len() - from, |(at, _)| at)
    };
    let mut end = run(0);
    if end == 0 {
        return 0;
    }
    loop {
        let separators = s[end..]
            .bytes()
            .take_while(|b| matches!(b, b'.' | b'-'))
            .count();
        if separators == 0 {
            return end;
        }
        let next = run(end + separators);
        if next == 0 {
            return end;
        }
        end += separators + next;
    }
}

/// Mastodon's mention rule: `@user@domain` (not after `=`, `/` or a word character) counts as
/// `@user`.
fn fold_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let can_mention = !prev.is_some_and(|p| p == '=' || p == '/' || is_word(p));
        if c == '@' && can_mention {
            let after = &rest[1..];
            let user = dotted_run(after, |c| c.is_ascii_alphanumeric() || c == '_');
            if user > 0 {
                let domain =
                    after[user..]
                        .strip_prefix('@')
                        .map_or(0, |d| match dotted_run(d, is_word) {
                            0 => 0,
                            n => n + 1,
                        });
                out.push('@');
                out.push_str(&after[..user]);
                let consumed = 1 + user + domain;
                prev = rest[..consumed].chars().next_back();
                rest = &rest[consumed..];
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// X's weighted length (twitter-text v3): NFC first, each link 23, an emoji sequence 2, other
/// code points 1 in X's light ranges and 2 elsewhere.
fn x_weighted_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let urls = find_urls(&text);
    let rest: usize = outside(&text, &urls)
        .into_iter()
        .flat_map(|part| part.graphemes(true))
        .map(|g| {
            let several = g.chars().nth(1).is_some();
            if several && is_emoji(g) {
                2
            } else {
                g.chars().map(x_weight).sum()
            }
        })
        .sum();
    rest.saturating_add(urls.len().saturating_mul(LINK_WEIGHT))
}

fn x_weight(c: char) -> usize {
    match u32::from(c) {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

/// Whether a grapheme is an emoji: an emoji-presentation character, or a sequence (ZWJ family,
/// skin tone, variation selector, keycap, flag) starting with a pictographic one.
fn is_emoji(grapheme: &str) -> bool {
    let mut chars = grapheme.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    match chars.next() {
        None => is_emoji_presentation(first),
        Some(second) => {
            is_pictographic(first)
                || (is_regional_indicator(first) && is_regional_indicator(second))
                || grapheme.contains('\u{20E3}')
        }
    }
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Close to Unicode's Extended_Pictographic, without the plain arrows and shapes of text.
fn is_pictographic(c: char) -> bool {
    matches!(u32::from(c),
        0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x2199 | 0x21A9..=0x21AA
        | 0x231A..=0x231B | 0x2328 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA | 0x24C2
        | 0x25AA..=0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE | 0x2600..=0x27BF
        | 0x2934..=0x2935 | 0x2B05..=0x2B07 | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x3030
        | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF)
}

/// Single characters shown as emoji without a variation selector (Emoji_Presentation, close).
fn is_emoji_presentation(c: char) -> bool {
    matches!(u32::from(c),
        0x231A..=0x231B | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615
        | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD
        | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757
        | 0x2795..=0x2797 | 0x27B0 | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55
        | 0x1F000..=0x1FAFF)
}

/// Hashtags outside links: `#` not glued to a word, followed by a word character.
fn count_hashtags(text: &str) -> usize {
    outside(text, &find_urls(text))
        .into_iter()
        .map(|part| {
            let chars: Vec<char> = part.chars().collect();
            chars
                .iter()
                .enumerate()
                .filter(|&(i, c)| {
                    matches!(c, '#' | '＃')
                        && !(i > 0 && (is_word(chars[i - 1]) || chars[i - 1] == '&'))
                        && chars.get(i + 1).is_some_and(|n| is_word(*n))
                })
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::domain::AssetId;

    const FAMILY: &str = "👩\u{200D}👩\u{200D}👧\u{200D}👦";

    fn rules(network: Network) -> Rules {
        Rules::for_network(network)
    }

    fn asset(kind: MediaKind, content_type: &str, size: u64) -> Asset {
        Asset {
            id: AssetId::new(),
            kind,
            content_type: content_type.into(),
            size,
            width: None,
            height: None,
            duration_ms: None,
            alt_text: None,
            object_key: "library/brand/asset".into(),
            status: AssetStatus::Ready,
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            details: Default::default(),
        }
    }

    fn photo(size: u64) -> Asset {
        asset(MediaKind::Image, "image/jpeg", size)
    }

    fn video(size: u64, duration_ms: u64) -> Asset {
        Asset {
            duration_ms: Some(duration_ms),
            ..asset(MediaKind::Video, "video/mp4", size)
        }
    }

    fn gif(size: u64) -> Asset {
        asset(MediaKind::Gif, "image/gif", size)
    }

    fn no_thread() -> Vec<String> {
        Vec::new()
    }

    // --- counting ---

    #[test]
    fn bluesky_counts_a_family_emoji_as_one() {
        // given a ZWJ family emoji of seven code points
        assert_eq!(FAMILY.chars().count(), 7);
        // when Bluesky counts it, then it is one grapheme
        assert_eq!(rules(Network::Bluesky).count(FAMILY), 1);
    }

    #[test]
    fn bluesky_takes_300_family_emoji_and_refuses_301() {
        let bluesky = rules(Network::Bluesky);
        // given exactly 300 graphemes, when checked, then no problem
        assert_eq!(
            bluesky.check(&FAMILY.repeat(300), &no_thread(), &[]),
            Vec::<String>::new()
        );
        // given 301, then the count and the limit are said
        assert_eq!(
            bluesky.check(&FAMILY.repeat(301), &no_thread(), &[]),
            vec!["the text is 301 characters long; Bluesky allows 300"]
        );
    }

    #[test]
    fn mastodon_counts_any_link_as_23() {
        let mastodon = rules(Network::Mastodon);
        // given a 200-character link
        let url = format!("https://example.com/{}", "a".repeat(180));
        assert_eq!(url.chars().count(), 200);
        // when counted alone and inside a sentence, then it weighs 23
        assert_eq!(mastodon.count(&url), 23);
        assert_eq!(mastodon.count(&format!("see {url} now")), 4 + 23 + 4);
        // and a short http link weighs 23 too
        assert_eq!(mastodon.count("http://a.co"), 23);
    }

    #[test]
    fn mastodon_counts_a_mention_by_its_local_part() {
        let mastodon = rules(Network::Mastodon);
        // given a remote mention, then only "@alice" counts
        assert_eq!(
            mastodon.count("@alice@example.social hi"),
            "@alice hi".len()
        );
        // given a local mention, then all of it counts
        assert_eq!(mastodon.count("@alice hi"), 9);
        // given an e-mail address, then it is no mention and counts in full
        assert_eq!(mastodon.count("me@example.social"), 17);
    }

    #[test]
    fn mastodon_counts_graphemes_and_leaves_sentence_punctuation_out_of_links() {
        let mastodon = rules(Network::Mastodon);
        assert_eq!(mastodon.count(FAMILY), 1);
        // the full stop ends the sentence, not the link
        assert_eq!(mastodon.count("https://example.com/a."), 24);
        // balanced parentheses belong to the link; the closing one of the sentence does not
        assert_eq!(
            mastodon.count("https://en.wikipedia.org/wiki/Rust_(language)"),
            23
        );
        assert_eq!(mastodon.count("(https://example.com/a)"), 25);
        // a scheme with no real host is plain text
        assert_eq!(mastodon.count("https://"), 8);
    }

    #[test]
    fn x_takes_280_latin_characters_and_refuses_281() {
        let x = rules(Network::X);
        assert_eq!(x.count(&"a".repeat(280)), 280);
        assert!(x.check(&"é".repeat(280), &no_thread(), &[]).is_empty());
        assert_eq!(
            x.check(&"a".repeat(281), &no_thread(), &[]),
            vec![
                "the text is 281 characters long as X counts them (each link counts 23, emoji and \
                 CJK characters 2); X allows 280"
            ]
        );
    }

    #[test]
    fn x_counts_141_cjk_characters_as_282() {
        let x = rules(Network::X);
        let text = "漢".repeat(141);
        assert_eq!(x.count(&text), 282);
        assert_eq!(
            x.check(&"漢".repeat(140), &no_thread(), &[]),
            Vec::<String>::new()
        );
        let problems = x.check(&text, &no_thread(), &[]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("the text is 282 characters long"),
            "{problems:?}"
        );
    }

    #[test]
    fn x_counts_an_emoji_as_2_however_many_code_points() {
        let x = rules(Network::X);
        assert_eq!(x.count("😀"), 2);
        assert_eq!(x.count(FAMILY), 2);
        assert_eq!(x.count("👍🏽"), 2);
        assert_eq!(x.count("🇮🇹"), 2);
        assert_eq!(x.count("1\u{FE0F}\u{20E3}"), 2);
        assert_eq!(x.count("❤\u{FE0F}"), 2);
        // a plain digit stays 1
        assert_eq!(x.count("1"), 1);
    }

    #[test]
    fn x_counts_any_link_as_23() {
        let x = rules(Network::X);
        let url = format!("https://example.com/{}", "b".repeat(100));
        assert_eq!(x.count(&url), 23);
        assert_eq!(x.count(&format!("a {url}")), 25);
        assert_eq!(x.count("https://a.co https://b.co"), 23 + 1 + 23);
    }

    #[test]
    fn x_normalizes_to_nfc_before_counting() {
        // given e followed by a combining acute accent (two code points)
        let decomposed = "e\u{0301}";
        assert_eq!(decomposed.chars().count(), 2);
        // then X counts the composed é: 1
        assert_eq!(rules(Network::X).count(decomposed), 1);
    }

    #[test]
    fn threads_counts_an_emoji_by_its_utf8_bytes() {
        let threads = rules(Network::Threads);
        assert_eq!(threads.count("😀"), 4);
        assert_eq!(threads.count("ciao"), 4);
        assert!(
            threads
                .check(&"a".repeat(500), &no_thread(), &[])
                .is_empty()
        );
        let over = format!("{}😀", "a".repeat(497));
        assert_eq!(over.chars().count(), 498);
        let problems = threads.check(&over, &no_thread(), &[]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("the text is 501 characters long as Threads counts them"));
    }

    // --- text rules ---

    #[test]
    fn telegram_allows_1024_with_media_and_4096_without() {
        let telegram = rules(Network::Telegram);
        let caption = "a".repeat(1_025);
        // without media the same text is fine
        assert!(telegram.check(&caption, &no_thread(), &[]).is_empty());
        // with a photo it is over the caption limit
        assert_eq!(
            telegram.check(&caption, &no_thread(), &[photo(100_000)]),
            vec![
                "the caption is 1,025 characters long; Telegram allows 1,024 with media \
                 attached (4,096 without)"
            ]
        );
        assert!(
            telegram
                .check(&"a".repeat(1_024), &no_thread(), &[photo(1)])
                .is_empty()
        );
        assert_eq!(
            telegram.check(&"a".repeat(4_097), &no_thread(), &[]),
            vec!["the text is 4,097 characters long; Telegram allows 4,096"]
        );
        assert_eq!(telegram.text_limit(true), 1_024);
        assert_eq!(telegram.text_limit(false), 4_096);
    }

    #[test]
    fn every_follow_up_of_a_thread_is_checked() {
        let bluesky = rules(Network::Bluesky);
        let thread = vec![
            "fine".to_owned(),
            "b".repeat(301),
            " ".to_owned(),
            "c".repeat(320),
        ];
        assert_eq!(
            bluesky.check("first", &thread, &[]),
            vec![
                "follow-up 2 is 301 characters long; Bluesky allows 300",
                "follow-up 3 is empty",
                "follow-up 4 is 320 characters long; Bluesky allows 300",
            ]
        );
    }

    #[test]
    fn a_post_needs_text_or_media() {
        assert_eq!(
            rules(Network::Mastodon).check("  \n", &no_thread(), &[]),
            vec!["the post has no text and no media"]
        );
        assert!(
            rules(Network::Mastodon)
                .check("", &no_thread(), &[photo(10)])
                .is_empty()
        );
    }

    #[test]
    fn instagram_needs_media_and_at_most_30_hashtags() {
        let instagram = rules(Network::Instagram);
        assert_eq!(
            instagram.check("hello", &no_thread(), &[]),
            vec!["Instagram needs at least one photo or video"]
        );
        let tags: Vec<String> = (0..31).map(|i| format!("#tag{i}")).collect();
        assert_eq!(
            instagram.check(&tags.join(" "), &no_thread(), &[photo(1_000)]),
            vec!["the text has 31 hashtags; Instagram allows 30"]
        );
        // a link's fragment and an HTML-ish entity are not hashtags
        assert_eq!(count_hashtags("https://example.com/#top &#39; a#b #ok"), 1);
    }

    #[test]
    fn threads_refuses_more_than_5_distinct_links() {
        let threads = rules(Network::Threads);
        let links: Vec<String> = (0..6).map(|i| format!("https://example.com/{i}")).collect();
        assert_eq!(
            threads.check(&links.join(" "), &no_thread(), &[]),
            vec!["the text has 6 links; Threads allows 5"]
        );
        // the same link repeated counts once
        let same = "https://example.com/a ".repeat(6);
        assert!(threads.check(&same, &no_thread(), &[]).is_empty());
    }

    // --- media ---

    #[test]
    fn bluesky_refuses_a_photo_over_1_mb() {
        let problems =
            rules(Network::Bluesky).check("hi", &no_thread(), &[photo(900_000), photo(1_200_000)]);
        assert_eq!(
            problems,
            vec!["photo 2 (1.2 MB) is over Bluesky's 1 MB limit per image"]
        );
    }

    #[test]
    fn a_size_just_over_the_limit_never_reads_as_equal_to_it() {
        let problems = rules(Network::Bluesky).check("hi", &no_thread(), &[photo(1_000_001)]);
        assert_eq!(
            problems,
            vec!["photo 1 (1,000,001 bytes) is over Bluesky's 1,000,000 bytes limit per image"]
        );
        let problems = rules(Network::Mastodon).check("hi", &no_thread(), &[photo(17_000_000)]);
        assert_eq!(
            problems,
            vec!["photo 1 (17 MB) is over Mastodon's 16.8 MB limit per image"]
        );
    }

    #[test]
    fn instagram_takes_jpeg_only() {
        let heic = asset(MediaKind::Image, "image/heic", 1_000);
        assert_eq!(
            rules(Network::Instagram).check("hi", &no_thread(), &[heic, gif(1_000)]),
            vec![
                "photo 1 is a HEIC image; Instagram takes JPEG only",
                "GIF 1 is a GIF image; Instagram takes JPEG only",
            ]
        );
    }

    #[test]
    fn bluesky_takes_mp4_only_and_up_to_50_mb() {
        let webm = Asset {
            content_type: "video/webm".into(),
            ..video(1_000, 10_000)
        };
        assert_eq!(
            rules(Network::Bluesky).check("hi", &no_thread(), &[webm]),
            vec!["video 1 is a WebM video; Bluesky takes MP4 only"]
        );
        assert_eq!(
            rules(Network::Bluesky).check("hi", &no_thread(), &[video(60 * MB, 10_000)]),
            vec!["video 1 (60 MB) is over Bluesky's 50 MB limit per video"]
        );
    }

    #[test]
    fn mastodon_lists_every_format_it_takes() {
        let avi = Asset {
            content_type: "video/x-msvideo".into(),
            ..video(1_000, 1_000)
        };
        assert_eq!(
            rules(Network::Mastodon).check("hi", &no_thread(), &[avi]),
            vec!["video 1 is an AVI video; Mastodon takes WebM, MP4, MOV or Ogg"]
        );
    }

    #[test]
    fn x_takes_4_photos_or_1_video_never_both() {
        let x = rules(Network::X);
        assert!(
            x.check("hi", &no_thread(), &vec![photo(1_000); 4])
                .is_empty()
        );
        assert_eq!(
            x.check("hi", &no_thread(), &vec![photo(1_000); 5]),
            vec!["the post has 5 photos; X takes at most 4 per post"]
        );
        assert_eq!(
            x.check("hi", &no_thread(), &[video(1_000, 1_000), photo(1_000)]),
            vec!["X can't combine photos with a video in one post"]
        );
        assert_eq!(
            x.check("hi", &no_thread(), &[video(1_000, 1_000), gif(1_000)]),
            vec!["the post has 2 videos and GIFs; X takes at most 1 per post"]
        );
        assert_eq!(
            x.check("hi", &no_thread(), &[gif(16 * MB)]),
            vec!["GIF 1 (16 MB) is over X's 15 MB limit per GIF"]
        );
    }

    #[test]
    fn x_refuses_a_video_over_140_seconds() {
        let x = rules(Network::X);
        assert!(
            x.check("hi", &no_thread(), &[video(1_000, 140_000)])
                .is_empty()
        );
        assert_eq!(
            x.check("hi", &no_thread(), &[video(1_000, 140_001)]),
            vec!["video 1 is 2 min 21 s long; X takes videos up to 2 min 20 s"]
        );
    }

    #[test]
    fn telegram_takes_10_items_in_any_mix() {
        let telegram = rules(Network::Telegram);
        let mut media = vec![photo(1_000); 5];
        media.extend(vec![video(1_000, 1_000); 5]);
        assert!(telegram.check("hi", &no_thread(), &media).is_empty());
        media.push(photo(1_000));
        assert_eq!(
            telegram.check("hi", &no_thread(), &media),
            vec!["the post has 11 photos and videos; Telegram takes at most 10 per post"]
        );
    }

    #[test]
    fn alt_text_is_checked_per_network_and_kind() {
        let long_alt = |n: usize, a: Asset| Asset {
            alt_text: Some("a".repeat(n)),
            ..a
        };
        assert_eq!(
            rules(Network::Mastodon).check("hi", &no_thread(), &[long_alt(1_501, photo(1))]),
            vec!["the alt text of photo 1 is 1,501 characters long; Mastodon allows 1,500"]
        );
        assert!(
            rules(Network::Mastodon)
                .check("hi", &no_thread(), &[long_alt(1_500, photo(1))])
                .is_empty()
        );
        // Bluesky: videos have a lower alt text limit than photos
        assert!(
            rules(Network::Bluesky)
                .check("hi", &no_thread(), &[long_alt(1_500, photo(1))])
                .is_empty()
        );
        assert_eq!(
            rules(Network::Bluesky).check("hi", &no_thread(), &[long_alt(1_001, video(1, 1_000))]),
            vec!["the alt text of video 1 is 1,001 characters long; Bluesky allows 1,000"]
        );
    }

    #[test]
    fn media_that_is_not_ready_is_named() {
        let processing = Asset {
            status: AssetStatus::Processing,
            ..photo(1_000)
        };
        let rejected = Asset {
            status: AssetStatus::Rejected,
            ..photo(1_000)
        };
        assert_eq!(
            rules(Network::Mastodon).check("hi", &no_thread(), &[processing, rejected]),
            vec![
                "photo 1 is still being processed; wait until it is ready",
                "photo 2 was rejected by the media library; choose another file",
            ]
        );
    }

    #[test]
    fn instagram_takes_photos_from_4_5_to_1_91_1() {
        let sized = |w: u32, h: u32| Asset {
            width: Some(w),
            height: Some(h),
            ..photo(1_000)
        };
        let instagram = rules(Network::Instagram);
        assert!(
            instagram
                .check("hi", &no_thread(), &[sized(1080, 1350)])
                .is_empty()
        );
        assert!(
            instagram
                .check("hi", &no_thread(), &[sized(1910, 1000)])
                .is_empty()
        );
        assert_eq!(
            instagram.check("hi", &no_thread(), &[sized(1080, 1920)]),
            vec![
                "photo 1 (1080×1920) is too tall; Instagram takes photos from 4:5 portrait to 1.91:1 landscape"
            ]
        );
        assert_eq!(
            instagram
                .check("hi", &no_thread(), &[sized(2000, 1000)])
                .len(),
            1
        );
    }

    #[test]
    fn every_problem_is_returned_not_just_the_first() {
        let heic = asset(MediaKind::Image, "image/heic", 1_000);
        let mut media = vec![photo(6 * MB), heic];
        media.extend(vec![photo(1_000); 3]);
        let problems = rules(Network::X).check(&"a".repeat(300), &["b".repeat(281)], &media);
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("the text is 300 characters long"));
        assert!(problems[1].starts_with("follow-up 1 is 281 characters long"));
        assert_eq!(
            problems[2],
            "the post has 5 photos; X takes at most 4 per post"
        );
        assert_eq!(
            problems[3],
            "photo 1 (6 MB) is over X's 5 MB limit per image"
        );
        assert_eq!(
            problems[4],
            "photo 2 is a HEIC image; X takes JPEG, PNG, GIF or WebP"
        );
    }

    // --- Mastodon instances ---

    #[test]
    fn a_mastodon_instance_replaces_the_defaults_it_reports() {
        // given a server with larger posts, costlier links and no WebM
        let rules = Rules::mastodon_instance(InstanceLimits {
            max_characters: Some(1_000),
            characters_reserved_per_url: Some(30),
            max_media_attachments: Some(6),
            supported_mime_types: Some(types(&[
                "image/jpeg",
                "image/png",
                "video/mp4",
                "audio/mpeg",
            ])),
            image_size_limit: Some(10 * MB),
            video_size_limit: Some(40 * MB),
            description_limit: Some(500),
        });
        // then its figures apply
        assert!(
            rules
                .check(&"a".repeat(1_000), &no_thread(), &[])
                .is_empty()
        );
        assert_eq!(rules.count("https://example.com"), 30);
        assert!(
            rules
                .check("hi", &no_thread(), &vec![photo(1_000); 6])
                .is_empty()
        );
        assert_eq!(
            rules.check("hi", &no_thread(), &vec![photo(1_000); 7]),
            vec!["the post has 7 photos; Mastodon takes at most 6 per post"]
        );
        let webm = Asset {
            content_type: "video/webm".into(),
            ..video(1_000, 1_000)
        };
        assert_eq!(
            rules.check("hi", &no_thread(), &[webm]),
            vec!["video 1 is a WebM video; Mastodon takes MP4 only"]
        );
        assert_eq!(
            rules.check("hi", &no_thread(), &[photo(12 * MB)]),
            vec!["photo 1 (12 MB) is over Mastodon's 10 MB limit per image"]
        );
        assert_eq!(rules.max_video_bytes, 40 * MB);
        assert_eq!(rules.max_alt_text, Some(500));
        // and a video is still one per post
        assert_eq!(rules.max_videos, 1);
    }

    #[test]
    fn a_mastodon_instance_reporting_nothing_or_zeros_keeps_the_defaults() {
        let defaults = rules(Network::Mastodon);
        assert_eq!(
            Rules::mastodon_instance(InstanceLimits::default()),
            defaults
        );
        let zeros = Rules::mastodon_instance(InstanceLimits {
            max_characters: Some(0),
            max_media_attachments: Some(0),
            supported_mime_types: Some(Vec::new()),
            image_size_limit: Some(0),
            video_size_limit: Some(0),
            description_limit: Some(0),
            ..InstanceLimits::default()
        });
        assert_eq!(zeros, defaults);
    }

    // --- consistency and wording ---

    #[test]
    fn every_network_takes_a_short_text_post_but_instagram() {
        for network in Network::ALL {
            let r = rules(network);
            // where photos and videos mix, a total bounds them, and no kind exceeds it
            assert!(!r.mix_media || r.max_media.is_some(), "{network:?}");
            if let Some(total) = r.max_media {
                assert!(
                    r.max_images <= total && r.max_videos <= total,
                    "{network:?}"
                );
            }
            let problems = r.check("Buongiorno!", &no_thread(), &[]);
            if network == Network::Instagram {
                assert_eq!(problems.len(), 1);
            } else {
                assert!(problems.is_empty(), "{network:?}: {problems:?}");
            }
            assert!(
                r.check("Buongiorno!", &no_thread(), &[photo(1_000)])
                    .is_empty(),
                "{network:?}"
            );
        }
    }

    #[test]
    fn sizes_and_durations_read_in_human_units() {
        assert_eq!(human_size(949, 1), "949 bytes");
        assert_eq!(human_size(999, 1), "1 KB");
        assert_eq!(human_size(1_500, 1), "1.5 KB");
        assert_eq!(human_size(999_999, 1), "1 MB");
        assert_eq!(human_size(103_809_024, 1), "103.8 MB");
        assert_eq!(human_size(1_000_000_000, 1), "1 GB");
        assert_eq!(human_size(u64::MAX, 1), "18446744073.7 GB");
        assert_eq!(thousands(63_206), "63,206");
        assert_eq!(thousands(999), "999");
        assert_eq!(human_duration(140), "2 min 20 s");
        assert_eq!(human_duration(180), "3 min");
        assert_eq!(human_duration(3_605), "1 h 5 s");
        assert_eq!(ratio((191, 100)), "1.91:1");
    }

    #[test]
    fn link_finding_ignores_glued_schemes_and_odd_input() {
        assert!(find_urls("xhttps://example.com").is_empty());
        assert!(find_urls("https://localhost/x").is_empty());
        assert_eq!(find_urls("HTTPS://Example.COM:8080/x?y=1#z!").len(), 1);
        assert_eq!(find_urls("é https://example.com/ü, ok"), vec![3..25]);
        // nothing panics on fragments of schemes or lone separators
        for text in [
            "http",
            "https:/",
            "http://.",
            "http://a.",
            "http://-.b",
            "@",
            "@@a@",
            "#",
        ] {
            let _ = rules(Network::Mastodon).count(text);
            let _ = rules(Network::X).count(text);
        }
    }

    /// The links `find_urls` finds in `text`, as text.
    fn links(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn a_link_keeps_its_balanced_parentheses_and_leaves_the_rest_to_the_sentence() {
        let cases = [
            // nested and balanced: all of it
            (
                "https://example.com/a_(b_(c))",
                "https://example.com/a_(b_(c))",
            ),
            // one closing too many: that one is the sentence's
            (
                "https://example.com/a_(b_(c))).",
                "https://example.com/a_(b_(c))",
            ),
            (
                "(see https://example.com/a_(b))",
                "https://example.com/a_(b)",
            ),
            ("https://example.com/((a))))", "https://example.com/((a))"),
            (
                "https://en.wikipedia.org/wiki/Rust_(language)).",
                "https://en.wikipedia.org/wiki/Rust_(language)",
            ),
            // punctuation between closing parentheses: counted against what is left
            ("https://example.com/a).)", "https://example.com/a"),
            ("https://example.com/(a).)", "https://example.com/(a)"),
            ("https://example.com/(a.))", "https://example.com/(a.)"),
            // an opening parenthesis at the end is trimmed, then no longer balances a closing one
            ("https://example.com/)(", "https://example.com/"),
            ("https://example.com/x)(", "https://example.com/x"),
            ("https://example.com/(x)(", "https://example.com/(x)"),
            ("https://example.com/a(b)c)", "https://example.com/a(b)c"),
            ("https://example.com/a(b(c)", "https://example.com/a(b(c)"),
            // a closing parenthesis is balanced by one anywhere after the host, query included
            (
                "https://example.com/?q=(x&y=z)",
                "https://example.com/?q=(x&y=z)",
            ),
            ("https://example.com/(?q=x)", "https://example.com/(?q=x)"),
            ("https://example.com/a?q=)", "https://example.com/a?q="),
        ];
        for (text, link) in cases {
            assert_eq!(links(text), vec![link], "{text}");
        }
    }

    #[test]
    fn a_link_leaves_trailing_punctuation_to_the_sentence() {
        let cases = [
            ("https://example.com/a.", "https://example.com/a"),
            ("https://example.com/a...", "https://example.com/a"),
            ("https://example.com/a?!", "https://example.com/a"),
            ("https://example.com/?q=x!?", "https://example.com/?q=x"),
            ("https://example.com/a,;:'*~%$", "https://example.com/a"),
            ("https://example.com/a\u{2026}", "https://example.com/a"),
            ("https://example.com/a\u{1F600}", "https://example.com/a"),
            (
                "https://example.com/caff\u{E8}.",
                "https://example.com/caff\u{E8}",
            ),
            // characters that can end a link stay
            ("https://example.com/", "https://example.com/"),
            ("https://example.com/)", "https://example.com/"),
            ("https://example.com/a=", "https://example.com/a="),
            ("https://example.com/a_", "https://example.com/a_"),
            ("https://example.com/a#", "https://example.com/a#"),
            ("https://example.com/a+", "https://example.com/a+"),
            ("https://example.com/a-", "https://example.com/a-"),
            ("https://example.com/a&", "https://example.com/a&"),
            // the path stops at a space, angle brackets, quotes and CJK or full-width punctuation
            ("https://example.com/a b", "https://example.com/a"),
            ("<https://example.com/a>", "https://example.com/a"),
            ("\"https://example.com/a\"", "https://example.com/a"),
            ("https://example.com/a\u{3002}b", "https://example.com/a"),
            ("https://example.com/a\u{FF01}", "https://example.com/a"),
            // only punctuation after the slash: the slash stays
            ("https://example.com/.,;!?)", "https://example.com/"),
        ];
        for (text, link) in cases {
            assert_eq!(links(text), vec![link], "{text}");
        }
    }

    #[test]
    fn a_link_at_the_end_of_the_text_ends_at_its_host_or_port() {
        let cases = [
            ("see https://example.com", "https://example.com"),
            ("see https://example.com.", "https://example.com"),
            ("see https://example.com-.", "https://example.com"),
            ("see https://example.com:8080", "https://example.com:8080"),
            ("see https://example.com:8080.", "https://example.com:8080"),
            ("see https://example.com:", "https://example.com"),
            ("see https://example.com:x/", "https://example.com"),
            ("see https://example.com!", "https://example.com"),
            ("see https://example.com)", "https://example.com"),
        ];
        for (text, link) in cases {
            assert_eq!(links(text), vec![link], "{text}");
        }
    }

    #[test]
    fn links_in_a_row_and_after_trimmed_punctuation_are_each_found() {
        assert_eq!(
            links("https://a.co/x). (https://b.co/y_(z)), http://c.co"),
            vec!["https://a.co/x", "https://b.co/y_(z)", "http://c.co"]
        );
        // a scheme inside a path is part of that link
        assert_eq!(
            links("https://a.co/r?u=https://b.co/x)"),
            vec!["https://a.co/r?u=https://b.co/x"]
        );
        // with no space between them, a second link is the path of the first
        assert_eq!(
            links("https://a.co/x)https://b.co/y"),
            vec!["https://a.co/x)https://b.co/y"]
        );
        assert_eq!(
            links("https://a.co/x.(https://b.co/y"),
            vec!["https://a.co/x.(https://b.co/y"]
        );
        // a host runs until a character no host has
        assert_eq!(
            links("https://a.co.https://b.co"),
            vec!["https://a.co.https"]
        );
    }

    /// The trimming as it was before it was made linear: every parenthesis recounted at each
    /// step. Kept as the reference the linear one must agree with.
    fn trim_link_end_by_recounting(text: &str, host_start: usize, path_start: usize) -> usize {
        let mut url = text;
        while url.len() > path_start {
            let Some(last) = url.chars().next_back() else {
                break;
            };
            let balanced_paren = last == ')'
                && url[host_start..].matches('(').count() >= url[host_start..].matches(')').count();
            if last.is_alphanumeric()
                || matches!(last, '/' | '=' | '_' | '#' | '+' | '-' | '&')
                || balanced_paren
            {
                break;
            }
            url = &url[..url.len() - last.len_utf8()];
        }
        url.len()
    }

    mod trimming_matches_the_recounting_reference {
        use proptest::prelude::*;

        use super::*;

        /// Paths made of what the trimming tells apart: parentheses, characters that end a link,
        /// sentence punctuation, and multi-byte letters and symbols.
        fn path() -> impl Strategy<Value = String> {
            let piece = prop::sample::select(vec![
                "(",
                ")",
                "((",
                "))",
                ".",
                ",",
                "!",
                "?",
                ";",
                ":",
                "'",
                "*",
                "a",
                "Z",
                "9",
                "/",
                "=",
                "_",
                "#",
                "+",
                "-",
                "&",
                "\u{E8}",
                "\u{2026}",
                "\u{1F600}",
                "~",
                "%",
            ]);
            proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn on_random_paths(path in path(), port in any::<bool>()) {
                let head = if port { "https://a.co:8080/" } else { "https://a.co/" };
                let url = format!("{head}{path}");
                let path_start = head.len() - 1;
                prop_assert_eq!(
                    trim_link_end(&url, 8, path_start),
                    trim_link_end_by_recounting(&url, 8, path_start),
                    "{}", url
                );
                // and through the whole link finder, inside a sentence
                let text = format!("({url}). {url}");
                let found: Vec<&str> = find_urls(&text).into_iter().map(|r| &text[r]).collect();
                let expected = &url[..trim_link_end_by_recounting(&url, 8, path_start)];
                prop_assert!(found.len() == 2 && found[1] == expected, "{text}: {found:?}");
            }
        }
    }

    #[test]
    fn long_runs_of_punctuation_after_a_link_are_trimmed_to_the_same_link() {
        // the shapes the preflight benchmark times, at a size a test runs in a moment
        let tail = ")".repeat(3_000);
        let text = format!("http://a.co/x{tail}");
        assert_eq!(links(&text), vec!["http://a.co/x"]);
        let text = format!("http://a.co/{}{}", "(".repeat(1_000), ")".repeat(2_000));
        assert_eq!(
            links(&text),
            vec![format!(
                "http://a.co/{}{}",
                "(".repeat(1_000),
                ")".repeat(1_000)
            )]
        );
        let text = format!("http://a.co/x{}", ").".repeat(1_500));
        assert_eq!(links(&text), vec!["http://a.co/x"]);
        let text = format!("http://a.co/({}", ".)".repeat(1_500));
        assert_eq!(links(&text), vec!["http://a.co/(.)"]);
        let mastodon = rules(Network::Mastodon);
        assert_eq!(mastodon.count(&format!("http://a.co/x{tail}")), 23 + 3_000);
        assert_eq!(
            rules(Network::X).count(&format!("http://a.co/x{tail}")),
            23 + 3_000
        );
    }
}
