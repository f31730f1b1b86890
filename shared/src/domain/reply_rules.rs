//! What each network lets the brand answer, checked before a reply is accepted and again before
//! it is sent (a window can close while a reply waits for approval). Facts from engagement.md;
//! a network's own refusal of a reply that passed these checks is still recorded as a plain
//! failure, never retried as if it might pass.

use jiff::{SignedDuration, Timestamp};

use super::channel::Network;
use super::error::DomainError;
use super::inbox::{Interaction, InteractionKind, InteractionState};

/// Meta's standard messaging window: a Messenger or Instagram message can be answered this long
/// after the person's last message (engagement.md, "Facebook Pages and Instagram").
pub const MESSAGING_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// The window with the `HUMAN_AGENT` tag, where the app has that permission.
pub const HUMAN_AGENT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Meta's private replies: one per comment, within this long of the comment.
pub const PRIVATE_REPLY_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Everything a rule looks at, besides the interaction.
#[derive(Debug, Clone, Copy)]
pub struct ReplyCheck<'a> {
    /// The channel's handle on the network (X answers only posts that mention it).
    pub brand_handle: &'a str,
    /// When the person last wrote in this conversation (for messaging windows).
    pub last_from_person: Timestamp,
    /// The app may use Meta's `HUMAN_AGENT` tag (7 days instead of 24 hours).
    pub human_agent: bool,
    /// The reply is a private message to a comment's author (Meta's private replies).
    pub private: bool,
    /// A private reply to this comment was already made or is on its way.
    pub earlier_private: bool,
    pub now: Timestamp,
}

