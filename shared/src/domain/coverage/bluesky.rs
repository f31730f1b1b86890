//! Bluesky (AT Protocol): facts from networks.md, section "Bluesky".

use super::*;

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Bluesky,
        rules: Rules {
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
            ..base_rules(Network::Bluesky)
        },
        post_metrics: &["likes", "reposts", "replies", "quotes", "saves"],
        account_metrics: &["followers"],
        engagement: &[Capability::Inbox, Capability::Reply, Capability::Moderation],
        scopes: &[],
        constraints: vec![
            publish(
                "Text is counted in graphemes (what a person sees as one character); links, mentions and hashtags are sent as facets.",
            ),
            publish(
                "Video: one MP4 per post, at most 50 MB (the PDS limit; the lexicon allows 100 MB, unconfirmed) and 3 minutes (unconfirmed).",
            ),
            publish(
                "Logins are limited to 30 per 5 minutes and 300 per day per account, so sessions are kept and refreshed, never made per post.",
            ),
            publish(
                "Writes cost points: 5,000 per hour and 35,000 per day per account; a post costs 3.",
            ),
            metrics("No impressions or reach: likes, reposts, replies, quotes and bookmarks only."),
            engaging(
                Capability::Moderation,
                "Replies are hidden through the thread gate of the brand's own post that started the thread, so only replies in threads the brand started can be hidden; at most 300 per thread (the threadgate lexicon). Posts can be liked as the brand, and the brand's own replies deleted.",
            ),
        ],
    }
}
