//! Facebook Pages (Graph API): facts from networks.md, section "Facebook Pages".

use super::*;

// engagement.md, "Facebook Pages and Instagram": Facebook Login for Pages, page tokens
// from `/me/accounts`.
const SCOPES: &[ScopeNeed] = &[
    need(Capability::Oauth, "pages_show_list"),
    need(Capability::Publish, "pages_manage_posts"),
    need(Capability::Publish, "pages_read_engagement"),
    need(Capability::Metrics, "read_insights"),
    need(Capability::Metrics, "pages_read_engagement"),
];

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Facebook,
        rules: Rules {
            // Unconfirmed: none of the Facebook figures are in networks.md.
            max_text: 63_206,
            max_images: 10,
            max_image_bytes: 10 * MB,
            max_gif_bytes: 10 * MB,
            max_video_bytes: 1_000 * MB,
            thread: ThreadSupport::FirstComment,
            ..base_rules(Network::Facebook)
        },
        post_metrics: &["likes", "replies", "views", "clicks"],
        account_metrics: &["followers"],
        engagement: &[Capability::Oauth],
        scopes: SCOPES,
        constraints: vec![
            publish(
                "Pages only. The text, photo and video limits are unconfirmed: networks.md gives none.",
            ),
            publish("Follow-ups are posted as the first comment."),
            metrics(
                "Most insights update once a day and pages under 100 likes have none; a video post reports reactions and comments only.",
            ),
        ],
    }
}
