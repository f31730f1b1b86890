//! The table's own consistency: every network has an entry that agrees with its rules, names
//! only counters that exist, and says why it lacks what it lacks.

use super::*;
use crate::domain::metrics::COUNTER_NAMES;

#[test]
fn every_network_has_an_entry_for_itself() {
    let table = all();
    assert_eq!(table.len(), Network::ALL.len());
    for (entry, network) in table.iter().zip(Network::ALL) {
        assert_eq!(entry.network, network);
        assert_eq!(
            entry.rules.network, network,
            "{network:?}'s rules name another network"
        );
        assert!(
            !entry.constraints.is_empty(),
            "{network:?} states no constraint"
        );
    }
}

#[test]
fn metrics_name_only_counters_that_exist() {
    for entry in all() {
        for name in entry.post_metrics.iter().chain(entry.account_metrics) {
            assert!(
                COUNTER_NAMES.contains(name),
                "{:?} names an unknown counter {name}",
                entry.network
            );
        }
    }
}

#[test]
fn every_network_publishes_and_reads_metrics_and_those_without_typed_credentials_connect_by_oauth()
{
    for entry in all() {
        let mut expected = vec![Capability::Publish, Capability::Metrics];
        // Bluesky keeps app passwords, Telegram bot tokens; the sandbox takes any token.
        // The inbox, part 1: the sandbox's simulated audience.
        if entry.network == Network::Sandbox {
            expected.extend([Capability::Inbox, Capability::Reply]);
        }
        // The inbox, part 2: the others also moderate.
        if matches!(
            entry.network,
            Network::Mastodon
                | Network::Bluesky
                | Network::Facebook
                | Network::Instagram
                | Network::Threads
                | Network::Linkedin
                | Network::X
                | Network::Telegram
        ) {
            expected.extend([Capability::Inbox, Capability::Reply, Capability::Moderation]);
        }
        if !matches!(
            entry.network,
            Network::Bluesky | Network::Telegram | Network::Sandbox
        ) {
            expected.push(Capability::Oauth);
        }
        assert_eq!(entry.capabilities(), expected, "{:?}", entry.network);
        // a network connected by OAuth says which scopes its capabilities need, and only then
        assert_eq!(
            entry.offers(Capability::Oauth),
            !entry.scopes.is_empty(),
            "{:?}",
            entry.network
        );
    }
}

#[test]
fn a_missing_capability_is_refused_in_plain_words() {
    let telegram = of(Network::Telegram);
    assert_eq!(telegram.lacks(Capability::Metrics), None);
    assert_eq!(
        telegram.lacks(Capability::Listening).as_deref(),
        Some("Palinsesto does not offer listening (searching what people say) on Telegram")
    );
}

#[test]
fn what_a_network_publishes_follows_its_rules() {
    let instagram = of(Network::Instagram);
    assert!(
        !instagram.publishes_text(),
        "Instagram needs a photo or a video"
    );
    assert!(instagram.publishes_images() && instagram.publishes_video());
    let x = of(Network::X);
    assert!(x.publishes_text() && x.publishes_images() && x.publishes_video());
    assert_eq!(
        of(Network::Linkedin).rules.thread,
        ThreadSupport::FirstComment
    );
}
