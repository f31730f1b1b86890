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
        engagement: &[],
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
        ],
    }
}
