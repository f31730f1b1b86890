//! LinkedIn (Posts API): facts from networks.md, section "LinkedIn".

use super::*;

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Linkedin,
        rules: Rules {
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
            ..base_rules(Network::Linkedin)
        },
        post_metrics: &["likes", "reposts", "replies", "views", "reach", "clicks"],
        account_metrics: &["followers"],
        engagement: &[],
        scopes: &[],
        constraints: vec![
            publish(
                "The text limit of 3,000 characters is widely cited but unconfirmed; follow-ups are posted as the first comment.",
            ),
            publish(
                "Special characters are escaped for LinkedIn's little-text format; unescaped, LinkedIn would cut the post silently.",
            ),
            publish(
                "Daily quotas per app and per member are unpublished and reset at midnight UTC.",
            ),
            metrics(
                "Organization posts need the rw_organization_admin scope for their figures; member posts need r_member_postAnalytics.",
            ),
        ],
    }
}
