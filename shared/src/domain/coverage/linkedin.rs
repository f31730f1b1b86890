//! LinkedIn (Posts API): facts from networks.md, section "LinkedIn".

use super::*;

// engagement.md, "LinkedIn": a member posts with `w_member_social` (the member is read
// with OpenID Connect); organization pages come from the Community Management API, which
// must be alone on its app, so each login may be a different app.
const SCOPES: &[ScopeNeed] = &[
    need_on("member", Capability::Oauth, "openid"),
    need_on("member", Capability::Oauth, "profile"),
    need_on("member", Capability::Publish, "w_member_social"),
    need_on("member", Capability::Metrics, "r_member_postAnalytics"),
    need_on("organization", Capability::Oauth, "rw_organization_admin"),
    need_on("organization", Capability::Publish, "w_organization_social"),
    need_on("organization", Capability::Metrics, "rw_organization_admin"),
    // LinkedIn's Comments API: r_organization_social reads a page's comments,
    // w_organization_social comments, reacts and deletes as the page.
    need_on("organization", Capability::Inbox, "r_organization_social"),
    need_on("organization", Capability::Reply, "w_organization_social"),
    need_on(
        "organization",
        Capability::Moderation,
        "w_organization_social",
    ),
];

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
        engagement: &[
            Capability::Inbox,
            Capability::Reply,
            Capability::Moderation,
            Capability::Oauth,
        ],
        scopes: SCOPES,
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
            engaging(
                Capability::Inbox,
                "Comments under an organization page's recent posts only: LinkedIn has no API for an organization's direct messages, and a member's comments need r_member_social, which LinkedIn grants to few. Social action notifications (webhooks) need an app approved for them.",
            ),
            engaging(
                Capability::Reply,
                "Answers are comments by the page under the comment's thread (LinkedIn nests comments one level deep); limits are unpublished.",
            ),
            engaging(
                Capability::Moderation,
                "Comments can be liked as the page and the page's own replies deleted; LinkedIn's API cannot hide a comment.",
            ),
        ],
    }
}
