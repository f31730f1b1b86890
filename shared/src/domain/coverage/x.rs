//! X (API v2): facts from networks.md, section "X".

use super::*;

// engagement.md, "X": OAuth 2.0 with PKCE; `offline.access` gives the refresh token that
// keeps the 2-hour access tokens renewed; media upload (v2) needs `media.write`.
const SCOPES: &[ScopeNeed] = &[
    need(Capability::Oauth, "users.read"),
    need(Capability::Oauth, "offline.access"),
    need(Capability::Publish, "tweet.read"),
    need(Capability::Publish, "tweet.write"),
    need(Capability::Publish, "media.write"),
    need(Capability::Metrics, "tweet.read"),
    // X's OAuth 2.0 scopes (xdevplatform/docs): mentions, search and timelines read with
    // tweet.read and users.read; replies are posts; hiding replies needs tweet.moderate.write,
    // liking like.write.
    need(Capability::Inbox, "tweet.read"),
    need(Capability::Inbox, "users.read"),
    need(Capability::Reply, "tweet.write"),
    need(Capability::Moderation, "tweet.moderate.write"),
    need(Capability::Moderation, "like.write"),
    need(Capability::Moderation, "tweet.write"),
];

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::X,
        rules: Rules {
            counting: TextCounting::XWeighted,
            max_text: 280,
            max_image_bytes: 5 * MB,
            max_gif_bytes: 15 * MB,
            max_video_bytes: 512 * MB,
            max_alt_text: Some(1_000),
            max_video_seconds: Some(140),
            ..base_rules(Network::X)
        },
        post_metrics: &[
            "likes", "reposts", "replies", "quotes", "views", "clicks", "saves",
        ],
        account_metrics: &["followers"],
        engagement: &[
            Capability::Inbox,
            Capability::Reply,
            Capability::Moderation,
            Capability::Oauth,
        ],
        scopes: SCOPES,
        constraints: vec![
            publish("X bills each post (2026: $0.015, $0.20 with a link)."),
            publish(
                "280 weighted characters: most Latin characters count 1, CJK characters and emoji 2, every link 23.",
            ),
            publish("At most 4 photos, or 1 GIF, or 1 video of 0.5 to 140 seconds."),
            publish("Post creation: 100 per 15 minutes per user and 10,000 per day per app."),
            metrics("Link clicks are given only for posts less than 30 days old."),
            engaging(
                Capability::Inbox,
                "X bills every post read (pay per use since 2026): the inbox is read only for channels whose settings say \"read_inbox\": true. Mentions, replies in the conversations of the brand's posts of the last 7 days (recent search) and the brand's own replies are read; each read post costs.",
            ),
            engaging(
                Capability::Reply,
                "Since 2026-02-23 X lets a self-serve app reply only to posts that mention or quote the brand (not independently verified; whether a reply to the brand's own post counts is unclear): other replies are refused before sending, and X's own refusal is a plain failure.",
            ),
            engaging(
                Capability::Moderation,
                "Replies to the brand's posts can be hidden and unhidden (about 50 per 15 minutes), posts liked as the brand, the brand's own replies deleted.",
            ),
        ],
    }
}
