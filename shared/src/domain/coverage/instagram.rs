//! Instagram (Graph API content publishing): facts from networks.md, section "Instagram".

use super::*;

// engagement.md, "Facebook Pages and Instagram": Instagram Login (graph.instagram.com)
// or Facebook Login (graph.facebook.com, through the Facebook page the account is linked
// to); each has its own permission names.
const SCOPES: &[ScopeNeed] = &[
    need_on("instagram", Capability::Oauth, "instagram_business_basic"),
    need_on(
        "instagram",
        Capability::Publish,
        "instagram_business_content_publish",
    ),
    need_on(
        "instagram",
        Capability::Metrics,
        "instagram_business_manage_insights",
    ),
    need_on("facebook", Capability::Oauth, "pages_show_list"),
    need_on("facebook", Capability::Oauth, "instagram_basic"),
    need_on("facebook", Capability::Publish, "instagram_content_publish"),
    need_on("facebook", Capability::Publish, "pages_read_engagement"),
    need_on("facebook", Capability::Metrics, "instagram_manage_insights"),
    // Meta's Instagram Platform docs: comments and mentions, direct messages (through the
    // linked page's conversations with Facebook Login).
    need_on(
        "instagram",
        Capability::Inbox,
        "instagram_business_manage_comments",
    ),
    need_on(
        "instagram",
        Capability::Inbox,
        "instagram_business_manage_messages",
    ),
    need_on(
        "instagram",
        Capability::Reply,
        "instagram_business_manage_comments",
    ),
    need_on(
        "instagram",
        Capability::Reply,
        "instagram_business_manage_messages",
    ),
    need_on(
        "instagram",
        Capability::Moderation,
        "instagram_business_manage_comments",
    ),
    need_on("facebook", Capability::Inbox, "instagram_manage_comments"),
    need_on("facebook", Capability::Inbox, "instagram_manage_messages"),
    need_on("facebook", Capability::Inbox, "pages_manage_metadata"),
    need_on("facebook", Capability::Reply, "instagram_manage_comments"),
    need_on("facebook", Capability::Reply, "instagram_manage_messages"),
    need_on(
        "facebook",
        Capability::Moderation,
        "instagram_manage_comments",
    ),
];

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Instagram,
        rules: Rules {
            // Unconfirmed: caption length, hashtags, carousel size and aspect ratio.
            max_text: 2_200,
            max_hashtags: Some(30),
            media_required: true,
            max_images: 10,
            max_videos: 10,
            mix_media: true,
            max_media: Some(10),
            max_image_bytes: 8 * MB,
            // Never reached: GIFs are refused by format (JPEG only).
            max_gif_bytes: 0,
            // Unconfirmed.
            max_video_bytes: 300 * MB,
            image_types: types(&["image/jpeg"]),
            video_types: types(&["video/mp4", "video/quicktime"]),
            image_aspect: Some(AspectRange {
                tallest: (4, 5),
                widest: (191, 100),
            }),
            thread: ThreadSupport::FirstComment,
            ..base_rules(Network::Instagram)
        },
        post_metrics: &["likes", "reposts", "replies", "views", "reach", "saves"],
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
                "Professional accounts only; every post needs a photo or a video, which Meta fetches from a short-lived public URL.",
            ),
            publish(
                "JPEG photos only, from 4:5 portrait to 1.91:1 landscape; caption 2,200 characters and 30 hashtags; carousels up to 10 (all unconfirmed).",
            ),
            publish("50 published posts per rolling 24 hours per account."),
            metrics("Insights may lag up to 48 hours; until then a figure is missing, not zero."),
            engaging(
                Capability::Inbox,
                "Comments under the account's media of the last days and direct messages are polled; @mentions arrive only by the mentions webhook (no list of them can be read), and webhooks need Advanced Access and a verified business.",
            ),
            engaging(
                Capability::Reply,
                "Only top-level comments can be answered, not replies and not hidden comments; a direct message only within 24 hours of the person's last one; a comment can get one private reply, within 7 days.",
            ),
            engaging(
                Capability::Moderation,
                "Comments can be hidden and unhidden, the account's own replies deleted; liking a comment is not offered, as the API cannot do it.",
            ),
        ],
    }
}
