//! The community section of a report: the interactions received in the period on the section's
//! channels, and how the brand answered them (response rate, first response in business minutes
//! against the brand's target), per channel, in total and per local day.

use jiff::Timestamp;

use super::super::inbox::Interaction;
use super::super::inbox_stats::{needs_answer, response_figures};
use super::super::report::{Community, CommunityDay, CommunityRow, Period};
use super::super::{Channel, ChannelId};
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
    }
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