/// Whether the brand may answer `interaction` this way now; the refusal says why in plain words,
/// naming the network.
pub fn check(interaction: &Interaction, c: ReplyCheck<'_>) -> Result<(), DomainError> {
    let network = interaction.network;
    let name = network.display_name();
    let refuse = |why: String| Err(DomainError::NetworkRule(why));
    if c.private {
        if !matches!(network, Network::Facebook | Network::Instagram) || interaction.is_direct() {
            return refuse(format!(
                "{name} has no private replies to comments: they are a Facebook and Instagram feature for comments"
            ));
        }
        if c.earlier_private {
            return refuse(format!(
                "{name} allows one private reply per comment, and this comment already has one"
            ));
        }
        let age = c.now.duration_since(interaction.created_at);
        if age > PRIVATE_REPLY_WINDOW {
            return refuse(format!(
                "{name} allows a private reply only within 7 days of the comment; this one is {} old",
                ago(age)
            ));
        }
        return Ok(());
    }
    match network {
        Network::Facebook | Network::Instagram if interaction.is_direct() => {
            let (window, words) = if c.human_agent {
                (HUMAN_AGENT_WINDOW, "7 days")
            } else {
                (MESSAGING_WINDOW, "24 hours")
            };
            let since = c.now.duration_since(c.last_from_person);
            if since > window {
                let what = if network == Network::Facebook {
                    "Messenger"
                } else {
                    "Instagram direct"
                };
                return refuse(format!(
                    "{what} messages can be answered only within {words} of the person's last message; their last was {} ago",
                    ago(since)
                ));
            }
        }
        Network::Instagram if interaction.state == InteractionState::Hidden => {
            return refuse(
                "Instagram does not allow answering a hidden comment: unhide it first".to_owned(),
            );
        }
        Network::Instagram if interaction.kind == InteractionKind::Reply => {
            return refuse(
                "Instagram answers top-level comments only: answer the comment this reply is under"
                    .to_owned(),
            );
        }
        Network::X => {
            let summoned = match interaction.kind {
                InteractionKind::Mention | InteractionKind::Quote => true,
                InteractionKind::DirectMessage => true,
                InteractionKind::Reply | InteractionKind::Comment => {
                    mentions(&interaction.text, c.brand_handle)
                }
            };
            if !summoned {
                return refuse(format!(
                    "X lets an app reply only to posts that mention or quote the brand (X's rule since 2026-02-23); this post does not mention @{}",
                    c.brand_handle.trim_start_matches('@')
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `text` names `@handle` (case-insensitive, not as part of a longer handle).
fn mentions(text: &str, handle: &str) -> bool {
    let handle = handle.trim_start_matches('@').to_lowercase();
    if handle.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let needle = format!("@{handle}");
    text.match_indices(&needle).any(|(at, _)| {
        text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// A duration in the largest whole unit, for refusals ("30 hours", "9 days").
fn ago(d: SignedDuration) -> String {
    let hours = d.as_hours();
    if hours >= 48 {
        format!("{} days", hours / 24)
    } else if hours >= 1 {
        format!("{hours} hours")
    } else {
        format!("{} minutes", d.as_mins().max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::ChannelId;
    use crate::domain::inbox::{Author, Incoming, ReplyTarget};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn interaction(network: Network, kind: InteractionKind, text: &str) -> Interaction {
        Interaction::received(
            Incoming {
                external_id: "1".into(),
                kind,
                permalink: None,
                parent: None,
                root: None,
                author: Author {
                    id: "p1".into(),
                    handle: "ada".into(),
                    name: "Ada".into(),
                    followers: None,
                },
                text: text.into(),
                raw: serde_json::Value::Null,
                target: ReplyTarget {
                    id: "1".into(),
                    cid: None,
                    root_id: None,
                    root_cid: None,
                    visibility: None,
                    chat: None,
                },
                created_at: at("2027-03-01T10:00:00Z"),
            },
            ChannelId::new(),
            network,
            None,
            at("2027-03-01T10:00:00Z"),
        )
    }

    fn check_at(now: &str) -> ReplyCheck<'static> {
        ReplyCheck {
            brand_handle: "acme",
            last_from_person: at("2027-03-01T10:00:00Z"),
            human_agent: false,
            private: false,
            earlier_private: false,
            now: at(now),
        }
    }

    fn refusal(r: Result<(), DomainError>) -> String {
        match r {
            Err(DomainError::NetworkRule(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn meta_messages_are_answered_within_24_hours_or_7_days_with_the_human_agent_tag() {
        for network in [Network::Facebook, Network::Instagram] {
            let dm = interaction(network, InteractionKind::DirectMessage, "hello?");
            assert!(check(&dm, check_at("2027-03-02T09:59:00Z")).is_ok());
            let why = refusal(check(&dm, check_at("2027-03-02T16:00:00Z")));
            assert!(why.contains("within 24 hours"), "{why}");
            assert!(why.contains("30 hours ago"), "{why}");
            let tagged = ReplyCheck {
                human_agent: true,
                ..check_at("2027-03-05T10:00:00Z")
            };
            assert!(check(&dm, tagged).is_ok());
            let late = ReplyCheck {
                human_agent: true,
                ..check_at("2027-03-09T10:00:00Z")
            };
            assert!(refusal(check(&dm, late)).contains("within 7 days"));
        }
        // a later message from the person reopens the window
        let dm = interaction(Network::Facebook, InteractionKind::DirectMessage, "hi");
        let reopened = ReplyCheck {
            last_from_person: at("2027-03-03T09:00:00Z"),
            ..check_at("2027-03-03T10:00:00Z")
        };
        assert!(check(&dm, reopened).is_ok());
    }

    #[test]
    fn instagram_answers_top_level_comments_that_are_not_hidden() {
        let reply = interaction(Network::Instagram, InteractionKind::Reply, "me too");
        assert!(refusal(check(&reply, check_at("2027-03-01T11:00:00Z"))).contains("top-level"));
        let mut comment = interaction(Network::Instagram, InteractionKind::Comment, "nice");
        assert!(check(&comment, check_at("2027-03-01T11:00:00Z")).is_ok());
        comment.state = InteractionState::Hidden;
        assert!(refusal(check(&comment, check_at("2027-03-01T11:00:00Z"))).contains("unhide"));
        // Facebook answers replies to comments
        let fb = interaction(Network::Facebook, InteractionKind::Reply, "me too");
        assert!(check(&fb, check_at("2027-03-01T11:00:00Z")).is_ok());
    }

    #[test]
    fn private_replies_are_meta_only_once_per_comment_within_7_days() {
        let comment = interaction(Network::Facebook, InteractionKind::Comment, "price?");
        let private = |now| ReplyCheck {
            private: true,
            ..check_at(now)
        };
        assert!(check(&comment, private("2027-03-07T10:00:00Z")).is_ok());
        assert!(refusal(check(&comment, private("2027-03-09T10:00:00Z"))).contains("7 days"));
        let again = ReplyCheck {
            earlier_private: true,
            ..private("2027-03-02T10:00:00Z")
        };
        assert!(refusal(check(&comment, again)).contains("already has one"));
        let masto = interaction(Network::Mastodon, InteractionKind::Reply, "hi");
        assert!(refusal(check(&masto, private("2027-03-02T10:00:00Z"))).contains("Mastodon"));
    }

    #[test]
    fn x_answers_only_posts_that_mention_or_quote_the_brand() {
        let now = "2027-03-01T11:00:00Z";
        for kind in [InteractionKind::Mention, InteractionKind::Quote] {
            assert!(check(&interaction(Network::X, kind, "look"), check_at(now)).is_ok());
        }
        let named = interaction(Network::X, InteractionKind::Reply, "@ACME where?");
        assert!(check(&named, check_at(now)).is_ok());
        let longer = interaction(Network::X, InteractionKind::Reply, "@acme_fans where?");
        let why = refusal(check(&longer, check_at(now)));
        assert!(
            why.contains("mention or quote") && why.contains("@acme"),
            "{why}"
        );
        // other networks answer replies without a mention
        let bsky = interaction(Network::Bluesky, InteractionKind::Reply, "where?");
        assert!(check(&bsky, check_at(now)).is_ok());
    }
}
