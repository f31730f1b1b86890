//! Preflight: each network's rules for a post (text counted the network's way, media counts,
//! sizes, formats), checked at scheduling and again at publish time, every problem in plain words.

mod counting;
mod rules;
mod wording;

use std::collections::BTreeSet;

use unicode_segmentation::UnicodeSegmentation;

pub use self::rules::{
    AspectRange, InstanceLimits, LINK_WEIGHT, MB, MIB, Rules, TextCounting, ThreadSupport,
};

use self::counting::{count_hashtags, find_urls};
use self::wording::{
    format_name, human_duration, mime_essence, possessive, ratio, sizes_apart, thousands,
};
use super::{Asset, AssetStatus, MediaKind, Network};

impl Rules {
    /// The documented defaults of a network: its entry in the coverage table.
    pub fn for_network(network: Network) -> Self {
        super::coverage::of(network).rules
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
        self.counting.count(text)
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
        self.network.display_name()
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

#[cfg(test)]
mod tests;
