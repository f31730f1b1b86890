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
    // Meta's permission reference and "Conversations API": comments with their authors, the
    // page's tags, Messenger conversations; webhooks subscribe with pages_manage_metadata.
    need(Capability::Inbox, "pages_read_engagement"),
    need(Capability::Inbox, "pages_read_user_engagement"),
    need(Capability::Inbox, "pages_messaging"),
    need(Capability::Inbox, "pages_manage_metadata"),
    need(Capability::Reply, "pages_manage_engagement"),
    need(Capability::Reply, "pages_messaging"),
    need(Capability::Moderation, "pages_manage_engagement"),
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
        engagement: &[
            Capability::Inbox,
            Capability::Reply,
            Capability::Moderation,
            Capability::Oauth,
        ],
        scopes: SCOPES,
        constraints: vec![
            publish(
                "Pages only. The text, photo and video limits are unconfirmed: networks.md gives none.",
            ),
            publish("Follow-ups are posted as the first comment."),
            metrics(
                "Most insights update once a day and pages under 100 likes have none; a video post reports reactions and comments only.",
            ),
            engaging(
                Capability::Inbox,
                "Comments under the page's posts of the last days, posts the page is tagged in and Messenger conversations are polled; webhooks (feed, mention, messages) need Advanced Access and a verified business, and the page subscribed to the app.",
            ),
            engaging(
                Capability::Reply,
                "A Messenger message can be answered only within 24 hours of the person's last one (7 days with the HUMAN_AGENT tag); a comment can get one private reply, within 7 days.",
            ),
            engaging(
                Capability::Moderation,
                "Comments can be hidden, unhidden and liked as the page; the page's own replies deleted. Messenger messages are not moderated.",
            ),
        ],
    }
}
