//! Threads: facts from networks.md, section "Threads".

use super::*;

// engagement.md, "Threads": short- then long-lived tokens, refreshed within 60 days.
const SCOPES: &[ScopeNeed] = &[
    need(Capability::Oauth, "threads_basic"),
    need(Capability::Publish, "threads_content_publish"),
    need(Capability::Metrics, "threads_manage_insights"),
];

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Threads,
        rules: Rules {
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
            ..base_rules(Network::Threads)
        },
        post_metrics: &["likes", "reposts", "replies", "quotes", "views"],
        account_metrics: &["followers"],
        engagement: &[Capability::Oauth],
        scopes: SCOPES,
        constraints: vec![
            publish("More than 5 distinct links fail the post (from 22 December 2025)."),
            publish(
                "250 posts per rolling 24 hours through the API; media is fetched by Meta from a short-lived public URL.",
            ),
            publish("An emoji counts as its UTF-8 bytes towards the 500-character limit."),
        ],
    }
}
