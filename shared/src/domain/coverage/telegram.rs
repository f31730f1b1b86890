//! Telegram (Bot API, posting to a channel): facts from networks.md, section "Telegram".

use super::*;

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Telegram,
        rules: Rules {
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
            ..base_rules(Network::Telegram)
        },
        post_metrics: &[],
        account_metrics: &["followers"],
        engagement: &[Capability::Inbox, Capability::Reply, Capability::Moderation],
        scopes: &[],
        constraints: vec![
            publish("The bot must be an administrator of the channel."),
            publish(
                "Text up to 4,096 characters, captions up to 1,024 with media; a media group holds 2 to 10 items of any mix.",
            ),
            publish("About 1 message per second per chat and 30 per second overall."),
            metrics(
                "The Bot API gives no view, forward or reaction counts for a post; only the channel's subscriber count.",
            ),
            engaging(
                Capability::Inbox,
                "The bot reads comments (messages in the channel's linked discussion group, where it must be a member, an administrator to see them all), messages mentioning or answering it, and its private chats. Updates missed for more than 24 hours cannot be recovered.",
            ),
            engaging(
                Capability::Inbox,
                "A bot gets its updates either from its webhook or by polling (getUpdates), never both, and must not serve another integration: give Palinsesto a bot of its own.",
            ),
            engaging(
                Capability::Reply,
                "Bots cannot read a chat's history: after a lost answer, whether the reply was sent cannot be checked and a person must look.",
            ),
            engaging(
                Capability::Moderation,
                "The bot can delete its own replies (for 48 hours in groups); it cannot hide or like someone's message.",
            ),
        ],
    }
}
