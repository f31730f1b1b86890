//! Threads: facts from networks.md, section "Threads".

use super::*;

// engagement.md, "Threads": short- then long-lived tokens, refreshed within 60 days.
const SCOPES: &[ScopeNeed] = &[
    need(Capability::Oauth, "threads_basic"),
    need(Capability::Publish, "threads_content_publish"),
    need(Capability::Metrics, "threads_manage_insights"),
    // Meta's Threads docs: replies are read with threads_read_replies, mentions with
    // threads_manage_mentions (also needed to answer under other people's posts), hidden with
    // threads_manage_replies, deleted with threads_delete.
    need(Capability::Inbox, "threads_read_replies"),
    need(Capability::Inbox, "threads_manage_mentions"),
    need(Capability::Reply, "threads_manage_replies"),
    need(Capability::Reply, "threads_manage_mentions"),
    need(Capability::Moderation, "threads_manage_replies"),
    need(Capability::Moderation, "threads_delete"),
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
        engagement: &[
            Capability::Inbox,
            Capability::Reply,
            Capability::Moderation,
            Capability::Oauth,
        ],
        scopes: SCOPES,
        constraints: vec![
            publish("More than 5 distinct links fail the post (from 22 December 2025)."),
            publish(
                "250 posts per rolling 24 hours through the API; media is fetched by Meta from a short-lived public URL.",
            ),
            publish("An emoji counts as its UTF-8 bytes towards the 500-character limit."),
            engaging(
                Capability::Inbox,
                "Replies under the account's posts of the last days and mentions are polled; Threads has no direct messages. Webhooks (replies, mentions) need Advanced Access and a verified business.",
            ),
            engaging(
                Capability::Reply,
                "At most 1,000 replies per 24 hours; each reply is a post made in two steps (a container, then publish).",
            ),
            engaging(
                Capability::Moderation,
                "Top-level replies can be hidden and unhidden (the replies under them with them); the account's own replies deleted, at most 100 deletions a day. Liking is not offered.",
            ),
        ],
    }
}
