//! The sandbox: Palinsesto's own simulated network (`domain::sandbox`). Its limits are its own,
//! chosen to be like the networks' (so preflight has something to check), and documented here.

use super::*;

pub(super) fn coverage() -> Coverage {
    Coverage {
        network: Network::Sandbox,
        rules: Rules {
            counting: TextCounting::Graphemes,
            max_text: 500,
            max_alt_text: Some(1_500),
            max_video_seconds: Some(600),
            ..base_rules(Network::Sandbox)
        },
        post_metrics: &["likes", "reposts", "replies", "quotes", "views", "saves"],
        account_metrics: &["followers"],
        engagement: &[Capability::Inbox, Capability::Reply],
        scopes: &[],
        constraints: vec![
            own(
                Capability::Publish,
                "Simulated: posts stay in Palinsesto and reach no one. Text up to 500 graphemes; up to 4 images (8 MB each) or one MP4 video (100 MB, 10 minutes); threads as replies.",
            ),
            own(
                Capability::Publish,
                "Any access_token connects a channel. The setting fail_next_publish (rate_limited, auth_expired, invalid_content, invalid_media, duplicate, transient or unknown_outcome) makes the channel's next publish fail once with that error.",
            ),
            own(
                Capability::Metrics,
                "Simulated from the channel's seed setting (default its id): the same seed always gives the same figures. A post gets 30% to 150% of the followers as views, 15% of them in the first hour, 63% after 6 hours, nearly all after a day; followers grow 0.2% to 1% a day.",
            ),
            own(
                Capability::Metrics,
                "Sandbox figures are never added to real channels': reports show them apart, under \"Sandbox (simulated)\".",
            ),
            own(
                Capability::Inbox,
                "Simulated: up to 6 people of a fixed cast comment on each sandbox post of the last 48 hours, arriving as its audience does (most in the first hours), the same comments for the same seed. No mentions or direct messages.",
            ),
            own(
                Capability::Reply,
                "Answers stay in Palinsesto like posts, once per reply (a retry finds the answer kept); fail_next_publish makes the next answer fail too.",
            ),
        ],
    }
}

/// A fact of Palinsesto's own making: its source is the code.
fn own(about: Capability, text: &'static str) -> Constraint {
    Constraint {
        about,
        text,
        source: match about {
            Capability::Metrics | Capability::Inbox => "shared/src/domain/sandbox_audience.rs",
            _ => "shared/src/domain/sandbox.rs",
        },
        recorded: "2026-12-05",
    }
}
