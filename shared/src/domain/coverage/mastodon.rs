//! Mastodon (any server speaking the Mastodon API): facts from networks.md, section "Mastodon".

use super::*;

// engagement.md, "Mastodon", OAuth: `write` posts statuses and media, `read` reads the
// account's statuses and figures; moderating favourites (write:favourites) and deletes
// (write:statuses), both within `write`.
const SCOPES: &[ScopeNeed] = &[
    need(Capability::Publish, "write"),
    need(Capability::Metrics, "read"),
    need(Capability::Moderation, "write"),
];

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Mastodon,
        rules: Rules {
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
            ..base_rules(Network::Mastodon)
        },
        post_metrics: &["likes", "reposts", "replies", "quotes"],
        account_metrics: &["followers"],
        engagement: &[
            Capability::Inbox,
            Capability::Reply,
            Capability::Moderation,
            Capability::Oauth,
        ],
        scopes: SCOPES,
        constraints: vec![
            publish(
                "Each server reports its own limits (GET /api/v2/instance); they replace these defaults, which are Mastodon's own.",
            ),
            publish(
                "The only network with an idempotency key: a retried post with the same key returns the first one (kept about an hour).",
            ),
            publish(
                "300 requests per 5 minutes per account and per IP address; media uploads 30 per 30 minutes.",
            ),
            metrics(
                "No impressions, reach or clicks: favourites, boosts, replies and quotes only.",
            ),
            engaging(
                Capability::Moderation,
                "Mastodon has no way for an account to hide someone's reply to it (only to mute, block or report the author): replies cannot be hidden here. Posts can be favourited as the brand, and the brand's own replies deleted.",
            ),
        ],
    }
}
