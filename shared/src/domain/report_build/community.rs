//! The community section of a report: the interactions received in the period on the section's
//! channels, and how the brand answered them (response rate, first response in business minutes
//! against the brand's target), per channel, in total and per local day.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::super::inbox::Interaction;
use super::super::inbox_stats::{needs_answer, response_figures};
use super::super::people;
use super::super::report::{Community, CommunityDay, CommunityRow, KeyMember, Period};
use super::super::{Channel, ChannelId, PersonId};
use super::ReportInput;

fn within(i: &Interaction, from: Timestamp, to: Timestamp) -> bool {
    i.created_at >= from && i.created_at < to
}

/// The section for `channels` (those of the report section being built).
pub(super) fn community(input: &ReportInput<'_>, channels: &[Channel]) -> Community {
    let brand = input.brand;
    let (hours, zone) = (&brand.inbox.business_hours, brand.time_zone.zone());
    let target = brand.inbox.response_target_minutes;
    let ours: Vec<&Interaction> = input
        .interactions
        .iter()
        .filter(|i| channels.iter().any(|c| c.id == i.channel))
        .collect();
    let row = |channel: Option<&Channel>| {
        let of = |period: &Period| {
            response_figures(
                ours.iter().copied().filter(|i| {
                    within(i, period.start, period.end)
                        && channel.is_none_or(|c: &Channel| c.id == i.channel)
                }),
                hours,
                &zone,
                target,
            )
        };
        CommunityRow {
            channel_id: channel.map(|c| c.id),
            name: channel.map_or_else(|| "All channels".to_owned(), |c| c.name.clone()),
            network: channel.map(|c| c.network),
            current: of(&input.period),
            previous: of(&input.previous),
        }
    };
    let days = input
        .period
        .days()
        .into_iter()
        .filter_map(|date| {
            let (from, to) = brand.time_zone.day_bounds(date, date).ok()?;
            let received: Vec<&&Interaction> =
                ours.iter().filter(|i| within(i, from, to)).collect();
            Some(CommunityDay {
                date,
                received: received.len() as u64,
                answered: received
                    .iter()
                    .filter(|i| needs_answer(i) && i.first_response_at.is_some())
                    .count() as u64,
            })
        })
        .collect();
    Community {
        target_minutes: target,
        total: Some(row(None)),
        channels: channels.iter().map(|c| row(Some(c))).collect(),
        days,
        partial: input.interactions_partial,
        key_members: key_members(
            ours.iter()
                .copied()
                .filter(|i| within(i, input.period.start, input.period.end)),
        ),
    }
}

/// How many people the report names as key members.
const KEY_MEMBERS: usize = 5;

/// The people with the most interactions among `period`'s, named as they last wrote.
fn key_members<'a>(period: impl Iterator<Item = &'a Interaction>) -> Vec<KeyMember> {
    let mut seen: BTreeMap<PersonId, (String, u64)> = BTreeMap::new();
    let mut last: BTreeMap<PersonId, &Interaction> = BTreeMap::new();
    for i in period {
        let Some(person) = i.person else { continue };
        let name = if i.author.name.is_empty() {
            i.author.handle.clone()
        } else {
            i.author.name.clone()
        };
        let entry = seen.entry(person).or_insert((name.clone(), 0));
        entry.1 += 1;
        let latest = last.entry(person).or_insert(i);
        if i.created_at >= latest.created_at {
            *latest = i;
            entry.0 = name;
        }
    }
    people::key_members(&seen, KEY_MEMBERS)
        .into_iter()
        .map(|(id, name, interactions)| {
            let i = last[&id];
            KeyMember {
                person_id: id.to_string(),
                name,
                handle: i.author.handle.clone(),
                network: i.network,
                interactions,
            }
        })
        .collect()
}

/// The community row a KPI target of `channel` (or all channels) reads.
pub(super) fn row_of<'a>(
    community: &'a Community,
    channel: Option<&ChannelId>,
) -> Option<&'a CommunityRow> {
    match channel {
        None => community.total.as_ref(),
        Some(id) => community
            .channels
            .iter()
            .find(|r| r.channel_id.as_ref() == Some(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Network;
    use crate::domain::inbox::{Author, Incoming, InteractionKind, ReplyTarget};

    fn by(person: PersonId, name: &str, at: &str) -> Interaction {
        let mut i = Interaction::received(
            Incoming {
                external_id: format!("{name}-{at}"),
                kind: InteractionKind::Reply,
                permalink: None,
                parent: None,
                root: None,
                author: Author {
                    id: name.into(),
                    handle: format!("{}@social.example", name.to_lowercase()),
                    name: name.into(),
                    followers: None,
                },
                text: "hi".into(),
                raw: serde_json::Value::Null,
                target: ReplyTarget {
                    id: "1".into(),
                    cid: None,
                    root_id: None,
                    root_cid: None,
                    visibility: None,
                    chat: None,
                },
                created_at: at.parse().unwrap(),
            },
            ChannelId::new(),
            Network::Mastodon,
            None,
            at.parse().unwrap(),
        );
        i.person = Some(person);
        i
    }

    #[test]
    fn key_members_are_the_people_with_most_interactions_named_as_they_last_wrote() {
        let (ada, bob) = (PersonId::new(), PersonId::new());
        let all = [
            by(ada, "Ada", "2027-03-01T10:00:00Z"),
            by(bob, "Bob", "2027-03-01T11:00:00Z"),
            by(ada, "Ada L.", "2027-03-02T10:00:00Z"),
        ];
        let members = key_members(all.iter());
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].person_id, ada.to_string());
        assert_eq!(members[0].name, "Ada L.");
        assert_eq!(members[0].interactions, 2);
        assert_eq!(members[1].name, "Bob");
    }
}
